// Issue 19, over HTTP: officer A proposes a wider aggression window in force tomorrow and sees its impact; A cannot approve
// it; officer B approves, which publishes it into the rules folder; today's cases keep the old version and tomorrow's take the
// new, and the decision log holds both texts. Bad input changes nothing; two approvals publish once; a stale base is a 409.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SqliteProposalStore } from '../../src/authoring/proposal-store';
import { SqliteDecisionLog } from '../../src/decisions/sqlite';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { FIXTURES_DIR, RULES_DIR } from '../support';
import { TEST_KEYS, testApp } from '../support/app';
import { abusiveReferral, widenedDirectReferral } from '../support/drafts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET_B = 'policy-b-test-secret-0123456789abcdef';
const SECRET_C = 'policy-c-test-secret-0123456789abcdef';
const KEYS = `${TEST_KEYS},pol2:policy:${SECRET_B},pol3:policy:${SECRET_C}`;
// Noon in Sydney on 10 March 2026 (AEDT, UTC+11): today is 2026-03-10, tomorrow 2026-03-11.
const NOW = new Date('2026-03-10T01:00:00Z');
const TODAY = '2026-03-10';
const TOMORROW = '2026-03-11';

const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A service on its own copy of the rules, with a SQLite decision log and the proposal store in its file. */
function service(withProposals = true) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-proposals-rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const rules = new RuleStore(dir, RULE_SET_MODULES, quiet);
  const log = new SqliteDecisionLog({ dataDir: mkdtempSync(path.join(tmpdir(), 'ps-proposals-log-')) });
  const store = new SqliteProposalStore(log.location);
  closers.push(
    () => log.close(),
    () => store.close(),
  );
  const app = testApp({
    rules: () => rules.current(),
    reload: () => rules.reload(),
    clock: () => NOW,
    logger: quiet,
    log,
    keys: KEYS,
    ...(withProposals ? { proposals: { store, directory: dir, modules: RULE_SET_MODULES, fixturesDirectory: FIXTURES_DIR } } : {}),
  });
  const officerB = () => request.agent(app.listener).set('Authorization', `Bearer ${SECRET_B}`);
  const officerC = () => request.agent(app.listener).set('Authorization', `Bearer ${SECRET_C}`);
  return { dir, rules, log, store, app, officerA: () => app.as('policy'), officerB, officerC };
}

/** direct-referral.json as an officer would draft it from the service's own copy: the aggression window 24 months instead of 12. */
const draft = (dir: string, months = 24) => widenedDirectReferral(months, dir);

const proposal = (dir: string, effectiveFrom = TOMORROW) => ({
  ruleSet: 'direct-referral',
  file: draft(dir),
  effectiveFrom,
  rationale: 'The procedure now looks back two years for face-to-face aggression (circular 2026/07).',
});

const referral = abusiveReferral;

