// Impact analysis: between two versions of a threshold, diff reports exactly the cases whose outcome changes.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { impactOf, type ImpactCase } from '../../src/authoring/impact';
import { diffCommand } from '../../src/cli/diff';
import { EXIT } from '../../src/cli/context';
import { evaluate } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import type { RuleRegistry } from '../../src/loader/load';
import { caseGenerator } from '../../fixtures/generator';
import { RULES_DIR, shippedRules } from '../support';

function widenedRules(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const file = path.join(dir, 'direct-referral.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  json.parameters.aggressionWindowMonths.value = 24;
  writeFileSync(file, JSON.stringify(json, null, 2));
  return dir;
}

async function outcome(registry: RuleRegistry, c: ImpactCase) {
  const ruleSet = registry.ruleSets.get(c.ruleSet)!.resolve(c.asOf);
  const request = parseEvaluateRequest({ asOf: c.asOf, facts: c.facts }, c.ruleSet, ruleSet.file.requires);
  return (await evaluate(ruleSet, request.facts, c.asOf)).outcome;
}

test('12 → 24 months over a generated case file: ps-rules diff names exactly the cases whose outcome differs, and the rule that changed', async () => {
  const next = caseGenerator(99);
  const cases: ImpactCase[] = Array.from({ length: 2000 }, (_, i) => ({ id: `case-${i}`, ruleSet: 'direct-referral', ...next() }));
  const casesFile = path.join(mkdtempSync(path.join(tmpdir(), 'cases-')), 'generated.ndjson');
  writeFileSync(casesFile, cases.map((c) => JSON.stringify(c)).join('\n'));
  const widened = widenedRules();
  let printed = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  });
  const code = await diffCommand({ base: RULES_DIR, cases: casesFile, rules: widened, json: true });
  jest.restoreAllMocks();
  expect(code).toBe(EXIT.ok);
  const report = JSON.parse(printed) as Awaited<ReturnType<typeof impactOf>>;
  const base = shippedRules();
  const changed = shippedRules(widened);

  const expected: string[] = [];
  for (const c of cases) if (!isDeepStrictEqual(await outcome(base, c), await outcome(changed, c))) expected.push(c.id);
  expect(expected.length).toBeGreaterThan(20);
  expect(report.changed.map((c) => c.id)).toEqual(expected);
  expect(report.unchanged).toBe(cases.length - expected.length);
  for (const change of report.changed) {
    expect(change.rules).toEqual([{ rule: 'no-recent-face-to-face-aggression', base: true, changed: false }]);
    expect(change.because.parameters).toEqual([{ name: 'aggressionWindowMonths', base: 12, changed: 24 }]);
    const [rule] = change.because.rules;
    expect(rule).toMatchObject({ rule: 'no-recent-face-to-face-aggression', base: true, changed: false, edited: false });
    // The incidents that met the change: face-to-face, and dated in the 12 months that the wider window added.
    const case_ = cases.find((c) => c.id === change.id)!;
    const asOf = case_.asOf;
    const counted = rule!.conditions.flatMap((c) => c.entries);
    expect(counted.length).toBeGreaterThan(0);
    for (const entry of counted) {
      expect(entry).toMatchObject({ counted: 'now', because: 'inside the window now that aggressionWindowMonths is 24 months (was 12)' });
      const date = /^incident on (\d{4}-\d{2}-\d{2}) \(.*face-to-face/.exec(entry.entry)?.[1];
      expect(date).toBeDefined();
      expect(date! <= `${Number(asOf.slice(0, 4)) - 1}${asOf.slice(4)}`).toBe(true);
      expect(date! > `${Number(asOf.slice(0, 4)) - 2}${asOf.slice(4)}`).toBe(true);
    }
  }
  // Widening the window can only make referrals lose eligibility, never gain it.
  expect(Object.keys(report.counts)).toContain('direct-referral eligible: true → false');
  expect(Object.keys(report.counts)).not.toContain('direct-referral eligible: false → true');
});

test('ps-rules diff --base <folder> --cases <ndjson> prints the counts and each changed case', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cases-'));
  const casesFile = path.join(dir, 'cases.ndjson');
  const incident = (date: string) => ({
    program: 'centrelink',
    referral: { source: 'mats', receivedOn: '2025-06-02' },
    customer: { incidents: [{ date, kind: 'verbal-abuse', setting: 'face-to-face' }] },
  });
  writeFileSync(
    casesFile,
    [
      { id: 'six-months-ago', ruleSet: 'direct-referral', asOf: '2025-06-02', facts: incident('2024-12-02') },
      { id: 'eighteen-months-ago', ruleSet: 'direct-referral', asOf: '2025-06-02', facts: incident('2023-12-02') },
      { id: 'thirty-months-ago', ruleSet: 'direct-referral', asOf: '2025-06-02', facts: incident('2022-12-02') },
    ]
      .map((c) => JSON.stringify(c))
      .join('\n'),
  );
  let output = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  const code = await diffCommand({ base: RULES_DIR, cases: casesFile, rules: widenedRules() });
  jest.restoreAllMocks();
  expect(code).toBe(EXIT.ok);
  expect(output).toMatch(/^3 evaluations: 1 change outcome, 2 unchanged, 0 refused$/m);
  expect(output).toMatch(/^eighteen-months-ago {2}direct-referral/m);
  expect(output).not.toMatch(/^six-months-ago/m);
  expect(output).not.toMatch(/^thirty-months-ago/m);
  expect(output).toMatch(/ {4}because\n {6}parameter aggressionWindowMonths: 12 → 24\n {6}rule no-recent-face-to-face-aggression: fired → did not fire\n/);
  expect(output).toMatch(
    / {10}incident on 2023-12-02 \(verbal-abuse, face-to-face\): counted now, inside the window now that aggressionWindowMonths is 24 months \(was 12\)/,
  );
});
