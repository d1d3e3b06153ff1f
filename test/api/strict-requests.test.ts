// Requests held to the document: what /openapi.json does not say a route takes is refused as problem+json, naming what
// is wrong, not silently accepted. (The asOf of GET /v1/rulesets/{name} is in app.test.ts, an empty batch in batch.test.ts.)
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Role } from '../../src/api/access';
import { Metrics } from '../../src/api/metrics';
import { openApiDocument } from '../../src/api/openapi';
import { versionsByFile } from '../../src/loader/load';
import { bearer, testApp } from '../support/app';
import { rawConnection } from '../support/raw';
import { RULES_DIR, shippedRules } from '../support';
import { SqliteProposalStore } from '../../src/authoring/proposal-store';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { RULE_SET_MODULES } from '../../src/rulesets';

const registry = shippedRules();
let reloads = 0;
// Proposals on a copy of the rules (nothing here publishes: the proposal approved and rejected below is rejected already).
const rulesCopy = mkdtempSync(path.join(tmpdir(), 'strict-rules-'));
cpSync(RULES_DIR, rulesCopy, { recursive: true });
const log = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'strict-log-')) });
const proposals = new SqliteProposalStore(log.location);
const app = testApp({
  log,
  proposals: { store: proposals, directory: rulesCopy, modules: RULE_SET_MODULES },
  rules: () => registry,
  reload: () => {
    reloads += 1;
    return { ok: true, versions: versionsByFile(registry), changed: [], issues: [] };
  },
  candidateRules: () => registry,
  clock: () => new Date('2025-06-01T15:00:00Z'),
  metrics: new Metrics({ processMetrics: false }),
});

const facts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } };
const NDJSON = 'application/x-ndjson';
const JSON_TYPE = 'application/json';

/** Every operation the document lists, as "METHOD /template". */
const OPERATIONS = Object.entries(openApiDocument().paths).flatMap(([template, item]) =>
  Object.keys(item)
    .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map((method) => `${method.toUpperCase()} ${template}`),
);

interface Call {
  method: 'get' | 'post';
  path: string;
  role?: Role;
  type?: string;
  body?: string;
  /** The status it answers when all is well, if not 200: a proposal made is 201; deciding one decided already is 409, every time. */
  ok?: number;
}

/** For each operation, a request it answers 200: only what a test changes in it is at fault. */
function callsFor(decisionId: string, proposalId: string): Record<string, Call> {
  const evaluate = JSON.stringify({ asOf: '2025-06-02', facts });
  const comment = JSON.stringify({ comment: 'Checked.' });
  return {
    'GET /health': { method: 'get', path: '/health' },
    'GET /ready': { method: 'get', path: '/ready' },
    'GET /metrics': { method: 'get', path: '/metrics' },
    'GET /openapi.json': { method: 'get', path: '/openapi.json' },
    'GET /rules': { method: 'get', path: '/rules' },
    'GET /v1/rulesets': { method: 'get', path: '/v1/rulesets', role: 'caseworker' },
    'GET /v1/rulesets/{name}': { method: 'get', path: '/v1/rulesets/direct-referral', role: 'caseworker' },
    'POST /v1/rulesets/{name}/evaluate': { method: 'post', path: '/v1/rulesets/direct-referral/evaluate', role: 'caseworker', type: JSON_TYPE, body: evaluate },
    'POST /v1/rulesets/{name}/evaluate-batch': {
      method: 'post',
      path: '/v1/rulesets/direct-referral/evaluate-batch',
      role: 'caseworker',
      type: NDJSON,
      body: `${evaluate}\n`,
    },
    'POST /v1/admin/reload': { method: 'post', path: '/v1/admin/reload', role: 'policy' },
    'POST /v1/admin/impact': {
      method: 'post',
      path: '/v1/admin/impact',
      role: 'policy',
      type: JSON_TYPE,
      body: JSON.stringify({ cases: [{ id: 'a', ruleSet: 'direct-referral', asOf: '2025-06-02', facts }] }),
    },
    'GET /v1/decisions/{id}': { method: 'get', path: `/v1/decisions/${decisionId}`, role: 'auditor' },
    'POST /v1/decisions/{id}/reproduce': {
      method: 'post',
      path: `/v1/decisions/${decisionId}/reproduce`,
      role: 'auditor',
      type: JSON_TYPE,
      body: JSON.stringify({ facts }),
    },
    'GET /v1/rulesets/{name}/history': { method: 'get', path: '/v1/rulesets/direct-referral/history', role: 'auditor' },
    'POST /v1/proposals': {
      method: 'post',
      path: '/v1/proposals',
      role: 'policy',
      type: JSON_TYPE,
      body: JSON.stringify({ ruleSet: 'direct-referral', file: draft, effectiveFrom: '2025-06-03', rationale: 'Why not.' }),
      ok: 201,
    },
    'POST /v1/rulesets/{name}/draft-impact': {
      method: 'post',
      path: '/v1/rulesets/direct-referral/draft-impact',
      role: 'policy',
      type: JSON_TYPE,
      body: JSON.stringify({ file: draft }),
    },
    'GET /v1/proposals': { method: 'get', path: '/v1/proposals', role: 'auditor' },
    'GET /v1/proposals/{id}': { method: 'get', path: `/v1/proposals/${proposalId}`, role: 'auditor' },
    'POST /v1/proposals/{id}/approve': { method: 'post', path: `/v1/proposals/${proposalId}/approve`, role: 'policy', type: JSON_TYPE, body: comment, ok: 409 },
    'POST /v1/proposals/{id}/reject': { method: 'post', path: `/v1/proposals/${proposalId}/reject`, role: 'policy', type: JSON_TYPE, body: comment, ok: 409 },
  };
}

