// The compiled evaluator equals the reference (json-rules-engine itself): same outcome, same
// fired rules without the explanation (decideVerdict, for triage), same
// explanation, condition by condition and sentence by sentence, over 20,000 generated cases for every
// rule-set version.
import { isDeepStrictEqual } from 'node:util';
import { decideVerdict, evaluate } from '../../src/engine/evaluate';
import { sentencesOf } from '../../src/engine/explain';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { caseGenerator } from '../../fixtures/generator';
import { shippedRules } from '../support';

const CASES = 20_000;
const registry = shippedRules();
const versions = [...registry.ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [`${rs.name} ${v.sourceFile}`, v] as const));

test.each(versions)('%s: compiled and reference agree on every case', async (_name, ruleSet) => {
  const next = caseGenerator(4242);
  let differing = 0;
  let fired = 0;
  let firstDifference: unknown;
  for (let i = 0; i < CASES; i += 1) {
    const generated = next();
    // Date each case inside the version's period.
    const asOf = ruleSet.effectiveTo && generated.asOf > ruleSet.effectiveTo ? `2024${generated.asOf.slice(4)}` : generated.asOf;
    const request = parseEvaluateRequest({ asOf, facts: generated.facts }, ruleSet.name, ruleSet.file.requires);
    const compiled = await evaluate(ruleSet, request.facts, asOf, 'compiled');
    const reference = await evaluate(ruleSet, request.facts, asOf, 'reference');
    const verdict = decideVerdict(ruleSet, request.facts, asOf);
    const same =
      isDeepStrictEqual(compiled.outcome, reference.outcome) &&
      isDeepStrictEqual(verdict.outcome, compiled.outcome) &&
      isDeepStrictEqual(
        verdict.fired,
        compiled.explanation.filter((r) => r.fired).map((r) => r.rule),
      ) &&
      isDeepStrictEqual(compiled.explanation, reference.explanation) &&
      isDeepStrictEqual(sentencesOf(compiled.explanation), sentencesOf(reference.explanation));
    if (!same) {
      differing += 1;
      firstDifference ??= { asOf, facts: generated.facts, compiled: compiled.explanation, reference: reference.explanation };
    }
    fired += compiled.explanation.filter((r) => r.fired).length;
  }
  expect(firstDifference).toBeUndefined();
  expect(differing).toBe(0);
  expect(fired).toBeGreaterThan(0);
});
