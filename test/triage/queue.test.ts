// The queue a team leader works from: the README's triage example runs as written, and a 20,000-line export with
// corrupt lines comes out with every line accounted for, the tiers and counts of the CSV equal to the summary's, and
// each case due by its own program's timeframe (001 Centrelink Table 1 Step 2; 001 Child Support Table 1 Step 2).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { BACKLOG_MAPPING_FILE, corruptLineIndexes, writeBacklog } from '../../fixtures/backlog';
import { ensureBuilt } from '../support/built';
import { ROOT } from '../support';
import { buildCli, runCli } from './support';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced block after a README marker. */
function block(marker: string): string {
  const after = README.slice(README.indexOf(`<!-- ${marker} -->`));
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(after);
  if (!match) throw new Error(`README.md has no block after <!-- ${marker} -->`);
  return match[1] as string;
}

describe("the README's triage example", () => {
  const written = ['queue.csv', 'rejected.csv', 'report.html'].map((name) => path.join(ROOT, name));
  let stderr: string;

  beforeAll(() => {
    ensureBuilt();
    for (const file of written) rmSync(file, { force: true });
    // Exactly as written, from the checkout, as a reader pastes it.
    stderr = execFileSync(
      'bash',
      [
        '-c',
        `{
${block('triage-example')}} 2>&1 >/dev/null`,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
  }, 180_000);
  afterAll(() => {
    for (const file of written) rmSync(file, { force: true });
  });

  test('writes the queue, the errors and the report it names', () => {
    for (const file of written) expect(existsSync(file)).toBe(true);
    expect(readFileSync(path.join(ROOT, 'rejected.csv'), 'utf8')).toBe('line,id,column,value,kind,message\n');
  });

  test('the queue opens with the line the README shows', () => {
    const [first] = parseCsv<Record<string, string>>(readFileSync(path.join(ROOT, 'queue.csv')), { columns: true });
    const shown = README.slice(README.indexOf('The first line:'));
    const [, rank, id, tier, due, program] = /rank (\d+) · (\S+) · (.+?) · due (\S+) · (\S+)/.exec(shown) ?? [];
    expect([first!.rank, first!.id, first!.tier, first!['due by'], first!.program]).toEqual([rank, id, tier, due, program]);
    const action = (/next action: ([\s\S]*?)\n```/.exec(shown)?.[1] ?? '').replace(/\n/g, ' ');
    expect(first!['next action']).toBe(action);
  });

  test('its summary names each tier with its count, as the README shows', () => {
    const shown = README.slice(README.indexOf('The closing summary names each tier'));
    const lines = (/```\n([\s\S]*?)```/.exec(shown)?.[1] ?? '').split('\n').filter(Boolean);
    expect(lines.length).toBe(2);
    for (const line of lines) expect(stderr).toContain(line);
  });
});

describe('a 20,000-line export with corrupt lines', () => {
  const AS_OF = '2026-01-19';
  const COUNT = 20_000;
  const CORRUPT = 40;
  let dir: string;
  let rows: Record<string, string>[];
  let errorRows: Record<string, string>[];
  let summary: {
    lines: number;
    results: number;
    errors: number;
    blank: number;
    tiers: { tier: number; name: string; records: number; byProgram: Record<string, number> }[];
    programs: Record<string, { records: number; overdue: number; noDueDate: number }>;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps-queue-test-'));
    const input = path.join(dir, 'export.csv');
    await writeBacklog(input, { count: COUNT, seed: 7, corrupt: CORRUPT, asOf: AS_OF, format: 'csv' });
    const run = await runCli(buildCli(), [
      'triage',
      input,
      '--mapping',
      BACKLOG_MAPPING_FILE,
      '--as-of',
      AS_OF,
      '--sort',
      'priority',
      '--out',
      path.join(dir, 'queue.csv'),
      '--errors',
      path.join(dir, 'rejected.csv'),
      '--summary',
      path.join(dir, 'summary.json'),
    ]);
    expect(run.code).toBe(0);
    rows = parseCsv<Record<string, string>>(readFileSync(path.join(dir, 'queue.csv')), { columns: true });
    errorRows = parseCsv<Record<string, string>>(readFileSync(path.join(dir, 'rejected.csv')), { columns: true });
    summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as typeof summary;
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('accounts for every line: each data line is in the queue or the errors file, once', () => {
    expect(summary.lines).toBe(COUNT);
    expect(summary.results + summary.errors + summary.blank).toBe(summary.lines);
    expect(rows.length).toBe(summary.results);
    const refused = [...new Set(errorRows.map((row) => Number(row.line)))];
    expect(refused.length).toBe(summary.errors);
    // The header is line 1: data line i (0-based) is input line i + 2.
    expect(refused.sort((a, b) => a - b)).toEqual(corruptLineIndexes(COUNT, CORRUPT).map((i) => i + 2));
    const queued = new Set(rows.map((row) => Number(row.line)));
    expect(queued.size).toBe(rows.length);
    for (const line of refused) expect(queued.has(line)).toBe(false);
    expect(queued.size + refused.length + summary.blank).toBe(COUNT);
  });

  test("the queue's tier names and counts, in all and per program, are the summary's", () => {
    const count = (pick: (row: Record<string, string>) => string) =>
      rows.reduce((counts, row) => counts.set(pick(row), (counts.get(pick(row)) ?? 0) + 1), new Map<string, number>());
    const byTier = count((row) => row.tier!);
    for (const tier of summary.tiers) {
      expect([tier.name, byTier.get(tier.name) ?? 0]).toEqual([tier.name, tier.records]);
      for (const [program, n] of Object.entries(tier.byProgram)) expect(rows.filter((r) => r.tier === tier.name && r.program === program).length).toBe(n);
    }
    expect([...byTier.keys()].every((name) => summary.tiers.some((tier) => tier.name === name))).toBe(true);
    // Ranked in tier order.
    const order = summary.tiers.map((tier) => tier.name);
    const tiers = rows.map((row) => order.indexOf(row.tier!));
    expect(tiers).toEqual([...tiers].sort((a, b) => a - b));
    for (const [program, counts] of Object.entries(summary.programs)) {
      const mine = rows.filter((row) => row.program === program);
      expect(mine.length).toBe(counts.records);
      expect(mine.filter((row) => row.overdue === 'yes').length).toBe(counts.overdue);
      expect(mine.filter((row) => row['due by'] === '').length).toBe(counts.noDueDate);
    }
  });

  test("each case is due by its own program's timeframe: no Child Support case is measured against Centrelink's", () => {
    const timeframe = (row: Record<string, string>) =>
      /direct-referral: [^;]*\b((?:centrelink|child-support)[a-z-]*-timeframe)\b/.exec(row.rules!)?.[1] ?? 'none';
    const childSupport = rows.filter((row) => row.program === 'child-support');
    const centrelink = rows.filter((row) => row.program === 'centrelink');
    expect(childSupport.length).toBeGreaterThan(1000);
    for (const row of childSupport) expect(timeframe(row)).toMatch(/^child-support-/);
    for (const row of centrelink) expect(timeframe(row)).toMatch(/^centrelink-/);
    // Overdue exactly when that due date is before the as-of date, and the next action says so in words.
    for (const row of rows) {
      expect(row.overdue).toBe(row['due by'] === '' ? '' : row['due by']! < AS_OF ? 'yes' : 'no');
      expect(row['next action']).toMatch(row.overdue === 'yes' ? /, overdue: it was due \d{1,2} [A-Z][a-z]{2}/ : /, due \d{1,2} [A-Z][a-z]{2}|no due date/);
    }
    // Child Support's next action is its own procedure's: lock and assign from the intray.
    for (const row of childSupport) expect(row['next action']).toMatch(/^Lock and assign the customer/);
  });

  test('who must approve is said where someone must: every segment 3 names its approver', () => {
    for (const row of rows)
      if (row['segment-allocation.segment'] === '3') expect(row.approver).toContain(`segment 3: ${row['segment-allocation.approvalBy']}`);
      else expect(row.approver).not.toContain('segment 3');
  });
});
