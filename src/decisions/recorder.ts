// From a decision to its log record, and the record committed before the caller hears the answer.
import { randomUUID } from 'node:crypto';
import type { CompiledRuleSet } from '../engine/compile';
import type { Decision } from '../engine/evaluate';
import { DecisionError } from '../errors';
import type { CaseFacts } from '../facts/validate';
import { factsDigest } from './facts-digest';
import type { DecisionLog, DecisionRecord } from './log';

export interface RecorderOptions {
  /**
   * Keep the facts themselves, not only their digest. Off by default: the facts were gathered to
   * decide this case, and a log kept for years must not become a second store of personal
   * information (seed 000_8673a781749efd10.txt, the privacy principle). An operator who must be
   * able to re-run decisions without the caller supplying the facts again turns it on
   * (DECISION_LOG_FACTS=keep).
   */
  keepFacts: boolean;
  clock?: () => Date;
  /** Told of every commit, for the metrics: whether it held, and how long it took. */
  onWrite?: (ok: boolean, seconds: number) => void;
  onError?: (error: unknown) => void;
}

/** What is known of one decision when it is made: the decision, the validated facts it was made on, who asked. */
export interface Decided {
  decision: Decision;
  ruleSet: CompiledRuleSet;
  facts: CaseFacts;
}

export class DecisionRecorder {
  /** Versions this process has archived already: archiving is idempotent, but one round trip per version is enough. */
  private readonly archived = new Set<string>();
  private readonly clock: () => Date;

  constructor(
    readonly log: DecisionLog,
    private readonly options: RecorderOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** The log record of a decision, with a fresh decision id. Fact values only if the operator opted in. */
  entry({ decision, facts }: Decided, keyId: string): DecisionRecord {
    const fired: string[] = [];
    for (const rule of decision.explanation) if (rule.fired) fired.push(rule.rule);
    return {
      decisionId: randomUUID(),
      decidedAt: this.clock().toISOString(),
      keyId,
      ruleSet: decision.ruleSet,
      version: decision.version,
      asOf: decision.asOf,
      evaluator: decision.evaluator,
      outcome: decision.outcome,
      fired,
      factsDigest: factsDigest(facts),
      facts: this.options.keepFacts ? (facts as Record<string, unknown>) : null,
    };
  }

  /**
   * Commits the records (and the texts of any rule version not archived yet) before the answer goes
   * out. A failure is the caller's 503: the service never answers a decision it has not recorded.
   */
  async commit(records: readonly DecisionRecord[], ruleSets: readonly CompiledRuleSet[]): Promise<void> {
    if (records.length === 0) return;
    const started = performance.now();
    try {
      for (const ruleSet of ruleSets) await this.archive(ruleSet);
      await this.log.record(records);
      this.options.onWrite?.(true, (performance.now() - started) / 1000);
    } catch (error) {
      this.options.onWrite?.(false, (performance.now() - started) / 1000);
      this.options.onError?.(error);
      throw new DecisionError('log-unavailable', 'The decision could not be recorded in the decision log, so it is not given. Try again; if it persists, tell the service operator.');
    }
  }

  private async archive(ruleSet: CompiledRuleSet): Promise<void> {
    if (this.archived.has(ruleSet.version) || !ruleSet.texts) return;
    await this.log.archive({ version: ruleSet.version, ruleSet: ruleSet.name, file: ruleSet.sourceFile, ruleText: ruleSet.texts.rule, calendarText: ruleSet.texts.calendar });
    this.archived.add(ruleSet.version);
  }
}
