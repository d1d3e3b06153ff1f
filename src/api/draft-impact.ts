// POST /v1/rulesets/{name}/draft-impact: what a policy officer's draft of a rule set's newest version would change, asked
// as the draft is edited and before it is proposed. Nothing is stored. The draft is checked as the loader checks a rule
// file (its problems at their pointers, 422 as a proposal's are), then decided against the version in force over the
// rule set's fixtures (with the fixtures it would break) and over a backlog the officer sends (NDJSON, or CSV through
// the triage mapping), read as `ps-rules diff --cases` reads one, and over the recent decisions whose facts the log kept.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Express, RequestHandler } from 'express';
import { ndjsonCases, csvCases, type BacklogCases } from '../authoring/backlog-cases';
import { draftImpact } from '../authoring/draft-impact';
import { loadFixtures } from '../authoring/fixtures';
import { editedText } from '../authoring/proposals';
import { todayInSydney } from '../dates/calendar';
import { versionOf, type RuleSetModule } from '../engine/compile';
import { DecisionError, type Issue } from '../errors';
import { pointerToken } from '../facts/validate';
import type { DecisionLog } from '../decisions/log';
import { loadRuleTexts, type RuleRegistry, type RuleSetVersions } from '../loader/load';
import { checkMapping, MappingError, type CsvMapping } from '../triage/mapping';
import { baseOf, undatedRules } from './proposals';

/** What a draft is compiled and measured with. */
export interface DraftOptions {
  modules: Readonly<Record<string, RuleSetModule>>;
  /** fixtures/<ruleSet>/*.json: the cases every draft is measured on. */
  fixturesDirectory?: string;
}

export interface DraftRouteContext {
  rules: () => RuleRegistry;
  clock: () => Date;
  guard: (permission: 'impact') => RequestHandler[];
  body: RequestHandler[];
  ruleSetNamed: (name: string, registry?: RuleRegistry) => RuleSetVersions;
  drafts?: DraftOptions;
  /** The decision log: its recent decisions with kept facts are cases too. */
  log: Pick<DecisionLog, 'recentFacts'>;
}

/** A backlog as the body gives it. */
/** How many of the log's recent decisions a draft may be measured on, and how many when the body does not say. */
export const MAX_LOGGED = 10_000;
const DEFAULT_LOGGED = 1_000;

