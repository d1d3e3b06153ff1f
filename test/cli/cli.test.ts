// The ps-rules commands, run in-process on the shipped rules and on broken copies; output and exit codes.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { coverageCommand } from '../../src/cli/coverage';
import { EXIT } from '../../src/cli/context';
import { explainCommand } from '../../src/cli/explain';
import { testCommand } from '../../src/cli/test';
import { validateCommand } from '../../src/cli/validate';
import { RULES_DIR, captureStdout } from '../support';

const stdout = captureStdout();

function workspace(): { rules: string; fixtures: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'ps-rules-'));
  const rules = path.join(root, 'rules');
  cpSync(RULES_DIR, rules, { recursive: true });
  const fixtures = path.join(root, 'fixtures');
  mkdirSync(path.join(fixtures, 'specialist-transfer'), { recursive: true });
  return { rules, fixtures };
}

const resolvedIssues = ['income-correct', 'care-correct', 'contact-details', 'payment-ongoing', 'payment-arrears'].map((kind, i) => ({ id: `m${i}`, kind, status: 'resolved', mandatory: true }));
const approvable = {
  note: 'all mandatory issues resolved, one objection outstanding',
  source: '001_f3898d6cd45509ea.txt, Child Support, Table 7, Step 4',
  asOf: '2025-06-02',
  facts: { program: 'child-support', case: { issues: [...resolvedIssues, { id: 'o', kind: 'objection', status: 'confirmed', specialistProcess: 'objection' }] } },
  expected: { approvable: true, specialistProcess: 'objection', unmet: [], approvalBy: 'PS Service Support Manager (SSM)' },
};

describe('validate', () => {
  test('the shipped rules are valid: exit 0 and each version listed', () => {
    expect(validateCommand([], { rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toMatch(/✓ segment-allocation {2}version [0-9a-f]{16}/);
  });

  test('a broken file: exit 1 with file:line:column and the fix', () => {
    const { rules } = workspace();
    const file = path.join(rules, 'direct-referral.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"customer.zoneCaseManagement"', '"customer.zoneCaseManagment"'));
    expect(validateCommand([file], { rules })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/^direct-referral\.json:\d+:\d+ {2}fact "customer\.zoneCaseManagment" does not exist.*did you mean "customer\.zoneCaseManagement"\?/m);
  });
});

describe('test', () => {
  test('passing fixtures print PASS rows and exit 0', async () => {
    const { rules, fixtures } = workspace();
    writeFileSync(path.join(fixtures, 'specialist-transfer', '01-approvable.json'), JSON.stringify(approvable));
    expect(await testCommand('specialist-transfer', { rules, fixtures })).toBe(EXIT.ok);
    expect(stdout.text()).toMatch(/PASS {2}01-approvable\.json/);
    expect(stdout.text()).toMatch(/^1 passed, 0 failed$/m);
  });

  test('a failing fixture prints the field that differs and exits 1', async () => {
    const { rules, fixtures } = workspace();
    writeFileSync(path.join(fixtures, 'specialist-transfer', '01-wrong.json'), JSON.stringify({ ...approvable, expected: { ...approvable.expected, specialistProcess: 'objections' } }));
    expect(await testCommand('specialist-transfer', { rules, fixtures })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/FAIL {2}01-wrong\.json/);
    expect(stdout.text()).toMatch(/specialistProcess: expected "objections", got "objection"/);
  });
});

describe('explain', () => {
  test('prints the outcome and each rule with its source and conditions', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'facts-'));
    const facts = path.join(dir, 'facts.json');
    writeFileSync(facts, JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } }));
    expect(await explainCommand('direct-referral', facts, { asOf: '2025-04-17', rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toMatch(/as of 2025-04-17/);
    expect(stdout.text()).toMatch(/actionDueBy: "2025-04-29"/);
    expect(stdout.text()).toMatch(/✓ fired +no-zone-case-management/);
    expect(stdout.text()).toMatch(/source: 001_f3898d6cd45509ea\.txt, Centrelink, Table 1, Step 1/);
  });

  test('invalid facts: exit 1 naming the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'facts-'));
    const facts = path.join(dir, 'facts.json');
    writeFileSync(facts, JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-02-30' } }));
    expect(await explainCommand('direct-referral', facts, { rules: RULES_DIR })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/\/facts\/referral\/receivedOn {2}must be a real calendar date/);
  });
});

describe('coverage', () => {
  test('a rule that no fixture makes fail is a gap: exit 1', async () => {
    const { rules, fixtures } = workspace();
    for (const name of ['direct-referral', 'segment-allocation', 'exit-readiness', 'service-restriction']) mkdirSync(path.join(fixtures, name));
    writeFileSync(path.join(fixtures, 'specialist-transfer', '01-approvable.json'), JSON.stringify(approvable));
    expect(await coverageCommand({ rules, fixtures })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/specialist-transfer \(specialist-transfer.json\): mandatory-issues-addressed never fails/);
  });
});
