// Issue 19 point 5, every server at once: two service processes (the built server, as `npm start` runs it, each a real
// OS process with a rules folder of its own, as on two machines) on one real PostgreSQL. Officer A proposes on the first
// a wider aggression window in direct-referral from tomorrow, officer B approves it there, and the second serves the new
// version for tomorrow within 2 s, having learnt of it from PostgreSQL (NOTIFY, or a poll). Today both still serve the
// old version, ended today. No decision either made carries a version whose text the log does not hold.
//
// The server's clock is the real one, so "tomorrow" is tomorrow in Sydney by the real date, and cases are decided with
// asOf that date.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { addDays, todayInSydney } from '../../src/dates/calendar';
import { RULES_DIR } from '../support';
import { TEST_KEYS, TEST_SECRETS } from '../support/app';
import { ensureBuilt, SERVER } from '../support/built';
import { startPostgres, type TestPostgres } from '../support/postgres';

const SECRET_B = 'policy-b-test-secret-0123456789abcdef';
const KEYS = `${TEST_KEYS},pol2:policy:${SECRET_B}`;

interface Service {
  name: string;
  child: ChildProcessWithoutNullStreams;
  port: number;
  dir: string;
  logs: { msg: string; [key: string]: unknown }[];
}

let pg: TestPostgres;
const services: Service[] = [];
const folders: string[] = [];

/** The built server, WORKERS=1, on a free port, with its own copy of the rules and the shared decision log. */
function startService(name: string, url: string): Promise<Service> {
  const dir = mkdtempSync(path.join(tmpdir(), `ps-${name}-rules-`));
  cpSync(RULES_DIR, dir, { recursive: true });
  const data = mkdtempSync(path.join(tmpdir(), `ps-${name}-data-`));
  folders.push(dir, data);
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, WORKERS: '1', HOST: '127.0.0.1', PORT: '0', RULES_DIR: dir, DATA_DIR: data, DECISION_LOG_URL: url, API_KEYS: KEYS },
  });
  const logs: Service['logs'] = [];
  let printed = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${printed}`)), 60_000);
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      printed += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) {
        if (!text.trim()) continue;
        const line = JSON.parse(text) as Service['logs'][number];
        logs.push(line);
        if (line.msg.startsWith('listening on')) {
          clearTimeout(timer);
          const service = { name, child, port: line.port as number, dir, logs };
          services.push(service);
          resolve(service);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (printed += chunk));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${printed}`)));
  });
}

/** What the test reads of the service's answers. */
interface Answer {
  id?: string;
  version?: string;
  outcome?: { eligible?: boolean };
  effective?: { from: string | null; to: string | null };
  published?: { version: string };
}

