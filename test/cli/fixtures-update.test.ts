// ps-rules fixtures update, in-process: after aggressionWindowMonths goes from 12 to 24, a fixture's `expected` is rewritten
// only when the officer says yes (or passes --yes), only `expected` changes, and what cannot or should not be rewritten is not.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { EXIT } from '../../src/cli/context';
import { fixturesUpdateCommand } from '../../src/cli/fixtures-update';
import { testCommand } from '../../src/cli/test';
import { RULES_DIR, captureStdout } from '../support';

const stdout = captureStdout();

/** The shipped rules with the aggression window widened to 24 months, and an empty fixtures/direct-referral/. */
function workspace(): { rules: string; fixtures: string; folder: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'ps-fixtures-update-'));
  const rules = path.join(root, 'rules');
  cpSync(RULES_DIR, rules, { recursive: true });
  const file = path.join(rules, 'direct-referral.json');
  const text = readFileSync(file, 'utf8');
  const widened = text.replace(/("aggressionWindowMonths": \{\s*"value": )12/, '$124');
  expect(widened).not.toBe(text);
  writeFileSync(file, widened);
  const fixtures = path.join(root, 'fixtures');
  const folder = path.join(fixtures, 'direct-referral');
  mkdirSync(folder, { recursive: true });
  return { rules, fixtures, folder };
}

const source = '001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 1: "No aggression incidents in the last 12 months within the face to face environment"';
const facts = {
  program: 'centrelink',
  referral: { source: 'mats', receivedOn: '2025-06-02' },
  customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
};

/** Face-to-face verbal abuse 18 months before asOf: outside a 12-month window (direct), inside a 24-month one. */
const eighteenMonths = {
  note: 'Verbal abuse face to face 18 months before the as-of date: outside the 12-month window, so a direct referral.',
  source,
  asOf: '2025-06-02',
  facts,
  expected: { eligible: true, route: 'direct', unmet: [], actionDueBy: '2025-06-09', refusalApprovedBy: null },
};

/**
 * What the procedure gives under a 24-month window, worked out by hand (fixtures/README.md): the incident is within the
 * window, so no direct referral, route standard; receipt Monday 2 June + 5 working days = Monday 9 June; refusing a
 * direct-referral area's (MATS) referral needs the SSM (Table 5 Step 2). As fixtures/direct-referral/06-*.json.
 */
const underTwentyFour = {
  eligible: false,
  route: 'standard',
  unmet: ['no-recent-face-to-face-aggression'],
  actionDueBy: '2025-06-09',
  refusalApprovedBy: 'PS Service Support Manager (SSM)',
};

function write(folder: string, name: string, fixture: unknown, text = `${JSON.stringify(fixture, null, 2)}`): string {
  const file = path.join(folder, name);
  writeFileSync(file, text);
  return file;
}

/** The file's text before and after the `expected` member's value: what must not change. */
function aroundExpected(text: string): { before: string; after: string } {
  const node = findNodeAtLocation(parseTree(text)!, ['expected'])!;
  return { before: text.slice(0, node.offset), after: text.slice(node.offset + node.length) };
}

const never = (): Promise<boolean> => {
  throw new Error('should not have asked');
};

test('answering no leaves the file as it was, after showing the difference field by field: exit 1', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '20-aggression-18-months-ago.json', eighteenMonths);
  const original = readFileSync(file, 'utf8');
  const questions: string[] = [];
  const code = await fixturesUpdateCommand([file], { rules, fixtures, base: RULES_DIR }, (question) => {
    questions.push(question);
    return Promise.resolve(false);
  });
  expect(code).toBe(EXIT.failed);
  expect(readFileSync(file, 'utf8')).toBe(original);
  expect(questions).toEqual([`Rewrite expected in ${file}? [y/N]`]);
  const text = stdout.text();
  expect(text).toContain('  eligible: expected true → now false');
  expect(text).toContain('  route: expected "direct" → now "standard"');
  expect(text).toContain('  unmet: expected [] → now ["no-recent-face-to-face-aggression"]');
  expect(text).toContain('  refusalApprovedBy: expected null → now "PS Service Support Manager (SSM)"');
  // actionDueBy does not change, so it is not shown as a difference.
  expect(text).not.toContain('actionDueBy');
  expect(text).toMatch(/decided by version [0-9a-f]{16} of direct-referral: direct-referral\.json/);
  // And what changed behind it, against the shipped rules: the parameter, old → new, and the incident it now counts.
  expect(text).toMatch(/where it passed:\n {4}parameter aggressionWindowMonths: 12 → 24\n/);
  expect(text).toContain(
    'incident on 2023-12-01 (verbal-abuse, face-to-face): counted now, inside the window now that aggressionWindowMonths is 24 months (was 12)',
  );
});

