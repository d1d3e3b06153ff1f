// POST /v1/rulesets/{name}/draft-impact (issue 19): a policy officer's draft measured before it is proposed, over the
// fixtures (with those it would break) and over an uploaded backlog, NDJSON or CSV. The backlog's count of referrals
// that change route is the one `ps-rules diff` gives on the same file with the draft in a rules folder; nothing is stored.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backlogLines, DEFAULT_AS_OF } from '../../fixtures/backlog';
import { diffCommand } from '../../src/cli/diff';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { FIXTURES_DIR, RULES_DIR, captureStdout } from '../support';
import { testApp } from '../support/app';
import { widenedDirectReferral } from '../support/drafts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
// Noon in Sydney on the backlog's own date (AEDT, UTC+11): a CSV row, which carries no asOf, is decided as of that day.
const NOW = new Date(`${DEFAULT_AS_OF}T01:00:00Z`);
const stdout = captureStdout();

function service() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-draft-rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const rules = new RuleStore(dir, RULE_SET_MODULES, quiet);
  const app = testApp({
    rules: () => rules.current(),
    clock: () => NOW,
    logger: quiet,
    drafts: { modules: RULE_SET_MODULES, fixturesDirectory: FIXTURES_DIR },
  });
  return { dir, app };
}

const widened = widenedDirectReferral;

interface Move {
  field: string;
  from: unknown;
  to: unknown;
  count: number;
  text: string;
}

test('a wider aggression window: the fixtures it changes and breaks, each named with the rule that changed it', async () => {
  const { app } = service();
  const res = await app.as('policy').post('/v1/rulesets/direct-referral/draft-impact').send({ file: widened() });
  expect(res.status).toBe(200);
  expect(res.body.problems).toEqual([]);
  expect(res.body.draftVersion).not.toBe(res.body.baseVersion);
  // 001 Centrelink Table 1 Step 1: no face-to-face aggression "within the last 12 months". The fixture whose incident is
  // exactly 12 months old is direct today; at 24 months it is within the window, so it is not.
  const broken = res.body.fixtures.broken as { fixture: string; differences: { field: string; expected: unknown; actual: unknown }[] }[];
  expect(broken.map((b) => b.fixture)).toContain('07-face-to-face-aggression-exactly-12-months.json');
  const exactly = broken.find((b) => b.fixture === '07-face-to-face-aggression-exactly-12-months.json')!;
  expect(exactly.differences).toEqual(expect.arrayContaining([{ field: 'eligible', expected: true, actual: false }]));
  const changed = (res.body.fixtures.changed as { id: string; rules: { rule: string }[] }[]).find(
    (c) => c.id === '07-face-to-face-aggression-exactly-12-months.json',
  )!;
  expect(changed.rules.map((r) => r.rule)).toContain('no-recent-face-to-face-aggression');
  const moves = res.body.fixtures.moves as Move[];
  expect(moves).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        field: 'route',
        from: 'direct',
        to: 'standard',
        text: expect.stringMatching(/^\d+ cases? moves? from route direct to route standard$/),
      }),
    ]),
  );
  // A value the outcome does not give reads "not given", a list by its entries, not as JSON.
  expect(moves).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        field: 'refusalApprovedBy',
        from: null,
        text: expect.stringMatching(/ from refusalApprovedBy not given to refusalApprovedBy PS /),
      }),
      expect.objectContaining({ field: 'unmet', from: [], text: expect.stringMatching(/ from unmet none to unmet no-recent-face-to-face-aggression$/) }),
    ]),
  );
  // Fixtures of the version before 14 January 2025 are that version's: a draft of the newest says nothing of them.
  expect(broken.every((b) => !b.fixture.startsWith('older-'))).toBe(true);
});

