// Fixture cases policy staff write (facts, asOf, the outcome the procedure gives, and optionally what the summary a
// caseworker reads must say) and running them.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { RuleSetVersions } from '../loader/load';
import { evaluate, type Decision } from '../engine/evaluate';
import { summarize, type Summary } from '../engine/summary';
import { DecisionError, ERROR_CATALOGUE } from '../errors';
import { parseEvaluateRequest } from '../facts/validate';
import { fillTemplates, typedValues } from '../loader/templates';
import type { Parameter } from '../engine/types';

export interface Fixture {
  file: string;
  ruleSet: string;
  note: string;
  source: string;
  asOf: string;
  facts: Record<string, unknown>;
  expected?: Record<string, unknown>;
  /**
   * What the decision's summary must say, each member optional: `holdsUntil` (a date, or null when time alone changes
   * nothing within the holiday calendar) and `reasons` (the reasons' texts, in order). Members left out are not checked.
   */
  expectedSummary?: ExpectedSummary;
  expectedError?: { status: number; pointers: string[] };
}

export interface ExpectedSummary {
  holdsUntil?: string | null;
  reasons?: string[];
}

/** The members an expectedSummary may have: anything else is a typo that would otherwise check nothing. */
export const EXPECTED_SUMMARY_FIELDS = ['holdsUntil', 'reasons'] as const;

export interface FixtureResult {
  fixture: Fixture;
  passed: boolean;
  /** The decision, for a fixture that expects one and got one. */
  decision?: Decision;
  /** The decision's summary, for a fixture with an expectedSummary whose case was decided. */
  summary?: Summary;
  /** Outcome fields (or error details, or `summary.holdsUntil` and `summary.reasons`) that differ: what was expected and what came out. */
  differences: { field: string; expected: unknown; actual: unknown }[];
}

export function loadFixtures(fixturesDirectory: string, ruleSet: string): Fixture[] {
  const dir = path.join(fixturesDirectory, ruleSet);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ruleSet, ...(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Omit<Fixture, 'file' | 'ruleSet'>) }));
}

/** Runs a fixture through the version of its rule set in force on the fixture's asOf. */
export async function runFixture(ruleSets: RuleSetVersions, fixture: Fixture): Promise<FixtureResult> {
  let decision: Decision | undefined;
  let summary: Summary | string | undefined;
  let error: unknown;
  try {
    const ruleSet = ruleSets.resolve(fixture.asOf);
    const request = parseEvaluateRequest({ asOf: fixture.asOf, facts: fixture.facts }, ruleSet.name, ruleSet.file.requires);
    decision = await evaluate(ruleSet, request.facts, request.asOf as string);
    // The summary only where the fixture pins it: holdsUntil decides the case again on the days time can change it.
    if (fixture.expectedSummary !== undefined) {
      try {
        summary = summarize(ruleSets, ruleSet, decision, request.facts);
      } catch (e) {
        summary = String(e);
      }
    }
  } catch (e) {
    error = e;
  }
  const differences: FixtureResult['differences'] = [];
  if (fixture.expected) {
    if (!decision) {
      differences.push({ field: '(decision)', expected: 'an outcome', actual: error instanceof DecisionError ? error.issues : String(error) });
    } else {
      const fields = new Set([...Object.keys(fixture.expected), ...Object.keys(decision.outcome)]);
      for (const field of fields) {
        if (!isDeepStrictEqual(fixture.expected[field], decision.outcome[field])) {
          differences.push({ field, expected: fixture.expected[field], actual: decision.outcome[field] });
        }
      }
    }
  } else if (fixture.expectedError) {
    if (!(error instanceof DecisionError)) {
      differences.push({ field: '(error)', expected: fixture.expectedError, actual: decision ? decision.outcome : String(error) });
    } else {
      const status = ERROR_CATALOGUE[error.code].status;
      const pointers = error.issues.map((i) => i.pointer).sort();
      if (status !== fixture.expectedError.status) differences.push({ field: 'status', expected: fixture.expectedError.status, actual: status });
      if (!isDeepStrictEqual(pointers, [...fixture.expectedError.pointers].sort()))
        differences.push({ field: 'pointers', expected: fixture.expectedError.pointers, actual: pointers });
    }
  } else {
    differences.push({ field: '(fixture)', expected: 'an "expected" or "expectedError" member', actual: 'neither' });
  }
  if (fixture.expectedSummary !== undefined) differences.push(...summaryDifferences(fixture, summary));
  const result: FixtureResult = { fixture, passed: differences.length === 0, differences };
  if (decision) result.decision = decision;
  if (typeof summary === 'object') result.summary = summary;
  return result;
}

