// Issue 19 point 5, the store: proposals and published versions in a real PostgreSQL (the decision log's database). Two
// services on one database, each with its own rules folder (two machines), its own proposal store and its own feed:
// officer A proposes on the first, officer B approves there, and the second serves the new version from its date, loaded
// from PostgreSQL, with nothing written into either folder. Two approvals publish once; a stale base is a 409; a version
// one process cannot load is refused there and its last good rules kept.
import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import { LISTENER_NAME, PostgresProposalStore, PublishedVersionsFeed, type FeedTiming } from '../../src/authoring/postgres-proposal-store';
import { PostgresDecisionLog } from '../../src/decisions/postgres';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { FIXTURES_DIR, RULES_DIR } from '../support';
import { TEST_KEYS, testApp } from '../support/app';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { abusiveReferral, widenedDirectReferral } from '../support/drafts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET_B = 'policy-b-test-secret-0123456789abcdef';
const KEYS = `${TEST_KEYS},pol2:policy:${SECRET_B}`;
// Noon in Sydney on 10 March 2026 (AEDT, UTC+11): today is 2026-03-10, tomorrow 2026-03-11.
const NOW = new Date('2026-03-10T01:00:00Z');
const TODAY = '2026-03-10';
const TOMORROW = '2026-03-11';

let pg: TestPostgres;
const closers: (() => unknown)[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await pg?.stop();
});

/** A service on its own copy of the rules (a machine of its own) and the shared database. */
async function service(url: string, timing?: FeedTiming, clock = () => NOW) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-pg-proposals-rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const rules = new RuleStore(dir, RULE_SET_MODULES, quiet);
  const log = await PostgresDecisionLog.open(url);
  const store = await PostgresProposalStore.open(url);
  const feed = new PublishedVersionsFeed(url, store, () => rules.reload(), quiet, timing);
  rules.published = () => feed.all();
  await feed.start();
  closers.push(
    () => log.close(),
    () => store.close(),
    () => feed.stop(),
  );
  const app = testApp({
    rules: () => rules.current(),
    reload: () => rules.reload(),
    clock,
    logger: quiet,
    log,
    keys: KEYS,
    proposals: { store, directory: dir, modules: RULE_SET_MODULES, fixturesDirectory: FIXTURES_DIR, refreshPublished: () => feed.refresh() },
  });
  const officerB = () => request.agent(app.listener).set('Authorization', `Bearer ${SECRET_B}`);
  return { dir, rules, log, store, feed, app, officerA: () => app.as('policy'), officerB };
}

const draft = (months = 24) => widenedDirectReferral(months);

const proposal = (months = 24, effectiveFrom = TOMORROW) => ({
  ruleSet: 'direct-referral',
  file: draft(months),
  effectiveFrom,
  rationale: 'The procedure now looks back two years for face-to-face aggression (circular 2026/07).',
});

const referral = abusiveReferral;

