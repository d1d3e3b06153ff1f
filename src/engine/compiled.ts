// The compiled evaluator: the same rule JSON turned into plain functions, recording the same explanation.
//
// Hot path: each rule becomes one generated function, once per rule-set version. Conditions,
// operators, labels and parameter references are resolved at that point, every condition's fact
// is read by a property access of its own (so each stays monomorphic), the common operators are
// inlined, and the fixed half of each sentence is written once; evaluating a case is then straight-
// line code, with no promises, no fact cache and no deep clones; sentences are written when read. Only the code's shape comes from
// the rule: every value (fact names, expected values, labels, sources) reaches it as a constant
// passed in, never as source text. It mirrors json-rules-engine 7.3's semantics for the operators
// rule files may use (the loader refuses others); test/engine/differential.test.ts and
// `npm run differential` prove it equal to the reference over generated cases, and an auditor can
// still ask for the reference per request. `npm run bench` measures it.
import { citation, ConditionLine, expectedFromOf, explainLeaf, leafTextHead, type RuleExplanation } from './explain';
import { CUSTOM_OPERATORS } from './operators';
import { PARAM_PREFIX, type FactMap, type RuleDefinition } from './types';

type OperatorFn = (factValue: unknown, compareTo: unknown) => boolean;

/** json-rules-engine's number check (parseFloat, then toString, is not "NaN"); for a number that is just "not NaN". */
const isNumber = (value: unknown) => (typeof value === 'number' ? !Number.isNaN(value) : Number.parseFloat(value as string).toString() !== 'NaN');

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

/** The same operators as expressions over an actual value `a` and a constant `e`, for the generated code. */
const INLINE: Record<string, (a: string, e: string) => string> = {
  equal: (a, e) => `${a} === ${e}`,
  notEqual: (a, e) => `${a} !== ${e}`,
  lessThan: (a, e) => `(isNumber(${a}) && ${a} < ${e})`,
  lessThanInclusive: (a, e) => `(isNumber(${a}) && ${a} <= ${e})`,
  greaterThan: (a, e) => `(isNumber(${a}) && ${a} > ${e})`,
  greaterThanInclusive: (a, e) => `(isNumber(${a}) && ${a} >= ${e})`,
};

export type CompiledRule = (facts: FactMap) => RuleExplanation;

/** Writes one rule's function: statements computing each condition's result and explanation, in order. */
class RuleWriter {
  readonly constants: unknown[] = [];
  readonly statements: string[] = [];
  private names = 0;

  constructor(
    private readonly labels: Readonly<Record<string, string>>,
    private readonly parameterFacts: FactMap,
    /** false: results only, for callers that need which rules fire and not why (triage without --explain). */
    private readonly explain = true,
  ) {}

  /** A statement that builds the explanation: left out when results are all that is wanted. */
  private explaining(...statements: string[]): void {
    if (this.explain) this.statements.push(...statements);
  }

  /** A constant passed into the generated code: its name there. */
  constant(value: unknown): string {
    this.constants.push(value);
    return `k${this.constants.length - 1}`;
  }

  /** The rule's function: the statements written, then `returned`; constants bound once, outside it. */
  build<T>(returned: string): (facts: FactMap) => T {
    const constants = this.constants.map((_value, i) => `k${i} = k[${i}]`).join(', ');
    const source = `${constants ? `const ${constants};\n` : ''}return function rule(f) {\n${this.statements.join('\n')}\nreturn ${returned};\n};`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds generated names and operators only; every value from the rule file (fact names, expected values, labels, sources) comes in through k
    const factory = new Function('k', 'isNumber', 'ConditionLine', 'explainLeaf', source) as (
      k: unknown[],
      isNumberFn: typeof isNumber,
      line: typeof ConditionLine,
      explainLeafFn: typeof explainLeaf,
    ) => (facts: FactMap) => T;
    return factory(this.constants, isNumber, ConditionLine, explainLeaf);
  }

  private name(prefix: string): string {
    this.names += 1;
    return `${prefix}${this.names}`;
  }

