// ps-rules triage --report end to end: the built CLI writes the page, a real headless browser (Debian's chromium driven by
// playwright-core) opens it from disk, and every number on it is the run's own (its --summary); the page fetches nothing,
// prints on one or two A4 pages, and says so when the run was interrupted. Bad --report paths: exit 2 before anything
// is written; a report that cannot be written: exit 1, the queue written all the same.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { writeBacklog } from '../../fixtures/backlog';
import type { TriageSummary } from '../../src/triage/summary';
import { ROOT } from '../support';
import { launchChromium } from '../support/browser';
import { ensureBuilt } from '../support/built';
import { interruptedOnceWriting, readLines, runCli } from './support';

/** The CLI as `npm run build` leaves it in dist/ (built first when src/ is newer). */
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const AS_OF = '2026-01-19';
/** A4 at the browser's 96 px to the inch: 210 × 297 mm. */
const A4 = { width: 794, height: 1123 };

let dir: string;
let browser: Browser;
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'ps-report-test-'));
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

const triage = (input: string, name: string, ...extra: string[]) =>
  runCli(CLI, [
    'triage',
    input,
    '--out',
    file(`${name}.queue.ndjson`),
    '--errors',
    file(`${name}.errors.ndjson`),
    '--summary',
    file(`${name}.summary.json`),
    '--as-of',
    AS_OF,
    '--workers',
    '2',
    ...extra,
  ]);
const summaryOf = (name: string) => JSON.parse(readFileSync(file(`${name}.summary.json`), 'utf8')) as TriageSummary;

/** A tab on the report, with every request it made and every console message (a CSP refusal is one). */
async function openReport(report: string): Promise<{ page: Page; requests: string[]; console: string[] }> {
  const page = await browser.newPage({ viewport: { width: A4.width, height: A4.height } });
  const requests: string[] = [];
  const messages: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => messages.push(`page error: ${error.message}`));
  await page.goto(pathToFileURL(report).href);
  return { page, requests, console: messages };
}

/** Every data-count on the page: the number shown (an element's text, "1,234"), or a chart shape's data-value. */
async function pageCounts(page: Page): Promise<Map<string, number>> {
  const marked = await page.evaluate<[string, string | null, string][]>(
    `[...document.querySelectorAll('[data-count]')].map((e) => [e.getAttribute('data-count'), e.getAttribute('data-value'), e.textContent])`,
  );
  const counts = new Map<string, number>();
  for (const [key, value, text] of marked) {
    if (value === null) expect({ key, text }).toEqual({ key, text: expect.stringMatching(/^\d{1,3}(,\d{3})*$/) });
    else expect({ key, value }).toEqual({ key, value: expect.stringMatching(/^\d+$/) });
    expect(counts.has(key)).toBe(false);
    counts.set(key, Number((value ?? text).replace(/,/g, '')));
  }
  return counts;
}

/**
 * The page's numbers against the run's summary: each tier per program, each program's overdue and undated, each week
 * (the table), each bar of the chart (a week, or the weeks before or after those shown added up), each error kind,
 * each rule version; and nothing on the page that the summary does not say.
 */
