// Four eyes on a rule change (issue 19): a policy officer proposes a new version of a rule set, in force from a date, with
// its impact on the fixtures; another approves it, which publishes it (into the rules folder with SQLite; into PostgreSQL,
// for every server process to load, in the shared deployment) and swaps it in as a reload does, or rejects it. And every
// version's history: who proposed it, who approved it, why, and what changed.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Express, RequestHandler, Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { versionOf, type CompiledRuleSet, type RuleSetModule } from '../engine/compile';
import { DecisionError, type Issue } from '../errors';
import { loadFixtures } from '../authoring/fixtures';
import { impactOf, type ImpactReport } from '../authoring/impact';
import type { Planned, PostgresProposalStore } from '../authoring/postgres-proposal-store';
import type { Proposal, ProposalStore, SqliteProposalStore } from '../authoring/proposal-store';
import {
  effectiveFromProblems,
  filesAfter,
  jsonChanges,
  parseDecisionComment,
  parseProposalRequest,
  publication,
  undated,
  type BaseVersion,
  type Publication,
} from '../authoring/proposals';
import { loadRules, loadRuleTexts, type LoadedRegistry, type RuleRegistry, type RuleSetVersions, type RuleTexts } from '../loader/load';
import { loadRulesInForce, type PublishedVersion } from '../loader/published';
import type { ReloadReport } from '../loader/store';
import { REALM, type Caller, type Permission } from './access';

/**
 * What proposals need: the store (SQLite's, in the decision log's file, publishing into the rules folder; or
 * PostgreSQL's, publishing into its own tables for every process to load), the rules folder, and what the loader
 * compiles with.
 */
export interface ProposalOptions {
  store: ProposalStore;
  /**
   * PostgreSQL's only: fetches the versions published since this process last looked and swaps them in (the feed every
   * process listens with, asked at once rather than on its notification), so the approving process answers with its
   * rules already swapped.
   */
  refreshPublished?: () => Promise<void>;
  /** The rules folder (RULES_DIR) the store reloads from. */
  directory: string;
  modules: Readonly<Record<string, RuleSetModule>>;
  /** Where the fixtures are, by rule set (fixtures/<ruleSet>/*.json): the cases a proposal's impact is measured on. */
  fixturesDirectory?: string;
}

export interface ProposalRouteContext {
  rules: () => RuleRegistry;
  reload?: () => ReloadReport | Promise<ReloadReport>;
  clock: () => Date;
  guard: (permission: Permission) => RequestHandler[];
  body: RequestHandler[];
  ruleSetNamed: (name: string, registry?: RuleRegistry) => RuleSetVersions;
  /** Absent: the service runs without a SQLite decision log, and the proposal routes say so (501). */
  proposals?: ProposalOptions;
}

const callerOf = (res: Response): Caller => res.locals.caller as Caller;

/** A proposal as the API shows it: everything but the draft's text, which GET /v1/proposals/{id} adds. */
function shown(p: Proposal, withFile = false) {
  return {
    id: p.id,
    status: p.status,
    ruleSet: p.ruleSet,
    baseVersion: p.baseVersion,
    effectiveFrom: p.effectiveFrom,
    rationale: p.rationale,
    proposedBy: p.proposedBy,
    proposedAt: p.proposedAt,
    decidedBy: p.decidedBy,
    decidedAt: p.decidedAt,
    comment: p.comment,
    publishedVersion: p.publishedVersion,
    ...(withFile ? { file: p.file } : {}),
  };
}

const unavailable = () =>
  new DecisionError(
    'proposals-unavailable',
    'Proposals are kept in the decision log (SQLite, or PostgreSQL) and published from it; this service runs without one (the rules are fixed, or the proposal store could not be opened). Change the rule files and reload instead.',
  );

/** The newest version of a rule set as its file holds it, from the texts a registry was loaded from. */
export function baseOf(versions: RuleSetVersions, texts: RuleTexts | undefined): BaseVersion {
  const latest: CompiledRuleSet = versions.latest;
  const text = texts?.files.find((f) => f.file === latest.sourceFile)?.text ?? latest.texts?.rule;
  if (text === undefined) throw new Error(`the text of ${latest.sourceFile} is not at hand`);
  return {
    ruleSet: versions.name,
    version: latest.version,
    file: latest.sourceFile,
    text,
    effectiveFrom: latest.effectiveFrom,
    effectiveTo: latest.effectiveTo,
  };
}

