// The triage report page (src/triage/report.ts) from a hand-made summary: every count marked where a test can read it,
// the text from the input escaped, a long backlog's weeks grouped, the overdue marked otherwise than by colour.
import { createHash } from 'node:crypto';
import { chartBars, reportHtml, WEEKS_AFTER, WEEKS_BEFORE, type RuleVersions } from '../../src/triage/report';
import type { TriageSummary } from '../../src/triage/summary';

// A Wednesday: records due on the Monday and Tuesday of its week are overdue, those due later in it are not.
const AS_OF = '2026-01-21';

const SUMMARY: TriageSummary = {
  status: 'complete',
  recordErrors: true,
  input: 'in/backlog.ndjson',
  inputFormat: 'ndjson',
  output: 'out/queue.ndjson',
  outputFormat: 'ndjson',
  errorsOutput: 'out/rejected.ndjson',
  asOf: AS_OF,
  sorted: true,
  explain: false,
  workers: 2,
  lines: 21240,
  headerLines: 0,
  results: 21200,
  errors: 37,
  blank: 3,
  verdicts: {},
  tiers: [
    { tier: 1, name: 'Segment 3, overdue', records: 1150, byProgram: { centrelink: 1100, 'child-support': 50 } },
    { tier: 2, name: 'Segment 3', records: 0, byProgram: {} },
    { tier: 3, name: 'Overdue', records: 19700, byProgram: { centrelink: 15400, 'child-support': 4300 } },
    { tier: 4, name: 'The rest', records: 350, byProgram: { centrelink: 200, 'child-support': 150 } },
  ],
  programs: {
    centrelink: { records: 16700, overdue: 16500, noDueDate: 20 },
    'child-support': { records: 4500, overdue: 4350, noDueDate: 10 },
  },
  // 21,170 with a due date (21,200 less 30 without), 20,850 of them overdue.
  dueWeeks: [
    { week: '2025-12-22', records: 9300, overdue: 9300 },
    { week: '2025-12-29', records: 6250, overdue: 6250 },
    { week: '2026-01-05', records: 5200, overdue: 5200 },
    { week: '2026-01-19', records: 320, overdue: 100 },
    { week: '2026-01-26', records: 100, overdue: 0 },
  ],
  errorKinds: { 'not-json': 5, 'invalid-facts': 20, 'missing-fact': 12 },
  versions: {
    'direct-referral': { eeee5555ffff6666: 21200 },
    'segment-allocation': { aaaa1111bbbb2222: 21150, cccc3333dddd4444: 50 },
  },
  seconds: 4.321,
  recordsPerSecond: 4900,
  peakRssBytes: 300 << 20,
};

const VERSIONS: RuleVersions = {
  'direct-referral': [{ version: 'eeee5555ffff6666', effectiveFrom: '2025-01-14', effectiveTo: null, file: 'direct-referral.json' }],
  'segment-allocation': [
    { version: 'cccc3333dddd4444', effectiveFrom: null, effectiveTo: '2025-01-13', file: 'segment-allocation.before-2025-01-14.json' },
    { version: 'aaaa1111bbbb2222', effectiveFrom: '2025-01-14', effectiveTo: null, file: 'segment-allocation.json' },
  ],
};

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] as string);

/**
 * Every data-count on the page: the number an element shows (its text, "1,234"), or for a chart's shape the number
 * it stands for (its data-value). A key marked twice fails.
 */
function counts(html: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of html.matchAll(/<[a-z]+\b([^>]*?)\bdata-count="([^"]*)"([^>]*)>([^<]*)/g)) {
    const [, before, key, after, text] = match as unknown as [string, string, string, string, string];
    const value = /data-value="(\d+)"/.exec(`${before}${after}`)?.[1];
    const n = value === undefined ? Number(text.replace(/,/g, '')) : Number(value);
    const name = unescape(key);
    if (found.has(name)) throw new Error(`data-count "${name}" is on the page twice`);
    expect(Number.isInteger(n)).toBe(true);
    found.set(name, n);
  }
  return found;
}

/** The page's words, as a reader sees them: tags out, entities read, spaces collapsed. */
const words = (html: string) =>
  unescape(
    html
      .replace(/<(style|title|desc)[^>]*>[\s\S]*?<\/\1>/g, ' ')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' '),
  );

