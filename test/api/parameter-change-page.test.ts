// Issue 12's proof, in a real browser: aggressionWindowMonths changed to 24 on a running service, and the rules page a
// policy officer opens next (Debian's chromium driven by playwright-core, as test/api/rules-page.test.ts) says 24 months —
// in the decision table and in the explained answer to a case — and 12 months nowhere but the procedure's own quoted words.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { ROOT, RULES_DIR } from '../support';
import { TEST_SECRETS, testApp } from '../support/app';
import { pageTestBed } from '../support/browser';

const SCREENSHOTS = path.join(ROOT, 'test-output');

// testApp registers its own afterAll (closing the decision log), so it is made here, not inside beforeAll.
const dir = mkdtempSync(path.join(tmpdir(), 'ps-window-page-'));
cpSync(RULES_DIR, dir, { recursive: true });
const store = new RuleStore(dir, RULE_SET_MODULES);
const app = testApp({ rules: () => store.current(), reload: () => store.reload(), clock: () => new Date('2025-06-01T15:00:00Z') });

const bed = pageTestBed(app);

const SECTION = 'section[data-ruleset="direct-referral"]';

/**
 * What a reader sees on the page (innerText, so only what is rendered) apart from the procedure's own words: the page
 * shows each source's quote in a `.quote` element, and a quote says what the procedure says ("in the last 12 months")
 * whatever the parameter. The other rule sets' sections are left out too: their own parameters may be 12 months
 * (service-restriction's violenceWindowMonths is). So are the readings the older version of direct referral applies
 * (the unconfirmed interpretations listed per version): that version keeps its own 12-month window, and says so.
 * Removes those elements, so it is read after the screenshot.
 */
const readOutsideQuotes = (page: Page) => {
  const current = store.current().ruleSets.get('direct-referral')!.resolve('2025-06-02').version;
  const older = `${SECTION} table.unconfirmed-interpretations:not([data-version="${current}"])`;
  return page.evaluate<{ text: string; quotes: string[] }>(`(() => {
    const quotes = [...document.querySelectorAll(${JSON.stringify(`${SECTION} .quote`)})].map((q) => q.innerText);
    document.querySelectorAll(${JSON.stringify(`.quote, section.ruleset:not([data-ruleset="direct-referral"]), ${older}`)}).forEach((e) => e.remove());
    return { text: document.body.innerText, quotes };
  })()`);
};

async function showDirectReferral(page: Page): Promise<void> {
  await page.waitForSelector(`section[data-ruleset="service-restriction"] table.decision-table`);
  await page.click('#nav a[href="#direct-referral"]');
  await page.waitForSelector(`${SECTION} tr[data-rule="no-recent-face-to-face-aggression"]`);
}

// An incident 18 months before the referral: outside a 12-month window, inside a 24-month one.
const facts = {
  program: 'centrelink',
  referral: { source: 'mats', receivedOn: '2025-06-02' },
  customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
};

async function tryCase(page: Page): Promise<void> {
  await page.selectOption('#ruleset', 'direct-referral');
  await page.fill('#asof', '2025-06-02');
  await page.fill('#facts', JSON.stringify(facts));
  await page.click('#evaluate');
  await page.waitForSelector('#result table.outcome');
}

test('aggressionWindowMonths set to 24 and reloaded: the rules page in Chromium says 24 months, and 12 months only in quotes of the procedure', async () => {
  const page = await bed.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${bed.base}/rules`);
  await page.fill('#api-key', TEST_SECRETS.caseworker);
  await page.click('#use-key');
  await showDirectReferral(page);

  // Before the change the same reading finds 12 months, so finding none afterwards means something.
  await tryCase(page);
  expect(await page.textContent('#result [data-field="eligible"]')).toBe('true');
  const before = await readOutsideQuotes(page);
  expect(before.text).toContain('within the aggression window (12 months)');
  expect(before.text).not.toContain('24 months');

  const file = path.join(dir, 'direct-referral.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/("aggressionWindowMonths": \{\s*"value": )12/, '$124'));
  const reload = await app.as('policy').post('/v1/admin/reload');
  expect(reload.status).toBe(200);
  expect(reload.body.changed).toEqual(['direct-referral.json']);

  // The same tab, reloaded: the key is kept for the tab, and the rule sets are fetched again.
  await page.reload();
  await showDirectReferral(page);
  const months = page.locator(`${SECTION} tr[data-parameter="aggressionWindowMonths"] td`);
  await expect(months.allTextContents()).resolves.toEqual(['aggressionWindowMonths', '24', 'months', expect.stringContaining('How far back, in months')]);
  const rule = page.locator(`${SECTION} tr[data-rule="no-recent-face-to-face-aggression"]`);
  await expect(rule.innerText()).resolves.toContain('within the aggression window (24 months)');
  const window = page.locator(`${SECTION} tr[data-derived="recentFaceToFaceAggressionIncidents"]`);
  await expect(window.innerText()).resolves.toContain('withinMonths: 24 (parameter aggressionWindowMonths)');

  // The next answer, explained on the page: no longer eligible, and its explanation says 24 months.
  await tryCase(page);
  expect(await page.textContent('#result [data-field="eligible"]')).toBe('false');
  expect(await page.textContent('#result [data-field="unmet"]')).toBe('["no-recent-face-to-face-aggression"]');
  await expect(page.locator('#result').innerText()).resolves.toContain('within the aggression window (24 months)');

  await rule.scrollIntoViewIfNeeded();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page-24-months.png'), fullPage: false });
  expect(existsSync(path.join(SCREENSHOTS, 'rules-page-24-months.png'))).toBe(true);

  const after = await readOutsideQuotes(page);
  expect(after.text).toContain('within the aggression window (24 months)');
  // The reading of "in the last … months" the current version applies, listed for policy staff, follows the value too.
  expect(after.text).toContain('Does "in the last 24 months" include an incident dated exactly 24 calendar months before the as-of date?');
  expect(after.text).not.toContain('12 months');
  // What was left out is the procedure's words, which stay as written.
  expect(after.quotes).toContainEqual(expect.stringContaining('No aggression incidents in the last 12 months within the face to face environment'));
  await page.close();
});
