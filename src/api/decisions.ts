// The decision log over HTTP, for auditors: a recorded decision, and whether it reproduces under the version that made it.
import { isDeepStrictEqual } from 'node:util';
import type { Express, RequestHandler } from 'express';
import type { CompiledRuleSet } from '../engine/compile';
import { decide, evaluate, type Decision } from '../engine/evaluate';
import { DecisionError } from '../errors';
import { parseEvaluateRequest, pointerToken, type CaseFacts } from '../facts/validate';
import { summarize } from '../engine/summary';
import { loadRuleTexts, RuleSetVersions, type RuleRegistry } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { factsMatch } from '../decisions/facts-digest';
import { ARCHIVED_VOCABULARY_DEFAULTS, LATER_DEFAULTED_FACTS } from '../facts/schema';
import type { DecisionLog, DecisionRecord } from '../decisions/log';
import { decisionJson } from './decision-json';

export interface Reproduction {
  decisionId: string;
  version: string;
  factsMatch: true;
  /**
   * The same outcome and the same rules fired as recorded. A summary.holdsUntil that differs is listed in `differences`
   * but does not count against it: holdsUntil rests on the other versions loaded as well, which may have changed since.
   */
  reproduced: boolean;
  differences: { field: string; recorded: unknown; now: unknown }[];
  firedNow: string[];
  decision: Decision;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Archived versions compiled for re-runs, newest use last; a handful covers an audit. */
const ARCHIVE_CACHE = 16;

/** The record as an auditor reads it: never the facts, only whether they were kept. */
function recordView(record: DecisionRecord) {
  const { facts, ...rest } = record;
  return { ...rest, factsKept: facts !== null };
}

/** A store that cannot answer (a server down, a file deleted under the service) is a 503 the auditor can act on, not a 500. */
function unreadable(error: unknown): never {
  throw new DecisionError(
    'log-unreadable',
    `The decision log could not be read: ${(error as Error)?.message ?? String(error)}. Try again; if it persists, tell the service operator.`,
  );
}

export class DecisionReplayer {
  private readonly compiled = new Map<string, CompiledRuleSet>();

  constructor(
    private readonly log: DecisionLog,
    private readonly rules: () => RuleRegistry,
  ) {}

  async find(decisionId: string): Promise<DecisionRecord> {
    if (!UUID.test(decisionId))
      throw new DecisionError('not-found', `There is no decision "${decisionId}": decision ids are UUIDs.`, [{ pointer: '/id', message: 'is not a UUID' }]);
    const record = await this.log.find(decisionId.toLowerCase()).catch(unreadable);
    if (!record) throw new DecisionError('not-found', `There is no decision ${decisionId} in the decision log.`);
    return record;
  }

  /** The version that made the decision: in force now, or compiled again from the texts the log archived. */
  private async versionOf(record: DecisionRecord): Promise<CompiledRuleSet> {
    const live = this.rules()
      .ruleSets.get(record.ruleSet)
      ?.versions.find((v) => v.version === record.version);
    if (live) return live;
    const cached = this.compiled.get(record.version);
    if (cached) return cached;
    const archived = await this.log.findVersion(record.version).catch(unreadable);
    if (!archived) {
      throw new DecisionError(
        'version-unavailable',
        `Rule version ${record.version} of ${record.ruleSet} is neither loaded nor archived in the decision log, so the decision cannot be re-run.`,
      );
    }
    const registry = loadRuleTexts(archived.calendarText, [{ file: archived.file, text: archived.ruleText }], { modules: RULE_SET_MODULES, archived: true });
    const version = registry.ruleSets.get(archived.ruleSet)?.versions[0];
    // The hash names the bytes: if the texts do not give the same hash, they are not the version that decided.
    if (!version || version.version !== record.version) {
      throw new DecisionError('version-unavailable', `The archived texts of ${record.ruleSet} version ${record.version} do not compile to that version.`);
    }
    if (this.compiled.size >= ARCHIVE_CACHE) this.compiled.delete(this.compiled.keys().next().value as string);
    this.compiled.set(record.version, version);
    return version;
  }

  /** Re-runs a recorded decision on the facts given (which must be the facts it was made on) and compares. */
  async reproduce(record: DecisionRecord, facts: unknown): Promise<Reproduction> {
    const ruleSet = await this.versionOf(record);
    const request = parseEvaluateRequest({ asOf: record.asOf, facts }, ruleSet.name, ruleSet.file.requires, { copy: true });
    if (!asDigestedThen(request.facts, facts).some((then) => factsMatch(record.factsDigest, then))) {
      throw new DecisionError(
        'facts-differ',
        `The facts supplied do not match the digest recorded with decision ${record.decisionId}: they are not the facts it was made on.`,
        [{ pointer: '/facts', message: 'do not match the recorded digest' }],
      );
    }
    const decision = await decideWith(ruleSet, request.facts, record);
    const differences: Reproduction['differences'] = [];
    const fields = new Set([...Object.keys(record.outcome), ...Object.keys(decision.outcome)]);
    for (const field of fields) {
      const recorded = record.outcome[field];
      const now = decision.outcome[field];
      if (!isDeepStrictEqual(recorded, now)) differences.push({ field: `outcome.${field}`, recorded: recorded ?? null, now: now ?? null });
    }
    const firedNow = decision.explanation.filter((r) => r.fired).map((r) => r.rule);
    if (!isDeepStrictEqual(firedNow, record.fired)) differences.push({ field: 'fired', recorded: record.fired, now: firedNow });
    const reproduced = differences.length === 0;
    // The summary as the answer would carry it now, the changes (JSON Patches) on the facts as given here.
    decision.summary = summarize(this.versionsFor(record, ruleSet), ruleSet, decision, request.facts, facts);
    // Recorded only when the answer carried a summary (not with ?explain=none, nor before the log kept it).
    if (record.summary !== null && record.summary.holdsUntil !== decision.summary.holdsUntil) {
      differences.push({ field: 'summary.holdsUntil', recorded: record.summary.holdsUntil, now: decision.summary.holdsUntil });
    }
    return { decisionId: record.decisionId, version: record.version, factsMatch: true, reproduced, differences, firedNow, decision };
  }