describe('reportHtml', () => {
  const html = reportHtml(SUMMARY, VERSIONS);

  test('marks every count of the summary with what it counts, and nothing else', () => {
    const expected: Record<string, number> = {
      lines: 21240,
      results: 21200,
      errors: 37,
      blank: 3,
      overdue: 20850,
      'no-due-date': 30,
      'chart:no-due-date': 30,
      queue: 21200,
      'queue:centrelink': 16700,
      'queue:child-support': 4500,
      'tier:1': 1150,
      'tier:1:centrelink': 1100,
      'tier:1:child-support': 50,
      'tier:2': 0,
      'tier:2:centrelink': 0,
      'tier:2:child-support': 0,
      'tier:3': 19700,
      'tier:3:centrelink': 15400,
      'tier:3:child-support': 4300,
      'tier:4': 350,
      'tier:4:centrelink': 200,
      'tier:4:child-support': 150,
      'program:centrelink:records': 16700,
      'program:centrelink:overdue': 16500,
      'program:centrelink:not-yet-due': 180,
      'program:centrelink:no-due-date': 20,
      'program:child-support:records': 4500,
      'program:child-support:overdue': 4350,
      'program:child-support:not-yet-due': 140,
      'program:child-support:no-due-date': 10,
      'errors:not-json': 5,
      'errors:invalid-facts': 20,
      'errors:missing-fact': 12,
      'version:direct-referral:eeee5555ffff6666': 21200,
      'version:segment-allocation:aaaa1111bbbb2222': 21150,
      'version:segment-allocation:cccc3333dddd4444': 50,
    };
    for (const w of SUMMARY.dueWeeks) {
      expected[`week:${w.week}:records`] = w.records;
      expected[`week:${w.week}:overdue`] = w.overdue;
      expected[`week:${w.week}:not-yet-due`] = w.records - w.overdue;
    }
    // The chart: every week from the first due to the last, the one with nothing due (w/c 12 Jan) an empty bar.
    for (const week of ['2025-12-22', '2025-12-29', '2026-01-05', '2026-01-12', '2026-01-19', '2026-01-26']) {
      const w = SUMMARY.dueWeeks.find((d) => d.week === week) ?? { records: 0, overdue: 0 };
      expected[`bar:${week}:overdue`] = w.overdue;
      expected[`bar:${week}:not-yet-due`] = w.records - w.overdue;
      if (w.records > 0) expected[`bar:${week}:records`] = w.records;
    }
    expect(Object.fromEntries(counts(html))).toEqual(expected);
  });

  test('writes numbers with thousands separators, and a headline a team leader reads first', () => {
    const text = words(html);
    expect(text).toContain('21,240 lines: 21,200 in the queue, 37 could not be triaged, 3 blank.');
    expect(text).toContain('20,850 of them are overdue (their action date was before Wednesday 21 January 2026), and 30 have no due date.');
    expect(text).toContain('Triage of backlog.ndjson as of Wednesday 21 January 2026');
    expect(html).toMatch(/<title>Triage report: backlog\.ndjson, as of 21 Jan 2026<\/title>/);
    expect(text).not.toMatch(/\b\d{5,}\b/);
  });

  test('lists the tiers by their names, in order, the empty one included, with the programs as columns', () => {
    const names = [...html.matchAll(/<tr data-tier="(\d+)"><th scope="row">.*?<span class="tier-name">([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]);
    expect(names).toEqual([
      ['1', 'Segment 3, overdue'],
      ['2', 'Segment 3'],
      ['3', 'Overdue'],
      ['4', 'The rest'],
    ]);
    expect(html).toContain('<th scope="col" class="n">Centrelink</th><th scope="col" class="n">Child Support</th><th scope="col" class="n">Total</th>');
  });

  test('names each error kind in words and points at the errors file', () => {
    const text = words(html);
    expect(text).toContain('Line is not JSON 5');
    expect(text).toContain('Facts the schema refuses 20');
    expect(text).toContain('A fact a rule set needs is missing 12');
    expect(text).toContain('Each of these lines is in out/rejected.ndjson');
  });

  test('gives each rule version used its period and rule file', () => {
    const text = words(html);
    expect(text).toContain('direct-referral eeee5555ffff6666 from 14 Jan 2025 direct-referral.json 21,200');
    expect(text).toContain('segment-allocation aaaa1111bbbb2222 from 14 Jan 2025 segment-allocation.json 21,150');
    expect(text).toContain('segment-allocation cccc3333dddd4444 until 13 Jan 2025 segment-allocation.before-2025-01-14.json 50');
    // A version the registry does not know (another rules folder) is still listed, as not known.
    const unknown = words(reportHtml({ ...SUMMARY, versions: { 'direct-referral': { '0123456789abcdef': 3 } } }, {}));
    expect(unknown).toContain('direct-referral 0123456789abcdef not known — 3');
  });

  test('marks the overdue part of each bar with a hatching, not colour alone, and the as-of date with a line', () => {
    // The as-of week (w/c 19 Jan): 100 due on the Monday or Tuesday, overdue; 220 not yet.
    const bar = /<g data-bar="2026-01-19">[\s\S]*?(?=<g data-bar=|<\/svg>)/.exec(html)?.[0] ?? '';
    expect(bar).toMatch(/<rect class="overdue"[^>]*fill="url\(#hatch\)"[^>]*data-value="100"><title>w\/c 19 Jan 2026: 100 overdue<\/title>/);
    expect(bar).toMatch(/<rect class="due"[^>]*fill="#3b6ea8"[^>]*data-value="220"><title>w\/c 19 Jan 2026: 220 not yet due<\/title>/);
    expect(html).toMatch(/<pattern id="hatch"[^>]*>[\s\S]*?<line /);
    // The legend says which is which in words, with the same hatching.
    expect(words(html)).toContain('Overdue (action date before 21 Jan 2026) Not yet due Not in the chart: 30 with no due date');
    expect(html).toMatch(/<li><svg[^>]*aria-hidden="true"><defs><pattern id="hatch-key"/);
    // The as-of line two sevenths into its week's slot (a Wednesday), labelled, with overdue to its left.
    const slots = [...html.matchAll(/<g data-bar="[^"]+">\s*<rect class="overdue" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map(
      (m) => Number(m[1]) + Number(m[2]) / 2,
    );
    const slot = (slots[1] as number) - (slots[0] as number);
    const line = Number(/<line class="asof" x1="([\d.]+)"/.exec(html)?.[1]);
    expect(line).toBeCloseTo((slots[4] as number) - slot / 2 + (2 / 7) * slot, 0);
    expect(html).toContain('>as of 21 Jan 2026</text>');
    expect(html).toContain('>◀ overdue</text>');
    expect(html).toContain('>not yet due ▶</text>');
    // Heights are to scale: a bar's height over its count is the same for every shape.
    const scales = [...html.matchAll(/<rect class="(?:overdue|due)"[^>]*height="([\d.]+)"[^>]*data-value="(\d+)"/g)]
      .filter((m) => Number(m[2]) > 0)
      .map((m) => Number(m[1]) / Number(m[2]));
    for (const scale of scales) expect(scale).toBeCloseTo(scales[0] as number, 2);
  });

  test('labels each week by the Monday it commences, with the year under the first week of each', () => {
    expect(html).toContain('<text x="');
    const labels = [
      ...html.matchAll(/<g class="axis"><text[^>]*>([^<]*)<\/text><text[^>]*>([^<]*)<\/text>(?:\s*<text[^>]*class="year">(\d{4})<\/text>)?/g),
    ].map((m) => `${m[1]} ${m[2]}${m[3] ? ` ${m[3]}` : ''}`);
    expect(labels).toEqual(['w/c 22 Dec 2025', 'w/c 29 Dec', 'w/c 5 Jan 2026', 'w/c 12 Jan', 'w/c 19 Jan', 'w/c 26 Jan']);
    expect(words(html)).toContain('w/c 29 Dec 2025 6,250 6,250 0');
  });

  test('groups the weeks long before the as-of date and long after it, says so, and still tables every week', () => {
    const dueWeeks = [];
    // 30 weeks back to 10 weeks ahead of the as-of week (w/c 19 Jan 2026), 10 due a week, the past ones overdue.
    for (let i = -30; i <= 10; i += 1) {
      const week = new Date(Date.UTC(2026, 0, 19 + 7 * i)).toISOString().slice(0, 10);
      dueWeeks.push({ week, records: 10, overdue: i < 0 ? 10 : i === 0 ? 4 : 0 });
    }
    const summary = { ...SUMMARY, dueWeeks };
    const bars = chartBars(summary);
    expect(bars.map((b) => b.key)).toEqual(['earlier', ...dueWeeks.slice(30 - WEEKS_BEFORE, 30 + WEEKS_AFTER + 1).map((w) => w.week), 'later']);
    expect(bars[0]).toEqual({ key: 'earlier', from: '2025-06-23', to: '2025-10-20', records: 180, overdue: 180 });
    expect(bars[bars.length - 1]).toEqual({ key: 'later', from: '2026-03-09', to: '2026-03-30', records: 40, overdue: 0 });
    const page = reportHtml(summary, VERSIONS);
    const found = counts(page);
    expect(found.get('bar:earlier:overdue')).toBe(180);
    expect(found.get('bar:earlier:records')).toBe(180);
    expect(found.get('bar:later:not-yet-due')).toBe(40);
    expect(found.get('bar:2025-10-27:overdue')).toBe(10);
    // Every week in the table: 41 weeks, the grouped ones too.
    expect([...found.keys()].filter((k) => /^week:.*:records$/.test(k))).toHaveLength(41);
    expect(found.get('week:2025-06-23:records')).toBe(10);
    const text = words(page);
    expect(text).toContain('So the chart stays readable, it shows each week from w/c 27 Oct 2025 to w/c 2 Mar 2026;');
    expect(text).toContain('the first bar adds up the weeks before (w/c 23 Jun 2025 to w/c 20 Oct 2025)');
    expect(text).toContain('the last bar adds up the weeks after (w/c 9 Mar 2026 to w/c 30 Mar 2026)');
    // Under the grouped bars: "before" the first week shown, "after" the last; so many bars, each label on one slanted line.
    expect(page).toMatch(/<g data-bar="earlier">[\s\S]*?<g class="axis"><text transform="[^"]*rotate\(-40\)" text-anchor="end">before 27 Oct<\/text>/);
    expect(page).toMatch(/<g data-bar="2025-10-27">[\s\S]*?<g class="axis"><text [^>]*>w\/c 27 Oct <tspan class="year">2025<\/tspan><\/text>/);
    expect(page).toMatch(/<g data-bar="later">[\s\S]*?<g class="axis"><text [^>]*>after 2 Mar<\/text>/);
    // At most WEEKS_BEFORE + 1 + WEEKS_AFTER weeks and two grouped bars, however long the backlog.
    expect(bars.length).toBe(WEEKS_BEFORE + 1 + WEEKS_AFTER + 2);
  });

  test('a short backlog keeps its weeks as they are, and fills a week with nothing due with an empty bar', () => {
    expect(chartBars({ asOf: '2026-01-19', dueWeeks: [{ week: '2026-01-05', records: 3, overdue: 3 }] })).toEqual([
      { key: '2026-01-05', from: '2026-01-05', to: '2026-01-05', records: 3, overdue: 3 },
      { key: '2026-01-12', from: '2026-01-12', to: '2026-01-12', records: 0, overdue: 0 },
      { key: '2026-01-19', from: '2026-01-19', to: '2026-01-19', records: 0, overdue: 0 },
    ]);
    expect(words(html)).not.toContain('So the chart stays readable');
    // Nothing overdue and the as-of line at the chart's left edge: no "overdue" label to run off it.
    const ahead = reportHtml({ ...SUMMARY, asOf: '2026-01-19', dueWeeks: [{ week: '2026-01-26', records: 5, overdue: 0 }] }, VERSIONS);
    expect(ahead).not.toContain('◀ overdue');
    expect(ahead).toContain('>not yet due ▶</text>');
    expect(ahead).toMatch(/<text class="asof-label" x="52" y="\d+" text-anchor="start">as of 19 Jan 2026<\/text>/);
  });

  test('escapes every text from the input: file names, tier names, programs, rule sets, kinds, the failure', () => {
    const hostile = '<script>alert("x")</script>';
    const page = reportHtml(
      {
        ...SUMMARY,
        status: 'failed',
        failure: `worker died: ${hostile}`,
        input: `/data/<img src=x onerror="alert('x')">.ndjson`,
        output: `"><img src=x onerror=alert(1)>`,
        errorsOutput: `it's & <b>bold</b>`,
        tiers: [{ tier: 1, name: hostile, records: 3, byProgram: { [`p"><script>`]: 3 } }],
        programs: { [`p"><script>`]: { records: 3, overdue: 0, noDueDate: 3 } },
        errorKinds: { [`<img src=y>`]: 1 } as TriageSummary['errorKinds'],
        versions: { [`rs<script>`]: { [`"h'`]: 3 } },
      },
      { [`rs<script>`]: [{ version: `"h'`, effectiveFrom: null, effectiveTo: null, file: `<svg onload=alert(1)>.json` }] },
    );
    expect(page).not.toMatch(/<script|<img|<b>|<svg onload/i);
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('it&#39;s &amp; &lt;b&gt;bold&lt;/b&gt;');
    const text = words(page);
    expect(text).toContain(`Triage of <img src=x onerror="alert('x')">.ndjson as of`);
    expect(text).toContain(`This run failed: worker died: ${hostile}.`);
    expect(text).toContain(`1. ${hostile} 3 3`);
    expect(text).toContain('<svg onload=alert(1)>.json');
    // The keys a test reads back are escaped in their attribute, and read back whole.
    const found = counts(page);
    expect(found.get(`tier:1:p"><script>`)).toBe(3);
    expect(found.get(`errors:<img src=y>`)).toBe(1);
    expect(found.get(`version:rs<script>:"h'`)).toBe(3);
  });

  test('says when the run was interrupted, or failed, that the numbers are of the lines read', () => {
    const interrupted = reportHtml({ ...SUMMARY, status: 'interrupted' }, VERSIONS);
    expect(interrupted).toContain('<body data-status="interrupted">');
    expect(words(interrupted)).toContain(
      'This run was interrupted: it stopped before reading the whole input. The numbers below are of the lines read until then.',
    );
    expect(words(html)).not.toMatch(/interrupted|failed/);
  });

  test('a run with nothing due, no errors and nothing decided still makes a page', () => {
    const page = reportHtml(
      {
        ...SUMMARY,
        lines: 1,
        results: 0,
        errors: 0,
        blank: 1,
        recordErrors: false,
        tiers: SUMMARY.tiers.map((t) => ({ ...t, records: 0, byProgram: {} })),
        programs: {},
        dueWeeks: [],
        errorKinds: {},
        versions: {},
      },
      VERSIONS,
    );
    const text = words(page);
    expect(text).toContain('1 line: 0 in the queue, 0 could not be triaged, 1 blank.');
    expect(text).toContain('No record in the queue has a due date.');
    expect(text).toContain('None: every line that was read is in the queue.');
    expect(text).toContain('No record was decided.');
    expect(page).not.toContain('<svg viewBox="0 0 700');
    expect(counts(page).get('tier:4')).toBe(0);
  });

  test('stands alone: no script, nothing to fetch, its own style allowed by hash and nothing else', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\((?!#)|@import/i);
    const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] as string;
    expect(policy).toBe(`default-src 'none'; style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(html).not.toMatch(/\sstyle="/);
  });

  test('is accessible: language, headings, table headers with scope, the chart an image with a title and a description', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en-AU">/);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect([...html.matchAll(/<h2 id="([^"]+)">([^<]*)<\/h2>/g)].map((m) => m[2])).toEqual([
      'The queue by tier and program',
      'Overdue by program',
      'Due dates by week',
      'Lines that could not be triaged',
      'Rule versions used',
    ]);
    for (const id of ['queue-h', 'overdue-h', 'weeks-h', 'errors-h', 'versions-h']) expect(html).toContain(`<section aria-labelledby="${id}">`);
    expect(html).not.toMatch(/<th(?=[\s>])(?![^>]*scope="(?:row|col)")[^>]*>/);
    expect(html).toMatch(/<svg viewBox="0 0 700 \d+" role="img" aria-labelledby="chart-title chart-desc"/);
    expect(html).toContain('<title id="chart-title">Records due each week, overdue and not yet due, as of 21 Jan 2026</title>');
    const desc = unescape(/<desc id="chart-desc">([^<]*)<\/desc>/.exec(html)?.[1] ?? '');
    expect(desc).toBe(
      'Stacked bars, one a week from w/c 22 Dec 2025 to w/c 26 Jan 2026. 21,170 records with a due date, 20,850 of them overdue on 21 Jan 2026. ' +
        "The most due in one bar: 9,300 (w/c 22 Dec 2025). The table of the weeks gives each week's numbers.",
    );
    expect(html).toMatch(/<details><summary>The weeks as a table<\/summary>\n<table><caption>/);
    // The legend's swatches are decoration: their words say what they mean.
    expect(html.match(/<svg viewBox="0 0 22 12" aria-hidden="true">/g)).toHaveLength(2);
    // Printed on A4.
    expect(html).toContain('@page { size: A4; margin: 12mm; }');
  });
});
