// ps-rules test [ruleSet]: runs the fixtures and prints a pass/fail table.
import { loadFixtures, runFixture } from '../authoring/fixtures';
import { EXIT, loadOrReport, places, print } from './context';

const show = (value: unknown) => JSON.stringify(value);

export async function testCommand(only: string | undefined, options: { rules?: string; fixtures?: string }): Promise<number> {
  const where = places(options);
  const registry = loadOrReport(where.rules);
  if (!registry) return EXIT.failed;
  if (only && !registry.ruleSets.has(only)) {
    print(`No rule set "${only}". Known: ${[...registry.ruleSets.keys()].join(', ')}`);
    return EXIT.usage;
  }
  let passed = 0;
  let failed = 0;
  for (const ruleSet of registry.ruleSets.values()) {
    if (only && ruleSet.name !== only) continue;
    const fixtures = loadFixtures(where.fixtures, ruleSet.name);
    print(`${ruleSet.name} (${ruleSet.versions.map((v) => v.version).join(', ')}): ${fixtures.length} fixtures`);
    for (const fixture of fixtures) {
      const result = await runFixture(ruleSet, fixture);
      if (result.passed) passed += 1;
      else failed += 1;
      const note = fixture.note ?? '';
      print(`  ${result.passed ? 'PASS' : 'FAIL'}  ${fixture.file.padEnd(58)}  ${note.length > 90 ? `${note.slice(0, 89)}…` : note}`);
      for (const d of result.differences) print(`        ${d.field}: expected ${show(d.expected)}, got ${show(d.actual)}`);
    }
  }
  print(`${passed} passed, ${failed} failed`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}