function expectCountsOf(counts: Map<string, number>, s: TriageSummary): void {
  const expected = new Map<string, number>([
    ['lines', s.lines],
    ['results', s.results],
    ['errors', s.errors],
    ['queue', s.results],
  ]);
  const programs = Object.keys(s.programs);
  const sum = (f: (p: TriageSummary['programs'][string]) => number) => Object.values(s.programs).reduce((n, p) => n + f(p), 0);
  for (const t of s.tiers) {
    expected.set(`tier:${t.tier}`, t.records);
    for (const p of programs) expected.set(`tier:${t.tier}:${p}`, t.byProgram[p] ?? 0);
  }
  for (const [p, c] of Object.entries(s.programs)) {
    expected.set(`queue:${p}`, c.records);
    expected.set(`program:${p}:records`, c.records);
    expected.set(`program:${p}:overdue`, c.overdue);
    expected.set(`program:${p}:no-due-date`, c.noDueDate);
    expected.set(`program:${p}:not-yet-due`, c.records - c.overdue - c.noDueDate);
  }
  for (const w of s.dueWeeks) {
    expected.set(`week:${w.week}:records`, w.records);
    expected.set(`week:${w.week}:overdue`, w.overdue);
    expected.set(`week:${w.week}:not-yet-due`, w.records - w.overdue);
  }
  for (const [kind, n] of Object.entries(s.errorKinds)) expected.set(`errors:${kind}`, n);
  for (const [ruleSet, byHash] of Object.entries(s.versions)) for (const [hash, n] of Object.entries(byHash)) expected.set(`version:${ruleSet}:${hash}`, n);
  // Said only when there is something to say.
  const optional = new Map<string, number>([
    ['blank', s.blank],
    ['overdue', sum((p) => p.overdue)],
    ['no-due-date', sum((p) => p.noDueDate)],
    ['chart:no-due-date', sum((p) => p.noDueDate)],
  ]);
  if (s.carriedOver !== undefined) optional.set('carried-over', s.carriedOver);

  // The chart's bars: a week is its own numbers (0 when nothing is due in it); "earlier" and "later" add up the weeks no bar shows.
  const bars = new Map<string, { overdue: number; notYet: number }>();
  for (const [key, n] of counts) {
    const match = /^bar:([^:]+):(overdue|not-yet-due|records)$/.exec(key);
    if (!match) continue;
    const bar = bars.get(match[1] as string) ?? { overdue: 0, notYet: 0 };
    if (match[2] === 'overdue') bar.overdue = n;
    if (match[2] === 'not-yet-due') bar.notYet = n;
    bars.set(match[1] as string, bar);
  }
  const shown = [...bars.keys()].filter((k) => k !== 'earlier' && k !== 'later').sort();
  const weeks = new Map(s.dueWeeks.map((w) => [w.week, w]));
  const outside = (pick: (week: string) => boolean) =>
    s.dueWeeks
      .filter((w) => pick(w.week))
      .reduce((t, w) => ({ overdue: t.overdue + w.overdue, notYet: t.notYet + w.records - w.overdue }), { overdue: 0, notYet: 0 });
  for (const [key, bar] of bars) {
    const want =
      key === 'earlier'
        ? outside((week) => week < (shown[0] as string))
        : key === 'later'
          ? outside((week) => week > (shown[shown.length - 1] as string))
          : { overdue: weeks.get(key)?.overdue ?? 0, notYet: (weeks.get(key)?.records ?? 0) - (weeks.get(key)?.overdue ?? 0) };
    expect({ key, ...bar }).toEqual({ key, ...want });
    if (bar.overdue + bar.notYet > 0) expect(counts.get(`bar:${key}:records`)).toBe(bar.overdue + bar.notYet);
  }
  // Every due week is in some bar, the weeks shown one after another, the as-of week among them.
  const total = [...bars.values()].reduce((n, b) => n + b.overdue + b.notYet, 0);
  expect(total).toBe(s.dueWeeks.reduce((n, w) => n + w.records, 0));
  shown.forEach((week, i) => i > 0 && expect(Date.parse(week) - Date.parse(shown[i - 1] as string)).toBe(7 * 86_400_000));

  for (const [key, n] of counts) {
    if (key.startsWith('bar:')) continue;
    if (expected.has(key)) expect({ key, n }).toEqual({ key, n: expected.get(key) });
    else expect({ key, n }).toEqual({ key, n: optional.get(key) });
  }
  for (const key of expected.keys()) expect({ key, onPage: counts.has(key) }).toEqual({ key, onPage: true });
}

/** Pages of a PDF: its page objects. */
const pdfPages = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g) ?? []).length;