async function call(service: Service, method: string, route: string, secret: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${service.port}${route}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

beforeAll(async () => {
  ensureBuilt();
  pg = await startPostgres('ps_shared');
}, 240_000);

afterAll(async () => {
  for (const s of services) {
    if (s.child.exitCode !== null) continue;
    const exited = new Promise((resolve) => s.child.once('exit', resolve));
    s.child.kill('SIGTERM');
    await exited;
  }
  await pg?.stop();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

test('approved on one process, the other serves the new version for its date within 2 s; every decision’s version is in the log', async () => {
  const [one, two] = await Promise.all([startService('one', pg.url), startService('two', pg.url)]);
  expect(one.child.pid).not.toBe(two.child.pid);
  const today = todayInSydney(new Date());
  const tomorrow = addDays(today, 1);
  // Abusive face to face about 18 months before tomorrow: inside a 24-month window, outside a 12-month one.
  const referral = (asOf: string) => ({
    asOf,
    facts: {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: asOf },
      customer: { incidents: [{ date: addDays(tomorrow, -548), kind: 'verbal-abuse', setting: 'face-to-face' }] },
    },
  });
  const evaluate = (s: Service, asOf: string) => call(s, 'POST', '/v1/rulesets/direct-referral/evaluate', TEST_SECRETS.caseworker, referral(asOf));
  const inForce = async (s: Service, asOf: string) =>
    (await call(s, 'GET', `/v1/rulesets/direct-referral?asOf=${asOf}`, TEST_SECRETS.caseworker)).body.version as string;

  // Before: both serve the shipped version, under which tomorrow's case goes direct.
  const oldVersion = await inForce(one, tomorrow);
  expect(await inForce(two, tomorrow)).toBe(oldVersion);
  const before = await evaluate(two, tomorrow);
  expect(before.status).toBe(200);
  expect(before.body.outcome?.eligible).toBe(true);

  const file = JSON.parse(readFileSync(path.join(one.dir, 'direct-referral.json'), 'utf8')) as { parameters: { aggressionWindowMonths: { value: number } } };
  expect(file.parameters.aggressionWindowMonths.value).toBe(12);
  file.parameters.aggressionWindowMonths.value = 24;
  const proposed = await call(one, 'POST', '/v1/proposals', TEST_SECRETS.policy, {
    ruleSet: 'direct-referral',
    file,
    effectiveFrom: tomorrow,
    rationale: 'The procedure now looks back two years for face-to-face aggression.',
  });
  expect(proposed.status).toBe(201);
  const approved = await call(one, 'POST', `/v1/proposals/${proposed.body.id as string}/approve`, SECRET_B, { comment: 'Checked.' });
  const approvedAt = Date.now();
  expect(approved.status).toBe(200);
  const newVersion = approved.body.published?.version as string;
  expect(newVersion).not.toBe(oldVersion);
  // The approving process answers with it swapped in already.
  expect(await inForce(one, tomorrow)).toBe(newVersion);

  // The other process: within 2 s.
  while ((await inForce(two, tomorrow)) !== newVersion) {
    expect(Date.now() - approvedAt).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(Date.now() - approvedAt).toBeLessThan(2_000);
  expect(two.logs.some((l) => l.msg === 'published rule versions arrived')).toBe(true);

  // Both decide alike: tomorrow under the new version, today under the old one (ended today, so a new hash).
  const endedVersions = new Set<string>();
  for (const s of [one, two]) {
    const t = await evaluate(s, today);
    const n = await evaluate(s, tomorrow);
    expect([t.status, n.status]).toEqual([200, 200]);
    expect(t.body.outcome?.eligible).toBe(true);
    expect(t.body.effective).toEqual({ from: '2025-01-14', to: today });
    expect(n.body.outcome?.eligible).toBe(false);
    expect(n.body.version).toBe(newVersion);
    expect(n.body.effective).toEqual({ from: tomorrow, to: null });
    endedVersions.add(t.body.version as string);
  }
  expect(endedVersions.size).toBe(1);

  // No decision anywhere carries a version the log does not hold, and the log holds the published texts as published.
  const db = new Client({ connectionString: pg.url });
  await db.connect();
  try {
    const { rows: decisions } = await db.query<{ version: string; archived: boolean }>(
      'SELECT d.version, r.version IS NOT NULL AS archived FROM decisions d LEFT JOIN rule_versions r ON r.version = d.version',
    );
    expect(decisions).toHaveLength(5);
    expect(decisions.filter((d) => !d.archived)).toEqual([]);
    expect(new Set(decisions.map((d) => d.version))).toEqual(new Set([oldVersion, newVersion, ...endedVersions]));
    const { rows } = await db.query<{ same_new: boolean; same_ended: boolean }>(
      `SELECT n.rule_text = p.text AS same_new, e.rule_text = p.ended_text AS same_ended
         FROM published_versions p JOIN rule_versions n ON n.version = p.version JOIN rule_versions e ON e.version = p.ended_version`,
    );
    expect(rows).toEqual([{ same_new: true, same_ended: true }]);
  } finally {
    await db.end();
  }
}, 120_000);
