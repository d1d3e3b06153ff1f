// The ps-rules commands, run in-process on the shipped rules and on broken copies; output and exit codes.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { coverageCommand } from '../../src/cli/coverage';
import { EXIT } from '../../src/cli/context';
import { explainCommand } from '../../src/cli/explain';
import { interpretationsCommand } from '../../src/cli/interpretations';
import { testCommand } from '../../src/cli/test';
import { validateCommand } from '../../src/cli/validate';
import { FIXTURES_DIR, RULES_DIR, captureStdout } from '../support';

const stdout = captureStdout();

function workspace(): { rules: string; fixtures: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'ps-rules-'));
  const rules = path.join(root, 'rules');
  cpSync(RULES_DIR, rules, { recursive: true });
  const fixtures = path.join(root, 'fixtures');
  mkdirSync(path.join(fixtures, 'specialist-transfer'), { recursive: true });
  return { rules, fixtures };
}

const resolvedIssues = ['income-correct', 'care-correct', 'contact-details', 'payment-ongoing', 'payment-arrears'].map((kind, i) => ({
  id: `m${i}`,
  kind,
  status: 'resolved',
  mandatory: true,
}));
const approvable = {
  note: 'all mandatory issues resolved, one objection outstanding',
  source: '001_f3898d6cd45509ea.txt, Child Support, Table 7, Step 4',
  asOf: '2025-06-02',
  facts: {
    program: 'child-support',
    case: { issues: [...resolvedIssues, { id: 'o', kind: 'objection', status: 'confirmed', specialistProcess: 'objection' }] },
  },
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
    expect(stdout.text()).toMatch(
      /^direct-referral\.json:\d+:\d+ {2}fact "customer\.zoneCaseManagment" does not exist.*did you mean "customer\.zoneCaseManagement"\?/m,
    );
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
    writeFileSync(
      path.join(fixtures, 'specialist-transfer', '01-wrong.json'),
      JSON.stringify({ ...approvable, expected: { ...approvable.expected, specialistProcess: 'objections' } }),
    );
    expect(await testCommand('specialist-transfer', { rules, fixtures })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/FAIL {2}01-wrong\.json/);
    expect(stdout.text()).toMatch(/specialistProcess: expected "objections", got "objection"/);
  });
});

