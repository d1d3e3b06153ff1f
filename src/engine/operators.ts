// Operators the rule files may use beyond json-rules-engine's defaults.
import type { Engine } from 'json-rules-engine';

export const CUSTOM_OPERATORS: Record<string, (factValue: unknown, compareTo: unknown) => boolean> = {
  /** A list has exactly the given number of entries (e.g. "no unaddressed mandatory issues": 0). */
  lengthEqual: (factValue, compareTo) => Array.isArray(factValue) && factValue.length === compareTo,
};

export function addCustomOperators(engine: Engine): void {
  for (const [name, evaluate] of Object.entries(CUSTOM_OPERATORS)) engine.addOperator(name, evaluate);
}

/** How each operator reads in a sentence: "<fact> must <phrase> <value>". */
export const OPERATOR_PHRASES: Record<string, string> = {
  equal: 'be',
  notEqual: 'not be',
  in: 'be one of',
  notIn: 'not be one of',
  contains: 'contain',
  doesNotContain: 'not contain',
  lessThan: 'be less than',
  lessThanInclusive: 'be at most',
  greaterThan: 'be more than',
  greaterThanInclusive: 'be at least',
  lengthEqual: 'have this many entries:',
};
