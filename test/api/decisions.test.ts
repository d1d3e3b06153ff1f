// The decision log through the API: every decision recorded before it is answered, found by its id, reproduced under
// the version that made it (even after the rules change), on SQLite and on a real PostgreSQL server.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PostgresDecisionLog } from '../../src/decisions/postgres';
import type { DecisionLog } from '../../src/decisions/log';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR, shippedRules } from '../support';
import { testApp, type TestApp } from '../support/app';
import { startPostgres, type TestPostgres } from '../support/postgres';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
// A name where CaseFacts allows free text (a complaint's topic): used to decide, and never to be kept by default.
const PLANTED = 'Ngaire Wolfenden-Quirke';
const facts = {
  program: 'child-support',
  referral: { source: 'mats', receivedOn: '2025-06-02' },
  customer: { psHistory: 'never', complaints: [{ date: '2025-05-01', stage: 'escalated', topic: `call from ${PLANTED}` }] },
};
const body = { asOf: '2025-06-02', facts };

/** A rules folder of its own, so a test can change the rules under a running app. */
function rulesCopy() {
  const dir = mkdtempSync(path.join(tmpdir(), 'decision-rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  return { dir, store: new RuleStore(dir, RULE_SET_MODULES, quiet) };
}

/** Everything the SQLite store wrote, as text (the main file and its write-ahead log). */
const storedText = (app: TestApp) =>
  readdirSync(app.dataDir)
    .map((f) => readFileSync(path.join(app.dataDir, f)).toString('latin1'))
    .join('');

function logContract(name: string, makeLog: () => Promise<DecisionLog | undefined>) {
  describe(`${name}: a decision id leads back to the decision`, () => {
    let app: TestApp;
    let store: RuleStore;
    let dir: string;
    beforeAll(async () => {
      ({ dir, store } = rulesCopy());
      app = testApp({ rules: () => store.current(), reload: () => store.reload(), logger: quiet, log: await makeLog() });
    });
    afterAll(async () => {
      store.close();
      await app.log.close();
    });

    test('the answer carries the decision id in body and header, and the log holds who, what, which version and when', async () => {
      const res = await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send(body);
      expect(res.status).toBe(200);
      expect(res.headers['x-decision-id']).toBe(res.body.decisionId);
      const found = await app.as('auditor').get(`/v1/decisions/${res.body.decisionId}`);
      expect(found.status).toBe(200);
      expect(found.body).toEqual({
        decisionId: res.body.decisionId,
        decidedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        keyId: 'cw1',
        ruleSet: 'segment-allocation',
        version: res.body.version,
        asOf: '2025-06-02',
        evaluator: 'compiled',
        outcome: res.body.outcome,
        fired: res.body.explanation.filter((r: { fired: boolean }) => r.fired).map((r: { rule: string }) => r.rule),
        factsDigest: expect.stringMatching(/^sha256:[0-9a-f]{32}:[0-9a-f]{64}$/),
        factsKept: false,
      });
      // MATS is a direct-referral source; an escalated complaint within 12 months is a segment 3 indicator
      // (003_… Table 1): segment 3, and it fired for that reason.
      expect(found.body.fired.length).toBeGreaterThan(0);
    });

    test('the same facts reproduce the decision; other facts are refused as not the facts decided on', async () => {
      const res = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate?engine=reference').send(body);
      // Keys in another order are the same facts.
      const reordered = {
        customer: { complaints: facts.customer.complaints, psHistory: 'never' },
        referral: { receivedOn: '2025-06-02', source: 'mats' },
        program: 'child-support',
      };
      const again = await app.as('auditor').post(`/v1/decisions/${res.body.decisionId}/reproduce`).send({ facts: reordered });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(
        expect.objectContaining({ decisionId: res.body.decisionId, version: res.body.version, factsMatch: true, reproduced: true, differences: [] }),
      );
      expect(again.body.decision.outcome).toEqual(res.body.outcome);
      expect(again.body.decision.evaluator).toBe('reference');

      const other = await app
        .as('auditor')
        .post(`/v1/decisions/${res.body.decisionId}/reproduce`)
        .send({ facts: { ...facts, program: 'centrelink' } });
      expect(other.status).toBe(409);
      expect(other.body.code).toBe('facts-differ');
    });

    test('after the rules change, a decision still reproduces under the version that made it (from the archive)', async () => {
      const before = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
      const file = path.join(dir, 'direct-referral.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"value": 12,', '"value": 24,'));
      const reloaded = await app.as('policy').post('/v1/admin/reload');
      expect(reloaded.status).toBe(200);
      expect(reloaded.body.versions['direct-referral.json']).not.toBe(before.body.version);
      const again = await app.as('auditor').post(`/v1/decisions/${before.body.decisionId}/reproduce`).send({ facts });
      expect(again.status).toBe(200);
      expect(again.body.version).toBe(before.body.version);
      expect(again.body.decision.version).toBe(before.body.version);
      expect(again.body.reproduced).toBe(true);
    });

    test('an unknown decision id is a 404; a malformed one too', async () => {
      expect((await app.as('auditor').get('/v1/decisions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await app.as('auditor').get('/v1/decisions/not-a-uuid')).status).toBe(404);
    });

    test('every line of a batch is recorded with its own decision id', async () => {
      const lines = [1, 2, 3].map((id) => JSON.stringify({ id, ...body })).join('\n');
      const res = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate-batch').set('Content-Type', 'application/x-ndjson').send(lines);
      const answers = res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { decision: { decisionId: string; version: string } });
      expect(new Set(answers.map((a) => a.decision.decisionId)).size).toBe(3);
      for (const answer of answers) {
        const found = await app.as('auditor').get(`/v1/decisions/${answer.decision.decisionId}`);
        expect(found.body.version).toBe(answer.decision.version);
      }
    });
  });
}

logContract('SQLite', () => Promise.resolve(undefined));

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});
logContract('PostgreSQL', () => PostgresDecisionLog.open(postgres.url));

test('PostgreSQL: by default the planted name is in no row of any table', async () => {
  const url = await postgres.createDatabase('privacy');
  const app = testApp({ rules: () => shippedRules(), logger: quiet, log: await PostgresDecisionLog.open(url) });
  try {
    expect((await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send(body)).status).toBe(200);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ text: string }>(
        "SELECT string_agg(t.text, E'\\n') AS text FROM (SELECT row_to_json(d)::text AS text FROM decisions d UNION ALL SELECT row_to_json(v)::text FROM rule_versions v) t",
      );
      const stored = rows[0]!.text;
      expect(stored).toContain('segment-allocation');
      expect(stored.includes(PLANTED)).toBe(false);
    } finally {
      await client.end();
    }
  } finally {
    await app.log.close();
  }
});

