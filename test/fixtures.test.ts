// Runs every fixture (facts, asOf, the outcome the procedure gives) through the engine, and checks each rule is exercised.
import { DecisionError, ERROR_CATALOGUE } from '../src/errors';
import { evaluate, type Decision } from '../src/engine/evaluate';
import { parseEvaluateRequest } from '../src/facts/validate';
import { fixtureRuleSets, fixturesOf, shippedRules, type Fixture } from './support';

const registry = shippedRules();
const ruleSetNames = [...registry.ruleSets.keys()];

test('every rule set has a fixture folder, and every fixture folder a rule set', () => {
  expect(fixtureRuleSets()).toEqual([...ruleSetNames].sort());
});

async function run(fixture: Fixture): Promise<Decision> {
  const ruleSet = registry.ruleSets.get(fixture.ruleSet)!;
  const request = parseEvaluateRequest({ asOf: fixture.asOf, facts: fixture.facts }, ruleSet.name, ruleSet.file.requires);
  return evaluate(ruleSet, request.facts, request.asOf!);
}

describe.each(ruleSetNames)('%s', (name) => {
  const fixtures = fixturesOf(name);
  const decided = fixtures.filter((f) => f.expected);
  const refused = fixtures.filter((f) => f.expectedError);

  test('has at least 12 decided cases, each citing its source', () => {
    expect(decided.length).toBeGreaterThanOrEqual(12);
    for (const fixture of fixtures) expect(fixture.source).toMatch(/00[0-2]_[0-9a-f]{16}\.txt/);
  });

  test.each(decided.map((f) => [f.file, f] as const))('%s', async (_file, fixture) => {
    const decision = await run(fixture);
    const outcome: Record<string, unknown> = {};
    for (const key of Object.keys(fixture.expected!)) outcome[key] = decision.outcome[key];
    expect(outcome).toEqual(fixture.expected);
    expect(Object.keys(fixture.expected!).sort()).toEqual(Object.keys(decision.outcome).sort());
  });

  if (refused.length > 0) {
    test.each(refused.map((f) => [f.file, f] as const))('%s is refused', async (_file, fixture) => {
      const error = await run(fixture).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(DecisionError);
      const refusal = error as DecisionError;
      expect(ERROR_CATALOGUE[refusal.code].status).toBe(fixture.expectedError!.status);
      expect(refusal.issues.map((i) => i.pointer).sort()).toEqual([...fixture.expectedError!.pointers].sort());
    });
  }

  test('each rule both fires and fails in some fixture, and each criterion is reported unmet in some fixture', async () => {
    const fired = new Set<string>();
    const failed = new Set<string>();
    const reportedUnmet = new Set<string>();
    let reportsUnmet = false;
    for (const fixture of decided) {
      const decision = await run(fixture);
      for (const rule of decision.explanation) (rule.fired ? fired : failed).add(rule.rule);
      for (const [key, value] of Object.entries(decision.outcome)) {
        if (key === 'unmet') reportsUnmet = true;
        if (key.startsWith('unmet')) {
          const lists = Array.isArray(value) ? [value] : Object.values(value as Record<string, string[]>);
          for (const list of lists) for (const id of list as string[]) reportedUnmet.add(id);
        }
      }
    }
    const names = registry.ruleSets.get(name)!.file.rules.map((r) => r.name);
    expect(names.filter((n) => !fired.has(n))).toEqual([]);
    expect(names.filter((n) => !failed.has(n))).toEqual([]);
    if (reportsUnmet) expect(names.filter((n) => !reportedUnmet.has(n))).toEqual([]);
  });
});
