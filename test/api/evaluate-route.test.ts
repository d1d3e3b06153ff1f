// POST /v1/rulesets/{name}/evaluate as a plain Express route: every edge in place (key, rate, timeout, body,
// compression), each refusal a problem+json with its code, and each decision in the decision log before its answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import type { Role } from '../../src/api/access';
import type { DecisionLog } from '../../src/decisions/log';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { loadRules } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR } from '../support';
import { bearer, testApp, type TestApp } from '../support/app';

const registry = loadRules(RULES_DIR, { modules: RULE_SET_MODULES });
const quiet = { error: () => {} };
const EVALUATE = '/v1/rulesets/segment-allocation/evaluate';

const facts = { program: 'centrelink', referral: { source: 'social-work-services', receivedOn: '2025-11-20' }, customer: { psHistory: 'never' } };
const body = JSON.stringify({ asOf: '2025-11-20', facts });

interface Case {
  name: string;
  path?: string;
  role?: Role | 'none';
  headers?: Record<string, string>;
  body: string | Buffer;
  status: number;
  /** The problem's code, for a refusal. */
  code?: string;
}

const CASES: Case[] = [
  { name: 'a decision', body, status: 200 },
  {
    name: 'a decision on the other rule set',
    path: '/v1/rulesets/direct-referral/evaluate',
    body: JSON.stringify({ asOf: '2025-04-17', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } } }),
    status: 200,
  },
  { name: 'a body with a byte-order mark', body: `\ufeff${body}`, status: 200 },
  { name: 'a gzip body', headers: { 'Content-Encoding': 'gzip' }, body: gzipSync(body), status: 200 },
  // The document lists application/json alone: a +json type is refused, not read as JSON.
  { name: 'application/*+json', headers: { 'Content-Type': 'application/vnd.ps+json' }, body, status: 415, code: 'unsupported-media-type' },
  {
    name: 'facts that break the schema',
    body: JSON.stringify({ facts: { program: 'medicare', referral: { source: 'nowhere' } } }),
    status: 400,
    code: 'invalid-request',
  },
  { name: 'malformed JSON', body: '{"facts": ', status: 400, code: 'invalid-json' },
  { name: 'a JSON string, not an object', body: '"facts"', status: 400, code: 'invalid-json' },
  { name: 'an asOf that is not a date', body: JSON.stringify({ asOf: '2025-02-30', facts }), status: 400, code: 'invalid-request' },
  { name: 'an unknown explain', path: `${EVALUATE}?explain=brief`, body, status: 400, code: 'invalid-request' },
  { name: 'text/plain', headers: { 'Content-Type': 'text/plain' }, body, status: 415, code: 'unsupported-media-type' },
  { name: 'a charset other than UTF-8', headers: { 'Content-Type': 'application/json; charset=latin1' }, body, status: 415, code: 'unsupported-media-type' },
  { name: 'no key', role: 'none', body, status: 401, code: 'unauthorized' },
  { name: 'a Basic header', role: 'none', headers: { Authorization: 'Basic dXNlcjpwYXNz' }, body, status: 401, code: 'unauthorized' },
  { name: "the auditor's key", role: 'auditor', body, status: 403, code: 'forbidden' },
  { name: 'an unknown rule set', path: '/v1/rulesets/no-such-set/evaluate', body, status: 404, code: 'unknown-rule-set' },
  { name: 'a body over 1 MiB', body: JSON.stringify({ facts, pad: 'x'.repeat(1024 * 1024) }), status: 413, code: 'payload-too-large' },
];

function send(app: TestApp, c: Case, target = c.path ?? EVALUATE) {
  let req = request(app.listener).post(target).set('Content-Type', 'application/json');
  if (c.role !== 'none') req = req.set('Authorization', bearer(c.role ?? 'caseworker'));
  for (const [name, value] of Object.entries(c.headers ?? {})) req = req.set(name, value);
  // A Buffer as it is: superagent would write it out as JSON, being told the body is application/json.
  return Buffer.isBuffer(c.body) ? req.serialize((data: unknown) => data as string).send(c.body) : req.send(c.body);
}

