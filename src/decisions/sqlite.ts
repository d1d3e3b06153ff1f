// The decision log in a SQLite file under the data directory: the default store, needing no server.
//
// Every cluster worker opens the same file. WAL lets them read while one writes, and the busy timeout makes a writer
// wait its turn for the file's one write lock rather than fail. The wait blocks that worker's event loop (better-sqlite3
// is synchronous), but a commit holds the lock for well under a millisecond (about 50 µs a record() call measured on
// a local disk, 250 µs with durability 'power'), so the wait is as short as the writes are.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ArchivedVersion, DecisionLog, DecisionRecord, DecisionRow } from './log';

/**
 * What a committed record survives. 'process' (synchronous=NORMAL): in WAL mode a commit is written to the WAL file,
 * so it is in the operating system's page cache when record() resolves and survives the process being killed, SIGKILL
 * and out-of-memory kills included; the WAL is fsynced at checkpoints, so a power cut or kernel crash can lose the last
 * commits before one (never corrupt the file). 'power' (synchronous=FULL): the WAL is fsynced at every commit, so a
 * commit survives a power cut too, at the price of a disk flush per record() call.
 */
export type Durability = 'process' | 'power';

export interface SqliteOptions {
  /** The file is `<dataDir>/decisions.sqlite`; the folder is created if missing. */
  dataDir: string;
  durability?: Durability;
  /** How long a writer waits for another process's write lock before record() rejects. */
  busyTimeoutMs?: number;
}

/** Bumped with every change to the tables below, so a file written by a newer service is refused, not misread. */
export const SQLITE_SCHEMA_VERSION = 1;

