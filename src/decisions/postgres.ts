// The decision log in PostgreSQL (DECISION_LOG_URL=postgres://…): for deployments that keep their records in a managed
// database, with its backups and replicas, rather than in a file on one machine.
//
// The tables and columns are SQLite's (sqlite.ts), with PostgreSQL's types: timestamptz, date and jsonb, so the log
// can be queried by time and by outcome field. What is read back is what was recorded: the instant and the date are
// formatted by the query, not parsed by node-postgres (which makes a date a Date at local midnight, the day before
// once printed in UTC east of Greenwich), and record() refuses the forms those columns could not give back exactly.
// One thing jsonb does not keep is key order (it orders keys shortest first): the objects read back are equal to the
// ones recorded, not always written in the same order.
import { Pool, type PoolClient } from 'pg';
import {
  RECORD_COLUMNS,
  recordColumns,
  recordOfRow,
  versionOfRow,
  type ArchivedVersion,
  type DecisionLog,
  type DecisionRecord,
  type DecisionRow,
  type LoggedFacts,
  type VersionRow,
} from './log';

export interface PostgresOptions {
  /**
   * Told of an error on an idle pooled connection (the server restarted, a proxy dropped it). The pool discards that
   * connection and opens another when next asked, and a write that cannot be made rejects on its own, so this is
   * for logging only. Without it such errors are dropped: unheard, node-postgres would crash the process.
   */
  onIdleError?: (error: Error) => void;
}

/**
 * Bumped with every change to the tables below; kept in decision_log_schema, PostgreSQL's stand-in for SQLite's
 * user_version. An older database is brought up to date in place when opened (MIGRATIONS). 2: decisions.summary.
 */
export const POSTGRES_SCHEMA_VERSION = 2;

// Any constant: it names "creating the decision log's tables" among the advisory locks of the database.
const SCHEMA_LOCK = 0x5053_444c; // 'PSDL'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  decision_id  text        NOT NULL PRIMARY KEY,
  decided_at   timestamptz NOT NULL,
  key_id       text        NOT NULL,
  rule_set     text        NOT NULL,
  version      text        NOT NULL,
  as_of        date        NOT NULL,
  evaluator    text        NOT NULL CHECK (evaluator IN ('compiled', 'reference')),
  outcome      jsonb       NOT NULL,
  fired        jsonb       NOT NULL,
  facts_digest text        NOT NULL,
  facts        jsonb,
  summary      jsonb
);
CREATE TABLE IF NOT EXISTS rule_versions (
  version       text        NOT NULL PRIMARY KEY,
  rule_set      text        NOT NULL,
  file          text        NOT NULL,
  rule_text     text        NOT NULL,
  calendar_text text        NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS decision_log_schema (
  version integer NOT NULL
);
`;

// What a database of an older schema lacks: CREATE TABLE IF NOT EXISTS leaves an existing table as it is. Each step
// is a no-op on a database that has it already (a new one, or one migrated by another opener). Added columns go last, as
// they do in a new table, so both have the same columns in the same order.
const MIGRATIONS = `
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS summary jsonb;
`;

// One statement for the whole batch, so it is atomic without a transaction and costs one round trip. The records go
// as one array per column, unnested into rows: the same text (so a prepared statement) for any number of records,
// where a VALUES list would have a new text per batch size and hit the 65,535-parameter limit at 5,957 records.
const INSERT_DECISIONS = {
  name: 'ps-decision-log-insert-v2',
  text: `INSERT INTO decisions (decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts, summary)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::date[], $7::text[], $8::jsonb[], $9::jsonb[], $10::text[], $11::jsonb[], $12::jsonb[])`,
};

// to_char, not ::text: a date's and a timestamp's text form follow the session's DateStyle and TimeZone.
const SELECT_DECISION = {
  name: 'ps-decision-log-find-v2',
  text: `SELECT decision_id,
                to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS decided_at,
                key_id, rule_set, version, to_char(as_of, 'YYYY-MM-DD') AS as_of, evaluator, outcome, fired, facts_digest, facts, summary
           FROM decisions WHERE decision_id = $1`,
};

/** Where a connection URL points, with no user, password or query parameters (which may carry a password too). */
export function postgresLocation(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not the URL in the message: it may hold the password. (URL's own error carries it as error.input.)
    throw new Error('DECISION_LOG_URL is not a valid URL (postgres://user:password@host:port/database)');
  }
  const host = parsed.host || parsed.searchParams.get('host') || 'localhost';
  return `${parsed.protocol}//${host}${parsed.pathname}`;
}

type PostgresRow = DecisionRow<Record<string, unknown>, string[], Record<string, unknown>, Record<string, unknown>>;