  /** Emits a condition; returns the names of its explanation and its (boolean) result. */
  condition(condition: Record<string, unknown>): { explained: string; result: string } {
    if (Array.isArray(condition.all) || Array.isArray(condition.any)) {
      // json-rules-engine evaluates every condition of one priority; none here has a priority.
      const every = Array.isArray(condition.all);
      const children = ((every ? condition.all : condition.any) as Record<string, unknown>[]).map((c) => this.condition(c));
      const result = this.name('r');
      const joined = children.map((c) => c.result).join(every ? ' && ' : ' || ');
      this.statements.push(`const ${result} = ${joined || String(every)};`);
      const explained = this.name('e');
      this.explaining(`const ${explained} = { ${every ? 'all' : 'any'}: [${children.map((c) => c.explained).join(', ')}], result: ${result} };`);
      return { explained, result };
    }
    if (condition.not !== undefined) {
      const child = this.condition(condition.not as Record<string, unknown>);
      const result = this.name('r');
      const explained = this.name('e');
      this.statements.push(`const ${result} = !${child.result};`);
      this.explaining(`const ${explained} = { not: ${child.explained}, result: ${result} };`);
      return { explained, result };
    }
    return this.leaf(condition);
  }

  private leaf(condition: Record<string, unknown>): { explained: string; result: string } {
    const fact = condition.fact as string;
    const operatorName = condition.operator as string;
    const operator = OPERATORS[operatorName];
    if (typeof fact !== 'string' || !operator) throw new Error(`condition ${JSON.stringify(condition)} has no compiled form`);
    const value = condition.value;
    const reference =
      value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { fact?: unknown }).fact === 'string'
        ? (value as { fact: string }).fact
        : undefined;
    const label = this.labels[fact] ?? fact;
    const actual = this.name('a');
    const result = this.name('r');
    const explained = this.name('e');
    this.statements.push(`const ${actual} = f[${this.constant(fact)}];`);
    if (reference !== undefined && !reference.startsWith(PARAM_PREFIX)) {
      // A fact compared with another fact: both read per case.
      const expected = this.name('x');
      this.statements.push(`const ${expected} = f[${this.constant(reference)}];`, `const ${result} = ${this.constant(operator)}(${actual}, ${expected});`);
      this.explaining(
        `const ${explained} = explainLeaf(${this.constant(fact)}, ${this.constant(label)}, ${this.constant(operatorName)}, ${expected}, ${this.constant(reference)}, ${actual}, ${result});`,
      );
      return { explained, result };
    }
    // The expected value is fixed for this version (a literal or a parameter): so is its half of the sentence.
    if (reference !== undefined && !(reference in this.parameterFacts)) throw new Error(`condition on ${fact} names unknown ${reference}`);
    const expectedValue = reference === undefined ? value : this.parameterFacts[reference];
    const expected = this.constant(expectedValue);
    const inline = INLINE[operatorName];
    this.statements.push(`const ${result} = ${inline ? inline(actual, expected) : `${this.constant(operator)}(${actual}, ${expected})`};`);
    if (!this.explain) return { explained, result };
    const head = this.constant(leafTextHead(fact, label, operatorName, expectedValue));
    const from = reference === undefined ? '' : `, ${this.constant(expectedFromOf(reference))}`;
    this.explaining(
      `const ${explained} = new ConditionLine(${this.constant(fact)}, ${this.constant(label)}, ${this.constant(operatorName)}, ${expected}, ${actual}, ${result}, ${head}${from});`,
    );
    return { explained, result };
  }
}

/** One rule as a generated function; `parameterFacts` ("param:<name>" → value) are this version's, resolved now. */
export function compileRule(rule: RuleDefinition, labels: Readonly<Record<string, string>>, parameterFacts: FactMap): CompiledRule {
  const writer = new RuleWriter(labels, parameterFacts);
  const top = writer.condition(rule.conditions);
  const fields = [
    `rule: ${writer.constant(rule.name)}`,
    `fired: ${top.result} === true`,
    `description: ${writer.constant(rule.description)}`,
    `sources: ${writer.constant(rule.sources)}`,
    `citation: ${writer.constant(citation(rule.sources))}`,
    `conditions: ${top.explained}`,
  ];
  if (rule.requiredFor) fields.push(`requiredFor: ${writer.constant(rule.requiredFor)}`);
  if (rule.interpretation) fields.push(`interpretation: ${writer.constant(rule.interpretation)}`);
  return writer.build<RuleExplanation>(`{ ${fields.join(', ')} }`);
}

export type RuleVerdict = (facts: FactMap) => boolean;

/** Whether a rule fires, and nothing else: the same generated code without the explanation. */
export function compileRuleVerdict(rule: RuleDefinition, parameterFacts: FactMap): RuleVerdict {
  const writer = new RuleWriter({}, parameterFacts, false);
  const top = writer.condition(rule.conditions);
  return writer.build<boolean>(`${top.result} === true`);
}