const draft = JSON.parse(readFileSync(path.join(RULES_DIR, 'direct-referral.json'), 'utf8')) as Record<string, unknown>;
/** A proposal another officer has rejected: approving or rejecting it again is a 409, however often it is asked. */
function rejectedProposal(): string {
  const id = randomUUID();
  const base = registry.ruleSets.get('direct-referral')!.latest.version;
  const impact = { cases: 0, unchanged: 0, changed: [], refused: [], counts: {} };
  const made = { ruleSet: 'direct-referral', baseVersion: base, effectiveFrom: '2025-06-03', rationale: 'Why not.', file: draft, impact };
  proposals.create({ id, ...made, proposedBy: 'someone-else', proposedAt: '2025-06-01T15:00:00.000Z' });
  proposals.decide(id, 'rejected', { by: 'another', at: '2025-06-01T15:00:00.000Z', comment: 'No.' });
  return id;
}

/** The answer is a problem+json of this code and status, with these fields too. */
function expectProblem(res: request.Response, code: string, status: number, fields: Record<string, unknown>): void {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(expect.objectContaining({ type: `urn:ps-decisions:problem:${code}`, code, status, ...fields }));
}

function send(call: Call, overrides: { path?: string; type?: string | null } = {}) {
  let req = request(app.listener)[call.method](overrides.path ?? call.path);
  if (call.role) req = req.set('Authorization', bearer(call.role));
  const type = overrides.type === undefined ? call.type : overrides.type;
  if (type !== undefined && type !== null) req = req.set('Content-Type', type);
  // As it is: superagent would write a string out as JSON, or a form, by the type it was told.
  return call.body === undefined ? req : req.serialize((data: unknown) => data as string).send(call.body);
}

let calls: Record<string, Call>;
let server: http.Server;
beforeAll(async () => {
  server = await app.listen();
  const decided = await app
    .as('caseworker')
    .post('/v1/rulesets/direct-referral/evaluate')
    .set('Content-Type', JSON_TYPE)
    .send(JSON.stringify({ asOf: '2025-06-02', facts }));
  expect(decided.status).toBe(200);
  calls = callsFor(decided.body.decisionId as string, rejectedProposal());
});
afterAll(async () => {
  proposals.close();
  await log.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('every operation the document lists has a request here', () => {
  expect(Object.keys(callsFor('id', 'id')).sort()).toEqual([...OPERATIONS].sort());
});

describe('a trailing slash is another path, one nothing is served at: 404 on every route', () => {
  test.each(OPERATIONS)('%s', async (name) => {
    const call = calls[name]!;
    const plain = await send(call);
    expect(plain.status).toBe(call.ok ?? 200);
    const slashed = await send(call, { path: `${call.path}/` });
    expect(slashed.status).toBe(404);
    expectProblem(slashed, 'not-found', 404, { detail: `Nothing is served at ${call.method.toUpperCase()} ${call.path}/.` });
  });

  test('with a query string too', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets/direct-referral/?asOf=2025-06-02');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not-found');
  });
});

