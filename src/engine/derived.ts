// Derived facts: counts, windows and sets computed from the raw facts relative to the as-of date.
//
// Hot path: each definition is compiled once per rule-set version into a closure; window start
// dates are computed once per (asOf, months) and cached, then compared as ISO strings, so no date
// is parsed per record. Dates are YYYY-MM-DD, which order correctly as strings.
import { addMonths, daysBetween } from '../dates/calendar';
import type { DerivedFactDefinition, FactMap, ParamRef, Parameter } from './types';

type Item = Record<string, unknown>;
export type DerivedFact = (facts: FactMap, asOf: string) => unknown;

const windowStarts = new Map<string, string>();
function windowStart(asOf: string, months: number): string {
  const key = `${asOf}|${months}`;
  let start = windowStarts.get(key);
  if (start === undefined) {
    if (windowStarts.size > 10_000) windowStarts.clear();
    start = addMonths(asOf, -months);
    windowStarts.set(key, start);
  }
  return start;
}

export function isParamRef(value: unknown): value is ParamRef {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as ParamRef).param === 'string' && Object.keys(value).length === 1;
}

function resolve(value: unknown, parameters: Record<string, Parameter>): unknown {
  if (!isParamRef(value)) return value;
  const parameter = parameters[value.param];
  if (!parameter) throw new Error(`unknown parameter ${value.param}`);
  return parameter.value;
}

type Matcher = (item: Item) => boolean;

function matcher(where: Record<string, unknown> | undefined, parameters: Record<string, Parameter>): Matcher {
  const tests: Matcher[] = Object.entries(where ?? {}).map(([field, raw]) => {
    const expected = resolve(raw, parameters);
    if (expected === null) return (item) => item[field] === undefined || item[field] === null;
    if (Array.isArray(expected)) return (item) => expected.includes(item[field]);
    if (typeof expected === 'object' && (expected as { present?: boolean }).present === true) {
      return (item) => item[field] !== undefined && item[field] !== null;
    }
    return (item) => item[field] === expected;
  });
  return (item) => tests.every((test) => test(item));
}

/** Dated entries count from their date up to the as-of date; within a window, only after its start. */
function dated(withinMonths: number | undefined): (item: Item, asOf: string) => boolean {
  return (item, asOf) => {
    const date = item.date;
    if (typeof date !== 'string') return true;
    if (date > asOf) return false;
    return withinMonths === undefined || date > windowStart(asOf, withinMonths);
  };
}

function items(facts: FactMap, list: string | undefined): Item[] {
  const value = list === undefined ? undefined : facts[list];
  return Array.isArray(value) ? (value as Item[]) : [];
}

export function compileDerivedFact(definition: DerivedFactDefinition, parameters: Record<string, Parameter>): DerivedFact {
  const where = matcher(definition.where, parameters);
  const months = definition.withinMonths === undefined ? undefined : Number(resolve(definition.withinMonths, parameters));
  const inWindow = dated(months);
  const selected = (facts: FactMap, asOf: string) => items(facts, definition.list).filter((item) => where(item) && inWindow(item, asOf));
  switch (definition.kind) {
    case 'count':
      return (facts, asOf) => selected(facts, asOf).length;
    case 'countCurrent':
      return (facts, asOf) =>
        items(facts, definition.list).filter((item) => where(item) && String(item.from) <= asOf && (item.to === undefined || asOf <= String(item.to))).length;
    case 'maxPerGroup': {
      const groupBy = definition.groupBy as string;
      return (facts, asOf) => {
        const counts = new Map<unknown, number>();
        for (const item of selected(facts, asOf)) {
          const key = typeof item[groupBy] === 'string' ? (item[groupBy] as string).trim().toLowerCase() : item[groupBy];
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return Math.max(0, ...counts.values());
      };
    }
    case 'distinctValues': {
      const field = definition.field as string;
      return (facts, asOf) => {
        const values = new Set<unknown>();
        for (const item of selected(facts, asOf)) if (item[field] !== undefined && item[field] !== null) values.add(item[field]);
        return [...values].sort();
      };
    }
    case 'missingValues': {
      const field = definition.field as string;
      const required = resolve(definition.required, parameters) as unknown[];
      return (facts, asOf) => {
        const found = new Set(selected(facts, asOf).map((item) => item[field]));
        return required.filter((value) => !found.has(value));
      };
    }
    case 'daysSince': {
      const path = definition.date as string;
      return (facts, asOf) => {
        const date = facts[path];
        return typeof date === 'string' ? daysBetween(date, asOf) : null;
      };
    }
    default:
      throw new Error(`unknown derived fact kind ${String((definition as { kind: unknown }).kind)}`);
  }
}
