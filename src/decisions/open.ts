// Which decision log the service writes: PostgreSQL when DECISION_LOG_URL names one, else SQLite under the data directory.
import type { DecisionLog } from './log';
import type { Durability } from './sqlite';

export interface OpenOptions {
  /** DECISION_LOG_URL: a postgres:// or postgresql:// URL. Unset (or empty, as an env file leaves it) means SQLite. */
  url?: string;
  /** Where the SQLite file goes when there is no URL. */
  dataDir: string;
  /** SQLite's only (see Durability); PostgreSQL's is the server's synchronous_commit setting. */
  durability?: Durability;
  /** SQLite's only: open an existing file, never create one (see SqliteOptions.mustExist). */
  mustExist?: boolean;
  /** PostgreSQL's only: told of errors on idle pooled connections, for the service's log. */
  onIdleError?: (error: Error) => void;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

export async function openDecisionLog({ url, dataDir, durability, mustExist, onIdleError }: OpenOptions): Promise<DecisionLog> {
  if (url === undefined || url === '') {
    // Required here, not at the top: a deployment on one store need not load the other's driver (better-sqlite3 is native).
    const { SqliteDecisionLog } = await import('./sqlite');
    return new SqliteDecisionLog({ dataDir, durability, mustExist });
  }
  // The scheme only, never the URL, in the error: the URL may carry the database password.
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    const found = scheme === undefined ? 'it has no scheme' : `it is a ${scheme}: URL`;
    throw new Error(`DECISION_LOG_URL must be a postgres:// or postgresql:// URL, or unset for SQLite under the data directory; ${found}`);
  }
  const { PostgresDecisionLog } = await import('./postgres');
  return PostgresDecisionLog.open(url, { onIdleError });
}
