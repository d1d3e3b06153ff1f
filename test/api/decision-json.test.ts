// The API's decision JSON is byte for byte JSON.stringify's, whether a rule's entry is written fresh or reused.
import { decisionJson } from '../../src/api/decision-json';
import { evaluate } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { caseGenerator } from '../../fixtures/generator';
import { shippedRules } from '../support';

const registry = shippedRules();

test.each([...registry.ruleSets.keys()])('%s: the same bytes as JSON.stringify, for both evaluators, first time and reused', async (name) => {
  const versions = registry.ruleSets.get(name)!;
  const next = caseGenerator(77);
  let compared = 0;
  for (let i = 0; i < 400; i += 1) {
    const generated = next();
    const ruleSet = versions.inForceOn(generated.asOf);
    if (!ruleSet) continue;
    const request = parseEvaluateRequest({ asOf: generated.asOf, facts: generated.facts }, name, ruleSet.file.requires);
    for (const engine of ['compiled', 'reference'] as const) {
      const decision = await evaluate(ruleSet, request.facts, generated.asOf, engine);
      const expected = JSON.stringify(decision);
      expect(decisionJson(decision)).toBe(expected);
      expect(decisionJson(decision)).toBe(expected);
      compared += 1;
    }
  }
  expect(compared).toBeGreaterThan(400);
});