describe('the evaluate route', () => {
  const app = testApp({ rules: () => registry, logger: quiet, ratePerMinute: 1000, requestTimeoutMs: 10_000 });

  test.each(CASES)('$name: $status $code', async (c) => {
    const res = await send(app, c);
    expect(res.status).toBe(c.status);
    if (c.code === undefined) {
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-decision-id']).toBe(res.body.decisionId);
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toEqual(expect.objectContaining({ status: c.status, code: c.code, instance: c.path ?? EVALUATE }));
      expect(res.headers['x-decision-id']).toBeUndefined();
    }
    // Every answer past the key check states the key's allowance.
    if (c.status !== 401 && c.status !== 403) expect(res.headers['ratelimit-policy']).toMatch(/^"1000-in-1min"; q=1000; w=60; pk=:/);
  });

  test('an unknown explain is a 400 naming the query parameter', async () => {
    const res = await send(app, { name: '', body, status: 400 }, `${EVALUATE}?explain=brief`);
    expect(res.body.detail).toMatch(/^The explain query parameter must be "full" .* "summary" .* or "none"/);
    expect(res.body.errors).toEqual([{ pointer: '', detail: 'query parameter explain must be full, summary or none' }]);
  });

  test('each decision given is in the decision log under its id, before the answer', async () => {
    const res = await send(app, CASES[0]!);
    const record = await app.log.find(res.headers['x-decision-id'] as string);
    expect(record).toEqual(
      expect.objectContaining({
        decisionId: res.body.decisionId,
        keyId: 'cw1',
        ruleSet: 'segment-allocation',
        version: res.body.version,
        outcome: res.body.outcome,
      }),
    );
  });
});