/** A POST on a connection of its own, its body written as given (chunked when no Content-Length is set): no header but those given and the key. */
function post(
  path: string,
  headers: Record<string, string>,
  write: (req: http.ClientRequest) => void,
  role: Role = 'policy',
): Promise<{ status: number; type: string | undefined; body: Record<string, unknown> }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ port, method: 'POST', path, agent: false, headers: { Authorization: bearer(role), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    write(req);
  });
}

describe('POST /v1/admin/reload reads no body, and refuses one', () => {
  const expectBodyRefused = (res: { status: number; type?: string; body: Record<string, unknown> }, sent: string) => {
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual(
      expect.objectContaining({
        type: 'urn:ps-decisions:problem:invalid-request',
        code: 'invalid-request',
        status: 400,
        detail: `POST /v1/admin/reload reads no body; send the request without one (got ${sent}).`,
        errors: [{ pointer: '', detail: 'must be empty: this route reads no body' }],
      }),
    );
  };

  test('without a body it reloads', async () => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reloaded: true, versions: versionsByFile(registry), changed: [] });
    expect(reloads).toBe(before + 1);
  });

  test('an empty body, whatever its type says, is no body: it reloads', async () => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload').set('Content-Type', 'application/json').send('');
    expect(res.status).toBe(200);
    expect(reloads).toBe(before + 1);
  });

  test.each([
    ['{}', 'application/json'],
    ['{"files":["direct-referral.json"]}', 'application/json'],
    ['reload', 'text/plain'],
    ['x', 'application/octet-stream'],
  ])('a body (%s, %s) is a 400 naming the body, and nothing is reloaded', async (body, type) => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload').set('Content-Type', type).send(body);
    expectBodyRefused(res, `a body of ${Buffer.byteLength(body)} bytes`);
    expect(reloads).toBe(before);
  });

  test('a chunked body is refused at its first byte; a chunked body that ends empty is none', async () => {
    const before = reloads;
    const chunked = await post('/v1/admin/reload', { 'Content-Type': 'application/json' }, (req) => {
      req.write('{}');
      req.end();
    });
    expectBodyRefused(chunked, 'a chunked body');
    expect(reloads).toBe(before);
    const empty = await post('/v1/admin/reload', { 'Transfer-Encoding': 'chunked' }, (req) => req.end());
    expect(empty.status).toBe(200);
    expect(reloads).toBe(before + 1);
  });

  test('a declared body is refused unread: the 400 comes before it is sent, and the connection closes', async () => {
    const before = reloads;
    const connection = rawConnection(
      server,
      `POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer('policy')}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{`,
    );
    try {
      expect(Number.isNaN(await connection.ended)).toBe(false);
      const received = connection.received();
      expect(received).toMatch(/^HTTP\/1\.1 400 /);
      expect(received).toMatch(/\r\nconnection: close\r\n/i);
      expect(received).toContain('"code":"invalid-request"');
      expect(reloads).toBe(before);
    } finally {
      connection.socket.destroy();
    }
  });
});

