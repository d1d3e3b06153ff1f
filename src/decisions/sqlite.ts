// The decision log in a SQLite file under the data directory: the default store, needing no server.
//
// Every cluster worker opens the same file. WAL lets them read while one writes, and the busy timeout makes a writer
// wait its turn for the file's one write lock rather than fail. The wait blocks that worker's event loop (better-sqlite3
// is synchronous), but a commit holds the lock for well under a millisecond (about 50 µs a record() call measured on
// a local disk, 250 µs with durability 'power'), so the wait is as short as the writes are.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OpenedFiles } from './opened-files';
import {
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
  /**
   * Refuse to create the file: open only a log that exists. A cluster's primary creates it at start; a worker
   * (re)started later must not begin a new, empty log because the old one was deleted under the service.
   */
  mustExist?: boolean;
}

/**
 * Bumped with every change to the tables below, so a file written by a newer service is refused, not misread; an older
 * file is brought up to date in place when opened (MIGRATIONS). 2: decisions.summary.
 */
export const SQLITE_SCHEMA_VERSION = 2;

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
  facts        TEXT,
  summary      TEXT
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

/**
 * What a file of an older schema lacks, by the column that shows it: CREATE TABLE IF NOT EXISTS leaves an existing
 * table as it is. Added columns go last, as ALTER TABLE puts them, so a new file and a migrated one have the same
 * columns in the same order.
 */
const MIGRATIONS: readonly { table: string; column: string; ddl: string }[] = [
  // Schema 2: the parts of an answer's summary the version, the facts and asOf cannot give again (log.ts RecordedSummary).
  { table: 'decisions', column: 'summary', ddl: 'ALTER TABLE decisions ADD COLUMN summary TEXT' },
];

/** The PRAGMAs every connection to the file is opened with (exported so a test's plain-JS child process uses the same). */
export function sqlitePragmas(durability: Durability = 'process', busyTimeoutMs = 10_000): string[] {
  // busy_timeout first: switching to WAL takes the write lock, and several workers may be opening at once.
  return [`busy_timeout = ${busyTimeoutMs}`, 'journal_mode = WAL', `synchronous = ${durability === 'power' ? 'FULL' : 'NORMAL'}`];
}

/** The JSON columns are text in SQLite. */
type SqliteRow = DecisionRow<string, string, string, string>;

/**
 * Failures leave the store as plain Errors with the driver's own as their cause: one kind of error for
 * callers of either store, whatever the native driver threw.
 */
function storeError(error: unknown): Error {
  const message = error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error) ? String(error.message) : String(error);
  return new Error(`SQLite decision log: ${message}`, { cause: error });
}

/**
 * The work is synchronous, but every method fails by rejecting, never by throwing: a caller that chains
 * .then/.catch (or hands the promise to Promise.all) expects its failures there, and a throw would skip past them.
 */
