// The evaluate route's lane (app.ts): the same handlers outside Express's router. Whatever a request is, the lane must
// answer it exactly as Express would: the same status, headers and body. Each request below is sent twice, once on the
// lane's path and once with `?engine=compiled` (which the lane leaves to Express, and which changes nothing else).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { takesLane } from '../../src/api/app';
import type { Role } from '../../src/api/access';
import type { DecisionLog } from '../../src/decisions/log';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { loadRules } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR } from '../support';
import { bearer, testApp, type TestApp } from '../support/app';

const registry = loadRules(RULES_DIR, { modules: RULE_SET_MODULES });
const quiet = { error: () => {} };
const LANE = '/v1/rulesets/segment-allocation/evaluate';

const facts = { program: 'centrelink', referral: { source: 'social-work-services', receivedOn: '2025-11-20' }, customer: { psHistory: 'never' } };
const body = JSON.stringify({ asOf: '2025-11-20', facts });

interface Case {
  name: string;
  path?: string;
  role?: Role | 'none';
  headers?: Record<string, string>;
  body: string | Buffer;
  status: number;
}

const CASES: Case[] = [
  { name: 'a decision', body, status: 200 },
  { name: 'a decision on the other rule set', path: '/v1/rulesets/direct-referral/evaluate', body: JSON.stringify({ asOf: '2025-04-17', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } } }), status: 200 },
  { name: 'a body with a byte-order mark', body: `\ufeff${body}`, status: 200 },
  { name: 'a gzip body (read by express.json)', headers: { 'Content-Encoding': 'gzip' }, body: gzipSync(body), status: 200 },
  { name: 'application/*+json', headers: { 'Content-Type': 'application/vnd.ps+json' }, body, status: 200 },
  { name: 'facts that break the schema', body: JSON.stringify({ facts: { program: 'medicare', referral: { source: 'nowhere' } } }), status: 400 },
  { name: 'malformed JSON', body: '{"facts": ', status: 400 },
  { name: 'a JSON string, not an object', body: '"facts"', status: 400 },
  { name: 'an asOf that is not a date', body: JSON.stringify({ asOf: '2025-02-30', facts }), status: 400 },
  { name: 'text/plain', headers: { 'Content-Type': 'text/plain' }, body, status: 415 },
  { name: 'a charset other than UTF-8', headers: { 'Content-Type': 'application/json; charset=latin1' }, body, status: 415 },
  { name: 'no key', role: 'none', body, status: 401 },
  { name: 'a Basic header', role: 'none', headers: { Authorization: 'Basic dXNlcjpwYXNz' }, body, status: 401 },
  { name: 'the auditor\'s key', role: 'auditor', body, status: 403 },
  { name: 'an unknown rule set', path: '/v1/rulesets/no-such-set/evaluate', body, status: 404 },
  { name: 'a body over 1 MiB', body: JSON.stringify({ facts, pad: 'x'.repeat(1024 * 1024) }), status: 413 },
];

/** What may differ between two answers to the same request: its ids, the time, and the query string in `instance`. */
function normalised(res: request.Response) {
  const headers = { ...res.headers };
  for (const name of ['date', 'x-request-id', 'x-decision-id', 'content-length', 'ratelimit']) {
    expect(headers[name] === undefined).toBe(res.headers[name] === undefined);
    delete headers[name];
  }
  const doc = JSON.parse(res.text) as Record<string, unknown>;
  if (typeof doc.decisionId === 'string') doc.decisionId = '<id>';
  if (typeof doc.instance === 'string') doc.instance = doc.instance.replace(/\?.*$/, '');
  return { status: res.status, headers, doc };
}

function send(app: TestApp, c: Case, query = '') {
  let req = request(app.listener).post(`${c.path ?? LANE}${query}`).set('Content-Type', 'application/json');
  if (c.role !== 'none') req = req.set('Authorization', bearer(c.role ?? 'caseworker'));
  for (const [name, value] of Object.entries(c.headers ?? {})) req = req.set(name, value);
  // A Buffer as it is: superagent would write it out as JSON, being told the body is application/json.
  return Buffer.isBuffer(c.body) ? req.serialize((data: unknown) => data as string).send(c.body) : req.send(c.body);
}

describe('which requests take the lane', () => {
  test('an evaluate POST with a plain rule-set name and no query string; nothing else', () => {
    expect(takesLane('POST', '/v1/rulesets/segment-allocation/evaluate')).toBe(true);
    expect(takesLane('POST', '/v1/rulesets/no-such-set/evaluate')).toBe(true);
    expect(takesLane('POST', '/v1/rulesets/segment-allocation/evaluate?engine=reference')).toBe(false);
    expect(takesLane('POST', '/v1/rulesets/segment%2Dallocation/evaluate')).toBe(false);
    expect(takesLane('POST', '/v1/rulesets/segment-allocation/evaluate/')).toBe(false);
    expect(takesLane('POST', '/v1/rulesets/segment-allocation/evaluate-batch')).toBe(false);
    expect(takesLane('POST', '/V1/rulesets/segment-allocation/evaluate')).toBe(false);
    expect(takesLane('GET', '/v1/rulesets/segment-allocation/evaluate')).toBe(false);
    expect(takesLane('OPTIONS', '/v1/rulesets/segment-allocation/evaluate')).toBe(false);
    expect(takesLane('POST', undefined)).toBe(false);
  });
});

describe('the lane answers as Express does', () => {
  const app = testApp({ rules: () => registry, logger: quiet, ratePerMinute: 1000, requestTimeoutMs: 10_000 });

  test.each(CASES)('$name: $status', async (c) => {
    const lane = await send(app, c);
    const express = await send(app, c, '?engine=compiled');
    expect(lane.status).toBe(c.status);
    expect(normalised(lane)).toEqual(normalised(express));
  });

  test('each decision given on the lane is in the decision log under its id, as on Express', async () => {
    const lane = await send(app, CASES[0]!);
    const express = await send(app, CASES[0]!, '?engine=compiled');
    for (const res of [lane, express]) {
      const record = await app.log.find(res.headers['x-decision-id'] as string);
      expect(record).toEqual(expect.objectContaining({ decisionId: res.body.decisionId, keyId: 'cw1', ruleSet: 'segment-allocation', version: res.body.version, outcome: res.body.outcome }));
    }
  });
});

describe('the lane and Express share one allowance per key', () => {
  test('three requests a minute, however they are routed: the fourth is a 429 on either', async () => {
    const app = testApp({ rules: () => registry, logger: quiet, ratePerMinute: 3 });
    const remaining: string[] = [];
    for (const query of ['', '?engine=compiled', '']) {
      const res = await send(app, CASES[0]!, query);
      expect(res.status).toBe(200);
      remaining.push(/r=(\d+)/.exec(res.headers['ratelimit'] as string)?.[1] ?? '');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    for (const query of ['', '?engine=compiled']) {
      const res = await send(app, CASES[0]!, query);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('rate-limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });
});

describe('the request timeout holds on the lane', () => {
  test('a decision the log takes too long to record is a 503 timeout, and nothing else is written after it', async () => {
    const sqlite = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'ps-lane-')) });
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
      expect(res.body).toEqual(expect.objectContaining({ code: 'timeout', instance: LANE }));
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      await sqlite.close();
    }
  });
});
