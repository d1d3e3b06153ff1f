// Group commit: requests decided in the same turn of the event loop share one transaction, and one refused record fails only its own request.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DecisionLog, DecisionRecord } from '../../src/decisions/log';
import { decidedColumns, DecisionRecorder, type Decided } from '../../src/decisions/recorder';
import { ColumnRecord, RECORD_COLUMNS } from '../../src/decisions/log';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { decide, decideVerdict } from '../../src/engine/evaluate';
import { decideSummary, summarize } from '../../src/engine/summary';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { FIXTURES_DIR, shippedRules } from '../support';

const ruleSet = shippedRules().ruleSets.get('direct-referral')!.latest;
const { facts } = parseEvaluateRequest(
  { facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } },
  ruleSet.name,
  ruleSet.file.requires,
);
const decided = { decision: decide(ruleSet, facts, '2025-06-02'), ruleSet, facts };

/** The SQLite store, counting the transactions asked of it. */
function counted(): { log: DecisionLog; transactions: DecisionRecord[][] } {
  const log = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'recorder-')) });
  const transactions: DecisionRecord[][] = [];
  const record = log.record.bind(log);
  log.record = (records) => {
    transactions.push([...records]);
    return record(records);
  };
  return { log, transactions };
}

test('fifty requests in one turn are one transaction, and every record is there', async () => {
  const { log, transactions } = counted();
  const recorder = new DecisionRecorder(log, { keepFacts: false });
  const records = Array.from({ length: 50 }, () => recorder.entry(decided, 'cw1'));
  await Promise.all(records.map((r) => recorder.commit([r], [ruleSet])));
  expect(transactions).toHaveLength(1);
  for (const r of records) expect(await log.find(r.decisionId)).toEqual(r);
  // The version's texts were archived with the first decision it made.
  expect((await log.findVersion(ruleSet.version))?.ruleText).toBe(ruleSet.texts!.rule);
  await log.close();
});

