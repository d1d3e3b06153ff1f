// POST /v1/admin/impact: before reloading an edit, policy staff see which cases it would decide differently.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRules } from '../../src/loader/load';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR } from '../support';
import { testApp } from '../support/app';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const dir = mkdtempSync(path.join(tmpdir(), 'impact-rules-'));
cpSync(RULES_DIR, dir, { recursive: true });
const store = new RuleStore(dir, RULE_SET_MODULES, quiet);
afterAll(() => store.close());
const app = testApp({
  rules: () => store.current(),
  reload: () => store.reload(),
  candidateRules: () => loadRules(dir, { modules: RULE_SET_MODULES }),
  logger: quiet,
});
const file = path.join(dir, 'direct-referral.json');
const original = readFileSync(file, 'utf8');

// A face-to-face threat 18 months before: outside the procedure's 12-month window (001_… Centrelink Table 1 step 1), inside a 24-month one.
const incident = { date: '2023-12-02', kind: 'threat-of-violence', setting: 'face-to-face' };
const cases = [
  {
    id: 'old-incident',
    ruleSet: 'direct-referral',
    asOf: '2025-06-02',
    facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' }, customer: { incidents: [incident] } },
  },
  {
    id: 'no-incident',
    ruleSet: 'direct-referral',
    asOf: '2025-06-02',
    facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } },
  },
];

test('an unreloaded edit that widens the aggression window changes exactly the case with the older incident', async () => {
  writeFileSync(file, original.replace('"value": 12,', '"value": 24,'));
  const res = await app.as('policy').post('/v1/admin/impact').send({ cases });
  expect(res.status).toBe(200);
  expect(res.body.candidate['direct-referral.json']).not.toBe(res.body.current['direct-referral.json']);
  expect(res.body.report.cases).toBe(2);
  expect(res.body.report.unchanged).toBe(1);
  expect(res.body.report.changed.map((c: { id: string }) => c.id)).toEqual(['old-incident']);
  expect(res.body.report.changed[0].fields).toEqual(expect.arrayContaining([{ field: 'eligible', base: true, changed: false }]));
  // Impact analysis changes nothing in force.
  expect(store.current().ruleSets.get('direct-referral')!.latest.version).toBe(res.body.current['direct-referral.json']);
});

test('rule files on disk that would be refused are a 422 naming the problem', async () => {
  writeFileSync(file, original.replace('"customer.zoneCaseManagement"', '"customer.zoneCaseManagment"'));
  const res = await app.as('policy').post('/v1/admin/impact').send({ cases });
  expect(res.status).toBe(422);
  expect(res.body.code).toBe('rules-refused');
  expect(res.body.errors[0]).toEqual(expect.objectContaining({ file: 'direct-referral.json', line: expect.any(Number) }));
});

test('malformed cases are a 400 naming each', async () => {
  const res = await app
    .as('policy')
    .post('/v1/admin/impact')
    .send({ cases: [{ id: '', ruleSet: 'direct-referral', asOf: '2025-6-2', facts: [] }] });
  expect(res.status).toBe(400);
  expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/cases/0/asOf', '/cases/0/facts', '/cases/0/id']);
});