test("an uploaded NDJSON backlog of 1,000 referrals: the count that change route is ps-rules diff's on the same file", async () => {
  const { app } = service();
  const lines = [...backlogLines({ count: 1000, seed: 19, format: 'ndjson' })].map((line) =>
    JSON.stringify({ ...(JSON.parse(line) as object), asOf: DEFAULT_AS_OF }),
  );
  const text = `${lines.join('\n')}\n`;
  const res = await app
    .as('policy')
    .post('/v1/rulesets/direct-referral/draft-impact')
    .send({ file: widened(), backlog: { format: 'ndjson', text } });
  expect(res.status).toBe(200);
  const backlog = res.body.backlog as { cases: number; changed: { rules: { rule: string }[] }[]; moves: Move[]; unread: unknown[] };
  expect(backlog.cases).toBe(1000);
  expect(backlog.unread).toEqual([]);
  const route = backlog.moves.filter((m) => m.field === 'route').reduce((n, m) => n + m.count, 0);
  expect(route).toBeGreaterThan(0);
  for (const c of backlog.changed) expect(c.rules.map((r) => r.rule)).toContain('no-recent-face-to-face-aggression');

  // The same file, with the draft in a rules folder, through ps-rules diff.
  const work = mkdtempSync(path.join(tmpdir(), 'ps-draft-diff-'));
  const draftRules = path.join(work, 'rules');
  cpSync(RULES_DIR, draftRules, { recursive: true });
  writeFileSync(path.join(draftRules, 'direct-referral.json'), `${JSON.stringify(widened(), null, 2)}\n`);
  const casesFile = path.join(work, 'backlog.ndjson');
  writeFileSync(casesFile, text);
  stdout.reset();
  expect(await diffCommand({ base: RULES_DIR, cases: casesFile, ruleSet: 'direct-referral', rules: draftRules, json: true })).toBe(0);
  const report = JSON.parse(stdout.text()) as { cases: number; changed: { fields: { field: string }[] }[] };
  expect(report.cases).toBe(1000);
  expect(report.changed.filter((c) => c.fields.some((f) => f.field === 'route'))).toHaveLength(route);
});

test('the same referrals as a CSV export, read through the shipped triage mapping, move the same way', async () => {
  const { app } = service();
  const ndjson = [...backlogLines({ count: 200, seed: 7, format: 'ndjson' })].join('\n');
  const csv = [...backlogLines({ count: 200, seed: 7, format: 'csv' })].join('\n');
  const post = (backlog: object) => app.as('policy').post('/v1/rulesets/direct-referral/draft-impact').send({ file: widened(), backlog });
  const [fromNdjson, fromCsv] = [await post({ format: 'ndjson', text: ndjson }), await post({ format: 'csv', text: csv })];
  expect(fromCsv.status).toBe(200);
  expect(fromCsv.body.backlog.cases).toBe(200);
  expect(fromCsv.body.backlog.unread).toEqual([]);
  expect(fromCsv.body.backlog.moves).toEqual(fromNdjson.body.backlog.moves);
});

test('a line that is not JSON is listed as unread with its line number; the others are still compared', async () => {
  const { app } = service();
  const lines = [...backlogLines({ count: 5, seed: 3, format: 'ndjson' })];
  lines.splice(2, 0, '{"id": "PSR-broken", "facts": ');
  const res = await app
    .as('policy')
    .post('/v1/rulesets/direct-referral/draft-impact')
    .send({ file: widened(), backlog: { format: 'ndjson', text: lines.join('\n') } });
  expect(res.status).toBe(200);
  expect(res.body.backlog.cases).toBe(5);
  expect(res.body.backlog.unread).toEqual([{ line: 3, problem: expect.stringMatching(/^not JSON/) }]);
});

