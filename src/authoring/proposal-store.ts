// Proposals kept in SQLite: in the decision log's own file (beside its tables, on their own connection), so the record of
// who proposed and who approved each version lives with the decisions it made. One machine's deployment: PostgreSQL's
// shared store is postgres-proposal-store.ts, with the same interface (ProposalStore).
import Database from 'better-sqlite3';
import { OpenedFiles } from '../decisions/opened-files';
import { DecisionError } from '../errors';
import type { ImpactReport } from './impact';

export type ProposalStatus = 'proposed' | 'approved' | 'rejected';

export interface Proposal {
  id: string;
  status: ProposalStatus;
  ruleSet: string;
  /** The newest version of the rule set when it was proposed: what it replaces, and must still be at approval. */
  baseVersion: string;
  effectiveFrom: string;
  rationale: string;
  /** The API key id that proposed it. */
  proposedBy: string;
  proposedAt: string;
  /** The draft rule file, as proposed. */
  file: Record<string, unknown>;
  impact: ImpactReport;
  /** Who approved or rejected it, when, and what they said; null while proposed. */
  decidedBy: string | null;
  decidedAt: string | null;
  comment: string | null;
  /** The version approval published; null otherwise. */
  publishedVersion: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS proposals (
  id                TEXT NOT NULL PRIMARY KEY,
  status            TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
  rule_set          TEXT NOT NULL,
  base_version      TEXT NOT NULL,
  effective_from    TEXT NOT NULL,
  rationale         TEXT NOT NULL,
  proposed_by       TEXT NOT NULL,
  proposed_at       TEXT NOT NULL,
  file              TEXT NOT NULL,
  impact            TEXT NOT NULL,
  decided_by        TEXT,
  decided_at        TEXT,
  comment           TEXT,
  published_version TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS proposals_rule_set ON proposals (rule_set, proposed_at);
CREATE TABLE IF NOT EXISTS published_versions (
  version     TEXT NOT NULL PRIMARY KEY,
  proposal_id TEXT NOT NULL REFERENCES proposals (id)
) STRICT;
`;

interface Row {
  id: string;
  status: ProposalStatus;
  rule_set: string;
  base_version: string;
  effective_from: string;
  rationale: string;
  proposed_by: string;
  proposed_at: string;
  file: string;
  impact: string;
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
  file: JSON.parse(row.file) as Record<string, unknown>,
  impact: JSON.parse(row.impact) as ImpactReport,
  decidedBy: row.decided_by,
  decidedAt: row.decided_at,
  comment: row.comment,
  publishedVersion: row.published_version,
});

export type NewProposal = Pick<Proposal, 'id' | 'ruleSet' | 'baseVersion' | 'effectiveFrom' | 'rationale' | 'proposedBy' | 'proposedAt' | 'file' | 'impact'>;

export interface Decided {
  by: string;
  at: string;
  comment: string;
}

/** A value, or a promise of one: SQLite's store answers at once (better-sqlite3 is synchronous), PostgreSQL's later. */
export type Answer<T> = T | Promise<T>;

/**
 * What the proposal routes ask of either store (SQLite's here, PostgreSQL's in postgres-proposal-store.ts). Approval is
 * not here: SQLite's publishes into the rules folder under the file's write lock (exclusive), PostgreSQL's publishes into
 * its own tables in one transaction (PostgresProposalStore.approve); the routes take each its own way (api/proposals.ts).
 */
export interface ProposalStore {
  readonly kind: 'sqlite' | 'postgres';
  create(p: NewProposal): Answer<Proposal>;
  get(id: string): Answer<Proposal | undefined>;
  /** Newest first. */
  list(filter?: { ruleSet?: string; status?: ProposalStatus }): Answer<Proposal[]>;
  /** Moves a proposal out of `proposed`, once; false when it was no longer proposed. */
  decide(id: string, status: 'approved' | 'rejected', decided: Decided, publishedVersion?: string | null): Answer<boolean>;
  /** The proposal that published a version (or the version it was ended into), if approval published it. */
  publishedBy(version: string): Answer<Proposal | undefined>;
  close(): Answer<void>;
}

export class SqliteProposalStore implements ProposalStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  /** `file`: the decision log's SQLite file (SqliteDecisionLog.location), opened on a connection of its own. */
  constructor(readonly file: string) {
    this.db = new Database(file, { timeout: 10_000, fileMustExist: true });
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    this.opened = new OpenedFiles(file);
  }

  /** The decision log's file and its -wal and -shm, as this connection opened them. */
  private readonly opened: OpenedFiles;

  /**
   * Throws unless the file is still the one opened: a proposal or an approval written to a file deleted under the
   * service would be lost when it stops, as a decision would (the decision log checks the same files). Asked before a
   * write, so nothing is published on the strength of a record that will vanish, and after it, before the officer hears.
   */
  private verify(): void {
    const changed = this.opened.changed();
    if (changed.length > 0)
      throw new DecisionError(
        'log-unavailable',
        `The decision log at ${this.file} is not the file this service opened (${changed.join(', ')} deleted or replaced under it), so a proposal written now would be lost; restore the files, or restart the service to begin a new log.`,
      );
  }

  /** `write` between two checks that the file is still the one opened. */
  private checked<T>(write: () => T): T {
    this.verify();
    const result = write();
    this.verify();
    return result;
  }

  create(p: NewProposal): Proposal {
    this.checked(() =>
      this.db
        .prepare(
          `INSERT INTO proposals (id, status, rule_set, base_version, effective_from, rationale, proposed_by, proposed_at, file, impact)
         VALUES (?, 'proposed', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(p.id, p.ruleSet, p.baseVersion, p.effectiveFrom, p.rationale, p.proposedBy, p.proposedAt, JSON.stringify(p.file), JSON.stringify(p.impact)),
    );
    return this.get(p.id) as Proposal;
  }

