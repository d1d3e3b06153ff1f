// Issue 19 in the browser: the rules page's policy editor, in real Chromium (playwright-core), on a real service with its
// own copy of the rules, a SQLite decision log and proposal store, and a fixed clock. Officer A changes the aggression
// window from 12 to 24 months in the form, sees the impact, proposes it effective tomorrow; A's own approval is refused
// with the service's words; officer B approves in another browser context; today's cases keep the old version and
// tomorrow's take the new. axe-core finds no WCAG 2.1 A/AA violation with the editor open.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { backlogLines } from '../../fixtures/backlog';
import { SqliteProposalStore } from '../../src/authoring/proposal-store';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { OPERATORS } from '../../src/loader/load';
import { NUMBER_TYPES, ROLES } from '../../src/loader/parameter-types';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { FIXTURES_DIR, ROOT, RULES_DIR } from '../support';
import { TEST_KEYS, TEST_SECRETS, testApp } from '../support/app';
import { pageTestBed } from '../support/browser';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET_A = TEST_SECRETS.policy; // key id pol1
const SECRET_B = 'policy-b-test-secret-0123456789abcdef'; // key id pol2
const KEYS = `${TEST_KEYS},pol2:policy:${SECRET_B}`;
// Noon in Sydney on 10 March 2026 (AEDT, UTC+11): today is 2026-03-10, tomorrow 2026-03-11. The service's clock and the
// browser's are both fixed there, so the page's "tomorrow" is the service's.
const NOW = new Date('2026-03-10T01:00:00Z');
const TODAY = '2026-03-10';
const TOMORROW = '2026-03-11';
const PAGE_HTML = readFileSync(path.join(ROOT, 'src/api/rules-page.html'), 'utf8');
const AXE = readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

const rulesDir = mkdtempSync(path.join(tmpdir(), 'ps-editor-rules-'));
cpSync(RULES_DIR, rulesDir, { recursive: true });
const rules = new RuleStore(rulesDir, RULE_SET_MODULES, quiet);
const log = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'ps-editor-log-')) });
const store = new SqliteProposalStore(log.location);
afterAll(async () => {
  store.close();
  await log.close();
});
const app = testApp({
  rules: () => rules.current(),
  reload: () => rules.reload(),
  clock: () => NOW,
  logger: quiet,
  log,
  keys: KEYS,
  // The log keeps each decision's facts (DECISION_LOG_FACTS=keep), so a draft can be measured on recent decisions.
  keepFacts: true,
  proposals: { store, directory: rulesDir, modules: RULE_SET_MODULES, fixturesDirectory: FIXTURES_DIR },
});
const bed = pageTestBed(app);

/** A browser context of its own (its own sessionStorage: one officer's tab), its clock at NOW, and the rules page open with the key in use. */
async function officer(secret: string): Promise<{ context: BrowserContext; page: Page; pageErrors: string[] }> {
  const context = await bed.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.clock.setFixedTime(NOW);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (/content[- ]security[- ]policy/i.test(message.text())) pageErrors.push(message.text());
  });
  await page.goto(`${bed.base}/rules`);
  await page.fill('#api-key', secret);
  await page.click('#use-key');
  return { context, page, pageErrors };
}

/** axe-core's WCAG 2.1 A and AA checks on the page as it is now: the violations, each with the nodes it found. */
async function axeViolations(page: Page): Promise<{ checked: number; violations: { id: string; help: string; nodes: string[] }[] }> {
  // Run through the DevTools protocol (page.evaluate), which the page's Content-Security-Policy does not govern; an
  // injected <script> would be refused by it, as it should be.
  await page.evaluate(AXE);
  // A string, evaluated in the page: this project's TypeScript has no DOM types.
  return page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => ({ checked: result.passes.length, violations: result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })) }))`);
}

test("the page's lists of operators, number types and roles are the loader's", () => {
  const list = (name: string) => {
    const found = PAGE_HTML.match(new RegExp(`const ${name} = (\\[[^\\]]*\\]|\\{[^}]*\\});`));
    return JSON.parse(
      (found?.[1] as string).replace(/([{,]\s*)([a-z-]+|"[a-z-]+"):/g, (_m, lead: string, key: string) => `${lead}"${key.replace(/"/g, '')}":`),
    ) as unknown;
  };
  expect(list('OPERATORS')).toEqual([...OPERATORS]);
  expect(list('ROLES')).toEqual([...ROLES]);
  expect(list('NUMBER_TYPES')).toEqual(Object.fromEntries(Object.entries(NUMBER_TYPES).map(([type, { minimum, maximum }]) => [type, [minimum, maximum]])));
});