/** Waits for `check` to hold, up to `ms`; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

test('approved on one service, published in PostgreSQL, served by the other from its date; nothing written into a folder; two approvals publish once', async () => {
  const url = await pg.createDatabase('shared_one');
  const one = await service(url);
  const two = await service(url);
  const folderBefore = readdirSync(one.dir).sort();

  const proposed = await one.officerA().post('/v1/proposals').send(proposal());
  expect(proposed.status).toBe(201);
  const { id } = proposed.body;
  // Proposals are shared: the other service lists it.
  const listed = await two.app.as('auditor').get('/v1/proposals');
  expect(listed.body.proposals.map((p: { id: string }) => p.id)).toEqual([id]);

  // Two officers approve at once, on the two services: one publishes, the other is told it was approved meanwhile.
  const [first, second] = await Promise.all([
    one.officerB().post(`/v1/proposals/${id}/approve`).send({ comment: 'Checked against circular 2026/07.' }),
    two.officerB().post(`/v1/proposals/${id}/approve`).send({ comment: 'Also checked.' }),
  ]);
  expect([first.status, second.status].sort()).toEqual([200, 409]);
  const approved = first.status === 200 ? first : second;
  const { version: newVersion } = approved.body.published;
  expect(approved.body).toEqual(expect.objectContaining({ status: 'approved', decidedBy: 'pol2', publishedVersion: newVersion }));

  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ version: string; ended_file: string; text: string; ended_text: string }>(
      'SELECT version, ended_file, text, ended_text FROM published_versions',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.version).toBe(newVersion);
    expect(rows[0]?.ended_file).toBe(`direct-referral.before-${TOMORROW}.json`);
    expect(JSON.parse(rows[0]?.text as string)).toEqual(expect.objectContaining({ effectiveFrom: TOMORROW }));
    expect(JSON.parse(rows[0]?.ended_text as string)).toEqual(expect.objectContaining({ effectiveFrom: '2025-01-14', effectiveTo: TODAY }));
  } finally {
    await db.end();
  }

  // Both services serve it from tomorrow (the second learns by NOTIFY, or within a poll), today still the old version.
  for (const s of [one, two]) {
    await within(2_000, async () => (await s.app.as('caseworker').get('/v1/rulesets/direct-referral').query({ asOf: TOMORROW })).body.version === newVersion);
    const today = await s.app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(referral(TODAY));
    const tomorrow = await s.app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(referral(TOMORROW));
    expect(today.body.outcome.eligible).toBe(true);
    expect(today.body.effective).toEqual({ from: '2025-01-14', to: TODAY });
    expect(tomorrow.body.outcome.eligible).toBe(false);
    expect(tomorrow.body.version).toBe(newVersion);
    // The log holds both versions' texts, as published.
    expect((await s.log.findVersion(newVersion))?.ruleText).toBe(one.feed.all()[0]?.text);
    expect((await s.log.findVersion(today.body.version))?.ruleText).toBe(one.feed.all()[0]?.endedText);
  }
  // The folders are as they were: the versions live in PostgreSQL (ps-rules export writes them as files).
  expect(readdirSync(one.dir).sort()).toEqual(folderBefore);
  expect(readdirSync(two.dir).sort()).toEqual(folderBefore);

  // The history, on the other service: who proposed and approved the new version, and its diff.
  const history = await two.app.as('auditor').get('/v1/rulesets/direct-referral/history');
  const latest = history.body.versions.at(-1);
  expect(latest).toEqual(expect.objectContaining({ version: newVersion, effectiveFrom: TOMORROW, file: 'direct-referral.json' }));
  expect(latest.proposal).toEqual(expect.objectContaining({ id, proposedBy: 'pol1', approvedBy: 'pol2' }));
  expect(latest.diff).toEqual([{ pointer: '/parameters/aggressionWindowMonths/value', before: 12, after: 24 }]);
});

test('a proposal on a base another approval replaced is a 409 to rebase, and publishes nothing', async () => {
  const url = await pg.createDatabase('shared_two');
  const one = await service(url);
  const two = await service(url);
  const a = await one.officerA().post('/v1/proposals').send(proposal(24, TOMORROW));
  const b = await two.officerA().post('/v1/proposals').send(proposal(18, TOMORROW));
  expect([a.status, b.status]).toEqual([201, 201]);
  expect((await one.officerB().post(`/v1/proposals/${a.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
  const stale = await two.officerB().post(`/v1/proposals/${b.body.id}/approve`).send({ comment: 'Yes too.' });
  expect(stale.status).toBe(409);
  expect(stale.body.code).toBe('proposal-conflict');
  expect(stale.body.detail).toContain('rebase');
  expect(two.feed.all()).toHaveLength(1);
  expect((await two.app.as('auditor').get(`/v1/proposals/${b.body.id}`)).body.status).toBe('proposed');
});

test('a published version a process cannot load is refused there, and it keeps its last good rules', async () => {
  const url = await pg.createDatabase('shared_three');
  const one = await service(url);
  const proposed = await one.officerA().post('/v1/proposals').send(proposal());
  expect((await one.officerB().post(`/v1/proposals/${proposed.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
  // A row written by hand (or by a newer service whose rule file this one's loader refuses).
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO published_versions (proposal_id, rule_set, effective_from, version, file, text, ended_version, ended_file, ended_text, removed)
       SELECT proposal_id, rule_set, '2026-04-01', 'bad', file, '{ "ruleSet": "direct-referral", "rules": 7 }', 'bad-ended', 'direct-referral.before-2026-04-01.json', ended_text, '[]'
       FROM published_versions`,
    );
  } finally {
    await db.end();
  }
  const before = one.rules.current();
  await one.feed.refresh();
  expect(one.feed.all()).toHaveLength(2);
  expect(one.rules.current()).toBe(before);
  const served = await one.app.as('caseworker').get('/v1/rulesets/direct-referral').query({ asOf: TOMORROW });
  expect(served.body.version).toBe(one.feed.all()[0]?.version);
});

test('NOTIFY alone brings a new version (no polling), and a LISTEN connection cut is made again', async () => {
  const url = await pg.createDatabase('shared_four');
  const one = await service(url);
  // Polling off, in effect: whatever arrives, arrives by notification.
  const two = await service(url, { pollMs: 600_000, reconnectMs: 200 });
  const db = new Client({ connectionString: url });
  await db.connect();
  const listeners = async () =>
    (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [LISTENER_NAME])).rows;
  try {
    expect(await listeners()).toHaveLength(2);
    const a = await one.officerA().post('/v1/proposals').send(proposal(24, TOMORROW));
    expect((await one.officerB().post(`/v1/proposals/${a.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
    await within(1_000, () => Promise.resolve(two.feed.all().length === 1));

    // Cut both services' LISTEN connections, as a database failover or a proxy would.
    const cut = await listeners();
    await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [LISTENER_NAME]);
    await within(3_000, async () => {
      const now = await listeners();
      return now.length === 2 && now.every((l) => !cut.some((c) => c.pid === l.pid));
    });
    // The next version, on the new base from the day after, reaches the second service by notification again.
    const dayAfter = '2026-03-12';
    const b = await one.officerA().post('/v1/proposals').send(proposal(36, dayAfter));
    expect(b.status).toBe(201);
    expect((await one.officerB().post(`/v1/proposals/${b.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
    await within(1_000, () => Promise.resolve(two.feed.all().length === 2));
    const served = await two.app.as('caseworker').get('/v1/rulesets/direct-referral').query({ asOf: dayAfter });
    expect(served.body.version).toBe(two.feed.all()[1]?.version);
    expect(served.body.effectiveFrom).toBe(dayAfter);
  } finally {
    await db.end();
  }
});

test('a process that learnt of a version early switches to it at Sydney midnight, as one that learns late does', async () => {
  const url = await pg.createDatabase('shared_five');
  const one = await service(url);
  // The second process's clock: a second before midnight in Sydney, then midnight (AEDT, UTC+11).
  let now = new Date('2026-03-10T12:59:59Z');
  const two = await service(url, undefined, () => now);
  const a = await one.officerA().post('/v1/proposals').send(proposal(24, TOMORROW));
  expect((await one.officerB().post(`/v1/proposals/${a.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
  await within(2_000, () => Promise.resolve(two.feed.all().length === 1));
  const newVersion = two.feed.all()[0]?.version;
  // Known, loaded, and not yet in force: a case decided with no asOf (today in Sydney) still takes the old version.
  const { asOf: _asOf, ...undated } = referral(TOMORROW);
  const before = await two.app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(undated);
  expect(before.status).toBe(200);
  expect(before.body.asOf).toBe(TODAY);
  expect(before.body.version).not.toBe(newVersion);
  expect(before.body.outcome.eligible).toBe(true);
  now = new Date('2026-03-10T13:00:00Z');
  const after = await two.app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(undated);
  expect(after.body.asOf).toBe(TOMORROW);
  expect(after.body.version).toBe(newVersion);
  expect(after.body.outcome.eligible).toBe(false);
});