// STRICT: a column holds only its declared type, as PostgreSQL's would. JSON is stored as text, written by
// JSON.stringify, so it reads back exactly as recorded.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  decision_id  TEXT NOT NULL PRIMARY KEY,
  decided_at   TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  rule_set     TEXT NOT NULL,
  version      TEXT NOT NULL,
  as_of        TEXT NOT NULL,
  evaluator    TEXT NOT NULL CHECK (evaluator IN ('compiled', 'reference')),
  outcome      TEXT NOT NULL,
  fired        TEXT NOT NULL,
  facts_digest TEXT NOT NULL,
  facts        TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS rule_versions (
  version       TEXT NOT NULL PRIMARY KEY,
  rule_set      TEXT NOT NULL,
  file          TEXT NOT NULL,
  rule_text     TEXT NOT NULL,
  calendar_text TEXT NOT NULL,
  archived_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
`;

// The forms PostgreSQL's timestamptz and date columns give back (see postgres.ts, which checks the same). Refused
// here too, so a record either store accepts reads back the same from both.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function checked(record: DecisionRecord): DecisionRecord {
  if (!INSTANT.test(record.decidedAt)) throw new Error(`decision ${record.decisionId}: decidedAt ${JSON.stringify(record.decidedAt)} is not an instant as Date.toISOString() writes it`);
  if (!DATE.test(record.asOf)) throw new Error(`decision ${record.decisionId}: asOf ${JSON.stringify(record.asOf)} is not a YYYY-MM-DD date`);
  return record;
}

/** The PRAGMAs every connection to the file is opened with (exported so a test's plain-JS child process uses the same). */
export function sqlitePragmas(durability: Durability = 'process', busyTimeoutMs = 10_000): string[] {
  // busy_timeout first: switching to WAL takes the write lock, and several workers may be opening at once.
  return [`busy_timeout = ${busyTimeoutMs}`, 'journal_mode = WAL', `synchronous = ${durability === 'power' ? 'FULL' : 'NORMAL'}`];
}

/** The JSON columns are text in SQLite. */
type SqliteRow = DecisionRow<string, string, string>;

interface VersionRow {
  version: string;
  rule_set: string;
  file: string;
  rule_text: string;
  calendar_text: string;
}

/**
 * Failures leave the store as plain Errors with the driver's own as their cause: one kind of error for
 * callers of either store, whatever the native driver threw.
 */
function storeError(error: unknown): Error {
  const message = error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error) ? String((error as { message: unknown }).message) : String(error);
  return new Error(`SQLite decision log: ${message}`, { cause: error });
}

export class SqliteDecisionLog implements DecisionLog {
  readonly kind = 'sqlite';
  readonly location: string;
  private readonly db: Database.Database;
  private readonly insertAll: Database.Transaction<(records: readonly DecisionRecord[]) => void>;
  private readonly insertVersion: Database.Statement<[string, string, string, string, string]>;
  private readonly selectDecision: Database.Statement<[string], SqliteRow>;
  private readonly selectVersion: Database.Statement<[string], VersionRow>;
  private readonly selectOne: Database.Statement<[]>;

  constructor({ dataDir, durability = 'process', busyTimeoutMs = 10_000 }: SqliteOptions) {
    mkdirSync(dataDir, { recursive: true });
    this.location = path.resolve(dataDir, 'decisions.sqlite');
    const db = new Database(this.location, { timeout: busyTimeoutMs });
    try {
      for (const pragma of sqlitePragmas(durability, busyTimeoutMs)) {
        const result = db.pragma(pragma, { simple: true });
        // journal_mode answers the mode in force: not WAL (a file system without shared memory, say) would make
        // readers wait on writers and void what Durability promises, so the log is not opened at all.
        if (pragma.startsWith('journal_mode') && result !== 'wal') throw new Error(`${this.location}: SQLite could not use WAL journaling here (journal_mode is ${String(result)})`);
      }
      // IMMEDIATE takes the write lock first, so workers opening a new file at once create it one after another.
      db.transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > SQLITE_SCHEMA_VERSION) {
          throw new Error(`${this.location} holds decision log schema ${version}, newer than this service's ${SQLITE_SCHEMA_VERSION}; upgrade the service`);
        }
        db.exec(SCHEMA);
        if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      }).immediate();
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;

    const insert = db.prepare<[string, string, string, string, string, string, string, string, string, string, string | null]>(
      `INSERT INTO decisions (decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertAll = db.transaction((records: readonly DecisionRecord[]) => {
      for (const r of records) {
        checked(r);
        insert.run(r.decisionId, r.decidedAt, r.keyId, r.ruleSet, r.version, r.asOf, r.evaluator, JSON.stringify(r.outcome), JSON.stringify(r.fired), r.factsDigest, r.facts === null ? null : JSON.stringify(r.facts));
      }
    });
    this.insertVersion = db.prepare(
      `INSERT INTO rule_versions (version, rule_set, file, rule_text, calendar_text) VALUES (?, ?, ?, ?, ?) ON CONFLICT (version) DO NOTHING`,
    );
    this.selectDecision = db.prepare('SELECT * FROM decisions WHERE decision_id = ?');
    this.selectVersion = db.prepare('SELECT version, rule_set, file, rule_text, calendar_text FROM rule_versions WHERE version = ?');
    this.selectOne = db.prepare('SELECT 1');
  }

  // The work is synchronous, but every method fails by rejecting, never by throwing: a caller that chains
  // .then/.catch (or hands the promise to Promise.all) expects its failures there, and a throw would skip past them.

  record(records: readonly DecisionRecord[]): Promise<void> {
    try {
      // One transaction: all the records are committed, or (any failing) none. IMMEDIATE waits (busy_timeout) for the
      // write lock up front, rather than failing if another worker takes it between this one's read and write.
      this.insertAll.immediate(records);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  archive(version: ArchivedVersion): Promise<void> {
    try {
      this.insertVersion.run(version.version, version.ruleSet, version.file, version.ruleText, version.calendarText);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  find(decisionId: string): Promise<DecisionRecord | undefined> {
    try {
      const row = this.selectDecision.get(decisionId);
      return Promise.resolve(row && {
        decisionId: row.decision_id,
        decidedAt: row.decided_at,
        keyId: row.key_id,
        ruleSet: row.rule_set,
        version: row.version,
        asOf: row.as_of,
        evaluator: row.evaluator,
        outcome: JSON.parse(row.outcome) as Record<string, unknown>,
        fired: JSON.parse(row.fired) as string[],
        factsDigest: row.facts_digest,
        facts: row.facts === null ? null : (JSON.parse(row.facts) as Record<string, unknown>),
      });
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  findVersion(version: string): Promise<ArchivedVersion | undefined> {
    try {
      const row = this.selectVersion.get(version);
      return Promise.resolve(row && { version: row.version, ruleSet: row.rule_set, file: row.file, ruleText: row.rule_text, calendarText: row.calendar_text });
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  ping(): Promise<void> {
    try {
      this.selectOne.get();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  close(): Promise<void> {
    try {
      this.db.close();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }
}
