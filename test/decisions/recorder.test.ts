// Group commit: requests decided in the same turn of the event loop share one transaction, and one refused record fails only its own request.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DecisionLog, DecisionRecord } from '../../src/decisions/log';
import { decidedColumns, DecisionRecorder } from '../../src/decisions/recorder';
import { ColumnRecord } from '../../src/decisions/log';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { decide } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { shippedRules } from '../support';

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
  });
  expect(fields(there)).toEqual(fields(here));
  expect(fields(there).decidedAt).toBe('2025-06-02T01:02:03.456Z');
  await recorder.commit([here, there], [ruleSet]);
  const [found, foundThere] = [await log.find(here.decisionId), await log.find(there.decisionId)];
  expect(foundThere).toEqual({ ...found, decisionId: there.decisionId, factsDigest: there.factsDigest });
  await log.close();
});
