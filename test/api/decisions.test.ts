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
import { FIXTURES_DIR, RULES_DIR, shippedRules } from '../support';
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

// A full phone restriction to 2026-02-28, decided on 2025-12-01: segment 3 while it is in force, so the verdict holds
// until 2026-03-01 (the fixture's expectedSummary): a holdsUntil that is a date.
const RESTRICTED = 'segment-allocation/43-restriction-ending-2026-02-28-holds-until-2026-03-01.json';
const restricted = JSON.parse(readFileSync(path.join(FIXTURES_DIR, RESTRICTED), 'utf8')) as {
  asOf: string;
  facts: Record<string, unknown>;
  expectedSummary: { holdsUntil: string };
};
const restrictedBody = { asOf: restricted.asOf, facts: restricted.facts };

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
        // The answer was explained in full, so it carried a summary: the log keeps its holdsUntil.
        summary: { holdsUntil: res.body.summary.holdsUntil },
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

    test('a fact added to the vocabulary later is left out only where the facts given leave it out: a need given is a fact decided on', async () => {
      const given = { program: 'centrelink', customer: { needs: ['legal'] } };
      const res = await app.as('caseworker').post('/v1/rulesets/referral-options/evaluate').send({ asOf: '2025-06-02', facts: given });
      expect(res.status).toBe(200);
      const same = await app.as('auditor').post(`/v1/decisions/${res.body.decisionId}/reproduce`).send({ facts: given });
      expect(same.status).toBe(200);
      const without = await app
        .as('auditor')
        .post(`/v1/decisions/${res.body.decisionId}/reproduce`)
        .send({ facts: { program: 'centrelink' } });
      expect(without.status).toBe(409);
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
      // Its summary is worked out from that version alone (the versions loaded now are not those it was decided
      // among): no later version was loaded then either, so holdsUntil is the one recorded.
      expect(again.body.differences).toEqual([]);
      expect(again.body.decision.summary.holdsUntil).toBe(before.body.summary.holdsUntil);
    });

    test('a dated version loaded since moves holdsUntil: listed as a difference, not counted against reproduced', async () => {
      const own = rulesCopy();
      const given = await makeLog();
      const dated = testApp({ rules: () => own.store.current(), logger: quiet, log: given });
      try {
        const file = path.join(own.dir, 'segment-allocation.json');
        const later = path.join(own.dir, 'segment-allocation.from-2026-02-01.json');
        const text = readFileSync(file, 'utf8');
        const from = '"effectiveFrom": "2025-01-14",';
        const approver = '"value": "PS Service Support Manager (SSM)"';
        expect(text).toContain(from);
        expect(text).toContain(approver);
        // The version in force to 2026-01-31, and one from 2026-02-01 naming another approver: the verdict changes then.
        writeFileSync(file, text.replace(from, `${from}\n  "effectiveTo": "2026-01-31",`));
        writeFileSync(later, text.replace(from, '"effectiveFrom": "2026-02-01",').replace(approver, '"value": "PS Service Manager"'));
        expect(own.store.reload().ok).toBe(true);
        const res = await dated.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate?explain=summary').send(restrictedBody);
        expect(res.status).toBe(200);
        expect(res.body.summary.holdsUntil).toBe('2026-02-01');

        // The later version replaced by one that decides as the first does: now the verdict holds until the restriction ends.
        writeFileSync(later, text.replace(from, '"effectiveFrom": "2026-02-01",'));
        expect(own.store.reload().ok).toBe(true);
        const again = await dated.as('auditor').post(`/v1/decisions/${res.body.decisionId}/reproduce`).send({ facts: restricted.facts });
        expect(again.status).toBe(200);
        // The deciding version is still loaded, and decides as it did.
        expect(again.body.version).toBe(res.body.version);
        expect(again.body.decision.outcome).toEqual(res.body.outcome);
        expect(again.body.reproduced).toBe(true);
        expect(again.body.differences).toEqual([{ field: 'summary.holdsUntil', recorded: '2026-02-01', now: '2026-03-01' }]);
        expect(again.body.decision.summary.holdsUntil).toBe('2026-03-01');
      } finally {
        own.store.close();
        if (given) await given.close();
      }
    });

    test('an unknown decision id is a 404; a malformed one too', async () => {
      expect((await app.as('auditor').get('/v1/decisions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await app.as('auditor').get('/v1/decisions/not-a-uuid')).status).toBe(404);
    });

    test("a summary answer's record keeps its holdsUntil; the re-run gives the same, so no difference", async () => {
      expect(restricted.expectedSummary.holdsUntil).toBe('2026-03-01');
      const res = await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate?explain=summary').send(restrictedBody);
      expect(res.status).toBe(200);
      expect(res.body.summary.holdsUntil).toBe('2026-03-01');
      const found = await app.as('auditor').get(`/v1/decisions/${res.body.decisionId}`);
      expect(found.status).toBe(200);
      expect(found.body.summary).toEqual({ holdsUntil: '2026-03-01' });
      const again = await app.as('auditor').post(`/v1/decisions/${res.body.decisionId}/reproduce`).send({ facts: restricted.facts });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(expect.objectContaining({ reproduced: true, differences: [] }));
      // The re-run carries its summary, as the answer did: the same reasons and holdsUntil.
      expect(again.body.decision.summary.holdsUntil).toBe('2026-03-01');
      expect(again.body.decision.summary.reasons).toEqual(res.body.summary.reasons);
    });

    test('a short answer (?explain=none) carried no summary: its record keeps none, and reproduce reports no difference', async () => {
      const res = await app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate?explain=none').send(restrictedBody);
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('summary');
      const found = await app.as('auditor').get(`/v1/decisions/${res.body.decisionId}`);
      expect(found.body.summary).toBeNull();
      const again = await app.as('auditor').post(`/v1/decisions/${res.body.decisionId}/reproduce`).send({ facts: restricted.facts });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(expect.objectContaining({ reproduced: true, differences: [] }));
      // Nothing recorded to compare with; the re-run still has its summary.
      expect(again.body.decision.summary.holdsUntil).toBe('2026-03-01');
    });

    test('an evaluate-batch line answered with ?explain=summary records its holdsUntil; with ?explain=none, none', async () => {
      const lines = [1, 2].map((id) => JSON.stringify({ id, ...restrictedBody })).join('\n');
      const answers = async (query: string) => {
        const res = await app
          .as('caseworker')
          .post(`/v1/rulesets/segment-allocation/evaluate-batch${query}`)
          .set('Content-Type', 'application/x-ndjson')
          .send(lines);
        expect(res.status).toBe(200);
        return res.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { decision: { decisionId: string; summary?: { holdsUntil: string | null } } });
      };
      for (const answer of await answers('?explain=summary')) {
        expect(answer.decision.summary?.holdsUntil).toBe('2026-03-01');
        expect((await app.as('auditor').get(`/v1/decisions/${answer.decision.decisionId}`)).body.summary).toEqual({ holdsUntil: '2026-03-01' });
      }
      for (const answer of await answers('?explain=none')) {
        expect((await app.as('auditor').get(`/v1/decisions/${answer.decision.decisionId}`)).body.summary).toBeNull();
      }
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
