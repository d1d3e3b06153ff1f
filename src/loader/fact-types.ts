// What kind of value each fact holds, and whether a condition's operator and value fit it.
import { caseFactsSchema } from '../facts/schema';
import { PARAM_PREFIX, type DerivedFactDefinition, type Parameter } from '../engine/types';

export type FactType =
  | { kind: 'boolean'; nullable?: boolean }
  | { kind: 'number'; nullable?: boolean }
  | { kind: 'date'; nullable?: boolean }
  | { kind: 'string'; nullable?: boolean }
  | { kind: 'enum'; values: readonly unknown[]; nullable?: boolean }
  | { kind: 'array' };

interface SchemaNode {
  type?: string;
  format?: string;
  enum?: readonly unknown[];
  default?: unknown;
  properties?: Record<string, SchemaNode>;
}

/** Types of every CaseFacts path; a fact with no default in the vocabulary may be null when left out (unless a rule file defaults it). */
export function caseFactTypes(node: SchemaNode = caseFactsSchema, prefix = '', into = new Map<string, FactType>()): Map<string, FactType> {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const nullable = child.default === undefined;
    if (child.type === 'object' && child.properties) caseFactTypes(child, path, into);
    else if (child.enum) into.set(path, { kind: 'enum', values: child.enum, nullable });
    else if (child.type === 'boolean') into.set(path, { kind: 'boolean', nullable });
    else if (child.type === 'array') into.set(path, { kind: 'array' });
    else if (child.type === 'string' && child.format === 'date') into.set(path, { kind: 'date', nullable });
    else into.set(path, { kind: 'string', nullable });
  }
  return into;
}

export function derivedFactType(definition: DerivedFactDefinition): FactType {
  switch (definition.kind) {
    case 'distinctValues':
    case 'missingValues':
      return { kind: 'array' };
    case 'daysSince':
    case 'daysPast':
      return { kind: 'number', nullable: true };
    case 'firstCurrent':
      return { kind: 'string', nullable: true };
    default:
      return { kind: 'number' };
  }
}

function valueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describeType(type: FactType): string {
  switch (type.kind) {
    case 'boolean':
      return 'true or false';
    case 'number':
      return 'a number';
    case 'date':
      return 'a date (YYYY-MM-DD)';
    case 'string':
      return 'text';
    case 'enum':
      return `one of ${type.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array':
      return 'a list';
  }
}

const NUMERIC = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);
const MEMBERSHIP = new Set(['in', 'notIn']);
const CONTAINMENT = new Set(['contains', 'doesNotContain']);

/**
 * Checks that `operator` fits the fact's type and that the value (or the parameter it names)
 * fits both; returns a sentence with the fix, or undefined when all is well.
 */
export function typeMismatch(fact: string, type: FactType, operator: string, rawValue: unknown, parameters: Record<string, Parameter>): string | undefined {
  let value = rawValue;
  let from = '';
  if (rawValue !== null && typeof rawValue === 'object' && !Array.isArray(rawValue) && typeof (rawValue as { fact?: unknown }).fact === 'string') {
    const ref = (rawValue as { fact: string }).fact;
    if (!ref.startsWith(PARAM_PREFIX)) return undefined; // fact-to-fact comparisons are checked by name only
    const parameter = parameters[ref.slice(PARAM_PREFIX.length)];
    if (!parameter) return undefined; // reported as a dangling parameter
    value = parameter.value;
    from = ` (parameter ${ref.slice(PARAM_PREFIX.length)})`;
  }
  const factIs = `"${fact}" is ${describeType(type)}`;
  if (NUMERIC.has(operator)) {
    if (type.kind !== 'number') return `operator "${operator}" compares numbers, but ${factIs}: use equal, notEqual or in`;
    if (typeof value !== 'number') return `${factIs}, but the rule compares it with ${JSON.stringify(value)}${from}: write a number`;
    return undefined;
  }
  if (MEMBERSHIP.has(operator)) {
    if (type.kind === 'array' || type.kind === 'boolean')
      return `operator "${operator}" asks whether one value is in a list, but ${factIs}: ${type.kind === 'array' ? 'use contains, or lengthEqual' : 'use equal'}`;
    if (!Array.isArray(value))
      return `operator "${operator}" needs a list of values, but the rule gives ${JSON.stringify(value)}${from}: write a list such as ["a", "b"]`;
    if (type.kind === 'enum') {
      const strays = value.filter((v) => !type.values.includes(v));
      if (strays.length > 0) return `${factIs}; ${strays.map((v) => JSON.stringify(v)).join(', ')}${from} can never match: check the spelling`;
    }
    return undefined;
  }
  if (CONTAINMENT.has(operator)) {
    if (type.kind !== 'array') return `operator "${operator}" looks inside a list, but ${factIs}: use equal or in`;
    return undefined;
  }
  if (operator === 'lengthEqual') {
    if (type.kind !== 'array') return `operator "lengthEqual" counts a list's entries, but ${factIs}: use equal`;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      return `lengthEqual needs a whole number of entries, but the rule gives ${JSON.stringify(value)}${from}`;
    return undefined;
  }
  if (operator === 'equal' || operator === 'notEqual') {
    if (value === null) {
      return 'nullable' in type && type.nullable
        ? undefined
        : `${factIs} and is never left empty, so comparing it with null is always ${operator === 'equal' ? 'false' : 'true'}`;
    }
    const actual = valueType(value);
    switch (type.kind) {
      case 'boolean':
        return actual === 'boolean' ? undefined : `${factIs}, but the rule compares it with ${JSON.stringify(value)}${from}: write true or false (no quotes)`;
      case 'number':
        return actual === 'number' ? undefined : `${factIs}, but the rule compares it with ${JSON.stringify(value)}${from}: write a number (no quotes)`;
      case 'date':
      case 'string':
        return actual === 'string' ? undefined : `${factIs}, but the rule compares it with ${JSON.stringify(value)}${from}: write it in double quotes`;
      case 'enum':
        return type.values.includes(value) ? undefined : `${factIs}, so ${JSON.stringify(value)}${from} can never match: check the spelling`;
      case 'array':
        return `${factIs}; equal compares it as a whole and never matches: use lengthEqual or contains`;
    }
  }
  return undefined;
}