test("a 20,000-line backlog's report, opened in Chromium from disk, shows the run's numbers on one or two A4 pages and fetches nothing", async () => {
  const backlog = file('backlog.ndjson');
  await writeBacklog(backlog, { count: 20_000, seed: 7, corrupt: 30, asOf: AS_OF, format: 'ndjson' });
  const report = file('report.html');
  const run = await triage(backlog, 'full', '--report', report);
  expect(run.stderr).not.toMatch(/cannot write the report/);
  expect(run.code).toBe(0);
  const summary = summaryOf('full');
  expect(summary).toMatchObject({ status: 'complete', lines: 20_000, results: 19_970, errors: 30 });

  const { page, requests, console: messages } = await openReport(report);
  // The page a team leader sees first, in words and numbers written with separators.
  await expect(page.title()).resolves.toBe('Triage report: backlog.ndjson, as of 19 Jan 2026');
  await expect(page.textContent('h1')).resolves.toBe('Triage of backlog.ndjson as of Monday 19 January 2026');
  await expect(page.textContent('.headline')).resolves.toBe('20,000 lines: 19,970 in the queue, 30 could not be triaged.');
  expect(await page.locator('[data-status]').first().getAttribute('data-status')).toBe('complete');
  // Tier names as the summary gives them, in tier order.
  await expect(page.locator('.tier-name').allTextContents()).resolves.toEqual(summary.tiers.map((t) => t.name));
  expectCountsOf(await pageCounts(page), summary);

  // The chart is drawn: visible, as wide as the page's text, and its bars to scale (a shape's height over its count, one ratio).
  const chart = await page.locator('svg[role="img"]').boundingBox();
  expect(chart?.width).toBeGreaterThan(600);
  expect(chart?.height).toBeGreaterThan(200);
  const scales = await page.evaluate<number[]>(
    `[...document.querySelectorAll('rect[data-value]')].filter((r) => Number(r.dataset.value) > 0).map((r) => r.getBBox().height / Number(r.dataset.value))`,
  );
  expect(scales.length).toBeGreaterThan(10);
  for (const scale of scales) expect(scale / (scales[0] as number)).toBeCloseTo(1, 1);
  await expect(page.locator('line.asof').count()).resolves.toBe(1);

  // Self-contained: the one request is the file itself, and its policy refused nothing.
  expect(requests).toEqual([pathToFileURL(report).href]);
  expect(messages).toEqual([]);

  // A screenshot, kept with the test's files (and in /tmp/triage-report.png when SAVE_REPORT_SCREENSHOT is set).
  const png = path.join(tmpdir(), 'triage-report.png');
  await page.screenshot({ path: png, fullPage: true });
  const bytes = readFileSync(png);
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.length).toBeGreaterThan(20_000);
  if (process.env.SAVE_REPORT_SCREENSHOT) copyFileSync(png, '/tmp/triage-report.png');
  // On screen at A4's width, about one page long; printed on A4, one page or two.
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  expect(height).toBeGreaterThan(A4.height / 2);
  expect(height).toBeLessThanOrEqual(2 * A4.height);
  const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
  expect(pdfPages(pdf)).toBeGreaterThanOrEqual(1);
  expect(pdfPages(pdf)).toBeLessThanOrEqual(2);
  await page.close();
}, 180_000);

test('an interrupted run still writes its report, saying it was interrupted, with the numbers of the lines it read', async () => {
  const big = file('big.ndjson');
  await writeBacklog(big, { count: 60_000, seed: 3, corrupt: 60, asOf: AS_OF, format: 'ndjson' });
  const out = file('int.queue.ndjson');
  const report = file('int.html');
  const { code } = await interruptedOnceWriting(
    CLI,
    [
      'triage',
      big,
      '--out',
      out,
      '--errors',
      file('int.errors.ndjson'),
      '--summary',
      file('int.summary.json'),
      '--report',
      report,
      '--as-of',
      AS_OF,
      '--workers',
      '1',
    ],
    out,
  );
  expect(code).toBe(130);
  const summary = summaryOf('int');
  expect(summary.status).toBe('interrupted');
  expect(summary.lines).toBeLessThan(60_000);

  const { page, requests } = await openReport(report);
  expect(await page.locator('body').getAttribute('data-status')).toBe('interrupted');
  await expect(page.textContent('.status')).resolves.toMatch(/^This run was interrupted: it stopped before reading the whole input\./);
  expectCountsOf(await pageCounts(page), summary);
  expect(requests).toEqual([pathToFileURL(report).href]);
  await page.close();
}, 180_000);

describe('--report', () => {
  let small: string;
  beforeAll(async () => {
    small = file('small.ndjson');
    await writeBacklog(small, { count: 300, seed: 5, corrupt: 3, asOf: AS_OF, format: 'ndjson' });
  });

  test.each([
    ['--out', 'usage.queue.ndjson', /--report must be another file than --out/],
    ['--errors', 'usage.errors.ndjson', /--report must be another file than --errors/],
    ['--summary', 'usage.summary.json', /--report must be another file than --summary/],
    ['the input', 'small.ndjson', /--report must be another file than the input/],
  ])('on the same file as %s is bad usage: exit 2, and nothing is written', async (_, taken, message) => {
    const before = readFileSync(small, 'utf8');
    const run = await triage(small, 'usage', '--report', file(taken));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(existsSync(file('usage.queue.ndjson'))).toBe(false);
    expect(existsSync(file('usage.summary.json'))).toBe(false);
    expect(readFileSync(small, 'utf8')).toBe(before);
  });

  test('that cannot be written fails the run (exit 1), saying why, and the queue, errors and summary are written all the same', async () => {
    writeFileSync(file('a-file'), 'not a folder');
    const run = await triage(small, 'unwritable', '--report', file(path.join('a-file', 'report.html')));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ps-rules triage: cannot write the report .*a-file\/report\.html: ENOTDIR/);
    expect(readLines(file('unwritable.queue.ndjson'))).toHaveLength(297);
    expect(readLines(file('unwritable.errors.ndjson'))).toHaveLength(3);
    expect(summaryOf('unwritable')).toMatchObject({ status: 'complete', results: 297, errors: 3 });
  });
});