test('a record the store refuses fails its own request only; the others in its group are recorded', async () => {
  const { log, transactions } = counted();
  const recorder = new DecisionRecorder(log, { keepFacts: false });
  const first = recorder.entry(decided, 'cw1');
  await recorder.commit([first], [ruleSet]);
  const others = Array.from({ length: 3 }, () => recorder.entry(decided, 'cw1'));
  // The same decision id again: the store refuses it (primary key), as it would any record it cannot keep.
  const outcomes = await Promise.allSettled([
    recorder.commit([others[0]!], [ruleSet]),
    recorder.commit([{ ...first, keyId: 'again' }], [ruleSet]),
    recorder.commit(others.slice(1), [ruleSet]),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((outcomes[1] as PromiseRejectedResult).reason.code).toBe('log-unavailable');
  for (const r of others) expect(await log.find(r.decisionId)).toEqual(r);
  expect((await log.find(first.decisionId))?.keyId).toBe('cw1');
  // The group's transaction, then each request's own.
  expect(transactions.map((t) => t.length)).toEqual([1, 4, 1, 1, 2]);
  await log.close();
});

test("a record made where the decision was (a batch's decider thread, as columns) is the record entry() makes, committed alike", async () => {
  const { log } = counted();
  const recorder = new DecisionRecorder(log, { keepFacts: true, clock: () => new Date('2025-06-02T01:02:03.456Z') });
  const here = recorder.entry(decided, 'cw1');
  const there = recorder.entryOfColumns(decidedColumns(decided, recorder.keepsFacts), 'cw1');
  expect(there).toBeInstanceOf(ColumnRecord);
  // Its own id and salt; everything else the same, read back through its columns.
  expect(there.decisionId).not.toBe(here.decisionId);
  expect(there.factsDigest).not.toBe(here.factsDigest);
  const fields = (r: typeof here) => ({
    decidedAt: r.decidedAt,
    keyId: r.keyId,
    ruleSet: r.ruleSet,
    version: r.version,
    asOf: r.asOf,
    evaluator: r.evaluator,
    outcome: r.outcome,
    fired: r.fired,
    facts: r.facts,
    summary: r.summary,
  });
  expect(fields(there)).toEqual(fields(here));
  expect(fields(there).decidedAt).toBe('2025-06-02T01:02:03.456Z');
  await recorder.commit([here, there], [ruleSet]);
  const [found, foundThere] = [await log.find(here.decisionId), await log.find(there.decisionId)];
  expect(foundThere).toEqual({ ...found, decisionId: there.decisionId, factsDigest: there.factsDigest });
  await log.close();
});

describe("the summary's holdsUntil, which the versions, the facts and asOf cannot give again, is recorded with the answer", () => {
  // A phone restriction in force to 2026-02-28, decided on 2025-12-01: segment 3 until the restriction ends, so the
  // verdict holds until 2026-03-01 (the fixture's expectedSummary).
  const fixture = JSON.parse(
    readFileSync(path.join(FIXTURES_DIR, 'segment-allocation', '43-restriction-ending-2026-02-28-holds-until-2026-03-01.json'), 'utf8'),
  ) as { asOf: string; facts: unknown; expectedSummary: { holdsUntil: string } };
  const versions = shippedRules().ruleSets.get('segment-allocation')!;
  const restricted = versions.resolve(fixture.asOf);
  const caseFacts = parseEvaluateRequest({ facts: fixture.facts }, restricted.name, restricted.file.requires).facts;
  const recorder = new DecisionRecorder(new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'recorder-')) }), { keepFacts: false });
  afterAll(() => recorder.log.close());

  test('an explained decision (?explain=full) and a summary verdict (?explain=summary) keep it; a short verdict (?explain=none) keeps none', () => {
    expect(fixture.expectedSummary.holdsUntil).toBe('2026-03-01');
    const explained = decide(restricted, caseFacts, fixture.asOf);
    explained.summary = summarize(versions, restricted, explained, caseFacts);
    const summarised = { ...decideSummary(versions, restricted, caseFacts, fixture.asOf, fixture.facts), evaluator: 'compiled' as const };
    const short = { ...decideVerdict(restricted, caseFacts, fixture.asOf), evaluator: 'compiled' as const };
    const entry = (decision: Decided['decision']) => recorder.entry({ decision, ruleSet: restricted, facts: caseFacts }, 'cw1');
    expect(entry(explained).summary).toStrictEqual({ holdsUntil: '2026-03-01' });
    // Only holdsUntil: the reasons, changes and assumed facts follow from the version, the facts and asOf.
    expect(entry(summarised).summary).toStrictEqual({ holdsUntil: '2026-03-01' });
    expect(entry(short).summary).toBeNull();
    // Undecided for good (null) is recorded as such, not as no summary.
    const forever = { ...explained, summary: { ...explained.summary, holdsUntil: null } };
    expect(entry(forever).summary).toStrictEqual({ holdsUntil: null });
  });

  test("a batch decider thread's columns carry it last, the outcome and fired columns where they were", async () => {
    const summarised = { ...decideSummary(versions, restricted, caseFacts, fixture.asOf), evaluator: 'compiled' as const };
    const columns = decidedColumns({ decision: summarised, ruleSet: restricted, facts: caseFacts }, false);
    expect(columns).toHaveLength(RECORD_COLUMNS);
    expect(JSON.parse(columns[7] as string)).toEqual(summarised.outcome);
    expect(JSON.parse(columns[8] as string)).toEqual(summarised.fired);
    expect(columns[11]).toBe('{"holdsUntil":"2026-03-01"}');
    const record = recorder.entryOfColumns(columns, 'cw1');
    expect(record.summary).toStrictEqual({ holdsUntil: '2026-03-01' });
    await recorder.commit([record], [restricted]);
    expect((await recorder.log.find(record.decisionId))?.summary).toStrictEqual({ holdsUntil: '2026-03-01' });
    const short = { ...decideVerdict(restricted, caseFacts, fixture.asOf), evaluator: 'compiled' as const };
    expect(decidedColumns({ decision: short, ruleSet: restricted, facts: caseFacts }, false)[11]).toBeNull();
  });
});