test('a caseworker or an auditor sees no editor', async () => {
  for (const role of ['caseworker', 'auditor'] as const) {
    const { context, page } = await officer(TEST_SECRETS[role]);
    await page.waitForSelector('#policy[data-role-checked]', { state: 'attached' });
    expect(await page.getAttribute('#policy', 'data-role-checked')).toBe('not policy');
    expect(await page.isHidden('#policy')).toBe(true);
    expect(await page.locator('#edit-draft').isVisible()).toBe(false);
    await context.close();
  }
});

test('officer A drafts 24 months in the form, proposes it for tomorrow, cannot approve it; B approves; today old, tomorrow new', async () => {
  const a = await officer(SECRET_A);
  const { page } = a;
  await page.waitForSelector('#policy:not([hidden])');
  await page.selectOption('#edit-ruleset', 'direct-referral');
  await page.click('#edit-draft');
  const months = page.getByLabel('aggressionWindowMonths (months, 1 to 120)');
  await expect(months.inputValue()).resolves.toBe('12');
  // The forms are built from the rule file: each parameter by its type, each rule's conditions, sources, fact defaults.
  await expect(
    page.getByRole('group', { name: 'directReferralSources (values of referral.source)' }).locator('input[type=checkbox]').count(),
  ).resolves.toBeGreaterThan(3);
  await expect(page.locator('[data-edit-rule] .condition select').count()).resolves.toBeGreaterThan(10);
  await expect(page.textContent('#draft-form')).resolves.toContain('This rule set defaults no facts.');
  await months.fill('24');
  // The raw JSON view follows the form.
  await expect(
    page
      .locator('#draft-json')
      .textContent()
      .then((t) => JSON.parse(t as string).parameters.aggressionWindowMonths.value),
  ).resolves.toBe(24);
  // Checked as it is made (draft-impact, which stores nothing): valid, and the fixtures that no longer go direct.
  await page.locator('#validation-status', { hasText: /^The draft is valid\./ }).waitFor();
  await page.locator('#fixture-summary').waitFor();
  const fixtureMoves = page.locator('#fixture-impact ul.moves li');
  await expect(fixtureMoves.first().textContent()).resolves.toMatch(/^\d+ cases? moves? from eligible true to eligible false$/);
  expect(store.list({})).toEqual([]);
  await page.screenshot({ path: '/tmp/editor-draft.png' });

  // A backlog of 1,000 referrals from the project's generator, each dated today (so the page's count and ps-rules diff,
  // which dates an undated line by the real clock, decide the same day), uploaded in the impact panel.
  const work = mkdtempSync(path.join(tmpdir(), 'ps-editor-backlog-'));
  const backlogFile = path.join(work, 'backlog.ndjson');
  const lines = [...backlogLines({ count: 1000, seed: 7, asOf: TODAY })].map((line) => JSON.stringify({ ...(JSON.parse(line) as object), asOf: TODAY }));
  writeFileSync(backlogFile, `${lines.join('\n')}\n`);
  await page.setInputFiles('#backlog-file', backlogFile);
  await page.locator('#backlog-summary').waitFor({ timeout: 60_000 });
  await expect(page.textContent('#backlog-summary')).resolves.toMatch(/^1000 case\(s\): /);
  await expect(page.textContent('#backlog-impact')).resolves.not.toMatch(/null\s*$/);
  const routeMoves = await page
    .locator('#backlog-impact ul.moves li[data-field="route"]')
    .evaluateAll((items) => items.map((item) => ({ count: Number(item.getAttribute('data-count')), text: item.textContent as string })));
  const movedOnPage = routeMoves.reduce((sum, m) => sum + m.count, 0);
  expect(routeMoves.map((m) => m.text)).toContainEqual(expect.stringMatching(/^\d+ cases? moves? from route direct to route standard$/));
  // ps-rules diff on the same file, with the draft (as the page's JSON view holds it) in a copy of the rules folder.
  const draftRules = path.join(work, 'rules');
  cpSync(RULES_DIR, draftRules, { recursive: true });
  writeFileSync(path.join(draftRules, 'direct-referral.json'), (await page.textContent('#draft-json')) as string);
  const cli = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
      path.join(ROOT, 'src/cli/main.ts'),
      '--rules',
      draftRules,
      'diff',
      '--base',
      RULES_DIR,
      '--cases',
      backlogFile,
      '--rule-set',
      'direct-referral',
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  expect(cli.stderr).toBe('');
  const report = JSON.parse(cli.stdout) as { cases: number; changed: { fields: { field: string }[] }[] };
  expect(report.cases).toBe(1000);
  const movedByDiff = report.changed.filter((c) => c.fields.some((f) => f.field === 'route')).length;
  expect(movedByDiff).toBeGreaterThan(0);
  expect(movedOnPage).toBe(movedByDiff);
  // Each changed case listed with the rule that changed it.
  await expect(page.locator('#backlog-impact .changed-cases li[data-case]').first().textContent()).resolves.toMatch(/Changed by: .*rule /);
  await page.locator('#backlog-impact').scrollIntoViewIfNeeded();
  await page.screenshot({ path: '/tmp/editor-backlog.png' });

  await page.fill('#rationale', 'The procedure now looks back two years for face-to-face aggression (circular 2026/07).');
  await expect(page.inputValue('#effective-from')).resolves.toBe(TOMORROW);
  await page.click('#propose');
  await page.waitForSelector('#proposals [data-proposal]');
  await expect(page.textContent('#editor-status')).resolves.toMatch(/^Proposed .*in force from 2026-03-11/);
  const [listed] = store.list({});
  // The impact the service measured on the fixtures: the cases that no longer go direct, and the change that moved them.
  const changedFixtures = (listed!.impact as { changed: unknown[] }).changed.length;
  expect(changedFixtures).toBeGreaterThan(0);
  await expect(page.textContent('#fixture-summary')).resolves.toMatch(new RegExp(`: ${changedFixtures} decide differently under the draft`));
  const moved = page.locator('#fixture-impact .changed-cases li[data-case]');
  await expect(moved.count()).resolves.toBe(changedFixtures);
  await expect(moved.first().textContent()).resolves.toMatch(/eligible: true → false.*Changed by: .*parameter aggressionWindowMonths 12 → 24/);
  expect(listed).toEqual(expect.objectContaining({ proposedBy: 'pol1', effectiveFrom: TOMORROW, status: 'proposed' }));
  expect((listed!.file as { parameters: { aggressionWindowMonths: { value: number } } }).parameters.aggressionWindowMonths.value).toBe(24);

  // A's own approval: refused, with the service's words in the alert region.
  const proposal = page.locator(`[data-proposal="${listed!.id}"]`);
  await proposal.getByLabel('Your comment (what you checked, or why not)').fill('Looks right to me.');
  await proposal.getByRole('button', { name: 'Approve' }).click();
  const refusal = proposal.locator('[data-refusal]');
  await refusal.filter({ hasText: 'a second officer must approve' }).waitFor();
  await expect(refusal.getAttribute('role')).resolves.toBe('alert');
  await expect(refusal.textContent()).resolves.toMatch(/^Approval refused: Key "pol1" proposed .*: a second officer must approve it\.$/);
  await refusal.scrollIntoViewIfNeeded();
  await page.screenshot({ path: '/tmp/editor-refused.png' });
  expect(store.get(listed!.id)?.status).toBe('proposed');

  // With the editor open (forms, impact, the proposal and its refusal): rules were checked, and none is violated.
  const axe = await axeViolations(page);
  expect(axe.checked).toBeGreaterThan(10);
  expect(axe.violations).toEqual([]);

  // Officer B, in a context of its own, approves with a comment.
  const b = await officer(SECRET_B);
  await b.page.waitForSelector(`[data-proposal="${listed!.id}"] button[data-action="approve"]`);
  const theirs = b.page.locator(`[data-proposal="${listed!.id}"]`);
  // B sees what the change does before deciding on it.
  await theirs.locator('.proposal-impact', { hasText: `${changedFixtures} decide differently` }).waitFor();
  await theirs.getByLabel('Your comment (what you checked, or why not)').fill('Checked against circular 2026/07.');
  await theirs.getByRole('button', { name: 'Approve' }).click();
  await b.page.locator('#editor-status', { hasText: /^Approved/ }).waitFor();
  expect(store.get(listed!.id)).toEqual(expect.objectContaining({ status: 'approved', decidedBy: 'pol2' }));
  const newVersion = store.get(listed!.id)?.publishedVersion as string;
  await expect(b.page.textContent('#editor-status')).resolves.toContain(`version ${newVersion} is published, in force from ${TOMORROW}`);

  // The history in B's editor: who proposed and approved the new version, why, and the change side by side.
  await b.page.selectOption('#edit-ruleset', 'direct-referral');
  await b.page.click('#edit-draft');
  const latest = b.page.locator(`#history-list [data-version="${newVersion}"]`);
  await latest.waitFor();
  await expect(latest.textContent()).resolves.toMatch(/Proposed by pol1 .*approved by pol2 .*Why: The procedure now looks back two years/);
  // One change: the draft was made from the file as written, so its descriptions keep their {parameter} placeholders.
  await expect(latest.locator('table.diff tr').count()).resolves.toBe(2);
  await expect(latest.locator('table.diff tr').nth(1).locator('td').allTextContents()).resolves.toEqual([
    '/parameters/aggressionWindowMonths/value',
    '12',
    '24',
  ]);
  await latest.scrollIntoViewIfNeeded();
  await b.page.screenshot({ path: '/tmp/editor-history.png' });
  // And with the history's side-by-side diff on screen.
  const axeB = await axeViolations(b.page);
  expect(axeB.checked).toBeGreaterThan(10);
  expect(axeB.violations).toEqual([]);

  // Evaluated in B's tab (try a case): a referral with face-to-face abuse 18 months before is direct today, standard tomorrow.
  const facts = {
    program: 'centrelink',
    referral: { source: 'mats', receivedOn: TODAY },
    customer: { incidents: [{ date: '2024-09-11', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  };
  const decided = async (asOf: string) => {
    await b.page.selectOption('#ruleset', 'direct-referral');
    await b.page.fill('#asof', asOf);
    await b.page.fill('#facts', JSON.stringify({ ...facts, referral: { ...facts.referral, receivedOn: asOf } }));
    await b.page.click('#evaluate');
    await b.page.waitForSelector(`#result h3:text("as of ${asOf}")`);
    return {
      heading: (await b.page.textContent('#result h3')) as string,
      eligible: await b.page.textContent('#result td[data-field="eligible"]'),
    };
  };
  const today = await decided(TODAY);
  expect(today.eligible).toBe('true');
  expect(today.heading).not.toContain(newVersion);
  const tomorrow = await decided(TOMORROW);
  expect(tomorrow.eligible).toBe('false');
  expect(tomorrow.heading).toContain(`version ${newVersion}`);
  // Both decisions can be reproduced: the decision log holds the text of each version that decided.
  const oldVersion = /version (\w+)/.exec(today.heading)?.[1] as string;
  expect(oldVersion).not.toBe(newVersion);
  for (const version of [oldVersion, newVersion]) {
    const archived = await log.findVersion(version);
    expect(archived?.ruleText).toContain('"aggressionWindowMonths"');
  }
  expect(JSON.parse((await log.findVersion(newVersion))!.ruleText).parameters.aggressionWindowMonths.value).toBe(24);
  expect(JSON.parse((await log.findVersion(oldVersion))!.ruleText).parameters.aggressionWindowMonths.value).toBe(12);

  expect(a.pageErrors).toEqual([]);
  expect(b.pageErrors).toEqual([]);
  await a.context.close();
  await b.context.close();
});

test("a value out of its type's bounds and a past effective date are refused with the service's words beside their fields; nothing is proposed", async () => {
  const { context, page, pageErrors } = await officer(SECRET_A);
  await page.waitForSelector('#policy:not([hidden])');
  await page.selectOption('#edit-ruleset', 'direct-referral');
  await page.click('#edit-draft');
  const before = store.list({}).length;
  await page.fill('#rationale', 'Trying the bounds.');
  await page.fill('#effective-from', '2026-03-09');
  await page.click('#propose');
  await page.locator('#effective-from-problem', { hasText: /./ }).waitFor();
  await expect(page.textContent('#effective-from-problem')).resolves.toContain('in the past');
  await expect(page.getAttribute('#effective-from', 'aria-describedby')).resolves.toBe('effective-from-problem');

  const months = page.getByLabel('aggressionWindowMonths (months, 1 to 120)');
  await months.fill('200');
  // Refused as it is typed, beside the field, before anything is proposed.
  const checked = page.locator(`#${(await months.getAttribute('aria-describedby')) as string}`);
  await checked.filter({ hasText: /whole number from 1 to 120/ }).waitFor();
  await expect(page.textContent('#validation-status')).resolves.toMatch(/^The draft has 1 problem/);
  await expect(page.textContent('#fixture-impact')).resolves.toBe("The impact is measured once the draft's problems are put right.");
  // A date after tomorrow: the test above may have published a version in force from tomorrow already.
  await page.fill('#effective-from', '2026-04-01');
  await page.click('#propose');
  const problem = page.locator(`#${(await months.getAttribute('aria-describedby')) as string}`);
  await problem.filter({ hasText: /./ }).waitFor();
  await expect(problem.textContent()).resolves.toMatch(/aggressionWindowMonths.*whole number from 1 to 120.*\(line \d+, column \d+\)/);
  await expect(months.getAttribute('aria-invalid')).resolves.toBe('true');
  await expect(page.textContent('#propose-alert')).resolves.toMatch(/^Not proposed: /);
  await problem.scrollIntoViewIfNeeded();
  await page.screenshot({ path: '/tmp/editor-field-problem.png' });
  expect(store.list({}).length).toBe(before);
  expect(pageErrors).toEqual([]);
  await context.close();
});

test("the forms follow each rule file: fact defaults, a role chosen from the procedure's, a condition re-pointed, added and removed, a source added", async () => {
  const { context, page, pageErrors } = await officer(SECRET_A);
  await page.waitForSelector('#policy:not([hidden])');
  await page.selectOption('#edit-ruleset', 'segment-allocation');
  // By keyboard: from the rule set's list, Tab to the button and press Enter.
  await page.focus('#edit-ruleset');
  await page.keyboard.press('Tab');
  await expect(page.evaluate('document.activeElement.id')).resolves.toBe('edit-draft');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-edit-default]');
  const json = async () => JSON.parse((await page.textContent('#draft-json')) as string) as Record<string, Record<string, Record<string, unknown>>>;
  const file = await json();
  // Every fact default and parameter of the file has its fieldset.
  await expect(page.locator('[data-edit-default]').count()).resolves.toBe(Object.keys(file.factDefaults!).length);
  await expect(page.locator('[data-edit-parameter]').count()).resolves.toBe(Object.keys(file.parameters!).length);
  const role = Object.entries(file.parameters!).find(([, p]) => (p as { type: string }).type === 'role')!;
  const roleSelect = page.getByLabel(`${role[0]} (who)`);
  await expect(roleSelect.inputValue()).resolves.toBe((role[1] as { value: string }).value);
  await roleSelect.selectOption('PS Team Leader');
  expect(((await json()).parameters![role[0]] as { value: string }).value).toBe('PS Team Leader');
  // A condition's fact, chosen from the vocabulary.
  const firstFact = page.locator('[data-edit-rule] .condition').first().getByLabel('fact');
  await firstFact.selectOption('program');
  expect(JSON.stringify((await json()).rules)).toContain('"fact":"program"');
  // A condition added to a rule's group, focused to be chosen, and removed again; a source added with its quote.
  const rule = page.locator('[data-edit-rule]').first();
  const ruleName = (await rule.getAttribute('data-edit-rule')) as string;
  const index = (file.rules as unknown as { name: string }[]).findIndex((r) => r.name === ruleName);
  const conditionsOf = async () => (await json()).rules![index] as unknown as { conditions: Record<string, unknown[]>; sources: { quote?: string }[] };
  const groupKey = Object.keys((await conditionsOf()).conditions).find((k) => k === 'all' || k === 'any') as string;
  const before = (await conditionsOf()).conditions[groupKey]!.length;
  await rule
    .getByRole('button', { name: /^Add a condition to/ })
    .first()
    .click();
  expect((await conditionsOf()).conditions[groupKey]!.length).toBe(before + 1);
  await expect(page.evaluate('document.activeElement.closest("[data-condition]").getAttribute("data-condition")')).resolves.toBe(
    `/rules/${index}/conditions/${groupKey}/${before}`,
  );
  await page.locator(`[data-condition="/rules/${index}/conditions/${groupKey}/${before}"]`).getByLabel('operator').selectOption('notEqual');
  expect(((await conditionsOf()).conditions[groupKey]![before] as { operator: string }).operator).toBe('notEqual');
  await page.locator('#validation-status', { hasText: /^The draft (is valid|has)/ }).waitFor();
  await page
    .locator(`[data-edit-rule="${ruleName}"]`)
    .getByRole('button', { name: new RegExp(`^Remove condition ${before + 1} of`) })
    .click();
  expect((await conditionsOf()).conditions[groupKey]!.length).toBe(before);
  const sourcesBefore = (await conditionsOf()).sources.length;
  const details = page.locator(`[data-edit-rule="${ruleName}"] details`).first();
  await details.locator('summary').click();
  await details.getByRole('button', { name: /^Add a source of/ }).click();
  const added = page.locator(`[data-at="/rules/${index}/sources/${sourcesBefore}"]`);
  await added.getByLabel('step').fill('Step 9');
  await added.getByLabel('quoted words').fill('an officer may refer');
  expect((await conditionsOf()).sources[sourcesBefore]).toEqual(expect.objectContaining({ step: 'Step 9', quote: 'an officer may refer' }));
  await page.locator('[data-edit-default]').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: '/tmp/editor-defaults.png' });
  expect(pageErrors).toEqual([]);
  await context.close();
});

