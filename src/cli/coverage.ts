// ps-rules coverage: how many fixtures made each rule and condition true and false; non-zero exit on a gap.
import { coverageOf, gaps } from '../authoring/coverage';
import { loadFixtures, runFixture } from '../authoring/fixtures';
import type { Decision } from '../engine/evaluate';
import { EXIT, loadOrReport, places, print } from './context';

export async function coverageCommand(options: { rules?: string; fixtures?: string }): Promise<number> {
  const where = places(options);
  const registry = loadOrReport(where.rules);
  if (!registry) return EXIT.failed;
  const allGaps: string[] = [];
  for (const ruleSet of registry.ruleSets.values()) {
    const decisions: Decision[] = [];
    for (const fixture of loadFixtures(where.fixtures, ruleSet.name)) {
      const result = await runFixture(ruleSet, fixture);
      if (result.decision && fixture.expected) decisions.push(result.decision);
    }
    // Each version is covered by the fixtures dated in its period.
    for (const version of ruleSet.versions) {
      const own = decisions.filter((d) => d.version === version.version);
      const coverage = coverageOf(version.file, own);
      print(`${ruleSet.name} ${version.sourceFile} (version ${version.version}): ${own.length} decided fixtures`);
      print(`  ${'rule / condition'.padEnd(60)} ${'true'.padStart(5)} ${'false'.padStart(5)}`);
      for (const rule of coverage) {
        print(`  ${rule.rule.padEnd(60)} ${String(rule.fired).padStart(5)} ${String(rule.failed).padStart(5)}`);
        for (const [at, tally] of Object.entries(rule.conditions)) {
          print(`    ${`${at} ${tally.fact}`.padEnd(58)} ${String(tally.true).padStart(5)} ${String(tally.false).padStart(5)}`);
        }
      }
      for (const gap of gaps(coverage)) allGaps.push(`${ruleSet.name} (${version.sourceFile}): ${gap}`);
    }
  }
  if (allGaps.length > 0) {
    print('Gaps (add a fixture that makes each rule go the other way):');
    for (const gap of allGaps) print(`  ✗ ${gap}`);
    return EXIT.failed;
  }
  print('Every rule fires in some fixture and fails in another.');
  return EXIT.ok;
}
