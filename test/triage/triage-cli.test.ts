// ps-rules triage end to end: every line accounted for, outcomes equal decide(), order, CSV twin, SIGINT, usage errors.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { backlogLines, BACKLOG_MAPPING_FILE, corruptLineIndexes, CSV_CORRUPT_KINDS, writeBacklog } from '../../fixtures/backlog';
import { decide } from '../../src/engine/evaluate';
import { checkCaseFacts } from '../../src/facts/validate';
import { FIXTURES_DIR, shippedRules } from '../support';
import { buildCli, interruptedOnceWriting, readLines, readNdjson, runCli } from './support';

const AS_OF = '2026-01-19';
const COUNT = 3000;
const CORRUPT = 30;
/** Blank lines put in after these 0-based data lines, so line numbers must survive them. */
const BLANK_AFTER = [10, 999, 2000];

interface ResultLine {
  rank?: number;
  id: string;
  line: number;
  asOf: string;
  tier: string;
  dueBy: string | null;
  overdue: boolean | null;
  nextAction: string;
  reason: string | null;
  approver: string | null;
  program: string;
  results: Record<string, { version: string; outcome: Record<string, unknown>; fired: string[]; reason: string | null }>;
}
interface ErrorLine {
  line: number;
  id: string | null;
  kind: string;
  message: string;
  errors: { pointer: string; message: string }[];
}
/** A row of a CSV input's errors file. */
interface ErrorRow {
  line: string;
  id: string;
  column: string;
  value: string;
  kind: string;
  message: string;
}

let cli: string;
let dir: string;
let backlog: string;
let inputLines: string[];
const registry = shippedRules();

const file = (name: string) => path.join(dir, name);
/** The errors file follows the input's format, and its name must agree. */
const errorsFile = (input: string, name: string, extra: readonly string[]) =>
  file(`${name}.errors.${extra.includes('--mapping') || input.endsWith('.csv') ? 'csv' : 'ndjson'}`);
const readErrorRows = (name: string) => parseCsv<ErrorRow>(readFileSync(file(`${name}.errors.csv`)), { columns: true });
const triage = (input: string, name: string, ...extra: string[]) =>
  runCli(cli, [
    'triage',
    input,
    '--out',
    file(`${name}.out.${extra.includes('csv') ? 'csv' : 'ndjson'}`),
    '--errors',
    errorsFile(input, name, extra),
    '--summary',
    file(`${name}.summary.json`),
    '--as-of',
    AS_OF,
    ...extra,
  ]);
const summaryOf = (name: string) =>
  JSON.parse(readFileSync(file(`${name}.summary.json`), 'utf8')) as Record<string, unknown> & {
    lines: number;
    results: number;
    errors: number;
    blank: number;
    status: string;
    recordErrors: boolean;
  };

beforeAll(() => {
  cli = buildCli();
  dir = mkdtempSync(path.join(tmpdir(), 'ps-triage-test-'));
  const data = [...backlogLines({ count: COUNT, seed: 11, corrupt: CORRUPT, asOf: AS_OF, format: 'ndjson' })];
  inputLines = [];
  data.forEach((line, i) => {
    inputLines.push(line);
    if (BLANK_AFTER.includes(i)) inputLines.push(i === 999 ? '   ' : '');
  });
  backlog = file('backlog.ndjson');
  writeFileSync(backlog, `${inputLines.join('\n')}\n`);
}, 180_000);

/** The 1-based input line of each corrupt data line, after the blank lines put in. */
function expectedErrorLines(): number[] {
  return corruptLineIndexes(COUNT, CORRUPT).map((i) => i + 1 + BLANK_AFTER.filter((b) => b < i).length);
}

