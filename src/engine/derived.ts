// Derived facts: counts, windows and sets computed from the raw facts relative to the as-of date.
//
// Hot path: each definition is compiled once per rule-set version into a closure. A window's start
// date is computed once per as-of date (each closure remembers the last one: a batch is usually
// decided as of one date), then entries are compared with it as ISO strings, which order as dates;
// no date is parsed per record and no intermediate list is built. Measured by `npm run bench`.
import { addDays, addMonths, addWorkingDays, daysBetween, type HolidayCalendar } from '../dates/calendar';
import type { DerivedFactDefinition, FactMap, ParamRef, Parameter } from './types';

type Item = Record<string, unknown>;
export type DerivedFact = (facts: FactMap, asOf: string) => unknown;

export function isParamRef(value: unknown): value is ParamRef {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as ParamRef).param === 'string' && Object.keys(value).length === 1
  );
}

function resolve(value: unknown, parameters: Record<string, Parameter>): unknown {
  if (!isParamRef(value)) return value;
  const parameter = parameters[value.param];
  if (!parameter) throw new Error(`unknown parameter ${value.param}`);
  return parameter.value;
}

/** A `where` value naming another fact of the case (`{ "fact": "sharing.agency" }`): an entry matches that fact's value. */
export interface FactRef {
  fact: string;
}

export function isFactRef(value: unknown): value is FactRef {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as FactRef).fact === 'string' && Object.keys(value).length === 1;
}

/** Whether an entry is selected: by its own fields, and (for a `where` naming another fact) the case's fact map. */
export type Matcher = (item: Item, facts: FactMap) => boolean;

function matcher(where: Record<string, unknown> | undefined, parameters: Record<string, Parameter>): Matcher {
  const tests: Matcher[] = Object.entries(where ?? {}).map(([field, raw]): Matcher => {
    if (isFactRef(raw)) {
      // Compared with the case's own value of that fact, read per case: a fact left out (null) matches no entry, since
      // there is nothing to compare with; a list matches an entry whose field is one of its values.
      const path = raw.fact;
      return (item, facts) => {
        const expected = facts[path];
        if (expected === null || expected === undefined) return false;
        return Array.isArray(expected) ? expected.includes(item[field]) : item[field] === expected;
      };
    }
    const expected = resolve(raw, parameters);
    if (expected === null) return (item) => item[field] === undefined || item[field] === null;
    if (Array.isArray(expected)) return (item) => expected.includes(item[field]);
    if (typeof expected === 'object' && (expected as { present?: boolean }).present === true) {
      return (item) => item[field] !== undefined && item[field] !== null;
    }
    return (item) => item[field] === expected;
  });
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0] as Matcher;
  return (item, facts) => tests.every((test) => test(item, facts));
}

/**
 * The date a derived fact is reckoned on: the case's own date of reference when its definition names one (`on`, a date
 * fact such as the day information is to be shared) and the case gives it, else the as-of date.
 */
export function referenceDate(on: string | undefined): (facts: FactMap, asOf: string) => string {
  if (on === undefined) return (_facts, asOf) => asOf;
  return (facts, asOf) => {
    const date = facts[on];
    return typeof date === 'string' ? date : asOf;
  };
}

/**
 * The CaseFacts paths a derived fact reads: its list, the date it counts from (and the one a `daysPast` due date falls
 * back on), its date of reference, and each fact its `where` compares an entry with. A change to any of them can move its value.
 */
export function derivedInputs(definition: DerivedFactDefinition): string[] {
  const inputs: string[] = [];
  for (const fact of [definition.list, definition.date, definition.otherwise?.date, definition.on]) if (fact !== undefined) inputs.push(fact);
  for (const value of Object.values(definition.where ?? {})) if (isFactRef(value) && !inputs.includes(value.fact)) inputs.push(value.fact);
  return inputs;
}

/** The first day after which a dated entry is "within the last N months" of `asOf`, remembered per as-of date. */
function windowFrom(months: number | undefined): (asOf: string) => string | undefined {
  if (months === undefined) return () => undefined;
  let lastAsOf = '';
  let lastStart = '';
  return (asOf) => {
    if (asOf !== lastAsOf) {
      lastStart = addMonths(asOf, -months);
      lastAsOf = asOf;
    }
    return lastStart;
  };
}

