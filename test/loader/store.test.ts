// Safe reloads: a broken edit is refused with the validator's words while the last good rules keep serving.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bearer, testApp } from '../support/app';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR } from '../support';

function setUp() {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const logs: { level: string; details: object; message: string }[] = [];
  const logger = {
    info: (details: object, message: string) => logs.push({ level: 'info', details, message }),
    warn: (details: object, message: string) => logs.push({ level: 'warn', details, message }),
    error: (details: object, message: string) => logs.push({ level: 'error', details, message }),
  };
  const store = new RuleStore(dir, RULE_SET_MODULES, logger);
  const app = testApp({ rules: () => store.current(), reload: () => store.reload(), logger });
  const file = path.join(dir, 'direct-referral.json');
  return { dir, store, app, logs, file, original: readFileSync(file, 'utf8') };
}

const body = { asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } };

test('a broken edit is refused; requests keep succeeding on the old version; the fix swaps to the new one', async () => {
  const { app, logs, file, original } = setUp();
  const before = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
  expect(before.status).toBe(200);

  writeFileSync(file, original.replace('"customer.zoneCaseManagement"', '"customer.zoneCaseManagment"'));
  const refused = await app.as('policy').post('/v1/admin/reload');
  expect(refused.status).toBe(422);
  expect(refused.type).toBe('application/problem+json');
  expect(refused.body.errors[0]).toEqual(
    expect.objectContaining({
      file: 'direct-referral.json',
      line: expect.any(Number),
      column: expect.any(Number),
      detail: expect.stringMatching(/did you mean "customer\.zoneCaseManagement"/),
    }),
  );
  expect(logs.find((l) => l.level === 'warn')!.message).toMatch(/direct-referral\.json:\d+:\d+ fact "customer\.zoneCaseManagment" does not exist/);

  const during = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
  expect(during.status).toBe(200);
  expect(during.body.version).toBe(before.body.version);

  writeFileSync(file, original.replace('"value": 12,', '"value": 24,'));
  const accepted = await app.as('policy').post('/v1/admin/reload');
  expect(accepted.status).toBe(200);
  expect(accepted.body.changed).toEqual(['direct-referral.json']);
  const after = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
  expect(after.body.version).not.toBe(before.body.version);
  expect(after.body.version).toBe(accepted.body.versions['direct-referral.json']);
  expect(after.body.parameters.aggressionWindowMonths).toBe(24);
});

test('a request in flight finishes on the rules it started with', async () => {
  const { app, store, file, original } = setUp();
  const oldVersion = store.current().ruleSets.get('direct-referral')!.latest.version;
  const server = await app.listen();
  const { port } = server.address() as AddressInfo;
  const payload = JSON.stringify(body);
  const response = new Promise<{ version: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        port,
        method: 'POST',
        path: '/v1/rulesets/direct-referral/evaluate',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: bearer('caseworker') },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    // Half the body now; the rules change; the rest of the body afterwards.
    req.write(payload.slice(0, 10));
    setTimeout(() => {
      writeFileSync(file, original.replace('"value": 12,', '"value": 24,'));
      expect(store.reload().ok).toBe(true);
      req.end(payload.slice(10));
    }, 100);
  });
  const decided = await response;
  server.close();
  expect(decided.version).toBe(oldVersion);
  expect(store.current().ruleSets.get('direct-referral')!.latest.version).not.toBe(oldVersion);
});

test('saving a rule file is picked up by the file watch', async () => {
  const { store, file, original, logs } = setUp();
  const oldVersion = store.current().ruleSets.get('direct-referral')!.latest.version;
  store.watch(50);
  try {
    writeFileSync(file, original.replace('"value": 5,', '"value": 6,'));
    for (let i = 0; i < 50 && store.current().ruleSets.get('direct-referral')!.latest.version === oldVersion; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(store.current().ruleSets.get('direct-referral')!.latest.version).not.toBe(oldVersion);
    expect(logs.some((l) => /rules reloaded: direct-referral.json changed/.test(l.message))).toBe(true);
  } finally {
    store.close();
  }
});

test('every reload is reported, refused or not, whoever asked (the server counts them in its metrics)', () => {
  const { store, file, original } = setUp();
  const reports: boolean[] = [];
  store.onReload = (report) => reports.push(report.ok);
  writeFileSync(file, original.replace('"customer.zoneCaseManagement"', '"customer.zoneCaseManagment"'));
  store.reload();
  writeFileSync(file, original);
  store.reload();
  expect(reports).toEqual([false, true]);
});
