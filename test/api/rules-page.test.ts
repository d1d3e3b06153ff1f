// The page policy staff read, in a real headless browser (Debian's chromium driven by playwright-core).
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createApp } from '../../src/api/app';
import { ROOT, shippedRules } from '../support';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(ROOT, 'test-output');

let server: Server;
let browser: Browser;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), as .ci/run does.`);
  const registry = shippedRules();
  server = createApp({ rules: () => registry }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

test('/rules shows each rule set as a decision table and explains a pasted case', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${base}/rules`);
  await page.waitForSelector('section[data-ruleset="specialist-transfer"] table.decision-table');
  for (const name of ['direct-referral', 'segment-allocation', 'exit-readiness', 'specialist-transfer', 'service-restriction']) {
    expect(await page.locator(`section[data-ruleset="${name}"]`).count()).toBe(1);
  }
  const row = page.locator('section[data-ruleset="direct-referral"] tr[data-rule="no-recent-face-to-face-aggression"]');
  await expect(row.textContent()).resolves.toContain('recentFaceToFaceAggressionIncidents is 0');
  await expect(row.textContent()).resolves.toContain('001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 1');
  const window = page.locator('section[data-ruleset="direct-referral"] tr[data-derived="recentFaceToFaceAggressionIncidents"]');
  await expect(window.textContent()).resolves.toContain('withinMonths: 12 (parameter aggressionWindowMonths)');
  const repeated = page.locator('section[data-ruleset="segment-allocation"] tr[data-rule="segment-3-repeated-aggression"]');
  await expect(repeated.textContent()).resolves.toContain('is at least 2 (parameter multiple)');
  const exitVersions = page.locator('section[data-ruleset="exit-readiness"] table').first();
  await expect(exitVersions.textContent()).resolves.toContain('exit-readiness.before-2025-01-14.json');

  await page.selectOption('#ruleset', 'direct-referral');
  await page.fill('#asof', '2025-04-17');
  await page.fill('#facts', JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' }, customer: { zoneCaseManagement: true } }));
  await page.click('#evaluate');
  await page.waitForSelector('#result table.outcome');
  expect(await page.textContent('#result [data-field="eligible"]')).toBe('false');
  expect(await page.textContent('#result [data-field="actionDueBy"]')).toBe('2025-04-29');
  expect(await page.textContent('#result [data-field="unmet"]')).toBe('["no-zone-case-management"]');
  await expect(page.locator('#result .rule-result').count()).resolves.toBe(5);

  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, 'rules-page.png'), fullPage: false });
  expect(existsSync(path.join(SCREENSHOTS, 'rules-page.png'))).toBe(true);

  // Bad facts get the problem's words, not a blank page.
  await page.fill('#facts', JSON.stringify({ program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-02-30' } }));
  await page.click('#evaluate');
  await page.waitForSelector('#result .problem');
  await expect(page.textContent('#result .problem')).resolves.toContain('/facts/referral/receivedOn');
  await page.close();
});