test('--yes rewrites expected to the new outcome, leaves every other byte as written, and ps-rules test then passes: exit 0', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '20-aggression-18-months-ago.json', eighteenMonths);
  const original = readFileSync(file, 'utf8');
  expect(await testCommand('direct-referral', { rules, fixtures })).toBe(EXIT.failed);

  expect(await fixturesUpdateCommand([file], { rules, fixtures, yes: true }, never)).toBe(EXIT.ok);
  const rewritten = readFileSync(file, 'utf8');
  expect(JSON.parse(rewritten).expected).toEqual(underTwentyFour);
  expect(aroundExpected(rewritten)).toEqual(aroundExpected(original));
  // Laid out as the fixtures are written (two-space JSON), with no final newline added.
  expect(rewritten).toBe(JSON.stringify({ ...eighteenMonths, expected: underTwentyFour }, null, 2));
  expect(stdout.text()).toMatch(/✓ rewritten; it now passes/);

  stdout.reset();
  expect(await testCommand('direct-referral', { rules, fixtures })).toBe(EXIT.ok);
  expect(stdout.text()).toMatch(/PASS {2}20-aggression-18-months-ago\.json/);
});

test('answering yes rewrites too; a file laid out with 4 spaces and a final newline keeps both', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '21-four-spaces.json', undefined, `${JSON.stringify(eighteenMonths, null, 4)}\n`);
  const original = readFileSync(file, 'utf8');
  expect(await fixturesUpdateCommand([file], { rules, fixtures }, () => Promise.resolve(true))).toBe(EXIT.ok);
  const rewritten = readFileSync(file, 'utf8');
  expect(rewritten).toBe(`${JSON.stringify({ ...eighteenMonths, expected: underTwentyFour }, null, 4)}\n`);
  expect(aroundExpected(rewritten)).toEqual(aroundExpected(original));
});