test('A proposes 12 → 24 months from tomorrow and sees the impact; A may not approve; B approves and it is published and in force tomorrow', async () => {
  const { dir, log, officerA, officerB, app } = service();
  const proposed = await officerA().post('/v1/proposals').send(proposal(dir));
  expect(proposed.status).toBe(201);
  expect(proposed.body).toEqual(
    expect.objectContaining({
      status: 'proposed',
      ruleSet: 'direct-referral',
      effectiveFrom: TOMORROW,
      proposedBy: 'pol1',
      proposedAt: NOW.toISOString(),
      problems: [],
    }),
  );
  const { id, baseVersion, impact } = proposed.body;
  expect(proposed.headers.location).toBe(`/v1/proposals/${id}`);
  // The impact over the fixtures: the case 12 months less a day before is unchanged (inside both windows); at least one
  // fixture whose incident lies between 12 and 24 months back no longer goes direct, and the wider window is why.
  expect(impact.cases).toBe(readdirSync(path.join(FIXTURES_DIR, 'direct-referral')).length);
  expect(impact.changed.length).toBeGreaterThan(0);
  for (const c of impact.changed) {
    expect(c.fields).toContainEqual({ field: 'eligible', base: true, changed: false });
    expect(c.because.parameters).toContainEqual({ name: 'aggressionWindowMonths', base: 12, changed: 24 });
    expect(c.versions.base).toBe(baseVersion);
  }
  expect(impact.counts['direct-referral eligible: true → false']).toBe(impact.changed.length);

  // Listed and shown, to policy and auditors.
  const listed = await app.as('auditor').get('/v1/proposals');
  expect(listed.status).toBe(200);
  expect(listed.body.proposals.map((p: { id: string }) => p.id)).toEqual([id]);
  const one = await app.as('auditor').get(`/v1/proposals/${id}`);
  expect(one.status).toBe(200);
  expect(one.body.file.parameters.aggressionWindowMonths.value).toBe(24);

  // Nothing is in force yet: tomorrow's case still decides under 12 months.
  const early = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(referral(TOMORROW));
  expect(early.body.outcome.eligible).toBe(true);

  const own = await officerA().post(`/v1/proposals/${id}/approve`).send({ comment: 'Looks right to me.' });
  expect(own.status).toBe(403);
  expect(own.body.code).toBe('forbidden');
  expect(own.body.detail).toContain('a second officer must approve');

  const approved = await officerB().post(`/v1/proposals/${id}/approve`).send({ comment: 'Checked against circular 2026/07.' });
  expect(approved.status).toBe(200);
  expect(approved.body).toEqual(expect.objectContaining({ status: 'approved', decidedBy: 'pol2', comment: 'Checked against circular 2026/07.' }));
  const { version: newVersion } = approved.body.published;
  expect(approved.body.publishedVersion).toBe(newVersion);

  // The folder, laid out as the shipped rules are: the new version is direct-referral.json from tomorrow, the old one
  // moved to direct-referral.before-<tomorrow>.json ending today, each an edit of the old text (git sees two lines each).
  const oldText = readFileSync(path.join(RULES_DIR, 'direct-referral.json'), 'utf8');
  const newText = readFileSync(path.join(dir, 'direct-referral.json'), 'utf8');
  const endedText = readFileSync(path.join(dir, `direct-referral.before-${TOMORROW}.json`), 'utf8');
  expect(JSON.parse(newText)).toEqual(expect.objectContaining({ effectiveFrom: TOMORROW }));
  expect(JSON.parse(newText).parameters.aggressionWindowMonths.value).toBe(24);
  expect(JSON.parse(endedText)).toEqual(expect.objectContaining({ effectiveFrom: '2025-01-14', effectiveTo: TODAY }));
  expect(JSON.parse(endedText).parameters.aggressionWindowMonths.value).toBe(12);
  /** The lines one text has and the other lacks, each way: what a line diff shows. */
  const changedLines = (a: string, b: string) => {
    const left = a.split('\n');
    const right = b.split('\n');
    return [left.filter((line) => !right.includes(line)), right.filter((line) => !left.includes(line))];
  };
  expect(changedLines(oldText, newText)).toEqual([
    ['  "effectiveFrom": "2025-01-14",', '      "value": 12, "type": "months",'],
    [`  "effectiveFrom": "${TOMORROW}",`, '      "value": 24, "type": "months",'],
  ]);
  expect(changedLines(oldText, endedText)).toEqual([[], [`  "effectiveTo": "${TODAY}",`]]);
  expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);

  // In force: today's case under the old version (now ending today), tomorrow's under the new one.
  const today = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(referral(TODAY));
  const tomorrow = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(referral(TOMORROW));
  expect(today.status).toBe(200);
  expect(tomorrow.status).toBe(200);
  expect(today.body.outcome.eligible).toBe(true);
  expect(today.body.effective).toEqual({ from: '2025-01-14', to: TODAY });
  expect(tomorrow.body.outcome.eligible).toBe(false);
  expect(tomorrow.body.outcome.route).toBe('standard');
  expect(tomorrow.body.version).toBe(newVersion);
  expect(tomorrow.body.effective).toEqual({ from: TOMORROW, to: null });
  expect(today.body.version).not.toBe(newVersion);

  // The decision log holds both versions' texts, so either decision can be re-run.
  const oldArchived = await log.findVersion(today.body.version);
  const newArchived = await log.findVersion(newVersion);
  expect(oldArchived?.ruleText).toBe(endedText);
  expect(newArchived?.ruleText).toBe(newText);

  // A second approval publishes nothing more.
  const again = await officerB().post(`/v1/proposals/${id}/approve`).send({ comment: 'Approving again.' });
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('proposal-conflict');
  expect(readFileSync(path.join(dir, 'direct-referral.json'), 'utf8')).toBe(newText);

  // The history: every version oldest first; the new one with who proposed and approved it, why, and what changed.
  const history = await app.as('auditor').get('/v1/rulesets/direct-referral/history');
  expect(history.status).toBe(200);
  const versions = history.body.versions;
  expect(versions.map((v: { file: string }) => v.file)).toEqual([
    'direct-referral.before-2025-01-14.json',
    `direct-referral.before-${TOMORROW}.json`,
    'direct-referral.json',
  ]);
  expect(versions[0].diff).toEqual([]);
  expect(versions[1].proposal).toBeNull();
  const latest = versions[2];
  expect(latest).toEqual(expect.objectContaining({ version: newVersion, effectiveFrom: TOMORROW, effectiveTo: null }));
  expect(latest.proposal).toEqual({
    id,
    proposedBy: 'pol1',
    proposedAt: NOW.toISOString(),
    approvedBy: 'pol2',
    approvedAt: NOW.toISOString(),
    rationale: proposal(dir).rationale,
    comment: 'Checked against circular 2026/07.',
  });
  expect(latest.diff).toEqual([{ pointer: '/parameters/aggressionWindowMonths/value', before: 12, after: 24 }]);
  // Each version's file as written, for the next draft: its descriptions keep their {parameter} placeholders.
  expect(latest.ruleFile).toEqual(JSON.parse(newText));
  expect(JSON.stringify(versions[1].ruleFile)).toContain('{aggressionWindowMonths}');
});

