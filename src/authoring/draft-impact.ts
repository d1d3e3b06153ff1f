// What a draft of a rule set's newest version would change, before anyone proposes it (issue 19): the same cases decided
// by the version in force and by the draft, over the rule set's fixtures (and the fixtures it would break) and over a
// backlog an officer uploads. Both versions are taken as in force whatever the day: what is compared is what the rules
// say, not when they say it. And over the recent decisions whose facts the log kept, each as of its own day. Pure but for the decisions themselves; the route reads the body and the folder.
import type { RuleRegistry, RuleSetVersions } from '../loader/load';
import type { BacklogCases, UnreadLine } from './backlog-cases';
import { runFixture, type Fixture } from './fixtures';
import { impactOf, type ImpactCase, type ImpactReport } from './impact';

/** How many cases one outcome field moves from one value to another, and that in words. */
export interface OutcomeMove {
  ruleSet: string;
  field: string;
  from: unknown;
  to: unknown;
  count: number;
  /** "14 cases move from route direct to route standard". */
  text: string;
}

/** A fixture the version in force passes and the draft does not: what it expects, and what the draft gives. */
export interface BrokenFixture {
  fixture: string;
  note: string;
  differences: { field: string; expected: unknown; actual: unknown }[];
}

export type ImpactWithMoves = ImpactReport & { moves: OutcomeMove[] };

export interface DraftImpact {
  fixtures: ImpactWithMoves & { broken: BrokenFixture[] };
  backlog?: ImpactWithMoves & { unread: UnreadLine[] };
  /** The recent decisions whose facts the log kept, decided again as of their own asOf. */
  logged?: ImpactWithMoves;
}

/** What else a draft is measured on besides the fixtures: a backlog sent, and the log's recent decisions. */
export interface DraftCases {
  backlog?: BacklogCases;
  logged?: ImpactCase[];
}

/** An outcome value as an officer reads it: null as "not given", a list by its entries ("none" when empty). */
const worded = (value: unknown): string => {
  if (value === null || value === undefined) return 'not given';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(worded).join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
};

/** The report's changed cases counted by field and values, most first, each in words. */
export function movesOf(report: ImpactReport): OutcomeMove[] {
  const moves = new Map<string, OutcomeMove>();
  for (const c of report.changed) {
    for (const f of c.fields) {
      const key = JSON.stringify([c.ruleSet, f.field, f.base, f.changed]);
      const move = moves.get(key) ?? { ruleSet: c.ruleSet, field: f.field, from: f.base, to: f.changed, count: 0, text: '' };
      move.count += 1;
      moves.set(key, move);
    }
  }
  const list = [...moves.values()].sort((a, b) => b.count - a.count || a.field.localeCompare(b.field));
  for (const m of list) m.text = `${m.count} ${m.count === 1 ? 'case moves' : 'cases move'} from ${m.field} ${worded(m.from)} to ${m.field} ${worded(m.to)}`;
  return list;
}

async function withMoves(
  base: RuleRegistry,
  draft: RuleRegistry,
  cases: Iterable<{ id: string; ruleSet: string; asOf: string; facts: Record<string, unknown> }>,
) {
  const report = await impactOf(base, draft, cases);
  return { ...report, moves: movesOf(report) };
}

/**
 * The fixtures the draft breaks: those the newest version decides (by their asOf, in `inForce`) and passes, that the draft,
 * in its place, fails. A fixture of an older version says nothing of this one.
 */
export async function brokenFixtures(
  inForce: RuleSetVersions,
  baseVersion: string,
  base: RuleSetVersions,
  draft: RuleSetVersions,
  fixtures: readonly Fixture[],
): Promise<BrokenFixture[]> {
  const broken: BrokenFixture[] = [];
  for (const fixture of fixtures) {
    if (inForce.inForceOn(fixture.asOf)?.version !== baseVersion) continue;
    if (!(await runFixture(base, fixture)).passed) continue;
    const result = await runFixture(draft, fixture);
    if (!result.passed) broken.push({ fixture: fixture.file, note: fixture.note, differences: result.differences });
  }
  return broken;
}

/**
 * The draft's impact. `base` and `draft` each hold one version of the rule set, undated; `inForce` is the rule set as
 * served (to tell which fixtures the newest version decides). `relabel` names the versions in each changed case as the
 * service knows them (the undated copies hash differently).
 */
export async function draftImpact(
  inForce: RuleSetVersions,
  baseVersion: string,
  base: RuleRegistry,
  draft: RuleRegistry,
  fixtures: readonly Fixture[],
  { backlog, logged }: DraftCases,
  relabel: (report: ImpactReport) => void,
): Promise<DraftImpact> {
  const name = inForce.name;
  const fixtureCases = fixtures.map((f) => ({ id: f.file, ruleSet: name, asOf: f.asOf, facts: f.facts }));
  const onFixtures = await withMoves(base, draft, fixtureCases);
  relabel(onFixtures);
  const broken = await brokenFixtures(inForce, baseVersion, base.ruleSets.get(name) as RuleSetVersions, draft.ruleSets.get(name) as RuleSetVersions, fixtures);
  const impact: DraftImpact = { fixtures: { ...onFixtures, broken } };
  if (backlog) {
    const onBacklog = await withMoves(base, draft, backlog.cases);
    relabel(onBacklog);
    impact.backlog = { ...onBacklog, unread: backlog.unread };
  }
  if (logged) {
    const onLogged = await withMoves(base, draft, logged);
    relabel(onLogged);
    impact.logged = onLogged;
  }
  return impact;
}
