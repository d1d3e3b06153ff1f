// evaluate-batch decided by decider threads (batch-deciders.ts): the answers and the log records the request's own
// thread gives, every decision committed before its answer is written, and the lines decided in the request's thread
// whenever the threads cannot decide them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DeciderPool } from '../../src/api/batch-deciders';
import type { DecisionLog } from '../../src/decisions/log';
import { factsMatch } from '../../src/decisions/facts-digest';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { CALENDAR_FILE, loadRuleTexts, type RuleRegistry } from '../../src/loader/load';
import { registerRuleSet, RULE_SET_MODULES } from '../../src/rulesets';
import { backlogGenerator, DEFAULT_AS_OF } from '../../fixtures/backlog';
import { FIXTURES_DIR, RULES_DIR, shippedRules } from '../support';
import { testApp, type TestApp } from '../support/app';

const NDJSON = 'application/x-ndjson';
const registry = shippedRules();
const clock = () => new Date('2025-06-01T15:00:00Z');

const pool = new DeciderPool(2);
beforeAll(() => pool.ready(), 60_000);
afterAll(() => pool.close());

interface AnswerLine {
  line: number;
  id: string | number | null;
  decision?: Record<string, unknown> & { decisionId: string };
  problem?: { status: number; code: string; detail: string };
}

function asText(res: request.Response, callback: (error: Error | null, body: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('end', () => callback(null, text));
}

async function batch(app: TestApp, name: string, body: string, query = ''): Promise<AnswerLine[]> {
  const res = await app.as('caseworker').post(`/v1/rulesets/${name}/evaluate-batch${query}`).set('Content-Type', NDJSON).buffer(true).parse(asText).send(body);
  expect(res.status).toBe(200);
  return (res.body as string)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AnswerLine);
}

/** Segment allocations from the bench's generator, each with its id, and among them every kind of line a batch refuses. */
function mixedBatch(count: number): { body: string; facts: Map<number, unknown> } {
  const next = backlogGenerator(20261201, { asOf: DEFAULT_AS_OF });
  const facts = new Map<number, unknown>();
  const lines: string[] = [];
  for (let i = 1; i <= count; i += 1) {
    const referral = next();
    switch (i % 97) {
      case 5:
        lines.push('{"facts": {');
        break;
      case 17:
        lines.push(JSON.stringify({ id: i, asOf: DEFAULT_AS_OF, facts: { ...referral.facts, program: 'tax' } }));
        break;
      case 29:
        lines.push('');
        break;
      case 41:
        lines.push(JSON.stringify({ id: { not: 'an id' }, asOf: DEFAULT_AS_OF, facts: referral.facts }));
        break;
      case 53:
        lines.push(`${JSON.stringify({ id: `crlf-${i}`, asOf: DEFAULT_AS_OF, facts: referral.facts })}\r`);
        facts.set(i, referral.facts);
        break;
      case 67:
        lines.push(JSON.stringify({ id: i, asOf: '2025-02-30', facts: referral.facts }));
        break;
      default:
        lines.push(JSON.stringify({ id: i % 2 ? i : `case-${i}`, asOf: DEFAULT_AS_OF, facts: referral.facts }));
        facts.set(i, referral.facts);
    }
  }
  return { body: `${lines.join('\n')}\n`, facts };
}

const withoutId = ({ decisionId: _id, ...decision }: Record<string, unknown>) => decision;

