// ps-rules triage writes until when each answer holds (holdsUntil, CSV "re-triage on") and, with --explain, its first reason; with
// --previous decides again only the records whose answer may have changed: expectations from the procedures.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { buildCli, readNdjson, runCli } from './support';

interface Result {
  version: string;
  outcome: Record<string, unknown>;
  holdsUntil: string | null;
  reason: string | null;
  fired: string[];
}
interface QueueLine {
  id: string;
  line: number;
  asOf: string;
  holdsUntil: string | null;
  tier: string;
  dueBy: string | null;
  overdue: boolean | null;
  results: Record<string, Result>;
  inputDigest: string;
}

// 001_f3898d6cd45509ea.txt, Resources, Table 4 (Allocate customer segment 3 High), Step 1: "service channel restrictions
// in place"; a restriction is in place up to and including its end date, so one ending 2026-02-28 holds segment 3 until
// 2026-03-01.
const RESTRICTED = {
  id: 'restricted',
  facts: {
    program: 'child-support',
    referral: { source: 'other', receivedOn: '2025-08-18' },
    customer: { psHistory: 'never', serviceRestrictions: [{ channel: 'phone', level: 'full', from: '2025-03-01', to: '2026-02-28' }] },
    case: { issues: [{ id: 'i1', kind: 'income-correct', status: 'confirmed' }] },
  },
};
// 001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 1: "No aggression incidents in the last 12 months within the face
// to face environment": face-to-face verbal abuse on 2025-08-02 takes a MATS referral off the direct route until it
// leaves the window on 2026-08-02. Verbal abuse is no segment indicator (Resources, Tables 2 to 4), so time changes
// nothing in the segment: the record's re-triage date is direct referral's.
const AGGRESSION = {
  id: 'aggression',
  facts: {
    program: 'centrelink',
    referral: { source: 'mats', receivedOn: '2025-08-18' },
    customer: { psHistory: 'never', incidents: [{ date: '2025-08-02', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  },
};
// A MATS referral meeting every direct-referral criterion, nothing dated in it: no day changes its answers.
const PLAIN = { id: 'plain', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-08-18' }, customer: { psHistory: 'never' } } };

const FIRST_AS_OF = '2025-08-20';
/** The day after the restriction's answer changed, before the aggression's does. */
const SECOND_AS_OF = '2026-03-02';

let cli: string;
let dir: string;
const file = (name: string) => path.join(dir, name);
const ndjson = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
const byId = (lines: QueueLine[]) => new Map(lines.map((l) => [l.id, l]));

beforeAll(async () => {
  cli = buildCli();
  dir = mkdtempSync(path.join(tmpdir(), 'ps-re-triage-test-'));
  writeFileSync(file('first.ndjson'), ndjson([RESTRICTED, AGGRESSION, PLAIN]));
  const first = await runCli(cli, ['triage', file('first.ndjson'), '--out', file('first.out.ndjson'), '--errors', file('first.err'), '--as-of', FIRST_AS_OF]);
  expect(first.code).toBe(0);
  // The first reason is read from the explanation, which only --explain builds (chunk.ts says why).
  const explained = await runCli(cli, [
    'triage',
    file('first.ndjson'),
    '--explain',
    '--out',
    file('first.explained.ndjson'),
    '--errors',
    file('first-explained.err'),
    '--as-of',
    FIRST_AS_OF,
  ]);
  expect(explained.code).toBe(0);
}, 180_000);

describe('each result says until when it holds and why', () => {
  it('a restriction ending 2026-02-28: segment 3, re-triage on 2026-03-01, the reason quoting its dates', () => {
    const queue = byId(readNdjson<QueueLine>(file('first.out.ndjson')));
    const restricted = queue.get('restricted')!;
    const segment = restricted.results['segment-allocation']!;
    expect(segment.outcome.segment).toBe(3);
    expect(segment.holdsUntil).toBe('2026-03-01');
    expect(segment.reason).toMatch(/restriction/i);
    expect(segment.reason).toContain('2025-03-01 to 2026-02-28');
    // With --explain the same words: the reason is read from the explanation of the rule it names either way.
    const reason = byId(readNdjson<QueueLine>(file('first.explained.ndjson'))).get('restricted')!.results['segment-allocation']!.reason;
    expect(reason).toBe(segment.reason);
    // The record's date is the earliest of its rule sets': nothing in the case moves before the restriction ends.
    expect(restricted.holdsUntil).toBe('2026-03-01');
  });

  it("a record's holdsUntil is the earliest of its rule sets'; a result nothing changes is null", () => {
    const aggression = byId(readNdjson<QueueLine>(file('first.out.ndjson'))).get('aggression')!;
    const direct = aggression.results['direct-referral']!;
    expect(direct.outcome.route).toBe('standard');
    expect(direct.holdsUntil).toBe('2026-08-02');
    const reason = byId(readNdjson<QueueLine>(file('first.explained.ndjson'))).get('aggression')!.results['direct-referral']!.reason;
    expect(reason).toMatch(/^Not met: /);
    expect(reason).toContain('2025-08-02');
    expect(aggression.results['segment-allocation']!.holdsUntil).toBeNull();
    expect(aggression.holdsUntil).toBe('2026-08-02');
    const plain = byId(readNdjson<QueueLine>(file('first.out.ndjson'))).get('plain')!;
    expect(plain.results['direct-referral']!.outcome.route).toBe('direct');
    expect(plain.holdsUntil).toBeNull();
  });

  it('CSV: "re-triage on" beside the tier, the due date, the next action and its reason; per rule set only in the NDJSON queue', async () => {
    const run = await runCli(cli, [
      'triage',
      file('first.ndjson'),
      '--explain',
      '--out',
      file('first.out.csv'),
      '--errors',
      file('first-csv.err'),
      '--as-of',
      FIRST_AS_OF,
    ]);
    expect(run.code).toBe(0);
    const text = readFileSync(file('first.out.csv'), 'utf8');
    const [header = []]: string[][] = parseCsv(text);
    expect(header.slice(0, 10)).toEqual(['id', 'line', 'tier', 'due by', 'overdue', 'next action', 'reason', 'approver', 're-triage on', 'program']);
    expect(header.filter((column) => /re-triage on|reason/.test(column))).toEqual(['reason', 're-triage on']);
    const rows = byIdRows(parseCsv<Record<string, string>>(text, { columns: true }));
    // Segment 3 while the restriction of 2025-03-01 to 2026-02-28 is in force: its tier turns on segment allocation,
    // whose reason is the restriction.
    expect(rows.get('restricted')!['re-triage on']).toBe('2026-03-01');
    expect(rows.get('restricted')!.reason).toContain('2025-03-01 to 2026-02-28');
    expect(rows.get('aggression')!['re-triage on']).toBe('2026-08-02');
    expect(rows.get('plain')!['re-triage on']).toBe('');
    // The NDJSON queue keeps each rule set's own date and reason.
    const restricted = byId(readNdjson<QueueLine>(file('first.out.ndjson'))).get('restricted')!;
    expect(restricted.results['segment-allocation']).toMatchObject({ holdsUntil: '2026-03-01', reason: expect.stringContaining('2025-03-01 to 2026-02-28') });
  });
});

const byIdRows = (rows: Record<string, string>[]) => new Map(rows.map((r) => [r.id as string, r]));

describe('--previous: a backlog triaged again decides only what may have changed', () => {
  let queue: Map<string, QueueLine>;
  let stderr: string;
  let summary: { results: number; carriedOver: number };

  beforeAll(async () => {
    // The same backlog a few months on: "plain" has a face-to-face incident recorded since, and a new referral came in.
    const changed = {
      ...PLAIN,
      facts: { ...PLAIN.facts, customer: { psHistory: 'never', incidents: [{ date: '2026-02-20', kind: 'threat-of-violence', setting: 'face-to-face' }] } },
    };
    const fresh = { ...PLAIN, id: 'new', facts: { ...PLAIN.facts, referral: { source: 'mats', receivedOn: '2026-02-27' } } };
    writeFileSync(file('second.ndjson'), ndjson([RESTRICTED, AGGRESSION, changed, fresh]));
    const run = await runCli(cli, [
      'triage',
      file('second.ndjson'),
      '--previous',
      file('first.out.ndjson'),
      '--out',
      file('second.out.ndjson'),
      '--errors',
      file('second.err'),
      '--summary',
      file('second.summary.json'),
      '--as-of',
      SECOND_AS_OF,
    ]);
    expect(run.code).toBe(0);
    stderr = run.stderr;
    queue = byId(readNdjson<QueueLine>(file('second.out.ndjson')));
    summary = JSON.parse(readFileSync(file('second.summary.json'), 'utf8')) as typeof summary;
  }, 60_000);

  it('decides again a record whose re-triage date has come: the restriction has ended, so no segment 3', () => {
    const restricted = queue.get('restricted')!;
    expect(restricted.asOf).toBe(SECOND_AS_OF);
    expect(restricted.results['segment-allocation']!.outcome.segment).not.toBe(3);
  });

  it('carries over a record whose answer still stands, as it was decided, its priority worked out as of the new date', () => {
    const aggression = queue.get('aggression')!;
    const before = byId(readNdjson<QueueLine>(file('first.out.ndjson'))).get('aggression')!;
    expect(aggression.asOf).toBe(FIRST_AS_OF);
    expect(aggression.results).toEqual(before.results);
    expect(aggression.holdsUntil).toBe('2026-08-02');
    expect(aggression.line).toBe(2);
    // Due by 2025-08-25 (Centrelink's timeframe from receipt on 2025-08-18): not overdue on 2025-08-20, overdue now.
    expect(before).toMatchObject({ overdue: false, dueBy: '2025-08-25' });
    expect(aggression).toMatchObject({ overdue: true, dueBy: '2025-08-25', tier: 'Overdue' });
  });

  it('decides a record whose facts changed although its answer had no re-triage date, and a record not seen before', () => {
    const changed = queue.get('plain')!;
    expect(changed.asOf).toBe(SECOND_AS_OF);
    expect(changed.results['direct-referral']!.outcome.route).toBe('standard');
    expect(changed.results['direct-referral']!.outcome.unmet).toEqual(['no-recent-face-to-face-aggression']);
    const fresh = queue.get('new')!;
    expect(fresh.asOf).toBe(SECOND_AS_OF);
    expect(fresh.results['direct-referral']!.outcome.route).toBe('direct');
  });

  it('counts what it carried over', () => {
    expect(summary.results).toBe(4);
    expect(summary.carriedOver).toBe(1);
    expect(stderr).toMatch(/carried over from the previous queue: 1; decided: 3/);
  });

  it('refuses a previous queue that is the output itself, or not a queue triage wrote', async () => {
    const same = await runCli(cli, ['triage', file('second.ndjson'), '--previous', file('x.ndjson'), '--out', file('x.ndjson'), '--errors', file('x.err')]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--previous must be another file than --out/);
    const csv = await runCli(cli, ['triage', file('second.ndjson'), '--previous', file('first.out.csv'), '--out', file('y.ndjson'), '--errors', file('y.err')]);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/line 1 is not a line of an NDJSON queue/);
  });
});