/**
 * The rules a publication would leave: compiled from the texts in memory, or the loader's problems as it gives them
 * (`<ruleSet>.json#<pointer>`, with the line and column in the text as it would be published: the draft's file is
 * named as it would be written).
 */
function rulesAfter(texts: RuleTexts, plan: Publication, modules: ProposalOptions['modules']): LoadedAfter {
  try {
    return { registry: loadRuleTexts(texts.calendarText, filesAfter(texts.files, plan), { modules }) };
  } catch (error) {
    if (error instanceof DecisionError) return { issues: error.issues };
    throw error;
  }
}
type LoadedAfter = { registry: RuleRegistry; issues?: undefined } | { issues: Issue[]; registry?: undefined };

/**
 * The draft's impact: each fixture of the rule set decided by the version it replaces and by the draft, both taken
 * as in force whatever the day (a fixture's asOf is usually before the draft's date; what is compared is what the
 * rules say, not when). The versions named are the real ones: the base's, and the one publishing would give.
 */
async function fixtureImpact(options: ProposalOptions, texts: RuleTexts, base: BaseVersion, plan: Publication): Promise<ImpactReport> {
  const cases = options.fixturesDirectory
    ? loadFixtures(options.fixturesDirectory, base.ruleSet).map((f) => ({ id: f.file, ruleSet: base.ruleSet, asOf: f.asOf, facts: f.facts }))
    : [];
  const alone = (text: string) => undatedRules(texts, plan.newFile, text, options.modules);
  const report = await impactOf(alone(base.text), alone(plan.newText), cases);
  const changed = versionOf(plan.newText, texts.calendarText);
  for (const c of report.changed) c.versions = { base: base.version, changed };
  return report;
}

/** One version of a rule set alone, without its period: in force whatever the day (impact compares what rules say). */
export function undatedRules(texts: RuleTexts, file: string, text: string, modules: ProposalOptions['modules']): RuleRegistry {
  return loadRuleTexts(texts.calendarText, [{ file, text: undated(text) }], { modules });
}