describe('test: what changed behind a failure (issue 12)', () => {
  /** The shipped rules and direct-referral fixtures, with aggressionWindowMonths set to `months`. */
  function changedWindow(months: string): { rules: string; fixtures: string } {
    const { rules, fixtures } = workspace();
    cpSync(path.join(FIXTURES_DIR, 'direct-referral'), path.join(fixtures, 'direct-referral'), { recursive: true });
    const file = path.join(rules, 'direct-referral.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/("aggressionWindowMonths": \{\s*"value": )12/, `$1${months}`));
    return { rules, fixtures };
  }

  test('--failures prints only the failing fixture, with the parameter that changed (old → new) and the incident that now counts', async () => {
    const { rules, fixtures } = changedWindow('24');
    expect(await testCommand('direct-referral', { rules, fixtures, base: RULES_DIR, failures: true })).toBe(EXIT.failed);
    const out = stdout.text();
    // Fixture 07's incident is exactly 12 months old: outside a 12-month window (direct), inside a 24-month one. Fixture
    // 06 keeps its outcome, but its incident of 2024-06-03 now stays in the window until 2026-06-03 (that day less 24
    // months is 2024-06-03, and an incident must be after it): its pinned holdsUntil fails, and nothing else.
    expect(out.match(/^ {2}(PASS|FAIL) .*$/gm)).toEqual([
      expect.stringMatching(/^ {2}FAIL {2}direct-referral\/06-face-to-face-aggression-inside-window\.json/),
      expect.stringMatching(/^ {2}FAIL {2}direct-referral\/07-face-to-face-aggression-exactly-12-months\.json/),
    ]);
    expect(out).toMatch(
      /06-face-to-face-aggression-inside-window\.json.*\n {8}summary\.holdsUntil: expected "2025-06-03", got "2026-06-03"\n {8}compared with/,
    );
    expect(out).toMatch(/^ {8}eligible: expected true, got false$/m);
    expect(out).toMatch(
      /where it passed:\n {10}parameter aggressionWindowMonths: 12 → 24\n {10}rule no-recent-face-to-face-aggression: fired → did not fire\n/,
    );
    expect(out).toMatch(
      /incident on 2024-06-02 \(verbal-abuse, face-to-face\): counted now, inside the window now that aggressionWindowMonths is 24 months \(was 12\)/,
    );
    expect(out).toMatch(/^32 passed, 2 failed; 2 fixture notes to check$/m);
  });

  test('a typo shows as what it is: 21 where 12 stood', async () => {
    const { rules, fixtures } = changedWindow('21');
    expect(await testCommand('direct-referral', { rules, fixtures, base: RULES_DIR, failures: true })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/parameter aggressionWindowMonths: 12 → 21/);
    expect(stdout.text()).toMatch(/inside the window now that aggressionWindowMonths is 21 months \(was 12\)/);
  });

  test('a note that quotes the old value is flagged, on a passing fixture too; a templated note follows the value', async () => {
    const { rules, fixtures } = changedWindow('24');
    writeFileSync(
      path.join(fixtures, 'direct-referral', '06-face-to-face-aggression-inside-window.json'),
      JSON.stringify({
        ...JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'direct-referral', '06-face-to-face-aggression-inside-window.json'), 'utf8')),
        note: 'Inside the window of {aggressionWindowMonths} months, and also 12 months less a day before.',
        // Its holdsUntil moves with the window: left out here, where the outcome and the note are what is tested.
        expectedSummary: undefined,
      }),
    );
    await testCommand('direct-referral', { rules, fixtures, base: RULES_DIR });
    const out = stdout.text();
    expect(out).toMatch(
      /PASS {2}06-face-to-face-aggression-inside-window\.json +Inside the window of 24 months, and also 12 months less a day before\.\n {8}note: quotes "12 months", the value of aggressionWindowMonths at .*; it is now 24\. Rewrite the note, or write "\{aggressionWindowMonths\} months"/,
    );
    expect(out).toMatch(/FAIL {2}07-.*\n(.*\n)*? {8}note: quotes "12 months"/);
    expect(out).toMatch(/; 2 fixture notes to check$/m);
  });

  test('unchanged rules and a wrong expected outcome: the failure says the rules did not change', async () => {
    const { fixtures } = changedWindow('12');
    const file = path.join(fixtures, 'direct-referral', '04-urgent-over-a-weekend.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"2025-06-10"', '"2025-06-11"'));
    expect(await testCommand('direct-referral', { rules: RULES_DIR, fixtures, base: RULES_DIR, failures: true })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(
      /actionDueBy: expected "2025-06-11", got "2025-06-10"\n {8}compared with .* where it failed too:\n {10}the rules did not change/,
    );
  });

  test('a base that cannot be read is bad usage: exit 2', async () => {
    const { rules, fixtures } = changedWindow('24');
    expect(await testCommand('direct-referral', { rules, fixtures, base: path.join(rules, 'no-such-folder'), failures: true })).toBe(EXIT.usage);
    expect(stdout.text()).toMatch(/Cannot read the base rules/);
  });
});

