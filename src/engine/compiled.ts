// The compiled evaluator: the same rule JSON turned into plain closures, recording the same explanation.
//
// Hot path: conditions, operators, labels and parameter references are resolved once per rule-set
// version; evaluating a case is then synchronous function calls, with no promises, no fact cache
// and no deep clones. It mirrors json-rules-engine 7.3's semantics for the operators rule files
// may use (the loader refuses others); test/engine/differential.test.ts proves it equal to the
// reference over generated cases, and an auditor can still ask for the reference per request.
import type { TopLevelCondition } from 'json-rules-engine';
import { citation, expectedFromOf, explainLeaf, leafTextHead, show, type ConditionExplanation, type RuleExplanation } from './explain';
import { CUSTOM_OPERATORS } from './operators';
import { PARAM_PREFIX, type FactMap, type RuleDefinition } from './types';

type OperatorFn = (factValue: unknown, compareTo: unknown) => boolean;

const isNumber = (value: unknown) => Number.parseFloat(value as string).toString() !== 'NaN';

/** json-rules-engine's default operators, each with the fact-value validator it applies first. */
const OPERATORS: Record<string, OperatorFn> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: (a, b) => (b as unknown[]).indexOf(a) > -1,
  notIn: (a, b) => (b as unknown[]).indexOf(a) === -1,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: (a, b) => isNumber(a) && (a as number) < (b as number),
  lessThanInclusive: (a, b) => isNumber(a) && (a as number) <= (b as number),
  greaterThan: (a, b) => isNumber(a) && (a as number) > (b as number),
  greaterThanInclusive: (a, b) => isNumber(a) && (a as number) >= (b as number),
  ...CUSTOM_OPERATORS,
};

type Explainer = (facts: FactMap) => ConditionExplanation;

const VERDICT_MET = ': met.';
const VERDICT_NOT_MET = ': not met.';

/** Characters JSON.stringify would escape in a string. */
const NEEDS_ESCAPING = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** The actual value as the sentence shows it (as show() does); the common scalars without JSON.stringify. */
function showActual(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return String(value);
    case 'string':
      return NEEDS_ESCAPING.test(value) ? show(value) : `"${value}"`;
    case 'undefined':
      return 'nothing';
    default:
      return show(value);
  }
}

function compileCondition(condition: Record<string, unknown>, labels: Readonly<Record<string, string>>, parameterFacts: FactMap): Explainer {
  if (Array.isArray(condition.all) || Array.isArray(condition.any)) {
    const every = Array.isArray(condition.all);
    const children = ((every ? condition.all : condition.any) as Record<string, unknown>[]).map((c) => compileCondition(c, labels, parameterFacts));
    // json-rules-engine evaluates every condition of one priority; none here has a priority.
    return every
      ? (facts) => {
          const all: ConditionExplanation[] = new Array(children.length);
          let result = true;
          for (let i = 0; i < children.length; i += 1) {
            const explained = (children[i] as Explainer)(facts);
            if (explained.result !== true) result = false;
            all[i] = explained;
          }
          return { all, result };
        }
      : (facts) => {
          const any: ConditionExplanation[] = new Array(children.length);
          let result = false;
          for (let i = 0; i < children.length; i += 1) {
            const explained = (children[i] as Explainer)(facts);
            if (explained.result === true) result = true;
            any[i] = explained;
          }
          return { any, result };
        };
  }
  if (condition.not !== undefined) {
    const child = compileCondition(condition.not as Record<string, unknown>, labels, parameterFacts);
    return (facts) => {
      const explained = child(facts);
      return { not: explained, result: explained.result !== true };
    };
  }
  const fact = condition.fact as string;
  const operatorName = condition.operator as string;
  const operator = OPERATORS[operatorName];
  if (!operator) throw new Error(`operator ${operatorName} has no compiled form`);
  const value = condition.value;
  const reference = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { fact?: unknown }).fact === 'string'
    ? (value as { fact: string }).fact
    : undefined;
  const label = labels[fact] ?? fact;
  if (reference === undefined || reference.startsWith(PARAM_PREFIX)) {
    // The expected value is fixed for this version (a literal or a parameter): its half of the sentence is written once.
    const expected = reference === undefined ? value : parameterFacts[reference];
    if (reference !== undefined && !(reference in parameterFacts)) throw new Error(`condition on ${fact} names unknown ${reference}`);
    const head = leafTextHead(fact, label, operatorName, expected);
    const expectedFrom = reference === undefined ? undefined : expectedFromOf(reference);
    return (facts) => {
      const actual = facts[fact];
      const result = operator(actual, expected);
      const text = head + showActual(actual) + (result ? VERDICT_MET : VERDICT_NOT_MET);
      return expectedFrom === undefined
        ? { fact, label, operator: operatorName, expected, actual: actual ?? null, result, text }
        : { fact, label, operator: operatorName, expected, actual: actual ?? null, result, text, expectedFrom };
    };
  }
  return (facts) => {
    const actual = facts[fact];
    const expected = facts[reference];
    return explainLeaf(fact, label, operatorName, expected, reference, actual, operator(actual, expected));
  };
}

export type CompiledRule = (facts: FactMap) => RuleExplanation;

/** One rule as a closure; `parameterFacts` ("param:<name>" → value) are this version's, resolved now. */
export function compileRule(rule: RuleDefinition, labels: Readonly<Record<string, string>>, parameterFacts: FactMap): CompiledRule {
  const conditions = compileCondition(rule.conditions as TopLevelCondition as unknown as Record<string, unknown>, labels, parameterFacts);
  const ruleCitation = citation(rule.sources);
  const { name, description, sources, requiredFor } = rule;
  return (facts) => {
    const explained = conditions(facts);
    const fired = explained.result === true;
    return requiredFor
      ? { rule: name, fired, description, sources, citation: ruleCitation, conditions: explained, requiredFor }
      : { rule: name, fired, description, sources, citation: ruleCitation, conditions: explained };
  };
}