/**
 * How the summary differs from the fixture's expectedSummary, member by member (`summary.holdsUntil`,
 * `summary.reasons`, the reasons compared as their texts in order). A malformed expectedSummary is a difference of its
 * own (`expectedSummary`): a misspelt member would otherwise pin nothing and pass.
 */
function summaryDifferences(fixture: Fixture, summary: Summary | string | undefined): FixtureResult['differences'] {
  const expected = fixture.expectedSummary as unknown;
  const shape = 'an object with "holdsUntil" (a date or null) and/or "reasons" (a list of texts)';
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return [{ field: 'expectedSummary', expected: shape, actual: expected }];
  const members = Object.keys(expected);
  const unknown = members.filter((m) => !(EXPECTED_SUMMARY_FIELDS as readonly string[]).includes(m));
  if (unknown.length > 0 || members.length === 0)
    return [
      {
        field: 'expectedSummary',
        expected: shape,
        actual: members.length === 0 ? {} : `unknown member${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`,
      },
    ];
  if (fixture.expected === undefined)
    return [{ field: 'expectedSummary', expected: 'only beside "expected" (a refused case has no summary)', actual: expected }];
  // The case was not decided: the (decision) difference above says why.
  if (summary === undefined) return [];
  if (typeof summary === 'string') return [{ field: '(summary)', expected: 'a summary', actual: summary }];
  const pinned = expected as ExpectedSummary;
  const differences: FixtureResult['differences'] = [];
  if ('holdsUntil' in pinned && pinned.holdsUntil !== summary.holdsUntil)
    differences.push({ field: 'summary.holdsUntil', expected: pinned.holdsUntil, actual: summary.holdsUntil });
  if ('reasons' in pinned) {
    const texts = summary.reasons.map((r) => r.text);
    if (!isDeepStrictEqual(pinned.reasons, texts)) differences.push({ field: 'summary.reasons', expected: pinned.reasons, actual: texts });
  }
  return differences;
}

/** The expectedSummary the fixture's members would have to hold for `summary`: the same members, rewritten. */
export function expectedSummaryOf(pinned: ExpectedSummary, summary: Summary): ExpectedSummary {
  const rewritten: ExpectedSummary = {};
  if ('holdsUntil' in pinned) rewritten.holdsUntil = summary.holdsUntil;
  if ('reasons' in pinned) rewritten.reasons = summary.reasons.map((r) => r.text);
  return rewritten;
}

/** The parameters of the version that decides a fixture, or undefined when none is in force on its asOf. */
function parametersFor(versions: RuleSetVersions | undefined, asOf: string): Readonly<Record<string, Parameter>> | undefined {
  try {
    return versions?.resolve(asOf).file.parameters;
  } catch {
    return undefined;
  }
}

/**
 * A fixture's note as a person reads it: its `{parameter}` templates filled in from the version that decides it. And
 * what to check in it: a template naming no parameter, or a value typed in beside its unit that was a parameter's value
 * in the base rules and is not any more ("12 months" after aggressionWindowMonths became 24).
 */
export function fixtureNote(
  fixture: Fixture,
  versions: RuleSetVersions,
  base?: { versions: RuleSetVersions | undefined; name: string },
): { text: string; flags: string[] } {
  const flags: string[] = [];
  const parameters = parametersFor(versions, fixture.asOf);
  if (!fixture.note || !parameters) return { text: fixture.note ?? '', flags };
  const text = fillTemplates(fixture.note, parameters, (whole) =>
    flags.push(`note: ${whole} is not a parameter of ${fixture.ruleSet} (parameters: ${Object.keys(parameters).join(', ')})`),
  );
  const before = base && parametersFor(base.versions, fixture.asOf);
  for (const { name, typed, unit } of before ? typedValues(fixture.note, before) : []) {
    const now = parameters[name]?.value;
    if (isDeepStrictEqual(now, before?.[name]?.value)) continue;
    flags.push(
      `note: quotes "${typed}", the value of ${name} at ${base?.name}; it is now ${JSON.stringify(now ?? null)}. Rewrite the note, or write "{${name}} ${unit}" where it should follow the value`,
    );
  }
  return { text, flags };
}