describe('NDJSON backlog', () => {
  let results: ResultLine[];
  let errors: ErrorLine[];

  beforeAll(async () => {
    const run = await triage(backlog, 'plain', '--workers', '2');
    expect(run.stderr).toMatch(/triage complete with 30 record error/);
    expect(run.code).toBe(0);
    results = readNdjson<ResultLine>(file('plain.out.ndjson'));
    errors = readNdjson<ErrorLine>(file('plain.errors.ndjson'));
  }, 120_000);

  it('accounts for every line: results + errors + blank lines = lines', () => {
    const summary = summaryOf('plain');
    expect(summary.lines).toBe(inputLines.length);
    expect(summary.blank).toBe(BLANK_AFTER.length);
    expect(summary.results).toBe(results.length);
    expect(summary.errors).toBe(errors.length);
    expect(summary.results + summary.errors + summary.blank).toBe(summary.lines);
    expect(summary.status).toBe('complete');
    expect(summary.recordErrors).toBe(true);
    expect((summary.verdicts as Record<string, Record<string, number>>)['segment-allocation.segment']).toEqual(
      expect.objectContaining({ '3': expect.any(Number) }),
    );
    const tiers = summary.tiers as { tier: number; name: string; records: number; byProgram: Record<string, number> }[];
    expect(tiers.map((t) => t.name)).toEqual(['Segment 3, overdue', 'Segment 3', 'Overdue', 'The rest']);
    expect(tiers.reduce((sum, t) => sum + t.records, 0)).toBe(results.length);
    for (const t of tiers) expect(Object.values(t.byProgram).reduce((sum, n) => sum + n, 0)).toBe(t.records);
    // Every error is counted under its kind, and the kinds add up to the errors.
    const kinds = summary.errorKinds as Record<string, number>;
    expect(Object.values(kinds).reduce((sum, n) => sum + n, 0)).toBe(errors.length);
    expect(Object.keys(kinds).sort()).toEqual([...new Set(errors.map((e) => e.kind))].sort());
  });

  it('reports each bad record with its input line number, id and pointers', () => {
    expect(errors.map((e) => e.line)).toEqual(expectedErrorLines());
    for (const error of errors) {
      const raw = inputLines[error.line - 1] as string;
      let id: string | null = null;
      try {
        id = (JSON.parse(raw) as { id: string }).id;
      } catch {
        // the truncated line: no id to report
      }
      expect(error.id).toBe(id);
      expect(error.message).toEqual(expect.any(String));
      expect(error.errors.length).toBeGreaterThan(0);
      if (id !== null) expect(error.errors.every((e) => e.pointer.startsWith('/facts'))).toBe(true);
    }
  });

  it('outputs results in input order, each equal to decide() on the same facts', () => {
    const lines = results.map((r) => r.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    for (const result of results) {
      const record = JSON.parse(inputLines[result.line - 1] as string) as { id: string; facts: Record<string, unknown> };
      expect(result.id).toBe(record.id);
      const facts = checkCaseFacts(record.facts);
      for (const name of ['direct-referral', 'segment-allocation']) {
        const decision = decide(registry.ruleSets.get(name)!.resolve(AS_OF), facts, AS_OF);
        const got = result.results[name]!;
        expect(got.version).toBe(decision.version);
        expect(got.outcome).toEqual(decision.outcome);
        expect(got.fired).toEqual(decision.explanation.filter((r) => r.fired).map((r) => r.rule));
      }
      const sa = result.results['segment-allocation']!.outcome;
      const due = result.results['direct-referral']!.outcome.actionDueBy as string | null;
      const overdue = due === null ? null : due < AS_OF;
      expect(result.program).toBe(facts.program);
      expect({ tier: result.tier, dueBy: result.dueBy, overdue: result.overdue }).toEqual({
        tier: sa.segment === 3 ? (overdue ? 'Segment 3, overdue' : 'Segment 3') : overdue ? 'Overdue' : 'The rest',
        dueBy: due,
        overdue,
      });
      // Who must approve: segment 3's approver, and refusing a direct referral's.
      const refusal = result.results['direct-referral']!.outcome.refusalApprovedBy as string | null;
      const approvers = [
        ...(refusal === null ? [] : [`refusing the direct referral: ${refusal}`]),
        ...(sa.approvalBy === null ? [] : [`segment 3: ${sa.approvalBy as string}`]),
      ];
      expect(result.approver).toBe(approvers.length === 0 ? null : approvers.join('; '));
      // The line's reason is the first reason of the decision its tier turns on (segment 3), else the first of the run's
      // (direct referral's: the route, which the next action turns on).
      const from = sa.segment === 3 ? 'segment-allocation' : 'direct-referral';
      expect(result.reason).toBe(result.results[from]!.reason);
      expect(result.reason).toEqual(expect.any(String));
      expect(result.nextAction).toMatch(
        due === null ? /no due date worked out/ : overdue ? /, overdue: it was due \d{1,2} [A-Z][a-z]{2}/ : /, due \d{1,2} [A-Z][a-z]{2}/,
      );
    }
  });

  it('writes the same bytes with 1 worker as with 2, sorted and unsorted', async () => {
    const one = await triage(backlog, 'one', '--workers', '1');
    expect(one.code).toBe(0);
    expect(readFileSync(file('one.out.ndjson'))).toEqual(readFileSync(file('plain.out.ndjson')));
    expect(readFileSync(file('one.errors.ndjson'))).toEqual(readFileSync(file('plain.errors.ndjson')));
    const [sorted1, sorted2] = await Promise.all([
      triage(backlog, 'sorted1', '--workers', '1', '--sort', 'priority'),
      triage(backlog, 'sorted2', '--workers', '2', '--sort', 'priority'),
    ]);
    expect([sorted1.code, sorted2.code]).toEqual([0, 0]);
    expect(readFileSync(file('sorted1.out.ndjson'))).toEqual(readFileSync(file('sorted2.out.ndjson')));
  }, 120_000);

  it('--sort priority ranks segment 3 first, then overdue, then by due date, then input order', () => {
    const sorted = readNdjson<ResultLine>(file('sorted2.out.ndjson'));
    expect(sorted.map((r) => r.rank)).toEqual(sorted.map((_, i) => i + 1));
    // The same records as unsorted, rank aside.
    const strip = (line: string) => line.replace(/^\{"rank":\d+,/, '{');
    expect(readLines(file('sorted2.out.ndjson')).map(strip).sort()).toEqual(readLines(file('plain.out.ndjson')).sort());
    const key = (r: ResultLine) => {
      const segment3 = r.results['segment-allocation']!.outcome.segment === 3;
      const due = (r.results['direct-referral']!.outcome.actionDueBy as string | null) ?? '9999-12-31';
      return [segment3 ? 0 : 1, due < AS_OF ? 0 : 1, due, r.line] as const;
    };
    for (let i = 1; i < sorted.length; i += 1) {
      const [a, b] = [key(sorted[i - 1]!), key(sorted[i]!)];
      const order = a[0] - b[0] || a[1] - b[1] || a[2].localeCompare(b[2]) || a[3] - b[3];
      expect(order).toBeLessThan(0);
    }
    expect(sorted[0]!.tier).toBe('Segment 3, overdue');
  });
});

describe('CSV', () => {
  it('triages a CSV export with the mapping to the same outcomes as its NDJSON twin', async () => {
    const csv = file('twin.csv');
    const ndjson = file('twin.ndjson');
    await writeBacklog(csv, { count: 1500, seed: 5, corrupt: 10, asOf: AS_OF, format: 'csv' });
    await writeBacklog(ndjson, { count: 1500, seed: 5, corrupt: 10, asOf: AS_OF, format: 'ndjson' });
    const [fromCsv, fromNdjson] = await Promise.all([
      triage(csv, 'twin-csv', '--mapping', BACKLOG_MAPPING_FILE, '--workers', '2'),
      triage(ndjson, 'twin-ndjson', '--workers', '2'),
    ]);
    expect([fromCsv.code, fromNdjson.code]).toEqual([0, 0]);
    const a = readNdjson<ResultLine>(file('twin-csv.out.ndjson'));
    const b = readNdjson<ResultLine>(file('twin-ndjson.out.ndjson'));
    expect(a.length).toBe(1490);
    expect(a.map((r) => r.id)).toEqual(b.map((r) => r.id));
    a.forEach((r, i) => {
      expect(r.results).toEqual(b[i]!.results);
      const queued = (x: ResultLine) => [x.tier, x.dueBy, x.overdue, x.nextAction, x.reason, x.approver, x.program];
      expect(queued(r)).toEqual(queued(b[i]!));
      expect(r.line).toBe(b[i]!.line + 1); // the header is line 1
    });
    // Each corrupt row breaks one cell: one errors row each, on its line.
    const errors = readErrorRows('twin-csv');
    expect(errors.map((e) => Number(e.line))).toEqual(corruptLineIndexes(1500, 10).map((i) => i + 2));
    // A bad cell names its column.
    expect(errors.some((e) => e.column === 'Date received' && /^column "Date received"/.test(e.message))).toBe(true);
    // The k-th corrupt row is broken the k-th way (fixtures/backlog.ts): each row names that column, its cell as the
    // export has it, and the kind; an unknown code is refused by the mapping, in the export's terms.
    const expected: Record<(typeof CSV_CORRUPT_KINDS)[number], [string, string]> = {
      'bad-date': ['Date received', 'refused-cell'],
      'unknown-code': ['Referral source', 'refused-cell'],
      'bad-boolean': ['Urgent?', 'refused-cell'],
      'malformed-json': ['Incidents', 'refused-cell'],
      'missing-received-on': ['Date received', 'missing-fact'],
    };
    const [csvHeader, ...csvRows] = parseCsv(readFileSync(csv));
    errors.forEach((e, k) => {
      const [column, kind] = expected[CSV_CORRUPT_KINDS[k % CSV_CORRUPT_KINDS.length]!];
      expect([e.column, e.kind]).toEqual([column, kind]);
      expect(e.value).toBe(csvRows[Number(e.line) - 2]![csvHeader!.indexOf(column)]);
      expect(e.id).toBe(csvRows[Number(e.line) - 2]![0]);
      expect(e.message.startsWith(`column "${column}"`)).toBe(true);
    });
    const summary = summaryOf('twin-csv');
    expect(summary.headerLines).toBe(1);
    expect(summary.results + summary.errors + summary.blank).toBe(summary.lines);
    expect(summary.lines).toBe(1500);
  }, 120_000);

  it('triages the sample export and its NDJSON twin alike, and writes flattened CSV with rank when sorted', async () => {
    const sample = path.join(FIXTURES_DIR, 'csv', 'sample-backlog.csv');
    const run = await triage(sample, 'sample', '--mapping', BACKLOG_MAPPING_FILE, '--workers', '1', '--sort', 'priority', '--format', 'csv');
    expect(run.code).toBe(0);
    const twin = await triage(path.join(FIXTURES_DIR, 'csv', 'sample-backlog.ndjson'), 'sample-twin', '--workers', '1', '--sort', 'priority');
    expect(twin.code).toBe(0);
    const rows = parseCsv<Record<string, string>>(readFileSync(file('sample.out.csv')), { columns: true });
    const twinRows = readNdjson<ResultLine>(file('sample-twin.out.ndjson'));
    expect(rows.length).toBe(twinRows.length);
    rows.forEach((row, i) => {
      const r = twinRows[i]!;
      expect(row.id).toBe(r.id);
      expect(row.rank).toBe(String(i + 1));
      expect(row.tier).toBe(r.tier);
      expect(row['due by']).toBe(r.dueBy ?? '');
      expect(row.overdue).toBe(r.overdue === null ? '' : r.overdue ? 'yes' : 'no');
      expect(row['next action']).toBe(r.nextAction);
      expect(row.reason).toBe(r.reason ?? '');
      expect(row.approver).toBe(r.approver ?? '');
      expect(row.program).toBe(r.program);
      const dr = r.results['direct-referral']!;
      const sa = r.results['segment-allocation']!;
      expect(row['direct-referral.version']).toBe(dr.version);
      expect(row['direct-referral.route']).toBe(dr.outcome.route);
      expect(row['direct-referral.eligible']).toBe(String(dr.outcome.eligible));
      expect(row['direct-referral.actionDueBy']).toBe(dr.outcome.actionDueBy);
      expect(row['direct-referral.unmet']).toBe((dr.outcome.unmet as string[]).join(';'));
      expect(row['segment-allocation.segment']).toBe(String(sa.outcome.segment));
      expect(row['segment-allocation.reviewBy']).toBe(sa.outcome.reviewBy ?? '');
      // Every rule id in one column, and in no other.
      expect(row.rules).toBe(`direct-referral: ${dr.fired.join(', ') || 'none'}; segment-allocation: ${sa.fired.join(', ') || 'none'}`);
      expect(Object.keys(row).filter((column) => /fired|indicators/.test(column))).toEqual([]);
    });
  }, 120_000);
});

describe('progress on stderr', () => {
  /** The progress lines of a run's stderr, as [percentage, records decided]. */
  const progressLines = (stderr: string) =>
    [...stderr.matchAll(/^triage: (\d+)% — ([\d,]+) of (?:about )?[\d,]+ records decided/gm)].map(
      (m) => [Number(m[1]), Number(m[2]!.replace(/,/g, ''))] as const,
    );

  it('not on a terminal: a line per 10% of the records decided, increasing, none above 100, the last the real total', async () => {
    // About 7 MB: a dozen chunks, so the lines come as the chunks are decided, not all at the end.
    const input = file('progress.ndjson');
    await writeBacklog(input, { count: 20_000, seed: 7, corrupt: 20, asOf: AS_OF, format: 'ndjson' });
    const run = await triage(input, 'progress', '--workers', '2');
    expect(run.code).toBe(0);
    const lines = progressLines(run.stderr);
    const summary = summaryOf('progress');
    expect(lines.length).toBeGreaterThan(3);
    lines.slice(1).forEach(([percent], i) => expect(percent).toBeGreaterThan(lines[i]![0]));
    expect(lines.every(([percent]) => percent <= 100)).toBe(true);
    expect(lines.at(-1)).toEqual([100, summary.results + summary.errors]);
    expect(run.stderr).not.toMatch(/NaN|Infinity|NFs|ETA/);
    // --quiet is taken (lines, as here); a one-chunk input: no line before the end, then 100% with its total.
    const quiet = await triage(path.join(FIXTURES_DIR, 'csv', 'sample-backlog.ndjson'), 'quiet', '--workers', '1', '--quiet');
    expect(quiet.code).toBe(0);
    const quietSummary = summaryOf('quiet');
    expect(progressLines(quiet.stderr)).toEqual([[100, quietSummary.results + quietSummary.errors]]);
  }, 120_000);
});

describe("errors in the input's own terms", () => {
  const sampleCsv = path.join(FIXTURES_DIR, 'csv', 'sample-backlog.csv');
  const mapping = JSON.parse(readFileSync(BACKLOG_MAPPING_FILE, 'utf8')) as { columns: Record<string, { values?: Record<string, string> }> };
  const sourceCodes = Object.keys(mapping.columns['Referral source']!.values!);
  /** The sample export's header and rows, as csv-parse reads them; a row's input line is its index + 2. */
  const [header, ...sampleRows] = parseCsv(readFileSync(sampleCsv));
  const at = (name: string) => header!.indexOf(name);
  const incidents = '[{"date":"2025-12-24","kind":"verbal-abuse","setting":"phone"},{"kind":"verbal-abuse","setting":"phone"}]';
  let rows: ErrorRow[];
  let summary: ReturnType<typeof summaryOf>;

  beforeAll(async () => {
    expect(sampleRows.length).toBe(40);
    const broken = sampleRows.map((row) => [...row]);
    broken[0]![at('Referral source')] = 'WALK-IN'; // line 2: a code the export does not use
    broken[1]![at('Date received')] = '31/02/2026'; // line 3: a date that does not exist
    broken[2]![at('Urgent?')] = 'maybe'; // line 4: not a Y/N flag
    broken[3]!.pop(); // line 5: a cell short
    broken[4]![at('Incidents')] = incidents; // line 6: the second incident has no date
    broken[5]![at('Referral source')] = ' esc-cmpl '; // line 7: a code in the wrong case, with spaces
    broken[5]![at('Urgent?')] = 'Yes please'; // line 7 again: two cells refused, two rows
    broken[6]![at('Referral source')] = 'ESC-CMLP'; // line 8: a near miss
    writeFileSync(file('own-terms.csv'), stringify([header!, ...broken]));
    const run = await triage(file('own-terms.csv'), 'own-terms', '--mapping', BACKLOG_MAPPING_FILE, '--workers', '2');
    expect(run.code).toBe(0);
    rows = readErrorRows('own-terms');
    summary = summaryOf('own-terms');
  }, 120_000);

  const rowsOn = (line: number) => rows.filter((r) => r.line === String(line));

  it('writes CSV with the header line,id,column,value,kind,message', () => {
    expect(readLines(file('own-terms.errors.csv'))[0]).toBe('line,id,column,value,kind,message');
  });

  it("refuses a code with the value given and every code the export's column uses", () => {
    expect(rowsOn(2)).toEqual([
      {
        line: '2',
        id: sampleRows[0]![0],
        column: 'Referral source',
        value: 'WALK-IN',
        kind: 'refused-cell',
        message: `column "Referral source": "WALK-IN" is not a referral source code; the export's codes are ${sourceCodes.join(', ')}`,
      },
    ]);
    expect(sourceCodes.length).toBe(20);
  });

  it("refuses a date and a Y/N flag in the export's terms", () => {
    expect(rowsOn(3)).toEqual([
      {
        line: '3',
        id: sampleRows[1]![0],
        column: 'Date received',
        value: '31/02/2026',
        kind: 'refused-cell',
        message: 'column "Date received": "31/02/2026" is not a real calendar date written dd/MM/yyyy',
      },
    ]);
    expect(rowsOn(4)).toEqual([
      {
        line: '4',
        id: sampleRows[2]![0],
        column: 'Urgent?',
        value: 'maybe',
        kind: 'refused-cell',
        message: expect.stringMatching(/^column "Urgent\?": "maybe" is not a yes\/no value/),
      },
    ]);
  });

  it('refuses a row with a wrong cell count as a whole: no column, no value', () => {
    expect(rowsOn(5)).toEqual([
      {
        line: '5',
        id: sampleRows[3]![0],
        column: '',
        value: '',
        kind: 'not-a-row',
        message: `line 5 has ${header!.length - 1} cells; the header has ${header!.length}`,
      },
    ]);
  });

  it('names the column and the entry inside a JSON cell the schema refuses, with the cell as given', () => {
    expect(rowsOn(6)).toEqual([
      {
        line: '6',
        id: sampleRows[4]![0],
        column: 'Incidents',
        value: incidents,
        kind: 'invalid-facts',
        message: 'column "Incidents", entry 2: "date" is required',
      },
    ]);
  });

  it('gives each refused cell of a record its own row, and the value exactly as the export has it', () => {
    const seventh = rowsOn(7);
    expect(seventh.map((r) => [r.column, r.value, r.kind])).toEqual([
      ['Referral source', ' esc-cmpl ', 'refused-cell'],
      ['Urgent?', 'Yes please', 'refused-cell'],
    ]);
    expect(seventh[0]!.message).toMatch(/; did you mean "ESC-CMPL"\?$/);
    expect(rowsOn(8)[0]!.message).toMatch(/^column "Referral source": "ESC-CMLP" is not a referral source code; .*; did you mean "ESC-CMPL"\?$/);
    // The code that differs from every one by more than a letter or two suggests none.
    expect(rowsOn(2)[0]!.message).not.toMatch(/did you mean/);
  });

  it('counts each record once in the summary, however many rows it has', () => {
    expect(rows.length).toBe(8);
    expect(summary.errors).toBe(7);
    expect(summary.results).toBe(33);
    expect(summary.errorKinds).toEqual({ 'refused-cell': 5, 'not-a-row': 1, 'invalid-facts': 1 });
    expect(summary.results + summary.errors + summary.blank).toBe(summary.lines);
  });

  it('writes the header even when no record is refused', async () => {
    const run = await triage(sampleCsv, 'own-terms-clean', '--mapping', BACKLOG_MAPPING_FILE, '--workers', '1');
    expect(run.code).toBe(0);
    expect(readFileSync(file('own-terms-clean.errors.csv'), 'utf8')).toBe('line,id,column,value,kind,message\n');
  });

  it('keeps JSON Pointers into the line for NDJSON input', async () => {
    const facts = {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2026-01-05' },
      customer: { psHistory: 'never', incidents: [{ kind: 'verbal-abuse', setting: 'phone' }] },
    };
    writeFileSync(file('pointers.ndjson'), `${JSON.stringify({ id: 'no-date', facts })}\n`);
    const run = await triage(file('pointers.ndjson'), 'pointers');
    expect(run.code).toBe(0);
    const [error] = readNdjson<ErrorLine>(file('pointers.errors.ndjson'));
    expect(error).toMatchObject({ line: 1, id: 'no-date', kind: 'invalid-facts' });
    expect(error!.errors).toEqual([{ pointer: '/facts/customer/incidents/0/date', message: 'date is required' }]);
  });

  it('exits 2 and writes nothing when --errors names the other format', async () => {
    const before = readdirSync(dir).length;
    const csvInput = await runCli(cli, [
      'triage',
      sampleCsv,
      '--mapping',
      BACKLOG_MAPPING_FILE,
      '--out',
      file('contra-csv.out.ndjson'),
      '--errors',
      file('contra-csv.errors.ndjson'),
      '--summary',
      file('contra-csv.summary.json'),
    ]);
    expect(csvInput.code).toBe(2);
    expect(csvInput.stderr).toMatch(
      /--errors .*contra-csv\.errors\.ndjson: the input is CSV, so its errors file is CSV too .*name it \.csv, e\.g\. .*contra-csv\.errors\.csv/,
    );
    const ndjsonInput = await runCli(cli, ['triage', backlog, '--out', file('contra-nd.out.ndjson'), '--errors', file('contra-nd.errors.CSV')]);
    expect(ndjsonInput.code).toBe(2);
    expect(ndjsonInput.stderr).toMatch(/--errors .*contra-nd\.errors\.CSV: the input is NDJSON, so its errors file is NDJSON too .*name it \.ndjson/);
    for (const json of ['json', 'jsonl']) {
      const run = await runCli(cli, [
        'triage',
        sampleCsv,
        '--mapping',
        BACKLOG_MAPPING_FILE,
        '--out',
        file('contra.out.ndjson'),
        '--errors',
        file(`contra.errors.${json}`),
      ]);
      expect(run.code).toBe(2);
    }
    expect(readdirSync(dir).length).toBe(before);
    // An extension that says neither format is the user's choice.
    const neither = await runCli(cli, [
      'triage',
      sampleCsv,
      '--mapping',
      BACKLOG_MAPPING_FILE,
      '--out',
      file('neither.out.ndjson'),
      '--errors',
      file('neither.rejected.txt'),
      '--as-of',
      AS_OF,
    ]);
    expect(neither.code).toBe(0);
    expect(readFileSync(file('neither.rejected.txt'), 'utf8')).toBe('line,id,column,value,kind,message\n');
  }, 120_000);
});

describe('interruption', () => {
  it('leaves only complete lines after SIGINT, exits 130 and says so in the summary', async () => {
    const big = file('big.ndjson');
    await writeBacklog(big, { count: 60_000, seed: 3, corrupt: 60, asOf: AS_OF, format: 'ndjson' });
    const out = file('int.out.ndjson');
    const errorsFile = file('int.errors.ndjson');
    const { code, stderr } = await interruptedOnceWriting(
      cli,
      ['triage', big, '--out', out, '--errors', errorsFile, '--summary', file('int.summary.json'), '--as-of', AS_OF, '--workers', '1'],
      out,
    );
    expect(code).toBe(130);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    const summary = summaryOf('int');
    expect(summary.status).toBe('interrupted');
    expect(summary.results).toBe(text.slice(0, -1).split('\n').length);
    expect(summary.results + summary.errors + summary.blank).toBe(summary.lines);
    expect(summary.lines).toBeLessThan(60_000);
    expect(stderr).toMatch(/triage interrupted/);
  }, 120_000);
});

describe('bad usage exits 2 with a clear message', () => {
  it('a missing input file', async () => {
    const run = await triage(file('no-such.ndjson'), 'missing');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Cannot read the input .*no-such\.ndjson/);
  });

  it('a mapping naming a fact that does not exist', async () => {
    const mapping = file('bad-mapping.json');
    writeFileSync(
      mapping,
      JSON.stringify({
        id: 'Referral ID',
        columns: { 'Date received': { fact: 'referral.recievedOn', type: 'date' }, Urgent: { fact: 'referral.urgent', type: 'yesno' } },
      }),
    );
    const run = await triage(path.join(FIXTURES_DIR, 'csv', 'sample-backlog.csv'), 'bad-mapping', '--mapping', mapping);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/columns\["Date received"\]\.fact "referral\.recievedOn" is not a CaseFacts fact/);
    expect(run.stderr).toMatch(/columns\["Urgent"\]\.type "yesno"/);
  });

  it('a mapped column missing from the CSV header', async () => {
    const mapping = file('extra-column.json');
    writeFileSync(mapping, JSON.stringify({ id: 'Referral ID', columns: { 'Date of receipt': { fact: 'referral.receivedOn', type: 'date' } } }));
    const run = await triage(path.join(FIXTURES_DIR, 'csv', 'sample-backlog.csv'), 'extra-column', '--mapping', mapping);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/lacks the column\(s\) the mapping names: "Date of receipt"/);
  });

  it('CSV without a mapping, an unknown rule set, a bad date', async () => {
    const csv = await triage(path.join(FIXTURES_DIR, 'csv', 'sample-backlog.csv'), 'no-mapping');
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/--mapping/);
    const ruleSet = await triage(backlog, 'rule-set', '--rule-sets', 'direct-referral,segment-alocation');
    expect(ruleSet.code).toBe(2);
    expect(ruleSet.stderr).toMatch(/no rule set "segment-alocation"/);
    const date = await runCli(cli, ['triage', backlog, '--out', file('d.ndjson'), '--errors', file('d.err'), '--as-of', '2026-02-30x']);
    expect(date.code).toBe(2);
    expect(date.stderr).toMatch(/--as-of/);
  });

  it('an as-of date that does not exist (30 February) is refused, not rolled over into March', async () => {
    const date = await runCli(cli, ['triage', backlog, '--out', file('feb.ndjson'), '--errors', file('feb.err'), '--as-of', '2026-02-30']);
    expect(date.code).toBe(2);
    expect(date.stderr).toMatch(/--as-of "2026-02-30"/);
  });
});

describe('a record whose own asOf does not exist', () => {
  it('goes to the errors file naming /asOf; the other records are decided', async () => {
    const input = file('bad-as-of.ndjson');
    const facts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2026-01-05' }, customer: { psHistory: 'never' } };
    writeFileSync(
      input,
      [
        { id: 'ok', facts },
        { id: 'feb-30', asOf: '2026-02-30', facts },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const run = await runCli(cli, ['triage', input, '--out', file('bad-as-of.out'), '--errors', file('bad-as-of.err'), '--as-of', AS_OF]);
    expect(run.code).toBe(0);
    expect(readNdjson(file('bad-as-of.out')).map((r) => r.id)).toEqual(['ok']);
    const [error] = readNdjson<{ line: number; id: string; errors: { pointer: string }[] }>(file('bad-as-of.err'));
    expect(error).toMatchObject({ line: 2, id: 'feb-30' });
    expect(error!.errors.map((e) => e.pointer)).toEqual(['/asOf']);
  });
});
