// The page policy staff read, in a real headless browser (Debian's chromium driven by playwright-core), with real API keys
// and the page's own Content-Security-Policy in force.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, shippedRules } from '../support';
import { TEST_SECRETS, testApp } from '../support/app';
import { pageTestBed } from '../support/browser';

const SCREENSHOTS = path.join(ROOT, 'test-output');
// Where the page keeps the key (rules-page.html); read here to check it is this tab's sessionStorage, never localStorage.
const KEY_ITEM = 'ps-api-key';

// testApp registers its own afterAll (closing the decision log), so it is made here, not inside beforeAll.
const registry = shippedRules();
const app = testApp({ rules: () => registry });

const bed = pageTestBed(app);

interface Watched {
  page: Page;
  /** Every Content-Security-Policy violation the page raised: its securitypolicyviolation events and the console's refusals. */
  violations: string[];
  /** The /v1 requests the page made. */
  apiCalls: string[];
}

/** A fresh tab (so an empty sessionStorage) that records CSP violations from before the page's first script runs. */
async function openPage(): Promise<Watched> {
  const page = await bed.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const violations: string[] = [];
  const apiCalls: string[] = [];
  page.on('console', (message) => {
    if (/content[- ]security[- ]policy/i.test(message.text())) violations.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    if (/content[- ]security[- ]policy/i.test(error.message)) violations.push(`page error: ${error.message}`);
  });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/v1/')) apiCalls.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
  // The binding and init script are installed by the DevTools protocol, so the page's own policy does not block them.
  await page.exposeFunction('reportCspViolation', (text: string) => violations.push(`event: ${text}`));
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    window.reportCspViolation(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber), true);`);
  return { page, violations, apiCalls };
}

/** Violations are reported asynchronously (a queued event, a console message); a round trip and a moment lets them land. */
async function settledViolations({ page, violations }: Watched): Promise<string[]> {
  await page.evaluate('new Promise((resolve) => setTimeout(resolve, 100))');
  return violations;
}

/** What the service itself says to this request: the page must show the problem's detail. */
async function refusal(authorization: string, evaluate?: { ruleSet: string; body: unknown }): Promise<{ status: number; detail: string }> {
  const res = evaluate
    ? await fetch(`${bed.base}/v1/rulesets/${evaluate.ruleSet}/evaluate`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(evaluate.body),
      })
    : await fetch(`${bed.base}/v1/rulesets`, { headers: { authorization } });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { detail: string };
  expect(typeof body.detail).toBe('string');
  return { status: res.status, detail: body.detail };
}

async function openRules(watched: Watched): Promise<void> {
  const response = await watched.page.goto(`${bed.base}/rules`);
  // The no-violation checks below mean something only if the page is served under its strict policy.
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toContain("default-src 'none'");
  expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
  expect(policy).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
}

async function useKey(page: Page, key: string): Promise<void> {
  await page.fill('#api-key', key);
  await page.click('#use-key');
}

const storedKeys = (page: Page) =>
  page.evaluate<{ session: string | null; local: number }>(`({ session: sessionStorage.getItem(${JSON.stringify(KEY_ITEM)}), local: localStorage.length })`);

test('/rules shows each rule set as a decision table and explains a pasted case', async () => {
  const watched = await openPage();
  const { page } = watched;
  await openRules(watched);
  expect(await page.getAttribute('#api-key', 'type')).toBe('password');
  expect(await page.getAttribute('#api-key', 'autocomplete')).toBe('off');
  await useKey(page, TEST_SECRETS.caseworker);
  await page.waitForSelector('section[data-ruleset="specialist-transfer"] table.decision-table');
  // Kept for this tab only, and not left in the field.
  await expect(storedKeys(page)).resolves.toEqual({ session: TEST_SECRETS.caseworker, local: 0 });
  expect(await page.inputValue('#api-key')).toBe('');
  for (const name of [
    'direct-referral',
    'segment-allocation',
    'exit-readiness',
    'specialist-transfer',
    'service-restriction',
    'msp-review',
    'referral-options',
    'information-sharing',
  ]) {
    expect(await page.locator(`section[data-ruleset="${name}"]`).count()).toBe(1);
  }
  const row = page.locator('section[data-ruleset="direct-referral"] tr[data-rule="no-recent-face-to-face-aggression"]');
  await expect(row.textContent()).resolves.toContain('recentFaceToFaceAggressionIncidents is 0');
  await expect(row.textContent()).resolves.toContain('001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 1');
  const window = page.locator('section[data-ruleset="direct-referral"] tr[data-derived="recentFaceToFaceAggressionIncidents"]');
  await expect(window.textContent()).resolves.toContain('withinMonths: 12 (parameter aggressionWindowMonths)');
  // A selection that compares an entry with another fact of the case reads in words, not as JSON; a source placed by
  // sentence is cited as written.
  const forAgency = page.locator('section[data-ruleset="information-sharing"] tr[data-derived="consentsForAgency"]');
  await expect(forAgency.textContent()).resolves.toContain("where: agency is the case's sharing.agency");
  await expect(forAgency.textContent()).resolves.not.toMatch(/\{"|"question"/);
  const agencyRule = page.locator('section[data-ruleset="information-sharing"] tr[data-rule="consent-agency"]');
  await expect(agencyRule.textContent()).resolves.toContain('000_8673a781749efd10.txt, Customer Account, last paragraph, sentence 5');
  // Each parameter with its declared type, so a reader sees what a value may be.
  const months = page.locator('section[data-ruleset="direct-referral"] tr[data-parameter="aggressionWindowMonths"] td');
  await expect(months.allTextContents()).resolves.toEqual(['aggressionWindowMonths', '12', 'months', expect.stringContaining('How far back, in months')]);
  const sources = page.locator('section[data-ruleset="direct-referral"] tr[data-parameter="directReferralSources"] td').nth(2);
  await expect(sources.textContent()).resolves.toBe('values of referral.source');
  const repeated = page.locator('section[data-ruleset="segment-allocation"] tr[data-rule="segment-3-repeated-aggression"]');
  await expect(repeated.textContent()).resolves.toContain('is at least 2 (parameter multiple)');
  // A reading the procedure leaves open is marked where it is made, for policy staff to confirm.
  const kinds = page.locator('section[data-ruleset="direct-referral"] tr[data-parameter="aggressionKinds"] [data-interpretation]');
  await expect(kinds.textContent()).resolves.toMatch(
    /^Interpretation \(unconfirmed\): Does a threat of self-harm count as an "aggression incident".*\?Reading chosen: .*self-harm is a vulnerability, not aggression/,
  );
  // For policy staff: each version's readings no one has confirmed, with the question, the reading and where it sits.
  const pending = page.locator('section[data-ruleset="direct-referral"] table.unconfirmed-interpretations');
  await expect(pending.count()).resolves.toBe(2);
  const shown = registry.ruleSets.get('direct-referral')!.versions.map((v) => v.version);
  await expect(pending.evaluateAll((tables) => tables.map((t) => t.getAttribute('data-version')))).resolves.toEqual(shown);
  // The current version (direct-referral.json): nine readings, none confirmed.
  const current = pending.nth(1);
  await expect(current.locator('tr[data-on]').count()).resolves.toBe(9);
  await expect(current.locator('tr[data-on="parameter"][data-name="aggressionKinds"] td').allTextContents()).resolves.toEqual([
    'parameter aggressionKinds',
    expect.stringMatching(/^Does a threat of self-harm count as an "aggression incident" .*\?$/),
    expect.stringContaining('A threat of self-harm is a vulnerability, not aggression'),
  ]);
  await expect(current.locator('tr[data-on="derivedFact"][data-name="recentFaceToFaceAggressionIncidents"] td').first().textContent()).resolves.toBe(
    'derived fact recentFaceToFaceAggressionIncidents',
  );
  await expect(current.locator('tr[data-on="rule"][data-name="centrelink-action-timeframe"] td').nth(1).textContent()).resolves.toMatch(
    /^From which day do Step 2's working days run/,
  );
  await current.scrollIntoViewIfNeeded();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page-unconfirmed-interpretations.png'), fullPage: false });
  await kinds.scrollIntoViewIfNeeded();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page-interpretation.png'), fullPage: false });
  const exitVersions = page.locator('section[data-ruleset="exit-readiness"] table').first();
  await expect(exitVersions.textContent()).resolves.toContain('exit-readiness.before-2025-01-14.json');

  await page.selectOption('#ruleset', 'direct-referral');
  await page.fill('#asof', '2025-04-17');
  await page.fill(
    '#facts',
    JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' }, customer: { zoneCaseManagement: true } }),
  );
  await page.click('#evaluate');
  await page.waitForSelector('#result table.outcome');
  expect(await page.textContent('#result [data-field="eligible"]')).toBe('false');
  expect(await page.textContent('#result [data-field="actionDueBy"]')).toBe('2025-04-29');
  expect(await page.textContent('#result [data-field="unmet"]')).toBe('["no-zone-case-management"]');
  // The summary comes before the trace: the unmet criterion in words, and until when the answer holds.
  await expect(page.locator('#result .summary .reasons li[data-rule="no-zone-case-management"]').textContent()).resolves.toMatch(/^Not met: /);
  await expect(page.locator('#result .summary .holds').textContent()).resolves.toMatch(/^Holds/);
  // What would change it: the Zone case management found to be over gives the direct route.
  await expect(page.locator('#result .summary .changes li').allTextContents()).resolves.toContainEqual(
    expect.stringMatching(/^If "Currently case managed by a Zone" were false, route would be direct \(now standard\)/),
  );
  // The try-a-case panel stays in view beside the rules and scrolls on its own: its answer is never below reach.
  await page.locator('#result .summary .changes').scrollIntoViewIfNeeded();
  await expect(page.locator('#result .summary .changes').isVisible()).resolves.toBe(true);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page-summary.png'), fullPage: false });
  // Five criteria and Centrelink's two timeframe rules; the one that fired says how the due date was reckoned.
  await expect(page.locator('#result .rule-result').count()).resolves.toBe(7);
  const reckoned = page.locator('#result [data-computed="actionDueBy"]');
  await expect(reckoned.textContent()).resolves.toContain('Good Friday');
  await expect(page.locator('#result [data-computed="actionDueBy"] li').count()).resolves.toBe(7);
  // The readings this decision rests on that policy staff have not confirmed: the due date's rule among them.
  const relied = page.locator('#result .unconfirmed-relied li');
  await expect(relied.evaluateAll((items) => items.map((i) => `${i.getAttribute('data-on')} ${i.getAttribute('data-name')}`))).resolves.toEqual(
    expect.arrayContaining(['rule centrelink-action-timeframe', 'derivedFact recentFaceToFaceAggressionIncidents', 'parameter aggressionKinds']),
  );
  await expect(page.locator('#result .unconfirmed-relied li[data-name="centrelink-action-timeframe"]').textContent()).resolves.toMatch(
    /^rule centrelink-action-timeframe: From which day do Step 2's working days run.*Reading chosen: /,
  );

  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page.png'), fullPage: false });
  expect(existsSync(path.join(SCREENSHOTS, 'rules-page.png'))).toBe(true);

  // Bad facts get the problem's words, not a blank page.
  await page.fill('#facts', JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-02-30' } }));
  await page.click('#evaluate');
  await page.waitForSelector('#result .problem');
  await expect(page.textContent('#result .problem')).resolves.toContain('/facts/referral/receivedOn');

  // A reload in the same tab keeps the key: the rule sets come back without typing it again.
  await page.reload();
  await page.waitForSelector('section[data-ruleset="specialist-transfer"] table.decision-table');

  // A key refused at evaluate time (revoked, say) is said so in the result and the key bar, not swallowed.
  const { detail } = await refusal('Bearer not-a-key-the-service-knows');
  await page.evaluate(`sessionStorage.setItem(${JSON.stringify(KEY_ITEM)}, 'not-a-key-the-service-knows')`);
  await page.click('#evaluate');
  await page.waitForSelector('#result p.problem');
  await expect(page.textContent('#result p.problem')).resolves.toContain(detail);
  await expect(page.textContent('#key-message.problem')).resolves.toContain(detail);

  await expect(settledViolations(watched)).resolves.toEqual([]);
  await page.close();
});

test('/rules without a key asks for one, and calls nothing', async () => {
  const watched = await openPage();
  const { page } = watched;
  await openRules(watched);
  await page.waitForSelector('#key-message.problem');
  await expect(page.textContent('#key-message')).resolves.toMatch(/No API key yet\. Enter your API key/);
  await expect(page.textContent('#rulesets')).resolves.toContain('once the service accepts your API key');
  expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('api-key');
  // Evaluating without a key asks for one too, rather than sending a request bound to fail.
  await page.click('#evaluate');
  await page.waitForSelector('#result p.problem');
  await expect(page.textContent('#result p.problem')).resolves.toContain('Enter your API key');
  // An empty key is not stored.
  await useKey(page, '   ');
  await expect(page.textContent('#key-message.problem')).resolves.toContain('The key is empty');
  expect(watched.apiCalls).toEqual([]);
  await expect(settledViolations(watched)).resolves.toEqual([]);
  await page.close();
});

test('/rules with a wrong key shows the 401 detail and forgets it; an auditor key reads but gets the 403 detail at evaluate', async () => {
  const watched = await openPage();
  const { page } = watched;
  await openRules(watched);

  const wrong = await refusal('Bearer wrong-key-0123456789abcdef');
  expect(wrong.status).toBe(401);
  await useKey(page, 'wrong-key-0123456789abcdef');
  await page.waitForSelector('#key-message.problem');
  await expect(page.textContent('#key-message')).resolves.toContain(wrong.detail);
  await expect(page.textContent('#key-message')).resolves.toContain('Enter your API key');
  expect(await page.locator('section.ruleset').count()).toBe(0);
  // A key the service does not know is not kept for the next reload.
  await expect(storedKeys(page)).resolves.toEqual({ session: null, local: 0 });

  // An auditor reads the rules but decides nothing: the page loads, and evaluating says whose key would do.
  await useKey(page, TEST_SECRETS.auditor);
  await page.waitForSelector('section[data-ruleset="specialist-transfer"] table.decision-table');
  const facts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } };
  const auditor = await refusal(`Bearer ${TEST_SECRETS.auditor}`, { ruleSet: 'direct-referral', body: { asOf: '2025-04-17', facts } });
  expect(auditor.status).toBe(403);
  await page.selectOption('#ruleset', 'direct-referral');
  await page.fill('#asof', '2025-04-17');
  await page.fill('#facts', JSON.stringify(facts));
  await page.click('#evaluate');
  await page.waitForSelector('#result p.problem');
  await expect(page.textContent('#result p.problem')).resolves.toContain(auditor.detail);
  await expect(page.textContent('#key-message.problem')).resolves.toContain(auditor.detail);
  await expect(page.textContent('#key-message')).resolves.toContain('Enter a key whose role may do this');
  // The key is genuine, so it stays until another replaces it.
  await expect(storedKeys(page)).resolves.toEqual({ session: TEST_SECRETS.auditor, local: 0 });

  // A policy officer's key, pasted with its scheme, then evaluates.
  await useKey(page, `Bearer ${TEST_SECRETS.policy}`);
  // The last section is rendered after the rule set list is refilled; the case being tried is kept across the reload.
  await page.waitForSelector('section[data-ruleset="specialist-transfer"] table.decision-table');
  await expect(page.textContent('#key-message')).resolves.toContain('Key accepted');
  expect(await page.inputValue('#ruleset')).toBe('direct-referral');
  expect(JSON.parse(await page.inputValue('#facts'))).toEqual(facts);
  await page.click('#evaluate');
  await page.waitForSelector('#result table.outcome');
  expect(await page.textContent('#result [data-field="eligible"]')).toBe('true');
  await expect(settledViolations(watched)).resolves.toEqual([]);
  await page.close();
});

test('the CSP watch above does catch a violation (so its empty lists mean something)', async () => {
  const watched = await openPage();
  await openRules(watched);
  // An inline style attribute is what the page's policy forbids (style-src has hashes only, no 'unsafe-inline').
  await watched.page.evaluate(`document.body.setAttribute('style', 'color: red')`);
  const violations = await settledViolations(watched);
  expect(violations.length).toBeGreaterThan(0);
  expect(violations.join('\n')).toMatch(/style-src/);
  await watched.page.close();
});