  get(id: string): Proposal | undefined {
    const row = this.db.prepare<[string], Row>('SELECT * FROM proposals WHERE id = ?').get(id);
    return row && proposalOf(row);
  }

  /** Newest first. */
  list(filter: { ruleSet?: string; status?: ProposalStatus } = {}): Proposal[] {
    return this.db
      .prepare<[{ ruleSet: string | null; status: string | null }], Row>(
        'SELECT * FROM proposals WHERE (@ruleSet IS NULL OR rule_set = @ruleSet) AND (@status IS NULL OR status = @status) ORDER BY proposed_at DESC, id',
      )
      .all({ ruleSet: filter.ruleSet ?? null, status: filter.status ?? null })
      .map(proposalOf);
  }

  /**
   * Moves a proposal out of `proposed`, once: a conditional UPDATE, so of two officers deciding one proposal at once
   * (in two requests, or two processes) exactly one succeeds. False when it was no longer proposed.
   */
  decide(id: string, status: 'approved' | 'rejected', decided: Decided, publishedVersion: string | null = null): boolean {
    const { changes } = this.checked(() =>
      this.db
        .prepare(`UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, comment = ?, published_version = ? WHERE id = ? AND status = 'proposed'`)
        .run(status, decided.by, decided.at, decided.comment, publishedVersion, id),
    );
    return changes === 1;
  }

  /** An approval whose rules were refused after all (the reload): the proposal is proposed again, as if never approved. */
  undoApproval(id: string): void {
    this.db.prepare('DELETE FROM published_versions WHERE proposal_id = ? AND version IN (SELECT published_version FROM proposals WHERE id = ?)').run(id, id);
    this.db
      .prepare(
        `UPDATE proposals SET status = 'proposed', decided_by = NULL, decided_at = NULL, comment = NULL, published_version = NULL WHERE id = ? AND status = 'approved'`,
      )
      .run(id);
  }

  /**
   * Which proposal published a version. A version is named by its text's hash, so ending it (its effectiveTo set) makes
   * a new one: publishing records the ended version under the proposal of the version it ended, as well as the new one.
   */
  notePublished(version: string, proposalId: string): void {
    this.db.prepare('INSERT INTO published_versions (version, proposal_id) VALUES (?, ?) ON CONFLICT (version) DO NOTHING').run(version, proposalId);
  }

  publishedBy(version: string): Proposal | undefined {
    const row = this.db
      .prepare<[string], Row>('SELECT p.* FROM published_versions v JOIN proposals p ON p.id = v.proposal_id WHERE v.version = ?')
      .get(version);
    return row && proposalOf(row);
  }

  /**
   * Runs `work` holding SQLite's write lock (BEGIN IMMEDIATE), and commits what it wrote to the store: publications
   * happen one at a time across every process on the file, and a throw rolls back the store's part.
   */
  exclusive<T>(work: () => T): T {
    // Checked before, not after: the work writes the rule files, which a failure after the commit would leave written.
    this.verify();
    return this.db.transaction(work).immediate();
  }

  close(): void {
    this.db.close();
  }
}
