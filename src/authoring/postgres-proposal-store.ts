// Proposals and published versions kept in PostgreSQL (DECISION_LOG_URL): the shared deployment's store (issue 19, point
// 5). Several service processes, on several machines, serve one decision log; a version approved on one must be served by
// all, so it is published into the database, not into one machine's rules folder. Every process overlays the versions
// published here on its rules folder (loader/published.ts) and learns of a new one by LISTEN/NOTIFY, with polling as
// a fallback (PublishedVersionsFeed).
//
// The proposals table has SQLite's columns (proposal-store.ts). published_versions holds more than SQLite's: the texts
// of each publication (the new version and the version it ended) in the order they were published, since here they are
// the only copy; a process that starts later rebuilds the rules in force from them.
import { Client, Pool, type PoolClient } from 'pg';
import { DecisionError } from '../errors';
import type { PublishedVersion } from '../loader/published';
import type { ImpactReport } from './impact';
import type { Decided, NewProposal, Proposal, ProposalStatus, ProposalStore } from './proposal-store';

/** The channel every process LISTENs on; the payload is the new publication's id. */
export const PUBLISHED_CHANNEL = 'ps_rule_versions';

// Advisory lock keys (any constants, distinct from the decision log's 'PSDL'): creating these tables, and publishing.
const SCHEMA_LOCK = 0x5053_5052; // 'PSPR'
const PUBLISH_LOCK = 0x5053_5056; // 'PSPV'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS proposals (
  id                text  NOT NULL PRIMARY KEY,
  status            text  NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
  rule_set          text  NOT NULL,
  base_version      text  NOT NULL,
  effective_from    text  NOT NULL,
  rationale         text  NOT NULL,
  proposed_by       text  NOT NULL,
  proposed_at       text  NOT NULL,
  file              jsonb NOT NULL,
  impact            jsonb NOT NULL,
  decided_by        text,
  decided_at        text,
  comment           text,
  published_version text
);
CREATE INDEX IF NOT EXISTS proposals_rule_set ON proposals (rule_set, proposed_at);
CREATE TABLE IF NOT EXISTS published_versions (
  id                 bigserial   NOT NULL PRIMARY KEY,
  proposal_id        text        NOT NULL REFERENCES proposals (id),
  rule_set           text        NOT NULL,
  effective_from     text        NOT NULL,
  version            text        NOT NULL UNIQUE,
  file               text        NOT NULL,
  text               text        NOT NULL,
  ended_version      text        NOT NULL,
  ended_file         text        NOT NULL,
  ended_text         text        NOT NULL,
  ended_proposal_id  text        REFERENCES proposals (id),
  removed            jsonb       NOT NULL,
  published_at       timestamptz NOT NULL DEFAULT now()
);
`;

// Proposal instants and dates are kept as the text the route wrote (ISO instants, YYYY-MM-DD), so they read back exactly.
interface Row {
  id: string;
  status: ProposalStatus;
  rule_set: string;
  base_version: string;
  effective_from: string;
  rationale: string;
  proposed_by: string;
  proposed_at: string;
  file: Record<string, unknown>;
  impact: ImpactReport;
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
  published_version: string | null;
}

const proposalOf = (row: Row): Proposal => ({
  id: row.id,
  status: row.status,
  ruleSet: row.rule_set,
  baseVersion: row.base_version,
  effectiveFrom: row.effective_from,
  rationale: row.rationale,
  proposedBy: row.proposed_by,
  proposedAt: row.proposed_at,
  file: row.file,
  impact: row.impact,
  decidedBy: row.decided_by,
  decidedAt: row.decided_at,
  comment: row.comment,
  publishedVersion: row.published_version,
});

interface PublishedRow {
  id: string;
  proposal_id: string;
  rule_set: string;
  effective_from: string;
  version: string;
  file: string;
  text: string;
  ended_version: string;
  ended_file: string;
  ended_text: string;
  removed: string[];
  published_at: string;
}

const SELECT_PUBLISHED = `SELECT id::text, proposal_id, rule_set, effective_from, version, file, text, ended_version, ended_file, ended_text, removed,
  to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS published_at FROM published_versions`;

const publishedOf = (row: PublishedRow): PublishedVersion => ({
  // bigserial comes back as text (it may exceed 2^53); ids this store gives never will.
  id: Number(row.id),
  proposalId: row.proposal_id,
  ruleSet: row.rule_set,
  effectiveFrom: row.effective_from,
  version: row.version,
  file: row.file,
  text: row.text,
  endedVersion: row.ended_version,
  endedFile: row.ended_file,
  endedText: row.ended_text,
  removed: row.removed,
  publishedAt: row.published_at,
});

/** What approval publishes: the new version and the one it ended, as publication() plans them. */
export type Planned = Pick<PublishedVersion, 'version' | 'file' | 'text' | 'endedVersion' | 'endedFile' | 'endedText' | 'removed'>;

export interface PostgresProposalOptions {
  /** Told of an error on an idle pooled connection (for the log); the pool replaces the connection. */
  onIdleError?: (error: Error) => void;
}

export class PostgresProposalStore implements ProposalStore {
  readonly kind = 'postgres';
  private closed = false;

  private constructor(private readonly pool: Pool) {}

  /** Connects and creates the tables if the database has none yet (in the decision log's database). */
  static async open(url: string, options: PostgresProposalOptions = {}): Promise<PostgresProposalStore> {
    const pool = new Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000, statement_timeout: 10_000, keepAlive: true });
    pool.on('error', (error) => options.onIdleError?.(error));
    try {
      await inTransaction(pool, async (client) => {
        // CREATE TABLE IF NOT EXISTS is not safe against itself in PostgreSQL: openers queue on a lock (as the log's do).
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('published_versions') IS NOT NULL AS exists`);
        if (!rows[0]?.exists) await client.query(SCHEMA);
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresProposalStore(pool);
  }

  async create(p: NewProposal): Promise<Proposal> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO proposals (id, status, rule_set, base_version, effective_from, rationale, proposed_by, proposed_at, file, impact)
       VALUES ($1, 'proposed', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [p.id, p.ruleSet, p.baseVersion, p.effectiveFrom, p.rationale, p.proposedBy, p.proposedAt, JSON.stringify(p.file), JSON.stringify(p.impact)],
    );
    return proposalOf(rows[0] as Row);
  }

  async get(id: string): Promise<Proposal | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM proposals WHERE id = $1', [id]);
    return rows[0] && proposalOf(rows[0]);
  }

  async list(filter: { ruleSet?: string; status?: ProposalStatus } = {}): Promise<Proposal[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM proposals WHERE ($1::text IS NULL OR rule_set = $1) AND ($2::text IS NULL OR status = $2) ORDER BY proposed_at DESC, id`,
      [filter.ruleSet ?? null, filter.status ?? null],
    );
    return rows.map(proposalOf);
  }

  /** As SQLite's: a conditional UPDATE, so of two deciding at once exactly one succeeds. */
  async decide(id: string, status: 'approved' | 'rejected', decided: Decided, publishedVersion: string | null = null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE proposals SET status = $1, decided_by = $2, decided_at = $3, comment = $4, published_version = $5 WHERE id = $6 AND status = 'proposed'`,
      [status, decided.by, decided.at, decided.comment, publishedVersion, id],
    );
    return rowCount === 1;
  }

  /** The proposal that published a version; for a version ended by a later publication, the proposal that published it. */
  async publishedBy(version: string): Promise<Proposal | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT p.* FROM proposals p WHERE p.id = (
         SELECT proposal_id FROM published_versions WHERE version = $1
         UNION ALL SELECT ended_proposal_id FROM published_versions WHERE ended_version = $1 AND ended_proposal_id IS NOT NULL
         LIMIT 1)`,
      [version],
    );
    return rows[0] && proposalOf(rows[0]);
  }

  /** The versions published after `afterId`, in the order they were published. */
  async published(afterId = 0): Promise<PublishedVersion[]> {
    const { rows } = await this.pool.query<PublishedRow>(`${SELECT_PUBLISHED} WHERE id > $1 ORDER BY id`, [afterId]);
    return rows.map(publishedOf);
  }

  /**
   * Approves a proposal and publishes its version, in one transaction: publications queue on an advisory lock (one at a
   * time across every process, as SQLite's BEGIN IMMEDIATE makes them), the proposal is locked FOR UPDATE (two approvals
   * of it publish once; the second finds it approved), `plan` checks it against the versions published so far and says
   * what to publish (or throws a DecisionError: a stale base, a date now past, rules that would be refused), and the
   * NOTIFY goes out when the transaction commits, never before, and not at all if it rolls back.
   */
  async approve(
    id: string,
    decided: Decided,
    plan: (proposal: Proposal, published: readonly PublishedVersion[]) => Planned,
  ): Promise<{ proposal: Proposal; published: PublishedVersion }> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [PUBLISH_LOCK]);
      const { rows } = await client.query<Row>('SELECT * FROM proposals WHERE id = $1 FOR UPDATE', [id]);
      const row = rows[0];
      if (!row) throw new DecisionError('not-found', `There is no proposal ${JSON.stringify(id)}.`);
      const proposal = proposalOf(row);
      if (proposal.status !== 'proposed')
        throw new DecisionError('proposal-conflict', `Proposal ${id} was ${proposal.status} by ${proposal.decidedBy ?? 'another officer'} meanwhile.`);
      const { rows: all } = await client.query<PublishedRow>(`${SELECT_PUBLISHED} ORDER BY id`);
      const planned = plan(proposal, all.map(publishedOf));
      const { rows: updated } = await client.query<Row>(
        `UPDATE proposals SET status = 'approved', decided_by = $1, decided_at = $2, comment = $3, published_version = $4 WHERE id = $5 RETURNING *`,
        [decided.by, decided.at, decided.comment, planned.version, id],
      );
      const { rows: inserted } = await client.query<PublishedRow>(
        `WITH added AS (
           INSERT INTO published_versions (proposal_id, rule_set, effective_from, version, file, text, ended_version, ended_file, ended_text, ended_proposal_id, removed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT proposal_id FROM published_versions WHERE version = $10), $11)
           RETURNING *)
         SELECT id::text, proposal_id, rule_set, effective_from, version, file, text, ended_version, ended_file, ended_text, removed,
                to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS published_at FROM added`,
        [
          id,
          proposal.ruleSet,
          proposal.effectiveFrom,
          planned.version,
          planned.file,
          planned.text,
          planned.endedVersion,
          planned.endedFile,
          planned.endedText,
          proposal.baseVersion,
          JSON.stringify(planned.removed),
        ],
      );
      const published = publishedOf(inserted[0] as PublishedRow);
      await client.query('SELECT pg_notify($1, $2)', [PUBLISHED_CHANNEL, String(published.id)]);
      return { proposal: proposalOf(updated[0] as Row), published };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * The versions published in the database at `url`, in order, read on a connection of its own and creating nothing: a
 * database with no published_versions table (no proposal store opened there yet) has published none. For ps-rules export.
 */
export async function readPublished(url: string): Promise<PublishedVersion[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('published_versions') IS NOT NULL AS exists`);
    if (!rows[0]?.exists) return [];
    const { rows: published } = await client.query<PublishedRow>(`${SELECT_PUBLISHED} ORDER BY id`);
    return published.map(publishedOf);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `work` in a transaction on one pooled connection: committed if it resolves, rolled back if it throws. */