function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(storeError(error));
  }
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
  /** Prepared when first asked (an officer measuring a draft), not by every worker at start. */
  private selectRecent: Database.Statement<[string, number], { decision_id: string; as_of: string; facts: string }> | undefined;
  /** The database, its WAL and its shared-memory index, as opened. */
  private readonly opened: OpenedFiles;
  /** Set once the files at the path are found not to be the ones open: this connection never writes again. */
  private lost: Error | undefined;

  constructor({ dataDir, durability = 'process', busyTimeoutMs = 10_000, mustExist = false }: SqliteOptions) {
    mkdirSync(dataDir, { recursive: true });
    this.location = path.resolve(dataDir, 'decisions.sqlite');
    const db = new Database(this.location, { timeout: busyTimeoutMs, fileMustExist: mustExist });
    try {
      for (const pragma of sqlitePragmas(durability, busyTimeoutMs)) {
        const result = db.pragma(pragma, { simple: true });
        // journal_mode answers the mode in force: not WAL (a file system without shared memory, say) would make
        // readers wait on writers and void what Durability promises, so the log is not opened at all.
        if (pragma.startsWith('journal_mode') && result !== 'wal')
          throw new Error(`${this.location}: SQLite could not use WAL journaling here (journal_mode is ${String(result)})`);
      }
      // IMMEDIATE takes the write lock first, so workers opening a new file at once create it one after another.
      db.transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > SQLITE_SCHEMA_VERSION) {
          throw new Error(`${this.location} holds decision log schema ${version}, newer than this service's ${SQLITE_SCHEMA_VERSION}; upgrade the service`);
        }
        db.exec(SCHEMA);
        if (version < SQLITE_SCHEMA_VERSION) {
          for (const { table, column, ddl } of MIGRATIONS) {
            const columns = db.prepare<[string], string>('SELECT name FROM pragma_table_info(?)').pluck().all(table);
            if (!columns.includes(column)) db.exec(ddl);
          }
          db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
        }
      }).immediate();
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    // In WAL mode the -wal and -shm files exist from the first transaction (above) until the last connection closes.
    this.opened = new OpenedFiles(this.location);

    const insert = db.prepare<(string | null)[]>(
      `INSERT INTO decisions (decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertAll = db.transaction((records: readonly DecisionRecord[]) => {
      for (const r of records) insert.run(...recordColumns(r));
    });
    this.insertVersion = db.prepare(
      `INSERT INTO rule_versions (version, rule_set, file, rule_text, calendar_text) VALUES (?, ?, ?, ?, ?) ON CONFLICT (version) DO NOTHING`,
    );
    this.selectDecision = db.prepare(
      'SELECT decision_id, decided_at, key_id, rule_set, version, as_of, evaluator, outcome, fired, facts_digest, facts, summary FROM decisions WHERE decision_id = ?',
    );
    this.selectVersion = db.prepare('SELECT version, rule_set, file, rule_text, calendar_text FROM rule_versions WHERE version = ?');
    this.selectOne = db.prepare('SELECT 1');
  }

  /**
   * Throws unless the files at the log's path are still the ones this connection opened. A file deleted (or
   * replaced) under a running service stays open and writable: SQLite goes on committing to the unlinked inode,
   * which is gone for good when the process ends, so a decision "recorded" there is lost. After each commit,
   * before the caller is answered, this compares the device and inode of the database and its -wal and -shm
   * files with those opened (three stat calls, a few microseconds); a mismatch fails the commit, and every later
   * call, so the request is a 503 and /ready says why, until an operator restores the file or restarts the
   * service (which begins a new log).
   */
  private verify(): void {
    if (!this.lost) {
      const changed = this.opened.changed();
      if (changed.length === 0) return;
      const names = changed.join(', ');
      this.lost = new Error(
        `the decision log at ${this.location} is not the file this service opened (${names} deleted or replaced under it), so what it writes now would be lost; restore the files, or restart the service to begin a new log`,
      );
    }
    throw this.lost;
  }

  record(records: readonly DecisionRecord[]): Promise<void> {
    // One transaction: all the records are committed, or (any failing) none. IMMEDIATE waits (busy_timeout) for the
    // write lock up front, rather than failing if another worker takes it between this one's read and write.
    // Checked after the commit, before the caller hears of it: a file deleted before or during the commit loses what
    // it holds. (Once found lost, verify() refuses at once, without looking at the files again.)
    return attempt(() => {
      if (this.lost) throw this.lost;
      this.insertAll.immediate(records);
      this.verify();
    });
  }

  archive(version: ArchivedVersion): Promise<void> {
    return attempt(() => {
      if (this.lost) throw this.lost;
      this.insertVersion.run(version.version, version.ruleSet, version.file, version.ruleText, version.calendarText);
      this.verify();
    });
  }

  find(decisionId: string): Promise<DecisionRecord | undefined> {
    return attempt(() => {
      // A lost file's records are no longer the log: an auditor must not be shown them as if they were.
      this.verify();
      const row = this.selectDecision.get(decisionId);
      return row && recordOfRow(row, (text) => JSON.parse(text) as unknown);
    });
  }

  recentFacts(ruleSet: string, limit: number): Promise<LoggedFacts[]> {
    return attempt(() => {
      this.verify();
      this.selectRecent ??= this.db.prepare<[string, number], { decision_id: string; as_of: string; facts: string }>(
        'SELECT decision_id, as_of, facts FROM decisions WHERE rule_set = ? AND facts IS NOT NULL ORDER BY decision_id DESC LIMIT ?',
      );
      return this.selectRecent
        .all(ruleSet, limit)
        .map((row) => ({ decisionId: row.decision_id, asOf: row.as_of, facts: JSON.parse(row.facts) as Record<string, unknown> }));
    });
  }

  findVersion(version: string): Promise<ArchivedVersion | undefined> {
    return attempt(() => {
      this.verify();
      const row = this.selectVersion.get(version);
      return row && versionOfRow(row);
    });
  }

  ping(): Promise<void> {
    return attempt(() => {
      this.verify();
      this.selectOne.get();
    });
  }

  /**
   * A write as a decision's is written: a transaction that appends a page to the WAL and commits (setting the
   * schema's user_version to the value it has rewrites the header page, so no table is needed), then the file
   * check. What /ready asks: it fails on a full disk, a read-only file system or a lost file, as a decision would.
   */
  probe(): Promise<void> {
    return attempt(() => {
      if (this.lost) throw this.lost;
      this.db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      this.verify();
    });
  }

  close(): Promise<void> {
    return attempt(() => void this.db.close());
  }
}