test('a proposal whose base is no longer the newest version is a 409 telling to propose again; two proposals publish one', async () => {
  const { dir, officerA, officerB } = service();
  const first = await officerA().post('/v1/proposals').send(proposal(dir, TOMORROW));
  const second = await officerA()
    .post('/v1/proposals')
    .send({ ...proposal(dir, '2026-04-01'), file: draft(dir, 18) });
  expect(first.status).toBe(201);
  expect(second.status).toBe(201);
  expect(second.body.baseVersion).toBe(first.body.baseVersion);
  expect((await officerB().post(`/v1/proposals/${first.body.id}/approve`).send({ comment: 'Yes.' })).status).toBe(200);
  const text = readFileSync(path.join(dir, 'direct-referral.json'), 'utf8');
  const stale = await officerB().post(`/v1/proposals/${second.body.id}/approve`).send({ comment: 'Yes.' });
  expect(stale.status).toBe(409);
  expect(stale.body.code).toBe('proposal-conflict');
  expect(stale.body.detail).toMatch(/no longer the newest.*propose the change again/);
  expect(readFileSync(path.join(dir, 'direct-referral.json'), 'utf8')).toBe(text);
  expect(existsSync(path.join(dir, 'direct-referral.before-2026-04-01.json'))).toBe(false);
  const still = await officerB().get(`/v1/proposals/${second.body.id}`).set('Authorization', `Bearer ${SECRET_B}`);
  expect(still.body.status).toBe('proposed');
});

test('two officers approving one proposal at once publish it once: one 200, one 409', async () => {
  const { dir, rules, officerA, officerB, officerC } = service();
  const { body } = await officerA().post('/v1/proposals').send(proposal(dir));
  const answers = await Promise.all([
    officerB().post(`/v1/proposals/${body.id}/approve`).send({ comment: 'B: yes.' }),
    officerC().post(`/v1/proposals/${body.id}/approve`).send({ comment: 'C: yes.' }),
  ]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
  const files = readdirSync(dir).filter((f) => f.startsWith('direct-referral'));
  expect(files.sort()).toEqual(['direct-referral.before-2025-01-14.json', `direct-referral.before-${TOMORROW}.json`, 'direct-referral.json']);
  expect(rules.current().ruleSets.get('direct-referral')!.versions).toHaveLength(3);
});

test('an approval onto rule files that would be refused writes nothing, and the proposal stays proposed', async () => {
  const { dir, officerA, officerB } = service();
  const { body } = await officerA().post('/v1/proposals').send(proposal(dir));
  // Another rule file broken on disk since (not reloaded): publishing onto it would leave rules no reload accepts.
  const other = path.join(dir, 'exit-readiness.json');
  writeFileSync(other, readFileSync(other, 'utf8').replace('"ruleSet"', '"ruleSett"'));
  const before = readdirSync(dir).sort();
  const res = await officerB().post(`/v1/proposals/${body.id}/approve`).send({ comment: 'Yes.' });
  expect(res.status).toBe(422);
  expect(res.body.code).toBe('rules-refused');
  expect(res.body.errors[0]).toEqual(expect.objectContaining({ file: 'exit-readiness.json' }));
  expect(readdirSync(dir).sort()).toEqual(before);
  expect(readFileSync(path.join(dir, 'direct-referral.json'), 'utf8')).toBe(readFileSync(path.join(RULES_DIR, 'direct-referral.json'), 'utf8'));
  expect((await officerB().get(`/v1/proposals/${body.id}`)).body.status).toBe('proposed');
});

test('an invalid draft is a 422 listing each problem where the loader found it, and nothing is stored', async () => {
  const { dir, officerA, app } = service();
  const file = draft(dir) as { parameters: Record<string, { value: unknown }>; rules: { conditions: unknown }[] };
  file.parameters.aggressionWindowMonths!.value = 'two years';
  (file.rules[0] as unknown as { name: number }).name = 7;
  const res = await officerA()
    .post('/v1/proposals')
    .send({ ...proposal(dir), file });
  expect(res.status).toBe(422);
  expect(res.type).toBe('application/problem+json');
  expect(res.body.code).toBe('draft-invalid');
  const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer);
  expect(pointers).toEqual(expect.arrayContaining(['direct-referral.json#/parameters/aggressionWindowMonths/value', 'direct-referral.json#/rules/0/name']));
  for (const e of res.body.errors)
    expect(e).toEqual(expect.objectContaining({ file: 'direct-referral.json', line: expect.any(Number), column: expect.any(Number) }));
  expect((await app.as('policy').get('/v1/proposals')).body.proposals).toEqual([]);
  expect(readFileSync(path.join(dir, 'direct-referral.json'), 'utf8')).toBe(readFileSync(path.join(RULES_DIR, 'direct-referral.json'), 'utf8'));
});