describe('each POST route takes exactly the request media types the document lists, and answers any other 415 naming Content-Type', () => {
  const document = openApiDocument();
  const POSTS = OPERATIONS.filter((name) => name.startsWith('POST '));
  /** The request media types the document lists for an operation; none when it takes no body. */
  const listed = (name: string): string[] => {
    const [method, template] = name.split(' ') as [string, string];
    const operation = document.paths[template]?.[method.toLowerCase()] as { requestBody?: { content?: Record<string, unknown> } };
    return Object.keys(operation.requestBody?.content ?? {});
  };
  const UNLISTED = [
    'text/plain',
    'application/vnd.ps+json',
    'application/problem+json',
    'application/json',
    'application/x-ndjson',
    'application/x-www-form-urlencoded',
    'application/*',
    'application/jsonx',
  ];

  test('the JSON routes list application/json alone; evaluate-batch application/x-ndjson alone; reload no body', () => {
    expect(Object.fromEntries(POSTS.map((name) => [name, listed(name)]))).toEqual({
      'POST /v1/rulesets/{name}/evaluate': [JSON_TYPE],
      'POST /v1/rulesets/{name}/evaluate-batch': [NDJSON],
      'POST /v1/admin/reload': [],
      'POST /v1/admin/impact': [JSON_TYPE],
      'POST /v1/decisions/{id}/reproduce': [JSON_TYPE],
      'POST /v1/proposals': [JSON_TYPE],
      'POST /v1/rulesets/{name}/draft-impact': [JSON_TYPE],
      'POST /v1/proposals/{id}/approve': [JSON_TYPE],
      'POST /v1/proposals/{id}/reject': [JSON_TYPE],
    });
  });

  test.each(POSTS.filter((name) => listed(name).length > 0))('%s: each type listed is taken', async (name) => {
    for (const type of listed(name)) {
      for (const header of [type, `${type}; charset=utf-8`, type.toUpperCase()]) {
        const res = await send(calls[name]!, { type: header });
        expect([header, res.status]).toEqual([header, calls[name]!.ok ?? 200]);
      }
    }
  });

  test.each(POSTS.filter((name) => listed(name).length > 0))('%s: any other type is a 415 naming Content-Type and listing the types taken', async (name) => {
    const accepted = listed(name);
    for (const type of UNLISTED.filter((t) => !accepted.includes(t))) {
      const res = await send(calls[name]!, { type });
      expect([type, res.status]).toEqual([type, 415]);
      expectProblem(res, 'unsupported-media-type', 415, { errors: [{ pointer: '', detail: `header Content-Type must be ${accepted.join(' or ')}` }] });
      expect(res.body.detail).toContain(`(got Content-Type ${type})`);
      expect(res.body.detail).toContain(`Accepted: ${accepted.join(', ')}.`);
    }
  });

  test.each(POSTS.filter((name) => listed(name).length > 0))('%s: a body with no Content-Type is a 415 naming it', async (name) => {
    const call = calls[name]!;
    const res = await post(call.path, { 'Content-Length': String(Buffer.byteLength(call.body!)) }, (req) => req.end(call.body), call.role);
    expect(res.status).toBe(415);
    expect(res.body).toEqual(
      expect.objectContaining({
        code: 'unsupported-media-type',
        errors: [{ pointer: '', detail: `header Content-Type must be ${listed(name).join(' or ')}` }],
      }),
    );
    expect(res.body.detail).toContain('(got no Content-Type)');
  });

  test.each(POSTS.filter((name) => listed(name).length === 0))('%s: takes no body, so a body of any type is a 400 naming the body', async (name) => {
    for (const type of [JSON_TYPE, NDJSON, 'text/plain']) {
      const res = await send({ ...calls[name]!, body: '{}' }, { type });
      expect([type, res.status]).toEqual([type, 400]);
      expect(res.body.errors).toEqual([{ pointer: '', detail: 'must be empty: this route reads no body' }]);
    }
  });

  test('a charset the body cannot be read in is a 415 naming Content-Type, on the JSON routes and the batch alike', async () => {
    for (const name of ['POST /v1/rulesets/{name}/evaluate', 'POST /v1/admin/impact', 'POST /v1/decisions/{id}/reproduce']) {
      const res = await send(calls[name]!, { type: `${JSON_TYPE}; charset=latin1` });
      expect([name, res.status, res.body.errors]).toEqual([
        name,
        415,
        [{ pointer: '', detail: "header Content-Type's charset is not one the body can be read in" }],
      ]);
    }
    const batch = await send(calls['POST /v1/rulesets/{name}/evaluate-batch']!, { type: `${NDJSON}; charset=latin1` });
    expect(batch.status).toBe(415);
    expect(batch.body.errors).toEqual([{ pointer: '', detail: "header Content-Type's charset must be utf-8" }]);
  });
});
