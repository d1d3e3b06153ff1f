// From a decision to its log record, and the record committed before the caller hears the answer.
import type { CompiledRuleSet } from '../engine/compile';
import type { Decision, Evaluator, Verdict } from '../engine/evaluate';
import { DecisionError } from '../errors';
import type { CaseFacts } from '../facts/validate';
import { decisionId } from './decision-id';
import { factsDigest } from './facts-digest';
import { ColumnRecord, recordColumns, type DecisionLog, type DecisionRecord } from './log';

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
  /**
   * The decision, explained; or, when the caller asked for no explanation, its verdict: the outcome and the rules that
   * fired, with its summary when the caller asked for that (?explain=summary), without (?explain=none).
   */
  decision: Decision | (Verdict & { evaluator: Evaluator });
  ruleSet: CompiledRuleSet;
  facts: CaseFacts;
}

interface Waiting {
  records: readonly DecisionRecord[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const refusal = () =>
  new DecisionError(
    'log-unavailable',
    'The decision could not be recorded in the decision log, so it is not given. Try again; if it persists, tell the service operator.',
  );

/** How long a failed decision write keeps /ready at 503 even if a probe then succeeds (see canRecord()). */
export const FAILED_WRITE_MEMORY_MS = 5_000;

/**
 * A decision's record: a fresh decision id, the rules that fired, the facts' digest, the facts only if kept, and of
 * the summary the answer carried (explained in full, or with ?explain=summary) what the log cannot give again.
 */
function recordOf({ decision, facts }: Decided, decidedAt: string, keyId: string, keepFacts: boolean): DecisionRecord {
  let fired: string[];
  if ('fired' in decision) fired = decision.fired;
  else {
    fired = [];
    for (const rule of decision.explanation) if (rule.fired) fired.push(rule.rule);
  }
  return {
    decisionId: decisionId(),
    decidedAt,
    keyId,
    ruleSet: decision.ruleSet,
    version: decision.version,
    asOf: decision.asOf,
    evaluator: decision.evaluator,
    outcome: decision.outcome,
    fired,
    factsDigest: factsDigest(facts),
    facts: keepFacts ? facts : null,
    // An explained decision and a summary verdict (decideSummary's) both carry it; a short answer's verdict does not.
    summary: decision.summary === undefined ? null : { holdsUntil: decision.summary.holdsUntil },
  };
}

// Any instant in the form recordColumns accepts: what decided_at holds until the committing recorder fills it in.
const NOT_YET = '1970-01-01T00:00:00.000Z';

/**
 * A decision's record as the decisions table's columns (recordColumns), written where it is decided (a batch's decider
 * thread): all of it but decided_at and key_id, which the recorder that commits it fills in (entryOfColumns).
 */
export function decidedColumns(decided: Decided, keepFacts: boolean): (string | null)[] {
  return [...recordColumns(recordOf(decided, NOT_YET, '', keepFacts))];
}

export class DecisionRecorder {
  /** Versions this process has archived already: archiving is idempotent, but one round trip per version is enough. */
  private readonly archived = new Set<string>();
  private readonly clock: () => Date;
  /** The last decision write that failed, while no write has succeeded since. */
  private lastFailure: { at: number; error: unknown } | undefined;
  /** The last instant written as decidedAt, and its text: a batch decides dozens of cases within one millisecond. */
  private lastInstant = { at: NaN, text: '' };

  constructor(
    readonly log: DecisionLog,
    private readonly options: RecorderOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Resolves if a decision could be recorded now; rejects with the reason otherwise. What /ready asks: the last
   * decision write, if it failed within FAILED_WRITE_MEMORY_MS and none has succeeded since (a small probe can fit
   * where a group of decisions does not, on a nearly full disk), and then a write probe, committed as a decision
   * is. The failure is forgotten after that time so that a service taken out of rotation, and so sent no more
   * decisions, can become ready again by its probe alone.
   */
  async canRecord(): Promise<void> {
    const failure = this.lastFailure;
    if (failure && this.clock().getTime() - failure.at < FAILED_WRITE_MEMORY_MS) {
      throw new Error(
        `the last decision write failed ${this.clock().getTime() - failure.at} ms ago: ${(failure.error as Error)?.message ?? String(failure.error)}`,
      );
    }
    await this.log.probe();
    this.lastFailure = undefined;
  }

  /** Counts a write; a failure is remembered for canRecord() unless it may be one record's own (see alone()). */
  private wrote(ok: boolean, started: number, failure?: { error: unknown; remember: boolean }): void {
    this.options.onWrite?.(ok, (performance.now() - started) / 1000);
    if (ok) this.lastFailure = undefined;
    else if (failure?.remember) this.lastFailure = { at: this.clock().getTime(), error: failure.error };
  }

  /** The log record of a decision, with a fresh decision id. Fact values only if the operator opted in. */
  entry(decided: Decided, keyId: string): DecisionRecord {
    return recordOf(decided, this.decidedAt(), keyId, this.options.keepFacts);
  }

  /** Whether records keep the facts themselves (RecorderOptions.keepFacts): what a decider thread is told. */
  get keepsFacts(): boolean {
    return this.options.keepFacts;
  }

  /**
   * The log record of a decision made elsewhere (a batch's decider thread), from its columns (decidedColumns): it is
   * decided now, by this recorder's clock, for this key.
   */
  entryOfColumns(columns: (string | null)[], keyId: string): DecisionRecord {
    columns[1] = this.decidedAt();
    columns[2] = keyId;
    return new ColumnRecord(columns);
  }

  private decidedAt(): string {
    const at = this.clock().getTime();
    if (at !== this.lastInstant.at) this.lastInstant = { at, text: new Date(at).toISOString() };
    return this.lastInstant.text;
  }

  /**
   * Commits the records (and the texts of any rule version not archived yet) before the answer goes
   * out. A failure is the caller's 503: the service never answers a decision it has not recorded.
   *
   * Group commit: the records of every request that asks within one turn of the event loop go to the
   * store in one transaction (one WAL append for SQLite, one round trip for PostgreSQL), and each
   * request is answered when that transaction holds. Under load, many requests are decided in the same
   * turn; alone, a request waits one setImmediate.
   */
  commit(records: readonly DecisionRecord[], ruleSets: readonly CompiledRuleSet[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    let group = this.group;
    if (!group) {
      group = { records: [], ruleSets: new Set(), waiting: [] };
      this.group = group;
      setImmediate(() => void this.flush());
    }
    for (const record of records) group.records.push(record);
    for (const ruleSet of ruleSets) group.ruleSets.add(ruleSet);
    return new Promise((resolve, reject) => group.waiting.push({ records, resolve, reject }));
  }

  private group: { records: DecisionRecord[]; ruleSets: Set<CompiledRuleSet>; waiting: Waiting[] } | undefined;

  private async flush(): Promise<void> {
    const group = this.group;
    this.group = undefined;
    if (!group) return;
    const started = performance.now();
    try {
      for (const ruleSet of group.ruleSets) await this.archive(ruleSet);
      await this.log.record(group.records);
      this.wrote(true, started);
      for (const w of group.waiting) w.resolve();
    } catch (error) {
      this.wrote(false, started, { error, remember: true });
      this.options.onError?.(error);
      // One request's record may be what the store refused (PostgreSQL refuses a NUL in kept facts, say):
      // the others must not fail with it, so each is tried again on its own.
      if (group.waiting.length === 1) group.waiting[0]!.reject(refusal());
      else for (const w of group.waiting) await this.alone(w, group.ruleSets);
    }
  }

  private async alone(w: Waiting, ruleSets: ReadonlySet<CompiledRuleSet>): Promise<void> {
    const started = performance.now();
    try {
      // A decision is only recorded with the texts of the version that made it archived.
      for (const ruleSet of ruleSets) await this.archive(ruleSet);
      await this.log.record(w.records);
      this.wrote(true, started);
      w.resolve();
    } catch (error) {
      // Not remembered: one request's record refused by the store must not take the service out of rotation; the
      // group's failure is remembered already, and the others' successes here clear it if the store is well.
      this.wrote(false, started, { error, remember: false });
      w.reject(refusal());
    }
  }

  private async archive(ruleSet: CompiledRuleSet): Promise<void> {
    if (this.archived.has(ruleSet.version) || !ruleSet.texts) return;
    await this.log.archive({
      version: ruleSet.version,
      ruleSet: ruleSet.name,
      file: ruleSet.sourceFile,
      ruleText: ruleSet.texts.rule,
      calendarText: ruleSet.texts.calendar,
    });
    this.archived.add(ruleSet.version);
  }
}