export class PostgresDecisionLog implements DecisionLog {
  readonly kind = 'postgres';
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    readonly location: string,
  ) {}

  /** Connects, creates the tables if the database has none yet, and checks their schema version. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresDecisionLog> {
    const location = postgresLocation(url);
    const pool = new Pool({
      connectionString: url,
      // Per process: a cluster of N workers holds up to 4N connections, so the server's max_connections bounds N.
      max: 4,
      // Bounded waits, as SQLite's busy_timeout bounds its: a request waiting on the log fails (503) rather than hangs.
      connectionTimeoutMillis: 10_000,
      statement_timeout: 10_000,
      keepAlive: true,
    });
    pool.on('error', (error) => options.onIdleError?.(error));
    try {
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        await createSchema(client, location);
      } catch (error) {
        failure = error as Error;
        throw error;
      } finally {
        // Released with its error, the connection is closed rather than pooled in whatever state the failure left it.
        client.release(failure);
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresDecisionLog(pool, location);
  }

  async record(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const columns: (string | null)[][] = Array.from({ length: RECORD_COLUMNS }, () => new Array<string | null>(records.length));
    records.forEach((r, i) => {
      recordColumns(r).forEach((value, c) => ((columns[c] as (string | null)[])[i] = value));
    });
    await this.pool.query({ ...INSERT_DECISIONS, values: columns });
  }

  async archive(version: ArchivedVersion): Promise<void> {
    await this.pool.query({
      name: 'ps-decision-log-archive-v1',
      text: 'INSERT INTO rule_versions (version, rule_set, file, rule_text, calendar_text) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING',
      values: [version.version, version.ruleSet, version.file, version.ruleText, version.calendarText],
    });
  }

  async find(decisionId: string): Promise<DecisionRecord | undefined> {
    const { rows } = await this.pool.query<PostgresRow>({ ...SELECT_DECISION, values: [decisionId] });
    const row = rows[0];
    // jsonb comes back parsed.
    return row && recordOfRow(row, (value) => value);
  }

  async recentFacts(ruleSet: string, limit: number): Promise<LoggedFacts[]> {
    const { rows } = await this.pool.query<{ decision_id: string; as_of: string; facts: Record<string, unknown> }>({
      name: 'ps-decision-log-recent-facts-v1',
      text: "SELECT decision_id, to_char(as_of, 'YYYY-MM-DD') AS as_of, facts FROM decisions WHERE rule_set = $1 AND facts IS NOT NULL ORDER BY decision_id DESC LIMIT $2",
      values: [ruleSet, limit],
    });
    // jsonb comes back parsed.
    return rows.map((row) => ({ decisionId: row.decision_id, asOf: row.as_of, facts: row.facts }));
  }

  async findVersion(version: string): Promise<ArchivedVersion | undefined> {
    const { rows } = await this.pool.query<VersionRow>({
      name: 'ps-decision-log-find-version-v1',
      text: 'SELECT version, rule_set, file, rule_text, calendar_text FROM rule_versions WHERE version = $1',
      values: [version],
    });
    const row = rows[0];
    return row && versionOfRow(row);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /**
   * A write, as /ready asks for one: a statement that is given a transaction id commits a WAL record, flushed as the
   * server's synchronous_commit has it, so the server's write path is tried without a table the service's role might
   * not be granted.
   */
  async probe(): Promise<void> {
    await this.pool.query('SELECT txid_current()');
  }

  async close(): Promise<void> {
    // pool.end() a second time rejects; closing twice (a shutdown racing a test's afterAll) is not an error.
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * Creates the tables, once, whoever opens first, or brings an older schema's up to date (MIGRATIONS) and records the
 * new version. CREATE TABLE IF NOT EXISTS is not safe against itself in PostgreSQL (two sessions can both find no table
 * and one fails on the catalog's unique index), so openers queue on an advisory lock held until the transaction ends.
 * A database whose tables are current gets no DDL at all: the service's role may be allowed to write the tables and
 * not to create any (PostgreSQL 15 grants no CREATE on public by default).
 */
async function createSchema(client: PoolClient, location: string): Promise<void> {
  // A checked-out client's errors are the caller's to hear (the pool listens only to idle ones); the failing query rejects.
  const ignore = () => undefined;
  client.on('error', ignore);
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      // Two queries: a query naming a missing table fails when parsed, even in a branch it would not take.
      const { rows: found } = await client.query<{ exists: boolean }>(`SELECT to_regclass('decision_log_schema') IS NOT NULL AS exists`);
      let version: number | null = null;
      if (found[0]?.exists) {
        const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM decision_log_schema');
        version = rows[0]?.version ?? null;
      }
      if (version !== null && version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(`${location} holds decision log schema ${version}, newer than this service's ${POSTGRES_SCHEMA_VERSION}; upgrade the service`);
      }
      if (version !== POSTGRES_SCHEMA_VERSION) {
        await client.query(SCHEMA);
        await client.query(MIGRATIONS);
        await client.query('DELETE FROM decision_log_schema');
        await client.query('INSERT INTO decision_log_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(ignore);
      throw error;
    }
  } finally {
    client.removeListener('error', ignore);
  }
}
