// Who may call what, on every route: no key and a wrong key are 401, a key of the wrong role 403, all as problem+json.
import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Role } from '../../src/api/access';
import { loadRules } from '../../src/loader/load';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { SqliteProposalStore } from '../../src/authoring/proposal-store';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { RULES_DIR } from '../support';
import { TEST_SECRETS as SECRETS, testApp } from '../support/app';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const dir = mkdtempSync(path.join(tmpdir(), 'access-rules-'));
cpSync(RULES_DIR, dir, { recursive: true });
const store = new RuleStore(dir, RULE_SET_MODULES, quiet);
const log = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'access-log-')) });
const proposals = new SqliteProposalStore(log.location);
afterAll(async () => {
  store.close();
  proposals.close();
  await log.close();
});
const app = testApp({
  log,
  proposals: { store: proposals, directory: dir, modules: RULE_SET_MODULES },
  rules: () => store.current(),
  reload: () => store.reload(),
  candidateRules: () => loadRules(dir, { modules: RULE_SET_MODULES }),
  logger: quiet,
  ratePerMinute: 1000,
});

const facts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } };
const ID = '00000000-0000-4000-8000-000000000000';

interface Route {
  method: 'get' | 'post';
  path: string;
  type?: string;
  body?: string;
  /** Who may call it, as the issue grants: caseworkers evaluate and read rule sets; policy also reloads and runs impact analysis; auditors read the decision log (and the rule sets it cites). */
  roles: Role[];
}

const json = (value: unknown) => JSON.stringify(value);
const ROUTES: Route[] = [
  { method: 'get', path: '/v1/rulesets', roles: ['caseworker', 'policy', 'auditor'] },
  { method: 'get', path: '/v1/rulesets/direct-referral', roles: ['caseworker', 'policy', 'auditor'] },
  {
    method: 'post',
    path: '/v1/rulesets/direct-referral/evaluate',
    type: 'application/json',
    body: json({ asOf: '2025-06-02', facts }),
    roles: ['caseworker', 'policy'],
  },
  {
    method: 'post',
    path: '/v1/rulesets/direct-referral/evaluate-batch',
    type: 'application/x-ndjson',
    body: json({ asOf: '2025-06-02', facts }),
    roles: ['caseworker', 'policy'],
  },
  { method: 'post', path: '/v1/admin/reload', roles: ['policy'] },
  {
    method: 'post',
    path: '/v1/admin/impact',
    type: 'application/json',
    body: json({ cases: [{ id: 'a', ruleSet: 'direct-referral', asOf: '2025-06-02', facts }] }),
    roles: ['policy'],
  },
  {
    method: 'post',
    path: '/v1/rulesets/direct-referral/draft-impact',
    type: 'application/json',
    body: json({ file: { ruleSet: 'direct-referral' } }),
    roles: ['policy'],
  },
  { method: 'get', path: `/v1/decisions/${ID}`, roles: ['auditor'] },
  { method: 'get', path: '/v1/rulesets/direct-referral/history', roles: ['caseworker', 'policy', 'auditor'] },
  { method: 'get', path: '/v1/proposals', roles: ['policy', 'auditor'] },
  { method: 'get', path: `/v1/proposals/${ID}`, roles: ['policy', 'auditor'] },
  { method: 'post', path: '/v1/proposals', type: 'application/json', body: json({ ruleSet: 'direct-referral' }), roles: ['policy'] },
  { method: 'post', path: `/v1/proposals/${ID}/approve`, type: 'application/json', body: json({ comment: 'Yes.' }), roles: ['policy'] },
  { method: 'post', path: `/v1/proposals/${ID}/reject`, type: 'application/json', body: json({ comment: 'No.' }), roles: ['policy'] },
  { method: 'post', path: `/v1/decisions/${ID}/reproduce`, type: 'application/json', body: json({ facts }), roles: ['auditor'] },
];

function send(route: Route, authorization?: string) {
  let req = request(app.listener)[route.method](route.path);
  if (authorization !== undefined) req = req.set('Authorization', authorization);
  if (route.type) req = req.set('Content-Type', route.type);
  return route.body === undefined ? req : req.send(route.body);
}

function expectProblem(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.type).toBe('application/problem+json');
  expect(res.body).toEqual(expect.objectContaining({ status, code, detail: expect.any(String) }));
}

describe.each(ROUTES)('$method $path', (route) => {
  test('without a key: 401, and the answer says how to authenticate', async () => {
    const res = await send(route);
    expectProblem(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="ps-decisions"/);
  });

  test('with a key nobody holds: 401, and the secret is not repeated back', async () => {
    const res = await send(route, 'Bearer not-a-key-anybody-holds-0123456789');
    expectProblem(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(res.text).not.toContain('not-a-key-anybody-holds');
  });

  test('with a key of another scheme: 401', async () => {
    expectProblem(await send(route, `Basic ${Buffer.from(`x:${SECRETS.policy}`).toString('base64')}`), 401, 'unauthorized');
  });

  test.each(['caseworker', 'policy', 'auditor'] as Role[])('as %s', async (role) => {
    const res = await send(route, `Bearer ${SECRETS[role]}`);
    if (route.roles.includes(role)) {
      // Let in: whatever the route then answers, it is not an access refusal.
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expectProblem(res, 403, 'forbidden');
      expect(res.body.detail).toContain(role);
    }
  });
});

describe('public routes need no key', () => {
  test.each(['/health', '/ready', '/openapi.json', '/rules'])('GET %s', async (route) => {
    const res = await request(app.listener).get(route);
    expect(res.status).toBe(200);
  });
});

describe('security headers', () => {
  test('helmet sets them on API answers and the /rules page carries its own strict policy', async () => {
    const api = await app.as('caseworker').get('/v1/rulesets');
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['strict-transport-security']).toBeDefined();
    expect(api.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(api.headers['x-powered-by']).toBeUndefined();
    const page = await request(app.listener).get('/rules');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
  });
});

describe('a rate limit per key', () => {
  test('past its limit a key gets 429 problem+json with Retry-After; another key is unaffected', async () => {
    const limited = testApp({ rules: () => store.current(), logger: quiet, ratePerMinute: 3 });
    for (let i = 0; i < 3; i += 1) expect((await limited.as('caseworker').get('/v1/rulesets')).status).toBe(200);
    const refused = await limited.as('caseworker').get('/v1/rulesets');
    expectProblem(refused, 429, 'rate-limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await limited.as('policy').get('/v1/rulesets')).status).toBe(200);
  });
});

describe('OPTIONS', () => {
  test.each(ROUTES)('OPTIONS $path is the same 404 problem on every route, not a bare Allow answer', async (route) => {
    const res = await request(app.listener).options(route.path);
    expectProblem(res, 404, 'not-found');
  });
});
