// The decision log's contract: what is recorded of every evaluation, and the two stores that keep it (SQLite, PostgreSQL).

/** One evaluation, as the log keeps it. Fact values are absent unless the operator opted in (DECISION_LOG_FACTS=keep). */
export interface DecisionRecord {
  /** A UUID, returned to the caller as `decisionId` and in the X-Decision-Id header. */
  decisionId: string;
  /** When the service decided: an ISO 8601 instant in UTC. */
  decidedAt: string;
  /** The id (never the secret) of the API key that asked. */
  keyId: string;
  ruleSet: string;
  /** The rule version hash that decided (rule file text and holiday calendar). */
  version: string;
  asOf: string;
  evaluator: 'compiled' | 'reference';
  /** The decision's outcome object, as returned to the caller. */
  outcome: Record<string, unknown>;
  /** Names of the rules that fired, in evaluation order. */
  fired: string[];
  /** `sha256:<salt hex>:<digest hex>` of the validated facts' canonical JSON (see facts-digest.ts). */
  factsDigest: string;
  /** The validated facts themselves: only when the operator opted in; otherwise null. */
  facts: Record<string, unknown> | null;
  /**
   * What the answer's summary said that the version, the facts and asOf cannot give again; null when the answer
   * carried no summary (?explain=none) or the record was written before the log kept it (schema 1).
   */
  summary: RecordedSummary | null;
}

/**
 * The part of a decision's summary (engine/summary.ts) the log keeps. Its reasons, changes and assumed facts follow
 * from the deciding version, the facts and asOf, all of which the log keeps (the facts, or their digest); holdsUntil
 * also depends on the other versions of the rule set loaded when it was decided (a dated version taking effect later),
 * which it does not.
 */
export interface RecordedSummary {
  holdsUntil: string | null;
}

/** A rule version's source texts, archived the first time it decides, so a decision can be re-run years later. */
export interface ArchivedVersion {
  version: string;
  ruleSet: string;
  /** The rule file's name under rules/ when it was archived. */
  file: string;
  ruleText: string;
  calendarText: string;
}

/** A logged decision's facts (kept), with its id and the day it was decided as of. */
export interface LoggedFacts {
  decisionId: string;
  asOf: string;
  facts: Record<string, unknown>;
}

