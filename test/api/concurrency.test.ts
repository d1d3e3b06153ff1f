// Overlapping evaluations must decide exactly as the same evaluations run one at a time.
//
// json-rules-engine 7.3 keeps run status on the Engine: overlapping runs on one shared Engine skip
// lower-priority rules silently. These tests fire hundreds of requests at once and compare each
// outcome and explanation with its sequential evaluation.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { bearer, testApp } from '../support/app';
import { evaluate, type Decision, type Evaluator } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { caseGenerator } from '../../fixtures/generator';
import { shippedRules } from '../support';

const registry = shippedRules();
const names = [...registry.ruleSets.keys()];

function cases(count: number, seed: number) {
  const next = caseGenerator(seed);
  return Array.from({ length: count }, (_, i) => ({ name: names[i % names.length] as string, body: next() }));
}

async function sequential(name: string, body: { asOf: string; facts: Record<string, unknown> }, evaluator: Evaluator = 'reference') {
  const ruleSet = registry.ruleSets.get(name)!.resolve(body.asOf);
  const parsed = parseEvaluateRequest(body, name, ruleSet.file.requires);
  return evaluate(ruleSet, parsed.facts, parsed.asOf!, evaluator);
}

let server: Server;
beforeAll(async () => {
  server = await testApp({ rules: () => registry }).listen();
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

// json-rules-engine (the reference evaluator) is the one with engine-wide run state, so the overlap
// tests run it; the compiled evaluator is synchronous and proven equal to it in differential.test.ts.
test('600 overlapping HTTP requests (reference evaluator) decide exactly as their sequential evaluations', async () => {
  const batch = cases(600, 20251114);
  const expected: Decision[] = [];
  for (const c of batch) expected.push(await sequential(c.name, c.body));
  const { port } = server.address() as AddressInfo;
  const agent = request(`http://127.0.0.1:${port}`);
  const responses = await Promise.all(
    batch.map((c) => agent.post(`/v1/rulesets/${c.name}/evaluate?engine=reference`).set('Authorization', bearer('caseworker')).send(c.body)),
  );
  let differing = 0;
  responses.forEach((res, i) => {
    expect(res.status).toBe(200);
    const want = expected[i]!;
    if (JSON.stringify(res.body.outcome) !== JSON.stringify(want.outcome) || JSON.stringify(res.body.explanation) !== JSON.stringify(want.explanation))
      differing += 1;
  });
  expect(differing).toBe(0);
  // The cases are varied enough that a skipped rule would show: both outcomes occur for each rule set.
  const eligible = responses.filter((r, i) => batch[i]!.name === 'direct-referral').map((r) => r.body.outcome.eligible);
  expect(new Set(eligible)).toEqual(new Set([true, false]));
});

test('5,000 overlapping in-process evaluations (reference evaluator) equal their sequential results', async () => {
  const batch = cases(5000, 7);
  const expected: string[] = [];
  for (const c of batch) expected.push(JSON.stringify((await sequential(c.name, c.body)).explanation));
  const concurrent = await Promise.all(batch.map((c) => sequential(c.name, c.body)));
  const differing = concurrent.filter((d, i) => JSON.stringify(d.explanation) !== expected[i]).length;
  expect(differing).toBe(0);
});