test('the axe check does find a violation (so its empty lists above mean something)', async () => {
  const { context, page } = await officer(SECRET_A);
  await page.waitForSelector('#policy:not([hidden])');
  await page.evaluate(`document.getElementById('policy').append(Object.assign(document.createElement('input'), { type: 'text' }))`);
  const axe = await axeViolations(page);
  expect(axe.violations.map((v) => v.id)).toContain('label');
  await context.close();
});

test('a CSV backlog is read through the triage mapping and its moves listed', async () => {
  const { context, page, pageErrors } = await officer(SECRET_A);
  await page.waitForSelector('#policy:not([hidden])');
  await page.selectOption('#edit-ruleset', 'direct-referral');
  await page.click('#edit-draft');
  await page.locator('#draft-title').waitFor();
  await expect(page.evaluate('document.activeElement.id')).resolves.toBe('draft-title');
  await page.getByLabel('aggressionWindowMonths (months, 1 to 120)').fill('36');
  await page.locator('#validation-status', { hasText: /^The draft is valid\./ }).waitFor();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ps-editor-csv-')), 'backlog.csv');
  writeFileSync(file, `${[...backlogLines({ count: 300, seed: 3, asOf: TODAY, format: 'csv' })].join('\n')}\n`);
  await page.setInputFiles('#backlog-file', file);
  await page.locator('#backlog-summary').waitFor({ timeout: 60_000 });
  await expect(page.textContent('#backlog-summary')).resolves.toMatch(/^300 case\(s\): \d+ unchanged, [1-9]\d* decide differently/);
  await expect(page.locator('#backlog-impact ul.moves li').first().textContent()).resolves.toMatch(/^\d+ cases? moves? from /);
  expect(pageErrors).toEqual([]);
  await context.close();
});