describe('interpretations', () => {
  /** direct-referral.json with the window parameter given a reading, confirmed or not, whose words name {parameters}. */
  function marked(rules: string, confirmed: string): { file: string; text: string; line: number } {
    const file = path.join(rules, 'direct-referral.json');
    const text = readFileSync(file, 'utf8').replace(
      /("aggressionWindowMonths": \{\n)/,
      `$1      "interpretation": {\n        "question": "Is an incident exactly {aggressionWindowMonths} months before the as-of date in the window?",\n        "chosen": "\\"In the last {aggressionWindowMonths} months\\" counts an incident dated after the as-of date less the window."${confirmed}\n      },\n`,
    );
    writeFileSync(file, text);
    // The line of "interpretation": the one above its question.
    return { file, text, line: text.split('\n').findIndex((l) => l.includes('"question": "Is an incident exactly')) };
  }

  test('validate --interpretations lists every shipped one by file:line:column with its question and reading, unconfirmed, with a count', () => {
    expect(validateCommand([], { rules: RULES_DIR, interpretations: true })).toBe(EXIT.ok);
    const text = stdout.text();
    expect(text).toMatch(/All rule files in .* are valid\./);
    const kinds = readFileSync(path.join(RULES_DIR, 'direct-referral.json'), 'utf8').split('\n');
    const line = kinds.findIndex((l, i) => l.includes('"interpretation": {') && kinds[i + 1]!.includes('Does a threat of self-harm')) + 1;
    expect(text).toContain(
      `direct-referral.json:${line}:7  parameter aggressionKinds  (unconfirmed)\n    question: Does a threat of self-harm count as an "aggression incident"`,
    );
    expect(text).toMatch(/^ {4}chosen: {3}"Aggression incidents" is read as aggression toward others/m);
    // None is confirmed yet: every one of the shipped files' readings is for policy staff to answer.
    const count = /^(\d+) interpretations: (\d+) unconfirmed, for policy staff to answer and confirm; 0 confirmed$/m.exec(text);
    expect(count).not.toBeNull();
    expect(count![1]).toBe(count![2]);
    expect(Number(count![1])).toBeGreaterThanOrEqual(90);
  });

  test('ps-rules interpretations is the same listing, and --json gives each entry with where it sits', () => {
    validateCommand([], { rules: RULES_DIR, interpretations: true });
    const listed = stdout.text().slice(stdout.text().indexOf('valid.\n') + 'valid.\n'.length);
    stdout.reset();
    expect(interpretationsCommand({ rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toBe(listed);
    stdout.reset();
    expect(interpretationsCommand({ rules: RULES_DIR, json: true })).toBe(EXIT.ok);
    const entries = JSON.parse(stdout.text()) as Record<string, unknown>[];
    expect(entries).toContainEqual(
      expect.objectContaining({
        file: 'direct-referral.json',
        ruleSet: 'direct-referral',
        on: 'derivedFact',
        name: 'recentFaceToFaceAggressionIncidents',
        question: expect.stringMatching(/^Does "in the last 12 months" include an incident dated exactly 12 calendar months before/),
        confirmed: false,
      }),
    );
    for (const entry of entries) expect(entry.question).toMatch(/\?$/);
  });

  test('a confirmed reading says by whom and when, after the unconfirmed; its {parameter} is filled in', () => {
    const { rules } = workspace();
    const { line } = marked(rules, ',\n        "confirmedBy": "A. Officer, PS policy",\n        "confirmedOn": "2026-11-20"');
    expect(interpretationsCommand({ rules })).toBe(EXIT.ok);
    const text = stdout.text();
    const entry = `direct-referral.json:${line}:7  parameter aggressionWindowMonths  (confirmed by A. Officer, PS policy on 2026-11-20)\n    question: Is an incident exactly 12 months before the as-of date in the window?\n    chosen:   "In the last 12 months" counts`;
    expect(text).toContain(entry);
    expect(text.indexOf(entry)).toBeGreaterThan(text.lastIndexOf('(unconfirmed)'));
    expect(text).toMatch(/ interpretations: \d+ unconfirmed, for policy staff to answer and confirm; 1 confirmed$/m);
  });

  test("an unknown template in an interpretation is refused like a description's", () => {
    const { rules } = workspace();
    const { file, text } = marked(rules, '');
    writeFileSync(file, text.replace('less the window."', 'less {aggressionWindow}."'));
    expect(interpretationsCommand({ rules })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(/\{aggressionWindow\} is not a parameter of this file/);
  });

  test('the old string form is refused at its file:line:column, saying what to write', () => {
    const { rules } = workspace();
    const file = path.join(rules, 'direct-referral.json');
    const text = readFileSync(file, 'utf8').replace(
      /("aggressionWindowMonths": \{\n)/,
      '$1      "interpretation": "Counts an incident dated after the as-of date less the window.",\n',
    );
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('"interpretation": "Counts')) + 1;
    expect(validateCommand([], { rules, interpretations: true })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(
      new RegExp(`direct-referral\\.json:${line}:7 {2}an interpretation is no longer a string: write it as \\{ "question": "<what the procedure leaves open`),
    );
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
    // The readings the rules make, and how the due date was reckoned (Easter 2025: Good Friday to Anzac Day).
    expect(stdout.text()).toMatch(/^ {4}interpretation \(unconfirmed\): From which day do Step 2's working days run, .*\?\n {6}chosen: Step 2 does not say/m);
    // The readings the decision rests on that policy staff have not confirmed, listed before the trace.
    expect(stdout.text()).toMatch(/^Unconfirmed interpretations relied on \(\d+: readings of the procedure policy staff have not confirmed\)$/m);
    expect(stdout.text()).toMatch(/^ {2}• rule centrelink-action-timeframe: From which day do Step 2's working days run/m);
    expect(stdout.text()).toMatch(/^ {4}actionDueBy: .*Good Friday/m);
  });

  test('a fixture file is decided on its asOf and facts: its note, source and expectations are not refused as facts', async () => {
    const fixture = path.join(FIXTURES_DIR, 'service-restriction', '04-warning-after-as-of-date.json');
    expect(await explainCommand('service-restriction', fixture, { rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toMatch(/is a fixture: its asOf and facts are decided here/);
    expect(stdout.text()).toMatch(/as of 2025-06-02/);
    expect(stdout.text()).toMatch(/mayPropose: false/);
    expect(stdout.text()).not.toMatch(/not part of the fact vocabulary/);
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
    expect(stdout.text()).toMatch(/specialist-transfer \(specialist-transfer.json\): issues-addressed-appropriately never fails/);
  });
});
