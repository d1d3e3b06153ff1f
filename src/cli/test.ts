// ps-rules test [ruleSet]: runs the fixtures and prints a pass/fail table; for each failure, what changed behind it. A
// fixture's expectedSummary is checked with its outcome: a reason's text or holdsUntil that differs fails it the same way.
//
// The fixtures are compared with the rules as they stood at a base (git HEAD unless --base says otherwise), so a
// failure says which parameter or rule changed (old → new) and which of the case's facts met it: a policy officer can
// tell the change they meant from a typo. A fixture note that quotes a changed parameter's old value is flagged.
import { fixtureNote, loadFixtures, runFixture, type FixtureResult } from '../authoring/fixtures';
import { baseForCommand, behind } from './base';
import { EXIT, loadOrReport, places, print } from './context';

const show = (value: unknown) => JSON.stringify(value);

/**
 * One difference as it is printed. The summary's reasons are sentences, so a list of them on one line hides where they
 * part: the first line that differs is shown alone, the lists' lengths after it when they differ too.
 */
export function differenceLines(d: FixtureResult['differences'][number]): string[] {
  if (d.field !== 'summary.reasons' || !Array.isArray(d.expected) || !Array.isArray(d.actual))
    return [`${d.field}: expected ${show(d.expected)}, got ${show(d.actual)}`];
  const [expected, actual] = [d.expected as unknown[], d.actual as unknown[]];
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i += 1;
  const lines = [
    `summary.reasons: line ${i + 1} differs`,
    `  expected ${i < expected.length ? show(expected[i]) : '(no line)'}`,
    `  got      ${i < actual.length ? show(actual[i]) : '(no line)'}`,
  ];
  if (expected.length !== actual.length) lines.push(`  (${expected.length} reasons expected, ${actual.length} given)`);
  return lines;
}

export interface TestOptions {
  rules?: string;
  fixtures?: string;
  /** Print only the failing fixtures. */
  failures?: boolean;
  /** The rules to explain failures against: a git ref or a folder (default: HEAD, when the rules are in git). */
  base?: string;
}

export async function testCommand(only: string | undefined, options: TestOptions): Promise<number> {
  const where = places(options);
  const registry = loadOrReport(where.rules);
  if (!registry) return EXIT.failed;
  if (only && !registry.ruleSets.has(only)) {
    print(`No rule set "${only}". Known: ${[...registry.ruleSets.keys()].join(', ')}`);
    return EXIT.usage;
  }
  const found = baseForCommand(options.base, where.rules);
  if (!found) return EXIT.usage;
  const { base } = found;
  let passed = 0;
  let failed = 0;
  let flagged = 0;
  for (const ruleSet of registry.ruleSets.values()) {
    if (only && ruleSet.name !== only) continue;
    const fixtures = loadFixtures(where.fixtures, ruleSet.name);
    if (!options.failures) print(`${ruleSet.name} (${ruleSet.versions.map((v) => v.version).join(', ')}): ${fixtures.length} fixtures`);
    for (const fixture of fixtures) {
      const result = await runFixture(ruleSet, fixture);
      if (result.passed) passed += 1;
      else failed += 1;
      if (result.passed && options.failures) continue;
      const note = fixtureNote(
        fixture,
        ruleSet,
        typeof base === 'string' ? undefined : { versions: base.registry.ruleSets.get(ruleSet.name), name: base.name },
      );
      flagged += note.flags.length > 0 ? 1 : 0;
      const shown = note.text.length > 90 ? `${note.text.slice(0, 89)}…` : note.text;
      print(`  ${result.passed ? 'PASS' : 'FAIL'}  ${(options.failures ? `${ruleSet.name}/${fixture.file}` : fixture.file).padEnd(58)}  ${shown}`);
      for (const d of result.differences) for (const line of differenceLines(d)) print(`        ${line}`);
      if (!result.passed) for (const line of await behind(result, registry, base)) print(`        ${line}`);
      for (const flag of note.flags) print(`        ${flag}`);
    }
  }
  print(`${passed} passed, ${failed} failed${flagged > 0 ? `; ${flagged} fixture note${flagged === 1 ? '' : 's'} to check` : ''}`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}