export interface DecisionLog {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the log lives, with no password: a file path or a URL's host and database. */
  readonly location: string;
  /**
   * Records decisions durably before the caller is answered. Resolves once they are committed; rejects if they
   * cannot be (the request then fails with 503). Several records are committed in one transaction.
   */
  record(records: readonly DecisionRecord[]): Promise<void>;
  /** Archives a rule version's texts if the log does not hold it yet (idempotent). */
  archive(version: ArchivedVersion): Promise<void>;
  find(decisionId: string): Promise<DecisionRecord | undefined>;
  /**
   * The facts of a rule set's most recent decisions, newest first, at most `limit`: those whose facts the log kept
   * (DECISION_LOG_FACTS=keep), what a draft of the rule set is measured on. Decision ids begin with their time, so the
   * newest are read from the key's end, not by sorting the log.
   */
  recentFacts(ruleSet: string, limit: number): Promise<LoggedFacts[]>;
  findVersion(version: string): Promise<ArchivedVersion | undefined>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  /** Resolves when the store has just committed a write, as it commits a decision: what /ready asks. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A row of the decisions table, as either store reads it back: the same columns, the JSON ones as
 * text in SQLite (`Text`) and parsed in PostgreSQL (jsonb).
 */
export interface DecisionRow<Outcome, Fired, Facts, Summary> {
  decision_id: string;
  decided_at: string;
  key_id: string;
  rule_set: string;
  version: string;
  as_of: string;
  evaluator: DecisionRecord['evaluator'];
  outcome: Outcome;
  fired: Fired;
  facts_digest: string;
  facts: Facts | null;
  /** Added by schema 2: NULL in the rows written before. */
  summary: Summary | null;
}

/** A row of the rule_versions table, the same in both stores. */
export interface VersionRow {
  version: string;
  rule_set: string;
  file: string;
  rule_text: string;
  calendar_text: string;
}

// The forms PostgreSQL's timestamptz and date columns give back (timestamptz keeps microseconds, so milliseconds come
// back as given). Both stores refuse anything else, so a record either accepts reads back the same from both.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** How many columns a record has in the decisions table (recordColumns). */
export const RECORD_COLUMNS = 12;

/**
 * A record's column values in the decisions table's order (decision_id … facts, summary), the JSON ones as text; throws if
 * its instant or date is not in the form both stores give back.
 */
export function recordColumns(r: DecisionRecord): readonly (string | null)[] {
  if (!INSTANT.test(r.decidedAt))
    throw new Error(`decision ${r.decisionId}: decidedAt ${JSON.stringify(r.decidedAt)} is not an instant as Date.toISOString() writes it`);
  if (!DATE.test(r.asOf)) throw new Error(`decision ${r.decisionId}: asOf ${JSON.stringify(r.asOf)} is not a YYYY-MM-DD date`);
  if (r instanceof ColumnRecord) return r.columns;
  return [
    r.decisionId,
    r.decidedAt,
    r.keyId,
    r.ruleSet,
    r.version,
    r.asOf,
    r.evaluator,
    JSON.stringify(r.outcome),
    JSON.stringify(r.fired),
    r.factsDigest,
    r.facts === null ? null : JSON.stringify(r.facts),
    // Last, as the column was added (schema 2): the indexes of the columns before it stay as they were.
    r.summary === null ? null : JSON.stringify({ holdsUntil: r.summary.holdsUntil }),
  ];
}

/**
 * A record kept as its columns (recordColumns' values, in its order), as a batch's decider thread sends it: its JSON
 * columns were written once, where it was decided, and are read back into objects only if something asks for them
 * (recordColumns does not). decided_at and key_id are the committing recorder's (DecisionRecorder.entryOfColumns).
 */
export class ColumnRecord implements DecisionRecord {
  constructor(readonly columns: readonly (string | null)[]) {}
  get decisionId(): string {
    return this.columns[0] as string;
  }
  get decidedAt(): string {
    return this.columns[1] as string;
  }
  get keyId(): string {
    return this.columns[2] as string;
  }
  get ruleSet(): string {
    return this.columns[3] as string;
  }
  get version(): string {
    return this.columns[4] as string;
  }
  get asOf(): string {
    return this.columns[5] as string;
  }
  get evaluator(): DecisionRecord['evaluator'] {
    return this.columns[6] as DecisionRecord['evaluator'];
  }
  get outcome(): Record<string, unknown> {
    return JSON.parse(this.columns[7] as string) as Record<string, unknown>;
  }
  get fired(): string[] {
    return JSON.parse(this.columns[8] as string) as string[];
  }
  get factsDigest(): string {
    return this.columns[9] as string;
  }
  get facts(): Record<string, unknown> | null {
    return this.columns[10] === null ? null : (JSON.parse(this.columns[10] as string) as Record<string, unknown>);
  }
  get summary(): RecordedSummary | null {
    return this.columns[11] === null ? null : (JSON.parse(this.columns[11] as string) as RecordedSummary);
  }
}

/** A decisions row as a record; `json` reads a JSON column (parses SQLite's text, passes PostgreSQL's jsonb through). */
export function recordOfRow<Outcome, Fired, Facts, Summary>(
  row: DecisionRow<Outcome, Fired, Facts, Summary>,
  json: (value: Outcome | Fired | Facts | Summary) => unknown,
): DecisionRecord {
  return {
    decisionId: row.decision_id,
    decidedAt: row.decided_at,
    keyId: row.key_id,
    ruleSet: row.rule_set,
    version: row.version,
    asOf: row.as_of,
    evaluator: row.evaluator,
    outcome: json(row.outcome) as Record<string, unknown>,
    fired: json(row.fired) as string[],
    factsDigest: row.facts_digest,
    facts: row.facts === null ? null : (json(row.facts) as Record<string, unknown>),
    summary: row.summary === null ? null : (json(row.summary) as RecordedSummary),
  };
}

export const versionOfRow = (row: VersionRow): ArchivedVersion => ({
  version: row.version,
  ruleSet: row.rule_set,
  file: row.file,
  ruleText: row.rule_text,
  calendarText: row.calendar_text,
});