test('a fixture that already matches is left alone, without asking: exit 0', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '22-already-right.json', { ...eighteenMonths, expected: underTwentyFour });
  const original = readFileSync(file, 'utf8');
  expect(await fixturesUpdateCommand([file], { rules, fixtures }, never)).toBe(EXIT.ok);
  expect(readFileSync(file, 'utf8')).toBe(original);
  expect(stdout.text()).toMatch(
    new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: already matches the rules \\(version [0-9a-f]{16} of direct-referral`, 'm'),
  );
});

test('a fixture that expects a refusal is not rewritten, even with --yes: exit 1', async () => {
  const { rules, fixtures, folder } = workspace();
  // These facts are valid, so the case is decided, not refused: the fixture fails, but expectedError is for a person to fix.
  const file = write(folder, 'error-wrongly-expected.json', {
    note: 'n',
    source,
    asOf: '2025-06-02',
    facts,
    expectedError: { status: 400, pointers: ['/facts/referral/receivedOn'] },
  });
  const original = readFileSync(file, 'utf8');
  expect(await fixturesUpdateCommand([file], { rules, fixtures, yes: true }, never)).toBe(EXIT.failed);
  expect(readFileSync(file, 'utf8')).toBe(original);
  expect(stdout.text()).toContain('expects the case to be refused (expectedError)');
});

test('a case the rules refuse has no outcome to write: not rewritten, exit 1', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '23-bad-date.json', { ...eighteenMonths, facts: { ...facts, referral: { source: 'mats', receivedOn: '2025-02-30' } } });
  const original = readFileSync(file, 'utf8');
  expect(await fixturesUpdateCommand([file], { rules, fixtures, yes: true }, never)).toBe(EXIT.failed);
  expect(readFileSync(file, 'utf8')).toBe(original);
  expect(stdout.text()).toMatch(/the rules refuse this case[^]*\/facts\/referral\/receivedOn/);
});

test('with no terminal to ask on and no --yes, nothing is written and it says --yes is needed: exit 1', async () => {
  const { rules, fixtures, folder } = workspace();
  const file = write(folder, '20-aggression-18-months-ago.json', eighteenMonths);
  const original = readFileSync(file, 'utf8');
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  try {
    expect(await fixturesUpdateCommand([file], { rules, fixtures })).toBe(EXIT.failed);
  } finally {
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  }
  expect(readFileSync(file, 'utf8')).toBe(original);
  expect(stdout.text()).toMatch(/no terminal to ask on.*--yes/);
});

test("a file outside a rule set's folder, a missing file or one that is not JSON is bad usage, and nothing is written: exit 2", async () => {
  const { rules, fixtures, folder } = workspace();
  const good = write(folder, '20-aggression-18-months-ago.json', eighteenMonths);
  const original = readFileSync(good, 'utf8');
  mkdirSync(path.join(fixtures, 'direct-referals'));
  const misplaced = write(path.join(fixtures, 'direct-referals'), '20-aggression-18-months-ago.json', eighteenMonths);
  expect(await fixturesUpdateCommand([good, misplaced], { rules, fixtures, yes: true }, never)).toBe(EXIT.usage);
  expect(stdout.text()).toContain(`${misplaced}: its folder "direct-referals" is not a rule set`);
  expect(stdout.text()).toMatch(/Known: direct-referral, .*specialist-transfer/);
  // Checked before anything is changed: the good file named beside it is not rewritten either.
  expect(readFileSync(good, 'utf8')).toBe(original);

  expect(await fixturesUpdateCommand([path.join(folder, 'missing.json')], { rules, fixtures, yes: true }, never)).toBe(EXIT.usage);
  const broken = write(folder, 'broken.json', undefined, '{ "note": ');
  expect(await fixturesUpdateCommand([broken], { rules, fixtures, yes: true }, never)).toBe(EXIT.usage);
  expect(stdout.text()).toContain(`${broken}: is not JSON`);
});

/**
 * The summary of the same case, worked out by hand. Under 12 months the incident of 2023-12-01 is out of the window and
 * stays out (holdsUntil null), every criterion is met. Under 24 months it is in the window until the first day whose
 * window start (that day less 24 months) is on or after 2023-12-01: 2025-12-01, when the referral would go direct.
 */
const timeframe =
  'A Centrelink referral that is not urgent is actioned within 5 working days: the due date is working day 5 after receipt (the day PS received the referral: 2025-06-02).';
const summaryUnderTwelve = { holdsUntil: null, reasons: ['All 5 criteria for the direct route are met.', timeframe] };
const summaryUnderTwentyFour = {
  holdsUntil: '2025-12-01',
  reasons: [
    'Not met: The customer has had no aggression incident in the face-to-face environment within the aggression window (24 months) (verbal abuse (face to face) on 2023-12-01).',
    timeframe,
  ],
};

test('expectedSummary is rewritten with expected, under the same question, and only the members the fixture pins', async () => {
  const { rules, fixtures, folder } = workspace();
  const both = write(folder, '20-aggression-18-months-ago.json', { ...eighteenMonths, expectedSummary: summaryUnderTwelve });
  const holdsOnly = write(folder, '21-aggression-18-months-ago-holds.json', { ...eighteenMonths, expectedSummary: { holdsUntil: null } });
  const original = readFileSync(both, 'utf8');

  const questions: string[] = [];
  const code = await fixturesUpdateCommand([both, holdsOnly], { rules, fixtures, base: RULES_DIR }, (question) => {
    questions.push(question);
    return Promise.resolve(question.includes('20-'));
  });
  // The one answered no is left as it was, so the run ends unresolved.
  expect(code).toBe(EXIT.failed);
  expect(questions).toEqual([`Rewrite expected and expectedSummary in ${both}? [y/N]`, `Rewrite expected and expectedSummary in ${holdsOnly}? [y/N]`]);
  const text = stdout.text();
  expect(text).toContain('differently from "expected" and "expectedSummary"');
  expect(text).toContain('  summary.holdsUntil: expected null → now "2025-12-01"');

  const rewritten = readFileSync(both, 'utf8');
  expect(JSON.parse(rewritten)).toEqual({ ...eighteenMonths, expected: underTwentyFour, expectedSummary: summaryUnderTwentyFour });
  expect(rewritten.slice(0, rewritten.indexOf('"expected"'))).toBe(original.slice(0, original.indexOf('"expected"')));

  // With --yes the other is rewritten too, and keeps pinning holdsUntil alone: no reasons member is added.
  expect(await fixturesUpdateCommand([holdsOnly], { rules, fixtures, yes: true }, never)).toBe(EXIT.ok);
  expect(JSON.parse(readFileSync(holdsOnly, 'utf8')).expectedSummary).toEqual({ holdsUntil: '2025-12-01' });
  stdout.reset();
  expect(await testCommand('direct-referral', { rules, fixtures })).toBe(EXIT.ok);
});

test('ps-rules test names the fixture and the summary field that differs, and where the reasons part', async () => {
  const { rules, fixtures, folder } = workspace();
  write(folder, '20-aggression-18-months-ago.json', { ...eighteenMonths, expected: underTwentyFour, expectedSummary: { ...summaryUnderTwelve } });
  expect(await testCommand('direct-referral', { rules, fixtures, failures: true })).toBe(EXIT.failed);
  const text = stdout.text();
  expect(text).toMatch(/FAIL {2}direct-referral\/20-aggression-18-months-ago\.json/);
  expect(text).toContain('summary.holdsUntil: expected null, got "2025-12-01"');
  expect(text).toContain(
    `summary.reasons: line 1 differs\n          expected "All 5 criteria for the direct route are met."\n          got      "${summaryUnderTwentyFour.reasons[0]}"`,
  );
});
