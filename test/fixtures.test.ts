// Runs every fixture (facts, asOf, the outcome the procedure gives) through the engine, and checks each rule is exercised.
import { coverageOf, gaps } from '../src/authoring/coverage';
import { fixtureNote, loadFixtures, runFixture, type FixtureResult } from '../src/authoring/fixtures';
import { FIXTURES_DIR, fixtureRuleSets, shippedRules } from './support';

const registry = shippedRules();
const ruleSetNames = [...registry.ruleSets.keys()];

test('every rule set has a fixture folder, and every fixture folder a rule set', () => {
  expect(fixtureRuleSets()).toEqual([...ruleSetNames].sort());
});

describe.each(ruleSetNames)('%s', (name) => {
  const ruleSet = registry.ruleSets.get(name)!;
  const fixtures = loadFixtures(FIXTURES_DIR, name);
  const results = new Map<string, FixtureResult>();
  const resultOf = async (file: string) => {
    if (!results.has(file))
      results.set(
        file,
        await runFixture(
          ruleSet,
          fixtures.find((f) => f.file === file)!,
        ),
      );
    return results.get(file)!;
  };

  test('has at least 12 decided cases, each citing its source', () => {
    expect(fixtures.filter((f) => f.expected).length).toBeGreaterThanOrEqual(12);
    for (const fixture of fixtures) expect(fixture.source).toMatch(/00[0-2]_[0-9a-f]{16}\.txt/);
  });

  test('every note reads whole: each {template} names a parameter of the version that decides the fixture', () => {
    for (const fixture of fixtures) {
      const note = fixtureNote(fixture, ruleSet);
      expect({ file: fixture.file, flags: note.flags }).toEqual({ file: fixture.file, flags: [] });
      expect(note.text).not.toMatch(/[{}]/);
    }
  });

  // Issue 15: the fixtures pin what a caseworker reads, worked out from the procedure: until when the answer holds (a
  // day and null both), the reasons' texts, in each version that has fixtures.
  test('at least 6 fixtures pin the summary: holdsUntil both a date and null, reasons, and the older version too', () => {
    const pinned = fixtures.filter((f) => f.expectedSummary !== undefined);
    expect(pinned.length).toBeGreaterThanOrEqual(6);
    expect(pinned.some((f) => f.expectedSummary?.holdsUntil === null)).toBe(true);
    expect(pinned.some((f) => typeof f.expectedSummary?.holdsUntil === 'string')).toBe(true);
    expect(pinned.some((f) => (f.expectedSummary?.reasons ?? []).length > 0)).toBe(true);
    for (const version of ruleSet.versions) {
      const decidedBy = (f: (typeof fixtures)[number]) => ruleSet.resolve(f.asOf) === version;
      if (fixtures.some(decidedBy))
        expect({ version: version.sourceFile, pinned: pinned.some(decidedBy) }).toEqual({ version: version.sourceFile, pinned: true });
    }
  });

  test.each(fixtures.map((f) => f.file))('%s', async (file) => {
    const result = await resultOf(file);
    expect(result.differences).toEqual([]);
    expect(result.passed).toBe(true);
  });

  test.each(ruleSet.versions.map((v) => v.sourceFile))(
    'each rule of %s both fires and fails in some fixture, and each criterion is reported unmet in some fixture',
    async (sourceFile) => {
      const version = ruleSet.versions.find((v) => v.sourceFile === sourceFile)!;
      const decisions = [];
      for (const fixture of fixtures) {
        const { decision } = await resultOf(fixture.file);
        if (decision && fixture.expected && decision.version === version.version) decisions.push(decision);
      }
      expect(gaps(coverageOf(version.file, decisions))).toEqual([]);
      if (decisions.some((d) => 'unmet' in d.outcome)) {
        const reported = new Set<string>();
        for (const d of decisions) {
          for (const [key, value] of Object.entries(d.outcome)) {
            if (!key.startsWith('unmet')) continue;
            const lists = Array.isArray(value) ? [value] : Object.values(value as Record<string, string[]>);
            for (const list of lists) for (const id of list as string[]) reported.add(id);
          }
        }
        // Criteria only: a timeframe rule (direct-referral's, event "timeframe") decides a due date, never eligibility.
        const criteria = version.file.rules.filter((r) => r.event.type !== 'timeframe');
        expect(criteria.map((r) => r.name).filter((n) => !reported.has(n))).toEqual([]);
      }
    },
  );
});

describe('expectedSummary', () => {
  const versions = registry.ruleSets.get('exit-readiness')!;
  const fixture = loadFixtures(FIXTURES_DIR, 'exit-readiness').find((f) => f.expectedSummary?.holdsUntil === '2025-06-16' && f.expectedSummary.reasons)!;

  test('a holdsUntil or a reason that differs fails the fixture, naming the field, the reasons compared as texts in order', async () => {
    const reasons = fixture.expectedSummary!.reasons!;
    const result = await runFixture(versions, { ...fixture, expectedSummary: { holdsUntil: '2025-06-15', reasons: [...reasons, 'One more line.'] } });
    expect(result.passed).toBe(false);
    expect(result.differences).toEqual([
      { field: 'summary.holdsUntil', expected: '2025-06-15', actual: '2025-06-16' },
      { field: 'summary.reasons', expected: [...reasons, 'One more line.'], actual: reasons },
    ]);
  });

  test('a member left out is not checked; a misspelt one, or one beside expectedError, fails rather than pins nothing', async () => {
    expect((await runFixture(versions, { ...fixture, expectedSummary: { holdsUntil: '2025-06-16' } })).passed).toBe(true);
    const misspelt = await runFixture(versions, { ...fixture, expectedSummary: { holdUntil: '2025-06-16' } as never });
    expect(misspelt.differences.map((d) => [d.field, d.actual])).toEqual([['expectedSummary', 'unknown member holdUntil']]);
    const empty = await runFixture(versions, { ...fixture, expectedSummary: {} });
    expect(empty.differences.map((d) => d.field)).toEqual(['expectedSummary']);
    const { expected: _expected, ...rest } = fixture;
    const refused = await runFixture(versions, { ...rest, facts: {}, expectedError: { status: 400, pointers: [] }, expectedSummary: { holdsUntil: null } });
    expect(refused.differences.map((d) => d.field)).toContain('expectedSummary');
  });
});
