// Rules are data: a threshold edited in rules/ changes outcomes and the version; a broken file is refused with its location.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evaluate } from '../../src/engine/evaluate';
import { DecisionError } from '../../src/errors';
import { parseEvaluateRequest } from '../../src/facts/validate';
import type { RuleRegistry } from '../../src/loader/load';
import { RULES_DIR, shippedRules } from '../support';

function copyOfRules(edit: (name: string, json: Record<string, any>) => void, file: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const target = path.join(dir, file);
  const json = JSON.parse(readFileSync(target, 'utf8'));
  edit(file, json);
  writeFileSync(target, JSON.stringify(json, null, 2));
  return dir;
}

async function decide(registry: RuleRegistry, name: string, body: { asOf: string; facts: Record<string, unknown> }) {
  const ruleSet = registry.ruleSets.get(name)!.resolve(body.asOf);
  const parsed = parseEvaluateRequest(body, name, ruleSet.file.requires);
  return evaluate(ruleSet, parsed.facts, parsed.asOf!);
}

// A face-to-face verbal abuse incident 18 months before the referral.
const case18MonthsAgo = {
  asOf: '2025-06-02',
  facts: {
    program: 'centrelink',
    referral: { source: 'smart-centre', receivedOn: '2025-06-02' },
    customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  },
};

test('widening the aggression window from 12 to 24 months changes the outcome and the version, with no change to src/', async () => {
  const shipped = shippedRules();
  const widened = shippedRules(copyOfRules((_f, json) => { json.parameters.aggressionWindowMonths.value = 24; }, 'direct-referral.json'));
  const before = await decide(shipped, 'direct-referral', case18MonthsAgo);
  const after = await decide(widened, 'direct-referral', case18MonthsAgo);
  expect(before.outcome.eligible).toBe(true);
  expect(after.outcome.eligible).toBe(false);
  expect(after.outcome.unmet).toEqual(['no-recent-face-to-face-aggression']);
  expect(after.version).not.toBe(before.version);
  expect(widened.ruleSets.get('segment-allocation')!.latest.version).toBe(shipped.ruleSets.get('segment-allocation')!.latest.version);
});

test('adding a holiday to the calendar changes due dates and every version', async () => {
  const dir = copyOfRules((_f, json) => { json.holidays.push({ date: '2025-06-09', name: "King's Birthday" }); json.holidays.sort((a: any, b: any) => a.date.localeCompare(b.date)); }, 'calendars/au-national-public-holidays.json');
  const shipped = shippedRules();
  const edited = shippedRules(dir);
  const body = { asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } };
  expect((await decide(shipped, 'direct-referral', body)).outcome.actionDueBy).toBe('2025-06-09');
  expect((await decide(edited, 'direct-referral', body)).outcome.actionDueBy).toBe('2025-06-10');
  for (const name of shipped.ruleSets.keys()) expect(edited.ruleSets.get(name)!.latest.version).not.toBe(shipped.ruleSets.get(name)!.latest.version);
});

describe('a broken rule file is refused with its file and location', () => {
  const refusal = (dir: string): DecisionError => {
    try {
      shippedRules(dir);
    } catch (error) {
      return error as DecisionError;
    }
    throw new Error('the broken rules were accepted');
  };

  test('invalid JSON', () => {
    const dir = copyOfRules(() => undefined, 'specialist-transfer.json');
    writeFileSync(path.join(dir, 'specialist-transfer.json'), '{\n  "ruleSet": "specialist-transfer",\n  "rules": [1 2]\n}');
    const error = refusal(dir);
    expect(error.code).toBe('rule-file-invalid');
    expect(error.issues[0]).toEqual({ file: 'specialist-transfer.json', line: 3, column: 15, pointer: 'specialist-transfer.json#', message: 'is not valid JSON: a comma (,) was expected between items here' });
  });

  test.each([
    ['an unknown fact', (j: any) => { j.rules[2].conditions.all[0].fact = 'customer.incidnets'; }, 'direct-referral.json#/rules/2/conditions/all/0/fact', /"customer\.incidnets" does not exist.*did you mean "customer\.incidents"\?/],
    ['an unknown operator', (j: any) => { j.rules[1].conditions.all[0].operator = 'isAmong'; }, 'direct-referral.json#/rules/1/conditions/all/0/operator', /isAmong/],
    ['a dangling parameter', (j: any) => { j.rules[1].conditions.all[0].value = { fact: 'param:directSources' }; }, 'direct-referral.json#/rules/1/conditions/all/0/value/fact', /directSources/],
    ['a duplicate rule id', (j: any) => { j.rules[4].name = j.rules[3].name; }, 'direct-referral.json#/rules/4/name', /used twice/],
    ['an optional fact neither required nor tested for absence', (j: any) => { j.rules[4].conditions.all[0] = { fact: 'customer.psHistory', operator: 'equal', value: 'never' }; }, 'direct-referral.json#/rules/4/conditions/all/0/fact', /requires/],
    ['a missing source', (j: any) => { delete j.rules[0].sources; }, 'direct-referral.json#/rules/0', /sources/],
  ])('%s', (_what, edit, pointer, message) => {
    const error = refusal(copyOfRules((_f, j) => edit(j), 'direct-referral.json'));
    const issue = error.issues.find((i) => i.pointer === pointer);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
    expect(issue!.file).toBe('direct-referral.json');
    expect(issue!.line).toBeGreaterThan(1);
    expect(issue!.column).toBeGreaterThan(0);
  });
});

test('the location of a problem is the line and column of the offending member', () => {
  const dir = copyOfRules(() => undefined, 'direct-referral.json');
  const file = path.join(dir, 'direct-referral.json');
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('"operator": "in"', '"operator": "inn"'));
  let error: DecisionError | undefined;
  try {
    shippedRules(dir);
  } catch (e) {
    error = e as DecisionError;
  }
  const issue = error!.issues[0]!;
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('"operator": "in"')) + 1;
  expect(issue).toEqual(expect.objectContaining({ line, column: lines[line - 1]!.indexOf('"operator"') + 1 }));
  expect(issue.message).toMatch(/did you mean "in"\?/);
});