/** Writes a file whole or not at all: a temporary file beside it (hidden, so the loader and a reload skip it), renamed over it. */
function writeAtomically(file: string, text: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/**
 * Writes a publication into the folder, returning how to put the folder back as it was. A failure part way puts back
 * what it had done, and throws.
 */
function writePublication(directory: string, plan: Publication): () => void {
  const touched = [...plan.write.map((w) => w.file), ...plan.remove];
  const before = new Map(touched.map((file) => [file, existsSync(path.join(directory, file)) ? readFileSync(path.join(directory, file), 'utf8') : null]));
  const restore = () => {
    for (const [file, text] of before) {
      const full = path.join(directory, file);
      if (text === null) rmSync(full, { force: true });
      else writeAtomically(full, text);
    }
  };
  try {
    // The ended version first: until the new one replaces it the folder holds both (a reload then refuses their overlap
    // and keeps the rules in force), never neither.
    for (const { file, text } of plan.write) writeAtomically(path.join(directory, file), text);
    for (const file of plan.remove) rmSync(path.join(directory, file));
  } catch (error) {
    restore();
    throw error;
  }
  return restore;
}

export function addProposalRoutes(app: Express, context: ProposalRouteContext): void {
  const { rules, reload, clock, guard, body, ruleSetNamed } = context;
  const options = reload ? context.proposals : undefined;
  const need = (): ProposalOptions => {
    if (!options) throw unavailable();
    return options;
  };
  const proposalNamed = async (id: string): Promise<Proposal> => {
    const found = await need().store.get(id);
    if (!found) throw new DecisionError('not-found', `There is no proposal ${JSON.stringify(id)}.`);
    return found;
  };

  app.post('/v1/proposals', ...guard('propose'), ...body, async (req, res) => {
    const proposals = need();
    const parsed = parseProposalRequest(req.body);
    if ('issues' in parsed) throw new DecisionError('invalid-request', 'The proposal is not { ruleSet, file, effectiveFrom, rationale }.', parsed.issues);
    const { request } = parsed;
    const registry = rules();
    let versions: RuleSetVersions;
    try {
      versions = ruleSetNamed(request.ruleSet, registry);
    } catch (error) {
      if (error instanceof DecisionError) throw new DecisionError(error.code, error.message, [{ pointer: '/ruleSet', message: 'is not a rule set' }]);
      throw error;
    }
    const texts = registry.texts;
    if (!texts) throw unavailable();
    const base = baseOf(versions, texts);
    const today = todayInSydney(clock());
    const dated = effectiveFromProblems(request.effectiveFrom, today, base.effectiveFrom);
    if (dated.length > 0) throw new DecisionError('invalid-request', `effectiveFrom ${request.effectiveFrom} cannot be the day it takes effect.`, dated);
    if (request.file.ruleSet !== request.ruleSet)
      throw new DecisionError('draft-invalid', `The draft is not a rule file of ${request.ruleSet}.`, [
        { pointer: '/file/ruleSet', message: `must be "${request.ruleSet}", the rule set proposed for` },
      ]);
    const plan = planOrConflict(base, request.file, request.effectiveFrom, texts);
    const after = rulesAfter(texts, plan, proposals.modules);
    if (after.issues) throw new DecisionError('draft-invalid', `The draft was refused: ${after.issues.length} problem(s). Nothing was proposed.`, after.issues);
    const impact = await fixtureImpact(proposals, texts, base, plan);
    const created = await proposals.store.create({
      id: randomUUID(),
      ruleSet: request.ruleSet,
      baseVersion: base.version,
      effectiveFrom: request.effectiveFrom,
      rationale: request.rationale,
      proposedBy: callerOf(res).id,
      proposedAt: clock().toISOString(),
      file: request.file,
      impact,
    });
    res
      .status(201)
      .location(`/v1/proposals/${created.id}`)
      .json({ ...shown(created), problems: [], impact });
  });

  app.get('/v1/proposals', ...guard('read-proposals'), async (req, res) => {
    const { ruleSet, status } = req.query;
    const issues: Issue[] = [];
    if (ruleSet !== undefined && typeof ruleSet !== 'string') issues.push({ pointer: '', message: 'query parameter ruleSet must be given once' });
    if (status !== undefined && !['proposed', 'approved', 'rejected'].includes(status as string))
      issues.push({ pointer: '', message: 'query parameter status must be proposed, approved or rejected' });
    if (issues.length > 0) throw new DecisionError('invalid-request', 'The query is not one GET /v1/proposals takes.', issues);
    const list = await need().store.list({ ruleSet: ruleSet as string | undefined, status: status as Proposal['status'] | undefined });
    res.json({ proposals: list.map((p) => shown(p)) });
  });

  app.get('/v1/proposals/:id', ...guard('read-proposals'), async (req, res) => {
    const p = await proposalNamed(String(req.params.id));
    res.json({ ...shown(p, true), impact: p.impact });
  });

  /** The checks both approve and reject make first: a proposal still proposed, decided by another officer. */
  const decidable = async (id: string, res: Response, verb: string): Promise<{ proposal: Proposal; comment: string; by: string } & ProposalOptions> => {
    const proposals = need();
    const proposal = await proposalNamed(id);
    const by = callerOf(res).id;
    if (proposal.status !== 'proposed')
      throw new DecisionError(
        'proposal-conflict',
        `Proposal ${id} was ${proposal.status} by ${proposal.decidedBy ?? 'another officer'}; it cannot be ${verb} now.`,
      );
    if (proposal.proposedBy === by) {
      // As any refusal of a key that may not do what it asks (access.ts): this one needs another officer's.
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope"`);
      throw new DecisionError('forbidden', `Key "${by}" proposed ${id}: a second officer must ${verb === 'approved' ? 'approve' : 'reject'} it.`);
    }
    return { ...proposals, proposal, by, comment: '' };
  };

  app.post('/v1/proposals/:id/reject', ...guard('approve'), ...body, async (req, res) => {
    const parsed = parseDecisionComment(req.body);
    const id = String(req.params.id);
    const { store, by } = await decidable(id, res, 'rejected');
    if ('issues' in parsed) throw new DecisionError('invalid-request', 'Send { "comment" } saying why.', parsed.issues);
    if (!(await store.decide(id, 'rejected', { by, at: clock().toISOString(), comment: parsed.comment })))
      throw new DecisionError('proposal-conflict', `Proposal ${id} was decided by another officer meanwhile.`);
    res.json(shown((await store.get(id)) as Proposal));
  });

  app.post('/v1/proposals/:id/approve', ...guard('approve'), ...body, async (req, res) => {
    const parsed = parseDecisionComment(req.body);
    const id = String(req.params.id);
    const decision = await decidable(id, res, 'approved');
    const { directory, modules, proposal, by } = decision;
    if ('issues' in parsed) throw new DecisionError('invalid-request', 'Send { "comment" } saying what was checked.', parsed.issues);
    const today = todayInSydney(clock());
    const at = clock().toISOString();
    if (decision.store.kind === 'postgres') {
      // The shared deployment: published into PostgreSQL in one transaction, for every process to load (its feed), this
      // one at once. Nothing is written into the folder (ps-rules export writes the files for git).
      const store = decision.store as PostgresProposalStore;
      const { published } = await store.approve(id, { by, at, comment: parsed.comment }, (locked, versions) =>
        plannedFor(checkedPublication(locked, rulesInForce(directory, modules, versions), today, modules)),
      );
      await decision.refreshPublished?.();
      const served =
        rules()
          .ruleSets.get(proposal.ruleSet)
          ?.versions.some((v) => v.version === published.version) ?? false;
      if (!served)
        throw new DecisionError(
          'rules-refused',
          `Proposal ${id} was approved and version ${published.version} published, but this process refused the rules it gives and keeps its last good ones; see its log.`,
        );
      res.json({
        ...shown((await store.get(id)) as Proposal),
        published: { version: published.version, file: published.file, ended: published.endedFile, removed: published.removed },
      });
      return;
    }
    const store = decision.store as SqliteProposalStore;
    // One publication at a time, across every process on the file: the checks against the folder, the files written
    // and the proposal marked approved all happen under SQLite's write lock. A throw rolls back the mark (and
    // writePublication puts back the files it wrote).
    const { plan, restore, version } = store.exclusive(() => {
      const { plan: planned, base, newVersion, endedVersion } = checkedPublication(proposal, folderRules(directory, modules), today, modules);
      if (!store.decide(id, 'approved', { by, at, comment: parsed.comment }, newVersion))
        throw new DecisionError('proposal-conflict', `Proposal ${id} was decided by another officer meanwhile.`);
      store.notePublished(newVersion, id);
      // The version it ended keeps its provenance under its new hash.
      const endedFrom = store.publishedBy(base.version);
      if (endedFrom) store.notePublished(endedVersion, endedFrom.id);
      return { plan: planned, restore: writePublication(directory, planned), version: newVersion };
    });
    // Swapped in as a reload does (in every worker). Refused after all (the folder changed between the lock and now):
    // the files are put back and the proposal is proposed again.
    const report = await (reload as NonNullable<typeof reload>)();
    if (!report.ok) {
      restore();
      store.undoApproval(id);
      await (reload as NonNullable<typeof reload>)();
      throw new DecisionError(
        'rules-refused',
        `The published rules were refused on reload; the files are put back and proposal ${id} is proposed again.`,
        report.issues,
      );
    }
    res.json({ ...shown(store.get(id) as Proposal), published: { version, file: plan.newFile, ended: plan.endedFile, removed: plan.remove } });
  });

  app.get('/v1/rulesets/:name/history', ...guard('read-rules'), async (req, res) => {
    const versions = ruleSetNamed(String(req.params.name));
    const store = options?.store;
    let previous: unknown;
    const history = [];
    for (const v of versions.versions) {
      // The file as written: the compiled one has its descriptions' {parameter} placeholders filled in, and a draft made
      // from that would lose them.
      const text = v.texts?.rule ?? JSON.stringify(v.file);
      // What the rules say, not when: each version's period is listed beside it, and one ending is not a change to it.
      const json = JSON.parse(undated(text)) as unknown;
      const diff = previous === undefined ? [] : jsonChanges(previous, json);
      previous = json;
      const p = await store?.publishedBy(v.version);
      history.push({
        version: v.version,
        effectiveFrom: v.effectiveFrom,
        effectiveTo: v.effectiveTo,
        file: v.sourceFile,
        ruleFile: JSON.parse(text) as unknown,
        proposal: p
          ? {
              id: p.id,
              proposedBy: p.proposedBy,
              proposedAt: p.proposedAt,
              approvedBy: p.decidedBy,
              approvedAt: p.decidedAt,
              rationale: p.rationale,
              comment: p.comment,
            }
          : null,
        diff,
      });
    }
    res.json({ ruleSet: versions.name, versions: history });
  });
}

/**
 * Whether a proposal can be published onto the rules as they are now (`onDisk`: the folder, or the folder overlaid with
 * the versions published in PostgreSQL), and what publishing it gives: its base still the newest version (else 409, to be
 * rebased), its date still to come, the folder's names laid out as publishing expects, and the rules after it accepted by
 * the loader (else 422). The same checks for either store.
 */
function checkedPublication(proposal: Proposal, onDisk: LoadedRegistry, today: string, modules: ProposalOptions['modules']) {
  const id = proposal.id;
  const versions = onDisk.ruleSets.get(proposal.ruleSet);
  if (!versions) throw new DecisionError('proposal-conflict', `The rules folder no longer holds ${proposal.ruleSet}.`);
  const base = baseOf(versions, onDisk.texts);
  if (base.version !== proposal.baseVersion)
    throw new DecisionError(
      'proposal-conflict',
      `Proposal ${id} was made against version ${proposal.baseVersion} of ${proposal.ruleSet}, which is no longer the newest (${base.version} is): propose the change again on the version now in force (rebase it), and reject this one.`,
    );
  const dated = effectiveFromProblems(proposal.effectiveFrom, today, base.effectiveFrom);
  if (dated.length > 0)
    throw new DecisionError(
      'proposal-conflict',
      `Proposal ${id} can no longer take effect on ${proposal.effectiveFrom}: propose it again with a later date.`,
      dated,
    );
  const plan = planOrConflict(base, proposal.file, proposal.effectiveFrom, onDisk.texts);
  const after = rulesAfter(onDisk.texts, plan, modules);
  if (after.issues)
    throw new DecisionError('draft-invalid', `The rules as published would be refused: ${after.issues.length} problem(s). Nothing was written.`, after.issues);
  const published = after.registry.ruleSets.get(proposal.ruleSet)?.versions ?? [];
  const newVersion = published.find((v) => v.sourceFile === plan.newFile)?.version as string;
  const endedVersion = published.find((v) => v.sourceFile === plan.endedFile)?.version as string;
  return { plan, base, newVersion, endedVersion };
}

/** A checked publication as PostgreSQL keeps it. */
const plannedFor = ({ plan, newVersion, endedVersion }: ReturnType<typeof checkedPublication>): Planned => ({
  version: newVersion,
  file: plan.newFile,
  text: plan.newText,
  endedVersion,
  endedFile: plan.endedFile,
  endedText: plan.endedText,
  removed: plan.remove,
});

/** The folder overlaid with the versions published in PostgreSQL, or a 422 naming their problems (as folderRules). */
function rulesInForce(directory: string, modules: ProposalOptions['modules'], published: readonly PublishedVersion[]): LoadedRegistry {
  return folderRules(directory, modules, () => loadRulesInForce(directory, published, { modules }));
}

/** The folder's rules as they load now, or a 422 naming their problems: nothing can be published onto refused rules. */
function folderRules(
  directory: string,
  modules: ProposalOptions['modules'],
  load: () => LoadedRegistry = () => loadRules(directory, { modules }),
): RuleRegistry & { texts: RuleTexts } {
  try {
    return load();
  } catch (error) {
    if (error instanceof DecisionError)
      throw new DecisionError(
        'rules-refused',
        `The rule files on disk are refused (${error.issues.length} problem(s)); fix them before publishing.`,
        error.issues,
      );
    throw error;
  }
}

/** The publication, or a 409 when the folder's names are not laid out as publishing expects. */
function planOrConflict(base: BaseVersion, file: Record<string, unknown>, effectiveFrom: string, texts: RuleTexts): Publication {
  try {
    return publication(
      base,
      file,
      effectiveFrom,
      texts.files.map((f) => f.file),
    );
  } catch (error) {
    throw new DecisionError('proposal-conflict', `The new version cannot be written: ${(error as Error).message}.`, [
      { pointer: '/effectiveFrom', message: (error as Error).message },
    ]);
  }
}