test.each([
  ['yesterday', '2026-03-09', 'in the past'],
  ['not a date', '2026-02-30', 'real calendar date'],
])('an effectiveFrom %s is refused naming /effectiveFrom, and nothing is stored', async (_what, effectiveFrom, says) => {
  const { dir, officerA, app } = service();
  const res = await officerA().post('/v1/proposals').send(proposal(dir, effectiveFrom));
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/effectiveFrom', detail: expect.stringContaining(says) })]);
  expect((await app.as('policy').get('/v1/proposals')).body.proposals).toEqual([]);
});

test('today is a day a change may take effect; an unknown rule set is a 404 naming /ruleSet', async () => {
  const { dir, officerA } = service();
  expect((await officerA().post('/v1/proposals').send(proposal(dir, TODAY))).status).toBe(201);
  const unknown = await officerA()
    .post('/v1/proposals')
    .send({ ...proposal(dir), ruleSet: 'no-such-rules' });
  expect(unknown.status).toBe(404);
  expect(unknown.body.errors).toEqual([expect.objectContaining({ pointer: '/ruleSet' })]);
});

test('a rejection is recorded with its comment, publishes nothing, and the proposal can no longer be approved', async () => {
  const { dir, officerA, officerB } = service();
  const { body } = await officerA().post('/v1/proposals').send(proposal(dir));
  const rejected = await officerB().post(`/v1/proposals/${body.id}/reject`).send({ comment: 'The circular is not yet signed.' });
  expect(rejected.status).toBe(200);
  expect(rejected.body).toEqual(expect.objectContaining({ status: 'rejected', decidedBy: 'pol2', comment: 'The circular is not yet signed.' }));
  const approve = await officerB().post(`/v1/proposals/${body.id}/approve`).send({ comment: 'Changed my mind.' });
  expect(approve.status).toBe(409);
  expect(existsSync(path.join(dir, `direct-referral.before-${TOMORROW}.json`))).toBe(false);
  expect((await officerB().post(`/v1/proposals/${body.id}/reject`).send({})).status).toBe(409);
});

test('without the SQLite proposal store the routes say proposals need it (501); an unknown proposal is a 404', async () => {
  const { dir, officerA } = service(false);
  const res = await officerA().post('/v1/proposals').send(proposal(dir));
  expect(res.status).toBe(501);
  expect(res.body.code).toBe('proposals-unavailable');
  const { officerA: a } = service();
  expect((await a().get('/v1/proposals/00000000-0000-4000-8000-000000000000')).status).toBe(404);
});

test('a decision log file deleted under the service: a proposal or an approval is a 503, not written where it would be lost', async () => {
  const { dir, log, officerA, officerB } = service();
  const { body } = await officerA().post('/v1/proposals').send(proposal(dir));
  expect(body.status).toBe('proposed');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${log.location}${suffix}`, { force: true });
  const proposed = await officerA().post('/v1/proposals').send(proposal(dir, '2026-03-12'));
  expect(proposed.status).toBe(503);
  expect(proposed.type).toBe('application/problem+json');
  expect(proposed.body.code).toBe('log-unavailable');
  expect(proposed.body.detail).toMatch(/deleted or replaced under it/);
  const approved = await officerB().post(`/v1/proposals/${body.id}/approve`).send({ comment: 'Yes.' });
  expect(approved.status).toBe(503);
  // Nothing was published on the strength of a record that would vanish.
  expect(readdirSync(dir).filter((f) => f.startsWith('direct-referral.'))).toEqual(readdirSync(RULES_DIR).filter((f) => f.startsWith('direct-referral.')));
});