test('a CSV row the mapping cannot read (a stray quote shifts its cells) is listed as unread with its line; the others are compared', async () => {
  const { app } = service();
  const csv = [...backlogLines({ count: 3, seed: 7, format: 'csv' })];
  csv[2] = `"${csv[2]}`;
  const res = await app
    .as('policy')
    .post('/v1/rulesets/direct-referral/draft-impact')
    .send({ file: widened(), backlog: { format: 'csv', text: csv.join('\n') } });
  expect(res.status).toBe(200);
  expect(res.body.backlog.cases).toBe(2);
  expect(res.body.backlog.unread).toEqual([{ line: 3, problem: expect.stringMatching(/^column "/) }]);
});

test("the log's recent decisions whose facts it kept are measured too, each as of its own day and named by its decision id", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-draft-rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const rules = new RuleStore(dir, RULE_SET_MODULES, quiet);
  const drafts = { modules: RULE_SET_MODULES, fixturesDirectory: FIXTURES_DIR };
  const keeping = testApp({ rules: () => rules.current(), clock: () => NOW, logger: quiet, keepFacts: true, drafts });
  // 001 Centrelink Table 1 Step 1: an incident exactly 12 months old is outside "the last 12 months" (direct), inside 24.
  const boundary = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'direct-referral', '07-face-to-face-aggression-exactly-12-months.json'), 'utf8')) as {
    asOf: string;
    facts: unknown;
  };
  const decided = await keeping.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send({ asOf: boundary.asOf, facts: boundary.facts });
  expect(decided.status).toBe(200);
  const res = await keeping
    .as('policy')
    .post('/v1/rulesets/direct-referral/draft-impact')
    .send({ file: widened(), logged: { limit: 50 } });
  expect(res.status).toBe(200);
  expect(res.body.logged.cases).toBe(1);
  expect(res.body.logged.changed).toEqual([expect.objectContaining({ id: decided.body.decisionId, asOf: boundary.asOf })]);
  expect(res.body.logged.moves).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'route', from: 'direct', to: 'standard', count: 1 })]));
  // A log that keeps only the facts' digest (the default) has no case to give.
  const { app } = service();
  await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send({ asOf: boundary.asOf, facts: boundary.facts });
  expect((await app.as('policy').post('/v1/rulesets/direct-referral/draft-impact').send({ file: widened(), logged: {} })).body.logged.cases).toBe(0);
});

test('an invalid draft is a 422 naming each problem at its place in the file as it would be published', async () => {
  const { app } = service();
  const file = widened() as { parameters: Record<string, { value: unknown }> };
  file.parameters.aggressionWindowMonths!.value = 'two years';
  const res = await app.as('policy').post('/v1/rulesets/direct-referral/draft-impact').send({ file });
  expect(res.status).toBe(422);
  expect(res.type).toBe('application/problem+json');
  expect(res.body.code).toBe('draft-invalid');
  expect(res.body.errors).toEqual([
    expect.objectContaining({
      pointer: 'direct-referral.json#/parameters/aggressionWindowMonths/value',
      file: 'direct-referral.json',
      line: expect.any(Number),
    }),
  ]);
});

test.each([
  [{ file: 'direct-referral.json' }, '/file'],
  [{ file: {}, backlog: { format: 'xlsx', text: '' } }, '/backlog/format'],
  [{ file: {}, backlog: { format: 'ndjson', text: '', mapping: {} } }, '/backlog/mapping'],
  [{ file: {}, extra: true }, '/extra'],
  [{ file: {}, logged: { limit: 0 } }, '/logged/limit'],
  [{ file: {}, logged: 5 }, '/logged'],
])('a body not { file, backlog? } is a 400 naming the member: %j', async (body, pointer) => {
  const { app } = service();
  const res = await app.as('policy').post('/v1/rulesets/direct-referral/draft-impact').send(body);
  expect(res.status).toBe(400);
  expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
});

test('a draft of another rule set, an unknown rule set, and a caseworker key are refused', async () => {
  const { app } = service();
  const other = await app.as('policy').post('/v1/rulesets/segment-allocation/draft-impact').send({ file: widened() });
  expect(other.status).toBe(422);
  expect(other.body.errors).toEqual([expect.objectContaining({ pointer: '/file/ruleSet' })]);
  expect((await app.as('policy').post('/v1/rulesets/no-such-rules/draft-impact').send({ file: widened() })).status).toBe(404);
  expect((await app.as('caseworker').post('/v1/rulesets/direct-referral/draft-impact').send({ file: widened() })).status).toBe(403);
});