test("a draft measured on the log's recent decisions, each decided again under it", async () => {
  // A referral with face-to-face abuse 18 months before: direct under a 12-month window, standard under 24.
  const decided = await fetch(`${bed.base}/v1/rulesets/direct-referral/evaluate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_SECRETS.caseworker}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      asOf: TOMORROW,
      facts: {
        program: 'centrelink',
        referral: { source: 'mats', receivedOn: TOMORROW },
        customer: { incidents: [{ date: '2024-09-11', kind: 'verbal-abuse', setting: 'face-to-face' }] },
      },
    }),
  });
  expect(decided.status).toBe(200);
  const { context, page, pageErrors } = await officer(SECRET_A);
  await page.waitForSelector('#policy:not([hidden])');
  await page.selectOption('#edit-ruleset', 'direct-referral');
  await page.click('#edit-draft');
  const months = page.getByLabel('aggressionWindowMonths (months, 1 to 120)');
  // Whichever window is in force (24 once the story above has published it), the draft moves that referral's route.
  await months.fill((await months.inputValue()) === '24' ? '6' : '24');
  await page.locator('#validation-status', { hasText: /^The draft is valid\./ }).waitFor();
  await page.click('#logged-compare');
  await page.locator('#logged-summary').waitFor();
  await expect(page.textContent('#logged-summary')).resolves.toMatch(/^\d+ recent decision\(s\): \d+ unchanged, [1-9]\d* decide differently/);
  await expect(page.locator('#logged-impact ul.moves li[data-field="route"]').first().textContent()).resolves.toMatch(
    /^\d+ cases? moves? from route (direct|standard) to route (direct|standard)$/,
  );
  expect(pageErrors).toEqual([]);
  await context.close();
});
