// Fixture cases policy staff write (facts, asOf, the outcome the procedure gives) and running them.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { RuleSetVersions } from '../loader/load';
import { evaluate, type Decision } from '../engine/evaluate';
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
  expectedError?: { status: number; pointers: string[] };
}

export interface FixtureResult {
  fixture: Fixture;
  passed: boolean;
  /** The decision, for a fixture that expects one and got one. */
  decision?: Decision;
  /** Outcome fields (or error details) that differ: what was expected and what came out. */
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
  let error: unknown;
  try {
    const ruleSet = ruleSets.resolve(fixture.asOf);
    const request = parseEvaluateRequest({ asOf: fixture.asOf, facts: fixture.facts }, ruleSet.name, ruleSet.file.requires);
    decision = await evaluate(ruleSet, request.facts, request.asOf as string);
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
  const result: FixtureResult = { fixture, passed: differences.length === 0, differences };
  if (decision) result.decision = decision;
  return result;
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