/**
 * Dated entries count from their date up to the as-of date; within a window, only after its start. Exported so that
 * holds-until.ts finds the day an entry leaves its window with this very predicate.
 */
export function inPeriod(item: Item, asOf: string, windowStart: string | undefined): boolean {
  const date = item.date;
  if (typeof date !== 'string') return true;
  if (date > asOf) return false;
  return windowStart === undefined || date > windowStart;
}

/**
 * An entry with a period (a restriction) is in force on `asOf`: from on or before it, and no end or an end on or after it.
 * The schema makes `from` a date and `to` a date or absent; an entry of a list without periods is never in force.
 */
function inForce(item: Item, asOf: string): boolean {
  const { from, to } = item;
  return typeof from === 'string' && from <= asOf && (to === undefined || (typeof to === 'string' && asOf <= to));
}

/**
 * In force, and not ended early by the date in its `endedBy` field (a withdrawal) on or before `asOf`: ended on a day,
 * an entry is out of force from that day (holds-until.ts takes that day as one the fact can change on).
 */
function inForceUnended(endedBy: string | undefined): (item: Item, asOf: string) => boolean {
  if (endedBy === undefined) return inForce;
  return (item, asOf) => {
    if (!inForce(item, asOf)) return false;
    const ended = item[endedBy];
    return typeof ended !== 'string' || ended > asOf;
  };
}

const NONE: readonly Item[] = [];

/**
 * How a list-based derived fact chooses its entries, apart from the as-of date: which match its `where`, and the months
 * of its window (undefined: none). For holds-until.ts, which must know on which days the fact's value can change.
 */
export function entrySelection(definition: DerivedFactDefinition, parameters: Record<string, Parameter>): { where: Matcher; months: number | undefined } {
  return {
    where: matcher(definition.where, parameters),
    months: definition.withinMonths === undefined ? undefined : Number(resolve(definition.withinMonths, parameters)),
  };
}

/**
 * The due date a `daysPast` fact counts from, for a case: its `date` fact (or, when that is not given, its `otherwise`
 * fact less `daysBefore` calendar days), plus `after` days (working days when `workingDays`, counted from that day as
 * day 0); null when neither date is given. Exported so that holds-until.ts finds the days its value can change on, and a
 * rule set's module reports the very date its conditions turn on.
 */
export function dueDateOf(
  definition: DerivedFactDefinition,
  parameters: Record<string, Parameter>,
  calendar: HolidayCalendar | undefined,
): (facts: FactMap) => string | null {
  const path = definition.date as string;
  const otherwise = definition.otherwise;
  const before = otherwise === undefined ? 0 : Number(resolve(otherwise.daysBefore, parameters));
  const after = definition.after === undefined ? 0 : Number(resolve(definition.after, parameters));
  const working = definition.workingDays === true;
  if (working && calendar === undefined) throw new Error('a daysPast fact in working days needs the holiday calendar');
  return (facts) => {
    let start = facts[path];
    if (typeof start !== 'string' && otherwise !== undefined) {
      const end = facts[otherwise.date];
      start = typeof end === 'string' ? addDays(end, -before) : undefined;
    }
    if (typeof start !== 'string') return null;
    return working ? addWorkingDays(start, after, calendar as HolidayCalendar) : addDays(start, after);
  };
}

/** The kinds that read entries with a period (in force from `from` to `to`), not dated ones. */
export const PERIOD_KINDS: ReadonlySet<DerivedFactDefinition['kind']> = new Set(['countCurrent', 'firstCurrent']);

function items(facts: FactMap, list: string | undefined): readonly Item[] {
  const value = list === undefined ? undefined : facts[list];
  return Array.isArray(value) ? (value as Item[]) : NONE;
}

/**
 * The entries of a list-based derived fact that it counts or reads for a case (for `countCurrent`, the entries in force
 * on `asOf`): what an impact report names as "the fact values that met it". Not on the hot path; `daysSince` and `daysPast` have none.
 */
