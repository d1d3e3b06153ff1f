// The compiled evaluator: the same rule JSON turned into plain closures, recording the same explanation.
//
// Hot path: conditions, operators, labels and parameter references are resolved once per rule-set
// version; evaluating a case is then synchronous function calls, with no promises, no fact cache
// and no deep clones. It mirrors json-rules-engine 7.3's semantics for the operators rule files
// may use (the loader refuses others); test/engine/differential.test.ts proves it equal to the
// reference over generated cases, and an auditor can still ask for the reference per request.
import type { TopLevelCondition } from 'json-rules-engine';
import { explainLeaf, ruleExplanation, type ConditionExplanation, type RuleExplanation } from './explain';
import { CUSTOM_OPERATORS } from './operators';
import type { FactMap, RuleDefinition } from './types';

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

function compileCondition(condition: Record<string, unknown>, labels: Readonly<Record<string, string>>): Explainer {
  if (Array.isArray(condition.all) || Array.isArray(condition.any)) {
    const every = Array.isArray(condition.all);
    const children = ((every ? condition.all : condition.any) as Record<string, unknown>[]).map((c) => compileCondition(c, labels));
    return (facts) => {
      // json-rules-engine evaluates every condition of one priority; none here has a priority.
      const explained = children.map((child) => child(facts));
      const result = every ? explained.every((c) => c.result === true) : explained.some((c) => c.result === true);
      return every ? { all: explained, result } : { any: explained, result };
    };
  }
  if (condition.not !== undefined) {
    const child = compileCondition(condition.not as Record<string, unknown>, labels);
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
  return (facts) => {
    const actual = facts[fact];
    const expected = reference === undefined ? value : facts[reference];
    return explainLeaf(fact, label, operatorName, expected, reference, actual, operator(actual, expected));
  };
}

export type CompiledRule = (facts: FactMap) => RuleExplanation;

export function compileRule(rule: RuleDefinition, labels: Readonly<Record<string, string>>): CompiledRule {
  const conditions = compileCondition(rule.conditions as TopLevelCondition as unknown as Record<string, unknown>, labels);
  return (facts) => {
    const explained = conditions(facts);
    const fired = explained.result === true;
    return ruleExplanation(rule, fired, explained);
  };
}