describe('privacy: facts are kept only as a digest unless the operator opts in', () => {
  test('by default the planted name is nowhere in the SQLite store', async () => {
    const app = testApp({ rules: () => shippedRules(), logger: quiet });
    expect((await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send(body)).status).toBe(200);
    const stored = storedText(app);
    expect(stored).toContain('segment-allocation');
    expect(stored.includes(PLANTED)).toBe(false);
  });

  test('opted in, the facts are kept, and GET shows at once that the decision reproduces', async () => {
    const app = testApp({ rules: () => shippedRules(), logger: quiet, keepFacts: true });
    const res = await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send(body);
    // The same search finds the name when it is kept: the search above is not blind.
    expect(storedText(app).includes(PLANTED)).toBe(true);
    const found = await app.as('auditor').get(`/v1/decisions/${res.body.decisionId}`);
    expect(found.body.factsKept).toBe(true);
    expect(found.body).not.toHaveProperty('facts');
    expect(found.body.reproduction).toEqual(expect.objectContaining({ reproduced: true, differences: [] }));
  });
});

describe('nothing is answered that is not recorded', () => {
  test('when the log cannot write, evaluate is a 503 problem, never a 200', async () => {
    const app = testApp({ rules: () => shippedRules(), logger: quiet });
    await app.log.close();
    const res = await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send(body);
    expect(res.status).toBe(503);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.code).toBe('log-unavailable');
    expect(res.headers['x-decision-id']).toBeUndefined();
    // Nor does the service say it is ready.
    const ready = await app.as('caseworker').get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.code).toBe('not-ready');
  });

  test('a batch whose lines cannot be recorded answers each of them with a 503 line', async () => {
    const app = testApp({ rules: () => shippedRules(), logger: quiet });
    await app.log.close();
    const lines = [1, 2].map((id) => JSON.stringify({ id, ...body })).join('\n');
    const res = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate-batch').set('Content-Type', 'application/x-ndjson').send(lines);
    const answers = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { problem?: { status: number; code: string }; decision?: unknown });
    expect(answers.map((a) => [a.decision, a.problem?.status, a.problem?.code])).toEqual([
      [undefined, 503, 'log-unavailable'],
      [undefined, 503, 'log-unavailable'],
    ]);
  });
});
