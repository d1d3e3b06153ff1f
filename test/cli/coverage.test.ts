// Coverage on the shipped rules and fixtures: every rule fires and fails somewhere; lose the one
// fixture that alone exercises a rule, and coverage says so and fails.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFixtures, runFixture } from '../../src/authoring/fixtures';
import { coverageCommand } from '../../src/cli/coverage';
import { EXIT } from '../../src/cli/context';
import { FIXTURES_DIR, RULES_DIR, captureStdout, shippedRules } from '../support';

const stdout = captureStdout();

test('ps-rules coverage on the shipped rules exits 0', async () => {
  expect(await coverageCommand({ rules: RULES_DIR, fixtures: FIXTURES_DIR })).toBe(EXIT.ok);
  expect(stdout.text()).toMatch(/Every rule fires in some fixture and fails in another\./);
});

test('removing the only fixture that makes a rule fire (or fail) makes coverage exit 1 and name the rule', async () => {
  // Find, from the fixtures themselves, a rule that exactly one fixture makes fire, or fail.
  const registry = shippedRules();
  let found: { ruleSet: string; file: string; gap: string } | undefined;
  for (const [name, versions] of registry.ruleSets) {
    const exercisedBy = new Map<string, string[]>();
    for (const fixture of loadFixtures(FIXTURES_DIR, name)) {
      if (!fixture.expected) continue;
      const { decision } = await runFixture(versions, fixture);
      for (const rule of decision?.explanation ?? []) {
        const key = `${decision!.version} ${rule.rule} never ${rule.fired ? 'fires' : 'fails'}`;
        exercisedBy.set(key, [...(exercisedBy.get(key) ?? []), fixture.file]);
      }
    }
    const single = [...exercisedBy.entries()].find(([, files]) => files.length === 1);
    if (single) {
      found = { ruleSet: name, file: single[1][0]!, gap: single[0].slice(single[0].indexOf(' ') + 1) };
      break;
    }
  }
  expect(found).toBeDefined();
  const fixtures = mkdtempSync(path.join(tmpdir(), 'fixtures-'));
  cpSync(FIXTURES_DIR, fixtures, { recursive: true });
  rmSync(path.join(fixtures, found!.ruleSet, found!.file));
  stdout.reset();
  expect(await coverageCommand({ rules: RULES_DIR, fixtures })).toBe(EXIT.failed);
  expect(stdout.text()).toContain(`${found!.ruleSet} (`);
  expect(stdout.text()).toContain(found!.gap);
});