describe("decided by the threads as the request's own thread decides", () => {
  const threaded = testApp({ rules: () => registry, clock, batch: { deciders: pool } });
  const here = testApp({ rules: () => registry, clock, batch: { deciders: null } });

  // With the explanation, fewer lines: each answer is some 20 KB, every one checked against the OpenAPI document.
  test.each([
    ['?explain=none', 3_000],
    ['?explain=summary', 600],
    ['', 600],
  ])(
    'lines of every kind (%s): the same answers, line for line, and the same records, every one logged',
    async (query, count) => {
      const { body, facts } = mixedBatch(count);
      const jobsBefore = pool.jobsDecided;
      const [threads, own] = [await batch(threaded, 'segment-allocation', body, query), await batch(here, 'segment-allocation', body, query)];
      // The threads decided (nearly) all of it: the pool was ready before the batch began.
      expect(pool.jobsDecided - jobsBefore).toBeGreaterThanOrEqual(Math.floor(count / 256) - 1);
      expect(threads).toHaveLength(count);
      expect(threads.map((l) => l.line)).toEqual(own.map((l) => l.line));
      expect(threads.map((l) => l.id)).toEqual(own.map((l) => l.id));
      for (const [i, line] of threads.entries()) {
        const mine = own[i]!;
        if (mine.problem) expect(line.problem).toEqual(mine.problem);
        else expect(withoutId(line.decision!)).toEqual(withoutId(mine.decision!));
      }
      expect(threads.filter((l) => l.decision)).toHaveLength(facts.size);
      expect(new Set(threads.filter((l) => l.problem).map((l) => l.problem!.code))).toEqual(new Set(['invalid-json', 'invalid-request']));

      // Each decision answered is in the log, as the request's thread records it (its own id, time and salt aside).
      const ruleSet = registry.ruleSets.get('segment-allocation')!.resolve(DEFAULT_AS_OF);
      for (const [i, line] of threads.entries()) {
        if (!line.decision) continue;
        const [record, ownRecord] = [await threaded.log.find(line.decision.decisionId), await here.log.find(own[i]!.decision!.decisionId)];
        expect(record).toBeDefined();
        expect(line.decision.decisionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const { decisionId: _a, decidedAt, factsDigest, ...rest } = record!;
        const { decisionId: _b, decidedAt: _c, factsDigest: _d, ...ownRest } = ownRecord!;
        expect(rest).toEqual(ownRest);
        expect(rest.keyId).toBe('cw1');
        // The summary's holdsUntil, when the answer carried one, as it said it.
        const summary = line.decision.summary as { holdsUntil: string | null } | undefined;
        expect(rest.summary).toEqual(summary === undefined ? null : { holdsUntil: summary.holdsUntil });
        expect(decidedAt).toBe('2025-06-01T15:00:00.000Z');
        // The digest is of the facts as validated, defaults filled in: what the auditor's reproduce checks.
        const validated = parseEvaluateRequest({ facts: facts.get(line.line) }, ruleSet.name, ruleSet.file.requires).facts;
        expect(factsMatch(factsDigest, validated)).toBe(true);
      }
    },
    60_000,
  );

  test("?engine=reference is decided in the request's own thread (json-rules-engine), with the same outcomes", async () => {
    const { body } = mixedBatch(300);
    const jobsBefore = pool.jobsDecided;
    const reference = await batch(threaded, 'segment-allocation', body, '?engine=reference&explain=none');
    expect(pool.jobsDecided).toBe(jobsBefore);
    const compiled = await batch(threaded, 'segment-allocation', body, '?explain=none');
    expect(pool.jobsDecided).toBeGreaterThan(jobsBefore);
    expect(reference.map((l) => l.decision?.outcome ?? l.problem?.code)).toEqual(compiled.map((l) => l.decision?.outcome ?? l.problem?.code));
    expect(reference.map((l) => l.decision?.fired ?? null)).toEqual(compiled.map((l) => l.decision?.fired ?? null));
  });

  test("a summary answer's holdsUntil that is a date is in the threads' records too", async () => {
    // A full phone restriction to 2026-02-28, decided on 2025-12-01: segment 3 until 2026-03-01 (the fixture's expectedSummary).
    const fixture = JSON.parse(
      readFileSync(path.join(FIXTURES_DIR, 'segment-allocation', '43-restriction-ending-2026-02-28-holds-until-2026-03-01.json'), 'utf8'),
    ) as { asOf: string; facts: unknown };
    const body = `${Array.from({ length: 600 }, (_, i) => JSON.stringify({ id: i, asOf: fixture.asOf, facts: fixture.facts })).join('\n')}\n`;
    const jobsBefore = pool.jobsDecided;
    const lines = await batch(threaded, 'segment-allocation', body, '?explain=summary');
    expect(pool.jobsDecided).toBeGreaterThan(jobsBefore);
    expect(lines).toHaveLength(600);
    for (const line of lines) {
      expect((line.decision!.summary as { holdsUntil: string }).holdsUntil).toBe('2026-03-01');
      expect((await threaded.log.find(line.decision!.decisionId))?.summary).toEqual({ holdsUntil: '2026-03-01' });
    }
  });

  test("facts kept (DECISION_LOG_FACTS=keep) are kept by the threads' records too", async () => {
    const keeping = testApp({ rules: () => registry, clock, keepFacts: true, batch: { deciders: pool } });
    const { body, facts } = mixedBatch(600);
    const lines = await batch(keeping, 'segment-allocation', body, '?explain=none');
    const ruleSet = registry.ruleSets.get('segment-allocation')!.resolve(DEFAULT_AS_OF);
    for (const line of lines.filter((l) => l.decision).slice(0, 50)) {
      const validated = parseEvaluateRequest({ facts: facts.get(line.line) }, ruleSet.name, ruleSet.file.requires).facts;
      expect((await keeping.log.find(line.decision!.decisionId))?.facts).toEqual(validated);
    }
  });
});

describe("the lines are decided in the request's own thread when the threads cannot decide them", () => {
  test('a rule set whose module the threads do not have (not one of those shipped)', async () => {
    // The shipped segment allocation under another name, its module registered in this process only (so the document
    // knows its answers, as it knows any registered rule set's), not in the threads'.
    const unregister = registerRuleSet({ ...RULE_SET_MODULES['segment-allocation']!, name: 'throwaway-allocation' });
    try {
      const file = 'throwaway-allocation.json';
      const text = readFileSync(path.join(RULES_DIR, 'segment-allocation.json'), 'utf8').replace(
        '"ruleSet": "segment-allocation"',
        '"ruleSet": "throwaway-allocation"',
      );
      expect(text).toContain('"ruleSet": "throwaway-allocation"');
      const own: RuleRegistry = loadRuleTexts(readFileSync(path.join(RULES_DIR, CALENDAR_FILE), 'utf8'), [{ file, text }], {
        modules: RULE_SET_MODULES,
      });
      const app = testApp({ rules: () => own, clock, batch: { deciders: pool } });
      const { body, facts } = mixedBatch(700);
      const jobsBefore = pool.jobsDecided;
      const lines = await batch(app, 'throwaway-allocation', body, '?explain=none');
      expect(pool.jobsDecided).toBe(jobsBefore);
      expect(lines.filter((l) => l.decision)).toHaveLength(facts.size);
      for (const line of lines.filter((l) => l.decision).slice(0, 20))
        expect((await app.log.find(line.decision!.decisionId))?.ruleSet).toBe('throwaway-allocation');
    } finally {
      unregister();
    }
  });

  test('the threads stop in the middle of a batch: the lines they held are decided here, none lost, each logged once', async () => {
    const doomed = new DeciderPool(1);
    await doomed.ready();
    const app = testApp({ rules: () => registry, clock, batch: { deciders: doomed } });
    const { body, facts } = mixedBatch(5_000);
    const server = await app.listen();
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/v1/rulesets/segment-allocation/evaluate-batch?explain=none`, {
        method: 'POST',
        headers: { 'Content-Type': NDJSON, Authorization: 'Bearer caseworker-test-secret-0123456789' },
        body,
      });
      const reader = res.body!.getReader();
      let text = '';
      let stopped = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
        // The first answers are in: the threads are stopped while the rest are being decided.
        if (!stopped) {
          stopped = true;
          await doomed.close();
        }
      }
      const lines = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AnswerLine);
      // The threads decided some of the batch's 20 jobs, and not all.
      expect(doomed.jobsDecided).toBeGreaterThan(0);
      expect(doomed.jobsDecided).toBeLessThan(Math.ceil(5_000 / 256));
      expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 5_000 }, (_, i) => i + 1));
      const decided = lines.filter((l) => l.decision);
      expect(decided).toHaveLength(facts.size);
      const ids = new Set(decided.map((l) => l.decision!.decisionId));
      expect(ids.size).toBe(decided.length);
      for (const id of [...ids].filter((_, i) => i % 50 === 0)) expect(await app.log.find(id)).toBeDefined();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});

test('threads no batch has used for a while are stopped, and the next batch starts them again', async () => {
  // Idle for 3 s before a thread stops: with less, a loaded machine let the thread stop between ready() and the first
  // batch, which its request thread then decided alone while a new thread started.
  const resting = new DeciderPool(1, { idleMs: 3_000 });
  try {
    await resting.ready();
    const app = testApp({ rules: () => registry, clock, batch: { deciders: resting } });
    const { body, facts } = mixedBatch(600);
    expect((await batch(app, 'segment-allocation', body, '?explain=none')).filter((l) => l.decision)).toHaveLength(facts.size);
    expect(resting.jobsDecided).toBeGreaterThan(0);
    expect(resting.threads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(resting.threads).toBe(0);
    // The next batch starts a thread (deciding its lines itself until the thread is ready), and it is kept again.
    expect((await batch(app, 'segment-allocation', body, '?explain=none')).filter((l) => l.decision)).toHaveLength(facts.size);
    expect(resting.threads).toBe(1);
    await resting.ready();
    const decided = resting.jobsDecided;
    await batch(app, 'segment-allocation', body, '?explain=none');
    expect(resting.jobsDecided).toBeGreaterThan(decided);
  } finally {
    await resting.close();
  }
}, 60_000);

test('a log that cannot record: each line the threads decided is a 503 log-unavailable line instead, the others as they were', async () => {
  const broken = new SqliteDecisionLog({ dataDir: testApp({ rules: () => registry }).dataDir }) as DecisionLog;
  broken.record = () => Promise.reject(new Error('disk full'));
  const app = testApp({ rules: () => registry, clock, log: broken, batch: { deciders: pool } });
  const { body, facts } = mixedBatch(1_000);
  const jobsBefore = pool.jobsDecided;
  const lines = await batch(app, 'segment-allocation', body, '?explain=none');
  expect(pool.jobsDecided).toBeGreaterThan(jobsBefore);
  expect(lines).toHaveLength(1_000);
  expect(lines.filter((l) => l.decision)).toEqual([]);
  const unavailable = lines.filter((l) => l.problem?.code === 'log-unavailable');
  expect(unavailable).toHaveLength(facts.size);
  expect(unavailable.every((l) => l.problem!.status === 503 && facts.has(l.line))).toBe(true);
  expect(lines.filter((l) => l.problem?.code === 'invalid-json').length).toBeGreaterThan(0);
  await broken.close();
});