describe('one allowance per key, whatever the route', () => {
  test('three requests a minute across evaluate and the rule-set list: the fourth is a 429 on either', async () => {
    const app = testApp({ rules: () => registry, logger: quiet, ratePerMinute: 3 });
    const remaining: string[] = [];
    for (const target of [EVALUATE, '/v1/rulesets', EVALUATE]) {
      const res = target === EVALUATE ? await send(app, CASES[0]!) : await app.as('caseworker').get(target);
      expect(res.status).toBe(200);
      remaining.push(/r=(\d+)/.exec(res.headers['ratelimit'] as string)?.[1] ?? '');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    for (const res of [await send(app, CASES[0]!), await app.as('caseworker').get('/v1/rulesets')]) {
      expect(res.status).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('rate-limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.headers['ratelimit']).toMatch(/^"3-in-1min"; r=0; t=\d+$/);
    }
  });

  test("in a 2-worker cluster the headers state the key's limit, and this worker allows its share of it", async () => {
    // Each worker counts apart (limits.ts): with a limit of 6 over 2 workers, this one allows 3, each costing 2 of the 6.
    const app = testApp({ rules: () => registry, logger: quiet, ratePerMinute: 6, rateLimitWorkers: 2 });
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await app.as('caseworker').get('/v1/rulesets'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map((a) => /r=(\d+)/.exec(a.headers['ratelimit'] as string)?.[1])).toEqual(['4', '2', '0', '0']);
    for (const a of answers) expect(a.headers['ratelimit-policy']).toMatch(/^"6-in-1min"; q=6; w=60; pk=:/);
    expect(answers[3]!.body.detail).toMatch(/^Key "cw1" has made more than its 6 requests a minute; try again in \d+ s\.$/);
  });
});

describe('the request timeout', () => {
  test('a decision the log takes too long to record is a 503 timeout, and nothing else is written after it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'ps-evaluate-route-'));
    const sqlite = new SqliteDecisionLog({ dataDir });
    const slow: DecisionLog = Object.assign(Object.create(sqlite) as DecisionLog, {
      record: async (records: Parameters<DecisionLog['record']>[0]) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return sqlite.record(records);
      },
    });
    const app = testApp({ rules: () => registry, logger: quiet, log: slow, requestTimeoutMs: 50 });
    try {
      const res = await send(app, CASES[0]!);
      expect(res.status).toBe(503);
      expect(res.body).toEqual(expect.objectContaining({ code: 'timeout', instance: EVALUATE }));
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      await sqlite.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** One raw HTTP exchange (Node's own client, which neither asks for nor inflates a compressed answer unless told). */
function exchange(
  app: TestApp,
  target: string,
  headers: Record<string, string>,
  payload: string,
): Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }> {
  return app.listen().then(
    (server) =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
            path: target,
            method: 'POST',
            agent: false,
            headers: { 'Content-Type': 'application/json', Authorization: bearer('caseworker'), ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              server.close();
              resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      }),
  );
}

describe('compression', () => {
  const app = testApp({ rules: () => registry, logger: quiet });

  test('a client that accepts gzip gets the explained decision gzipped, and it inflates to the same decision', async () => {
    const plain = await exchange(app, EVALUATE, {}, body);
    const zipped = await exchange(app, EVALUATE, { 'Accept-Encoding': 'gzip' }, body);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toMatch(/Accept-Encoding/);
    const decision = JSON.parse(gunzipSync(zipped.bytes).toString('utf8')) as Record<string, unknown>;
    const uncompressed = JSON.parse(plain.bytes.toString('utf8')) as Record<string, unknown>;
    // Two decisions, two ids; the same decision otherwise, and the compressed one far smaller.
    expect(decision.decisionId).toBe(zipped.headers['x-decision-id']);
    expect({ ...decision, decisionId: '' }).toEqual({ ...uncompressed, decisionId: '' });
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 3);
  });

  test('a problem, under 1 KB, is sent as it is', async () => {
    const refused = await exchange(app, EVALUATE, { 'Accept-Encoding': 'gzip' }, '{"facts": ');
    expect(refused.status).toBe(400);
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(refused.bytes.toString('utf8'))).toEqual(expect.objectContaining({ code: 'invalid-json' }));
  });
});

describe('?explain=none', () => {
  const app = testApp({ rules: () => registry, logger: quiet, clock: () => new Date('2025-06-01T15:00:00Z') });
  // Monday 2 June 2025, a Centrelink referral from MATS: every criterion met, the standard timeframe (5 working days).
  const direct = { asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } };
  const outcome = { eligible: true, route: 'direct', unmet: [], actionDueBy: '2025-06-09', refusalApprovedBy: null };
  const fired = [
    'centrelink-program',
    'direct-referral-source',
    'no-current-restriction',
    'no-recent-face-to-face-aggression',
    'no-zone-case-management',
    'centrelink-action-timeframe',
  ];
  const version = registry.ruleSets.get('direct-referral')!.latest.version;
  /** The short answer (ShortDecision) to `direct`, under the decision id given. */
  const shortAnswer = (decisionId: unknown) => ({ decisionId, ruleSet: 'direct-referral', version, asOf: '2025-06-02', outcome, defaultsApplied: [], fired });

  test.each(['compiled', 'reference'])('evaluate (%s engine) answers the outcome and the fired rules only, and the log holds the decision', async (engine) => {
    const res = await app.as('caseworker').post(`/v1/rulesets/direct-referral/evaluate?explain=none&engine=${engine}`).send(direct);
    expect(res.status).toBe(200);
    // The fact defaults applied (none: direct referral declares none) come with the outcome, as in the full answer.
    expect(res.body).toEqual(shortAnswer(res.headers['x-decision-id']));
    const record = await app.log.find(res.body.decisionId as string);
    expect(record).toEqual(
      expect.objectContaining({
        decisionId: res.body.decisionId,
        keyId: 'cw1',
        ruleSet: 'direct-referral',
        version,
        asOf: '2025-06-02',
        evaluator: engine,
        outcome,
        fired,
      }),
    );
  });

  test('explain=full is the default: the whole explanation', async () => {
    const res = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate?explain=full').send(direct);
    expect(res.status).toBe(200);
    expect(res.body.outcome).toEqual(outcome);
    expect(res.body.explanation.filter((r: { fired: boolean }) => r.fired).map((r: { rule: string }) => r.rule)).toEqual(fired);
  });

  test('evaluate-batch answers each line with the outcome and the fired rules only, and logs every line', async () => {
    const lines = [
      { id: 'a', ...direct },
      { id: 'b', facts: { program: 'medicare' } },
      { id: 'c', ...direct },
    ];
    const res = await app
      .as('caseworker')
      .post('/v1/rulesets/direct-referral/evaluate-batch?explain=none')
      .set('Content-Type', 'application/x-ndjson')
      .send(lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(res.status).toBe(200);
    const answers = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; id: string; decision?: Record<string, unknown>; problem?: { code: string } });
    expect(answers.map((a) => [a.line, a.id])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    for (const a of [answers[0]!, answers[2]!]) {
      expect(a.decision).toEqual(shortAnswer(expect.any(String)));
      expect(await app.log.find(a.decision!.decisionId as string)).toEqual(expect.objectContaining({ outcome, fired, keyId: 'cw1' }));
    }
    expect(answers[1]!.problem!.code).toBe('invalid-request');
  });

  test('evaluate-batch with an unknown explain is a 400 naming it, before any line', async () => {
    const res = await app
      .as('caseworker')
      .post('/v1/rulesets/direct-referral/evaluate-batch?explain=yes')
      .set('Content-Type', 'application/x-ndjson')
      .send(JSON.stringify(direct));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual([{ pointer: '', detail: 'query parameter explain must be full, summary or none' }]);
  });
});

describe('?explain=summary', () => {
  const app = testApp({ rules: () => registry, logger: quiet, clock: () => new Date('2025-06-01T15:00:00Z') });
  // A Child Support customer under a phone restriction from 2025-03-01 to 2026-02-28, decided on 2025-09-01: a service
  // restriction in force is a segment 3 indicator (001, Resources, Table 4, Step 1), so segment 3 holds while it does,
  // until 2026-03-01, the first day it is no longer in force; ending it (or finding it does not belong on the record)
  // would leave no segment 3 indicator.
  const restricted = {
    asOf: '2025-09-01',
    facts: {
      program: 'child-support',
      referral: { source: 'escalated-complaint', receivedOn: '2025-08-20' },
      customer: { psHistory: 'never', serviceRestrictions: [{ channel: 'phone', level: 'full', from: '2025-03-01', to: '2026-02-28' }] },
    },
  };

  test.each(['compiled', 'reference'])(
    'evaluate (%s engine) answers the outcome and the summary, without the trace, and the log holds the decision',
    async (engine) => {
      const res = await app.as('caseworker').post(`${EVALUATE}?explain=summary&engine=${engine}`).send(restricted);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['decisionId', 'ruleSet', 'version', 'effective', 'asOf', 'evaluator', 'outcome', 'summary']);
      expect(res.body.outcome.segment).toBe(3);
      const { reasons, holdsUntil, changes, assumed } = res.body.summary;
      expect(holdsUntil).toBe('2026-03-01');
      expect(reasons.map((r: { rule: string }) => r.rule)).toEqual(['segment-3-service-restriction']);
      expect(reasons[0].text).toMatch(/from 2025-03-01 to 2026-02-28/);
      expect(reasons[0].citation).toMatch(/^001_f3898d6cd45509ea\.txt, Resources, Table 4, Step 1/);
      // Some change takes segment 3 away, and its patch is on the facts as sent (the restriction is the first entry).
      const away = changes.filter((c: { outcome: { segment: number } }) => c.outcome.segment !== 3);
      expect(away.length).toBeGreaterThan(0);
      expect(JSON.stringify(away.map((c: { patch: unknown }) => c.patch))).toMatch(/\/customer\/serviceRestrictions\/0/);
      // meetsCommitments is left out, and the rule file takes it to be true.
      expect(assumed).toEqual([expect.objectContaining({ fact: 'customer.meetsCommitments', value: true })]);
      const record = await app.log.find(res.body.decisionId as string);
      expect(record).toEqual(expect.objectContaining({ decisionId: res.body.decisionId, evaluator: engine, outcome: res.body.outcome }));
    },
  );

  test('evaluate-batch with explain=summary answers each line as evaluate does, its summary with the changes', async () => {
    const lines = [
      { id: 'r', ...restricted },
      { id: 'bad', facts: { program: 'medicare' } },
    ];
    const res = await app
      .as('caseworker')
      .post(`${EVALUATE}-batch?explain=summary`)
      .set('Content-Type', 'application/x-ndjson')
      .send(lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(res.status).toBe(200);
    const [first, second] = res.text
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            line: number;
            decision?: Record<string, unknown> & { summary: { holdsUntil: string; changes: unknown[] } };
            problem?: { code: string };
          },
      );
    expect(Object.keys(first!.decision!)).toEqual(['decisionId', 'ruleSet', 'version', 'effective', 'asOf', 'evaluator', 'outcome', 'summary']);
    expect(first!.decision!.summary.holdsUntil).toBe('2026-03-01');
    expect(first!.decision!.summary.changes.length).toBeGreaterThan(0);
    expect(second!.problem!.code).toBe('invalid-request');
    expect(await app.log.find(first!.decision!.decisionId as string)).toEqual(expect.objectContaining({ outcome: first!.decision!.outcome }));
  });

  test('the full answer is the summary answer and the trace: the same summary, changes included', async () => {
    const full = await app.as('caseworker').post(EVALUATE).send(restricted);
    const summary = await app.as('caseworker').post(`${EVALUATE}?explain=summary`).send(restricted);
    expect(full.status).toBe(200);
    expect(Object.keys(full.body).slice(0, 8)).toEqual(['decisionId', 'ruleSet', 'version', 'effective', 'asOf', 'evaluator', 'outcome', 'summary']);
    expect(full.body.summary.holdsUntil).toBe('2026-03-01');
    expect(full.body.summary.changes.length).toBeGreaterThan(0);
    expect(full.body.summary).toEqual(summary.body.summary);
    expect(full.body.explanation.length).toBeGreaterThan(5);
  });
});