async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client's errors are ours to hear (the pool listens only to idle ones); the failing query rejects.
  const ignore = () => undefined;
  client.on('error', ignore);
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(ignore);
      throw error;
    }
  } catch (error) {
    failure = error instanceof DecisionError ? undefined : (error as Error);
    throw error;
  } finally {
    client.removeListener('error', ignore);
    // Released with a connection's error, it is closed rather than pooled in whatever state the failure left it.
    client.release(failure);
  }
}

/** The application_name of each process's LISTEN connection, so an operator can find them in pg_stat_activity. */
export const LISTENER_NAME = 'ps-rule-versions-listener';

export interface FeedTiming {
  /** How often to look for versions a notification did not bring (default 1 s). */
  pollMs: number;
  /** How long to wait before connecting again after the LISTEN connection fails (default 1 s). */
  reconnectMs: number;
}

export interface FeedLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * A process's view of the versions published in PostgreSQL: all of them, in order, kept up to date by LISTEN on
 * PUBLISHED_CHANNEL (a connection of its own, reconnected when it drops) and by polling every `pollMs` in case a
 * notification was missed (while reconnecting, say). `onChange` is told when new versions arrive (the server reloads
 * its rule store then); fetches are one at a time, so it is never told twice of one version.
 */
export class PublishedVersionsFeed {
  private versions: PublishedVersion[] = [];
  private chain: Promise<void> = Promise.resolve();
  private listener: Client | undefined;
  private poller: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly url: string,
    private readonly store: PostgresProposalStore,
    private readonly onChange: (all: readonly PublishedVersion[], added: readonly PublishedVersion[]) => void,
    private readonly logger?: FeedLogger,
    private readonly timing: FeedTiming = { pollMs: 1_000, reconnectMs: 1_000 },
  ) {}

  /** Every version published so far, in order (what the rule store overlays on the folder). */
  all(): readonly PublishedVersion[] {
    return this.versions;
  }

  /** Fetches what is published now (onChange told if anything is new), then listens and polls. */
  async start(): Promise<void> {
    await this.refresh();
    await this.listen();
    this.poller = setInterval(() => void this.refresh().catch(() => undefined), this.timing.pollMs);
    this.poller.unref();
  }

  /** Fetches the versions published since the last it holds; resolves once onChange has been told of them. */
  refresh(): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.stopped) return;
      const last = this.versions.at(-1)?.id ?? 0;
      let added: PublishedVersion[];
      try {
        added = await this.store.published(last);
      } catch (error) {
        // Once per outage, not once a poll.
        if (!this.failing) this.logger?.warn({ err: error }, 'published rule versions could not be read from PostgreSQL; trying again every poll');
        this.failing = true;
        return;
      }
      if (this.failing) this.logger?.info({}, 'published rule versions can be read from PostgreSQL again');
      this.failing = false;
      if (added.length === 0) return;
      this.versions = [...this.versions, ...added];
      this.onChange(this.versions, added);
    });
    this.chain = next;
    return next;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.url, keepAlive: true, application_name: LISTENER_NAME });
    const retry = () => {
      if (this.stopped || this.listener !== client) return;
      this.listener = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      clearTimeout(this.reconnect);
      this.reconnect = setTimeout(() => void this.listen(), this.timing.reconnectMs);
      this.reconnect.unref();
    };
    this.listener = client;
    client.on('notification', () => void this.refresh());
    client.on('error', (error) => {
      this.logger?.warn({ err: error }, 'the LISTEN connection for published rule versions failed; reconnecting (polling meanwhile)');
      retry();
    });
    client.on('end', retry);
    try {
      await client.connect();
      await client.query(`LISTEN ${PUBLISHED_CHANNEL}`);
      // Anything published while not listening.
      void this.refresh();
    } catch (error) {
      this.logger?.warn({ err: error }, 'could not LISTEN for published rule versions; retrying (polling meanwhile)');
      retry();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poller);
    clearTimeout(this.reconnect);
    const client = this.listener;
    this.listener = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
    await this.chain.catch(() => undefined);
  }
}