  /**
   * The versions a re-run's summary looks ahead through (holdsUntil: another version taking over after asOf): the rule
   * set's versions loaded now when the deciding version is one of them; the deciding version alone when it is archived
   * only (no longer loaded), for the versions loaded now are not the ones it was decided among, and may overlap it.
   */
  private versionsFor(record: DecisionRecord, ruleSet: CompiledRuleSet): RuleSetVersions {
    const loaded = this.rules().ruleSets.get(record.ruleSet);
    if (loaded?.versions.some((v) => v.version === ruleSet.version)) return loaded;
    return new RuleSetVersions(ruleSet.name, [ruleSet]);
  }
}

/**
 * The validated facts as each earlier vocabulary digested them: as they are now; without the facts of each later
 * addition the facts given leave out (LATER_DEFAULTED_FACTS), newest addition first; and, before any addition, with the
 * vocabulary's own defaults of the time filled in too. One of them is the digest's, if the facts are the same.
 */
function asDigestedThen(validated: CaseFacts, given: unknown): CaseFacts[] {
  const candidates = [validated];
  for (let from = LATER_DEFAULTED_FACTS.length - 1; from >= 0; from -= 1) candidates.push(withoutLaterDefaults(validated, given, from));
  candidates.push(withArchivedDefaults(candidates[candidates.length - 1] as CaseFacts));
  return candidates;
}

/** The facts without the defaults filled in for facts added from addition `from` on that the facts given leave out. */
function withoutLaterDefaults(facts: CaseFacts, given: unknown, from: number): CaseFacts {
  const copy = JSON.parse(JSON.stringify(facts)) as Record<string, unknown>;
  for (const path of LATER_DEFAULTED_FACTS.slice(from).flat()) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let at: unknown = copy;
    let sent: unknown = given;
    for (const key of keys) {
      at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
      sent = sent !== null && typeof sent === 'object' ? (sent as Record<string, unknown>)[key] : undefined;
    }
    const givenHere = sent !== null && typeof sent === 'object' && Object.hasOwn(sent, last);
    if (!givenHere && at !== null && typeof at === 'object') delete (at as Record<string, unknown>)[last];
  }
  return copy;
}

/**
 * The facts as a decision recorded before rule files declared their fact defaults was digested: with the vocabulary's
 * defaults of that time filled in where the facts leave them out (facts/schema.ts ARCHIVED_VOCABULARY_DEFAULTS).
 */
function withArchivedDefaults(facts: CaseFacts): CaseFacts {
  const filled = JSON.parse(JSON.stringify(facts)) as Record<string, unknown>;
  for (const [path, value] of Object.entries(ARCHIVED_VOCABULARY_DEFAULTS)) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let at = filled;
    for (const key of keys) {
      if (at[key] === undefined) at[key] = {};
      at = at[key] as Record<string, unknown>;
    }
    if (at[last] === undefined) at[last] = value;
  }
  return filled;
}

async function decideWith(ruleSet: CompiledRuleSet, facts: CaseFacts, record: DecisionRecord): Promise<Decision> {
  return record.evaluator === 'reference' ? evaluate(ruleSet, facts, record.asOf, 'reference') : decide(ruleSet, facts, record.asOf);
}

/** The reproduction as JSON: the decision written by decisionJson, as evaluate writes it. */
function reproductionJson(reproduction: Reproduction): string {
  const { decision, ...rest } = reproduction;
  return `${JSON.stringify(rest).slice(0, -1)},"decision":${decisionJson(decision)}}`;
}

/** GET /v1/decisions/{id} and POST /v1/decisions/{id}/reproduce, behind the auditor's permission (added by app.ts). */
export function addDecisionRoutes(app: Express, replayer: DecisionReplayer, guard: RequestHandler[], jsonOnly: RequestHandler, jsonBody: RequestHandler): void {
  // On the app itself, not an express.Router: a Router answers OPTIONS on its own (a bare 200 "POST"), where every other route gives the 404 problem.
  app.get('/v1/decisions/:id', ...guard, async (req, res) => {
    const record = await replayer.find(String(req.params.id));
    const view = recordView(record);
    // With the facts kept, the log can show at once that the decision reproduces.
    const body =
      record.facts === null
        ? JSON.stringify(view)
        : `${JSON.stringify(view).slice(0, -1)},"reproduction":${reproductionJson(await replayer.reproduce(record, record.facts))}}`;
    res.type('application/json').send(body);
  });
  app.post('/v1/decisions/:id/reproduce', ...guard, jsonOnly, jsonBody, async (req, res) => {
    const record = await replayer.find(String(req.params.id));
    const body = req.body as { facts?: unknown } | null;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !('facts' in body)) {
      throw new DecisionError('invalid-request', 'Send { "facts": { … } }: the facts the decision was made on.', [
        { pointer: '/facts', message: 'is required' },
      ]);
    }
    const extra = Object.keys(body).filter((k) => k !== 'facts');
    if (extra.length > 0) {
      throw new DecisionError(
        'invalid-request',
        'Only "facts" may be sent: the rule version and asOf are the recorded ones.',
        extra.map((k) => ({ pointer: `/${pointerToken(k)}`, message: 'is not allowed' })),
      );
    }
    res.type('application/json').send(reproductionJson(await replayer.reproduce(record, body.facts)));
  });
}