interface BacklogBody {
  format: 'ndjson' | 'csv';
  text: string;
  mapping?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const MEMBERS = ['file', 'backlog', 'logged'];
const BACKLOG_MEMBERS = ['format', 'text', 'mapping'];

/** The body `{ file, backlog? }`, or each problem with it by pointer (none about the rule file's contents: the loader says those). */
export function parseDraftRequest(body: unknown): { file: Record<string, unknown>; backlog?: BacklogBody; logged?: number } | { issues: Issue[] } {
  if (!isObject(body)) return { issues: [{ pointer: '', message: 'must be an object { file, backlog?, logged? }' }] };
  const issues: Issue[] = [];
  for (const member of Object.keys(body))
    if (!MEMBERS.includes(member)) issues.push({ pointer: `/${pointerToken(member)}`, message: `"${member}" is not a member here` });
  if (!isObject(body.file)) issues.push({ pointer: '/file', message: 'must be the whole rule file of the draft, as a JSON object' });
  const backlog = body.backlog;
  if (backlog !== undefined) {
    if (!isObject(backlog)) issues.push({ pointer: '/backlog', message: 'must be { format: "ndjson" | "csv", text, mapping? }' });
    else {
      for (const member of Object.keys(backlog))
        if (!BACKLOG_MEMBERS.includes(member))
          issues.push({ pointer: `/backlog/${pointerToken(member)}`, message: `"${member}" is not a member of a backlog` });
      if (backlog.format !== 'ndjson' && backlog.format !== 'csv') issues.push({ pointer: '/backlog/format', message: 'must be "ndjson" or "csv"' });
      if (typeof backlog.text !== 'string') issues.push({ pointer: '/backlog/text', message: "must be the backlog file's text" });
      if (backlog.mapping !== undefined && backlog.format !== 'csv') issues.push({ pointer: '/backlog/mapping', message: 'is for a CSV backlog only' });
    }
  }
  const logged = body.logged;
  let limit: number | undefined;
  if (logged !== undefined) {
    const given = isObject(logged) ? logged.limit : undefined;
    if (!isObject(logged) || Object.keys(logged).some((k) => k !== 'limit'))
      issues.push({ pointer: '/logged', message: `must be { limit? }: the most recent decisions to measure the draft on (default ${DEFAULT_LOGGED})` });
    else if (given !== undefined && (!Number.isInteger(given) || (given as number) < 1 || (given as number) > MAX_LOGGED))
      issues.push({ pointer: '/logged/limit', message: `must be a whole number from 1 to ${MAX_LOGGED}` });
    else limit = (given as number | undefined) ?? DEFAULT_LOGGED;
  }
  if (issues.length > 0) return { issues };
  return {
    file: body.file as Record<string, unknown>,
    ...(backlog === undefined ? {} : { backlog: backlog as unknown as BacklogBody }),
    ...(limit === undefined ? {} : { logged: limit }),
  };
}

/** The mapping a CSV backlog is read with: the body's own, or the one shipped beside the fixtures (fixtures/csv/backlog-mapping.json). */
function mappingFor(backlog: BacklogBody, drafts: DraftOptions): CsvMapping {
  try {
    if (backlog.mapping !== undefined) return checkMapping(backlog.mapping, 'The mapping sent');
    const shipped = drafts.fixturesDirectory && path.join(drafts.fixturesDirectory, 'csv', 'backlog-mapping.json');
    if (shipped && existsSync(shipped)) return checkMapping(JSON.parse(readFileSync(shipped, 'utf8')), 'The shipped mapping');
  } catch (error) {
    if (error instanceof MappingError)
      throw new DecisionError('invalid-request', error.message.split('\n')[0] as string, [
        { pointer: '/backlog/mapping', message: error.problems.join('; ') || error.message },
      ]);
    throw error;
  }
  throw new DecisionError('invalid-request', 'A CSV backlog needs a mapping from its columns to facts, and none is shipped here.', [
    { pointer: '/backlog/mapping', message: 'send the triage mapping (see fixtures/csv/backlog-mapping.json) with the CSV' },
  ]);
}

/** The backlog's cases for this rule set; a record another rule set is named for is listed as unread. */
function backlogCases(backlog: BacklogBody, ruleSet: string, today: string, drafts: DraftOptions): BacklogCases {
  const read = backlog.format === 'csv' ? csvCases(backlog.text, mappingFor(backlog, drafts), [ruleSet], today) : ndjsonCases(backlog.text, [ruleSet], today);
  const cases = read.cases.filter((c) => c.ruleSet === ruleSet);
  const others = read.cases
    .filter((c) => c.ruleSet !== ruleSet)
    .map((c) => ({ line: Number(/^line (\d+)$/.exec(c.id)?.[1] ?? 0), problem: `${c.id} is for rule set ${c.ruleSet}, not ${ruleSet}` }));
  return { cases, unread: [...read.unread, ...others] };
}

export function addDraftImpactRoute(app: Express, context: DraftRouteContext): void {
  const { rules, clock, guard, body, ruleSetNamed, drafts, log } = context;
  // The version in force, compiled alone and undated, for each rule set: the editor asks as every change is made, and
  // the version it is compared with stays the same until one is published. Keyed by version (its text's hash).
  const undatedBases = new Map<string, { version: string; registry: RuleRegistry }>();
  const undatedBase = (name: string, version: string, compile: () => RuleRegistry): RuleRegistry => {
    let found = undatedBases.get(name);
    if (found?.version !== version) undatedBases.set(name, (found = { version, registry: compile() }));
    return found.registry;
  };
  app.post('/v1/rulesets/:name/draft-impact', ...guard('impact'), ...body, async (req, res) => {
    const versions = ruleSetNamed(String(req.params.name));
    const name = versions.name;
    const parsed = parseDraftRequest(req.body);
    if ('issues' in parsed) throw new DecisionError('invalid-request', 'The request is not { file, backlog? }.', parsed.issues);
    const registry = rules();
    const texts = registry.texts;
    if (!drafts || !texts)
      throw new DecisionError('proposals-unavailable', 'This service does not hold its rule files as texts, so a draft cannot be compared with them.');
    if (parsed.file.ruleSet !== name)
      throw new DecisionError('draft-invalid', `The draft is not a rule file of ${name}.`, [
        { pointer: '/file/ruleSet', message: `must be "${name}", the rule set drafted` },
      ]);
    const base = baseOf(versions, texts);
    // Written as publishing would write it (an edit of the file in force), so a problem's line and column are the ones
    // the officer will see in the published file.
    const file = `${name}.json`;
    const draftText = editedText(base.text, parsed.file);
    try {
      loadRuleTexts(texts.calendarText, [{ file, text: draftText }], { modules: drafts.modules });
    } catch (error) {
      if (error instanceof DecisionError) throw new DecisionError('draft-invalid', `The draft was refused: ${error.issues.length} problem(s).`, error.issues);
      throw error;
    }
    const draftVersion = versionOf(draftText, texts.calendarText);
    const today = todayInSydney(clock());
    const backlog = parsed.backlog && backlogCases(parsed.backlog, name, today, drafts);
    const fixtures = drafts.fixturesDirectory ? loadFixtures(drafts.fixturesDirectory, name) : [];
    // Decided again as of their own day; a log that keeps no facts (the default) gives none.
    const logged =
      parsed.logged === undefined
        ? undefined
        : (await log.recentFacts(name, parsed.logged)).map((d) => ({ id: d.decisionId, ruleSet: name, asOf: d.asOf, facts: d.facts }));
    const impact = await draftImpact(
      versions,
      base.version,
      undatedBase(name, base.version, () => undatedRules(texts, file, base.text, drafts.modules)),
      undatedRules(texts, file, draftText, drafts.modules),
      fixtures,
      { ...(backlog ? { backlog } : {}), ...(logged ? { logged } : {}) },
      (report) => {
        for (const c of report.changed) c.versions = { base: base.version, changed: draftVersion };
      },
    );
    res.json({ ruleSet: name, baseVersion: base.version, draftVersion, problems: [], ...impact });
  });
}