export function selectedEntries(definition: DerivedFactDefinition, parameters: Record<string, Parameter>): (facts: FactMap, asOf: string) => readonly Item[] {
  const where = matcher(definition.where, parameters);
  const on = referenceDate(definition.on);
  if (definition.kind === 'daysSince' || definition.kind === 'daysPast') return () => NONE;
  if (PERIOD_KINDS.has(definition.kind)) {
    const current = inForceUnended(definition.endedBy);
    return (facts, asOf) => {
      const day = on(facts, asOf);
      return items(facts, definition.list).filter((item) => where(item, facts) && current(item, day));
    };
  }
  const windowStart = windowFrom(definition.withinMonths === undefined ? undefined : Number(resolve(definition.withinMonths, parameters)));
  return (facts, asOf) => {
    const day = on(facts, asOf);
    const start = windowStart(day);
    return items(facts, definition.list).filter((item) => where(item, facts) && inPeriod(item, day, start));
  };
}

export function compileDerivedFact(definition: DerivedFactDefinition, parameters: Record<string, Parameter>, calendar?: HolidayCalendar): DerivedFact {
  const computed = compileOnAsOf(definition, parameters, calendar);
  if (definition.on === undefined) return computed;
  // Reckoned on the case's date of reference when it gives one, else on the as-of date.
  const on = referenceDate(definition.on);
  return (facts, asOf) => computed(facts, on(facts, asOf));
}

/** The derived fact as reckoned on the date it is given (the as-of date, or the case's date of reference). */
function compileOnAsOf(definition: DerivedFactDefinition, parameters: Record<string, Parameter>, calendar: HolidayCalendar | undefined): DerivedFact {
  const where = matcher(definition.where, parameters);
  const months = definition.withinMonths === undefined ? undefined : Number(resolve(definition.withinMonths, parameters));
  const windowStart = windowFrom(months);
  const { list } = definition;
  /** Calls `each` for every entry of the list that matches `where` and falls in the period. */
  const forSelected = (facts: FactMap, asOf: string, each: (item: Item) => void) => {
    const entries = items(facts, list);
    if (entries.length === 0) return;
    const start = windowStart(asOf);
    for (const item of entries) if (where(item, facts) && inPeriod(item, asOf, start)) each(item);
  };
  switch (definition.kind) {
    case 'count':
      return (facts, asOf) => {
        const entries = items(facts, list);
        if (entries.length === 0) return 0;
        const start = windowStart(asOf);
        let count = 0;
        for (const item of entries) if (where(item, facts) && inPeriod(item, asOf, start)) count += 1;
        return count;
      };
    case 'countCurrent': {
      const current = inForceUnended(definition.endedBy);
      return (facts, asOf) => {
        let count = 0;
        for (const item of items(facts, list)) if (where(item, facts) && current(item, asOf)) count += 1;
        return count;
      };
    }
    case 'firstCurrent': {
      // The `field` of the first entry in list order in force (and selected): which one of several covers a case.
      const field = definition.field as string;
      const current = inForceUnended(definition.endedBy);
      return (facts, asOf) => {
        for (const item of items(facts, list)) {
          if (where(item, facts) && current(item, asOf)) {
            const value = item[field];
            return value === undefined ? null : value;
          }
        }
        return null;
      };
    }
    case 'maxPerGroup': {
      const groupBy = definition.groupBy as string;
      return (facts, asOf) => {
        const counts = new Map<unknown, number>();
        let max = 0;
        forSelected(facts, asOf, (item) => {
          const key = typeof item[groupBy] === 'string' ? item[groupBy].trim().toLowerCase() : item[groupBy];
          const count = (counts.get(key) ?? 0) + 1;
          counts.set(key, count);
          if (count > max) max = count;
        });
        return max;
      };
    }
    case 'distinctValues': {
      const field = definition.field as string;
      return (facts, asOf) => {
        const values = new Set<unknown>();
        forSelected(facts, asOf, (item) => {
          if (item[field] !== undefined && item[field] !== null) values.add(item[field]);
        });
        return [...values].sort();
      };
    }
    case 'missingValues': {
      const field = definition.field as string;
      const required = resolve(definition.required, parameters) as unknown[];
      return (facts, asOf) => {
        const found = new Set<unknown>();
        forSelected(facts, asOf, (item) => found.add(item[field]));
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
    case 'daysPast': {
      // Calendar days from the due date to asOf: 0 on the due date, 1 the day after (overdue), negative before it.
      const due = dueDateOf(definition, parameters, calendar);
      return (facts, asOf) => {
        const date = due(facts);
        return date === null ? null : daysBetween(date, asOf);
      };
    }
    default:
      throw new Error(`unknown derived fact kind ${String((definition as { kind: unknown }).kind)}`);
  }
}
