// summary.holdsUntil: the first day after asOf on which the same facts give a different verdict, time alone moving.
//
// Exact, not sampled. With the facts fixed, a decision depends on the date in only two ways: which version is in force
// (its rules and parameters), and the derived facts, the only facts computed from the as-of date (derived.ts). Nothing
// else moves with time: the case's own facts are the request's, parameters are the version's, and an outcome builder
// reads asOf only for the fields its module lists in `datedFromAsOf` (a review date asOf plus some months), which the
// verdict leaves out. So the verdict can change only on a day when a version starts or ends, or a derived fact's value
// can change:
// - a list counted up to the as-of date (count, maxPerGroup, distinctValues, missingValues): a dated entry it selects
//   enters on its date, and within a window of m months leaves on the first day X whose window start
//   (addMonths(X, -m)) is on or after its date, found with derived.ts's own predicate (inPeriod);
// - entries with a period (countCurrent, firstCurrent): in force from `from`, out from the day after `to`, or from the
//   day in their `endedBy` field (a withdrawal) when the definition names one;
// - a derived fact reckoned on a date of the case's own (`on`) when the case gives it does not move with asOf at all;
//   one whose `where` compares entries with another fact of the case selects the same entries every day (the facts are
//   fixed), so the candidate days above are read from the entries it selects;
// - days since a date (daysSince), or past a due date reckoned from the case's dates (daysPast: a date plus some days or
//   working days): grows by one a day, so a condition comparing it with a number t can change only on the day it
//   reaches t or t + 1 (date + t, date + t + 1); every threshold any condition of the version compares it with is read
//   from the rule file (a number, a list of them, or a `param:` fact).
// Only those candidate days are evaluated, in order, each by the version in force on it, stopping at the first whose
// verdict differs: a few evaluations a case. test/engine/holds-until.test.ts checks every day between, exhaustively,
// for a sample of generated cases.
import { addDays, addMonths, dateOfDay, dayNumber } from '../dates/calendar';
import type { CaseFacts } from '../facts/validate';
import type { RuleSetVersions } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import type { CompiledRuleSet } from './compile';
import { dueDateOf, entrySelection, inPeriod, PERIOD_KINDS, type Matcher } from './derived';
import { outcomeFrom } from './evaluate';
import { PARAM_PREFIX, type FactMap } from './types';

/** What moves one derived fact's value with the date, as read from its definition once per version. */
type Mover = (
  | { kind: 'entries'; list: string; where: Matcher; months: number | undefined }
  | { kind: 'periods'; list: string; where: Matcher; endedBy: string | undefined }
  | { kind: 'days'; from: (factMap: FactMap) => string | null; thresholds: readonly number[] }
) & {
  /** The case's date of reference the fact is reckoned on when given (definition.on): then it does not move with asOf. */
  on: string | undefined;
};

type Item = Record<string, unknown>;

const movers = new WeakMap<CompiledRuleSet, readonly Mover[]>();

/** Each derived fact of a version, as what can move it: worked out once per version. */
function moversOf(ruleSet: CompiledRuleSet): readonly Mover[] {
  let found = movers.get(ruleSet);
  if (!found) {
    const { derivedFacts, parameters } = ruleSet.file;
    found = Object.entries(derivedFacts).map(([name, definition]): Mover => {
      const { on } = definition;
      if (definition.kind === 'daysSince') {
        const path = definition.date as string;
        return {
          kind: 'days',
          from: (factMap) => (typeof factMap[path] === 'string' ? factMap[path] : null),
          thresholds: thresholdsOf(ruleSet, name),
          on,
        };
      }
      // Days past a due date reckoned from the case's facts alone (not from asOf): it grows by one a day from that date.
      if (definition.kind === 'daysPast')
        return { kind: 'days', from: dueDateOf(definition, parameters, ruleSet.calendar), thresholds: thresholdsOf(ruleSet, name), on };
      const { where, months } = entrySelection(definition, parameters);
      if (PERIOD_KINDS.has(definition.kind)) return { kind: 'periods', list: definition.list as string, where, endedBy: definition.endedBy, on };
      return { kind: 'entries', list: definition.list as string, where, months, on };
    });
    movers.set(ruleSet, found);
  }
  return found;
}

/** Every number a condition of the version compares `fact` with (its value, or the `param:` fact it names). */
function thresholdsOf(ruleSet: CompiledRuleSet, fact: string): number[] {
  const thresholds: number[] = [];
  const read = (value: unknown): void => {
    if (value === null) return; // present or not: fixed by the case, not by the date
    if (typeof value === 'number') thresholds.push(value);
    else if (Array.isArray(value)) value.forEach(read);
    else if (typeof value === 'object' && typeof (value as { fact?: unknown }).fact === 'string' && (value as { fact: string }).fact.startsWith(PARAM_PREFIX)) {
      read(ruleSet.parameterFacts[(value as { fact: string }).fact]);
    } else {
      // A comparison holdsUntil cannot turn into days (with another fact, say): refuse rather than guess.
      throw new Error(`${ruleSet.sourceFile}: ${fact} is compared with ${JSON.stringify(value)}; holdsUntil knows when it changes only against numbers`);
    }
  };
  const walk = (condition: Record<string, unknown>): void => {
    for (const group of ['all', 'any']) if (Array.isArray(condition[group])) for (const c of condition[group] as Record<string, unknown>[]) walk(c);
    if (condition.not) walk(condition.not as Record<string, unknown>);
    if (condition.fact === fact) read(condition.value);
  };
  for (const rule of ruleSet.file.rules) walk(rule.conditions);
  return thresholds;
}

/**
 * The day a dated entry leaves a window of `months` months: the first day whose window no longer holds it. Remembered:
 * a batch meets the same few entry dates again and again.
 */
const leavingDays = new Map<string, string>();
function leavesWindowOn(date: string, months: number): string {
  const key = `${date}${months}`;
  let leaves = leavingDays.get(key);
  if (leaves === undefined) {
    const entry = { date };
    const holds = (day: number) => {
      const asOf = dateOfDay(day);
      return inPeriod(entry, asOf, addMonths(asOf, -months));
    };
    // Going back `months` from date + months lands on or before the date (a month end clamps), so the entry is
    // still held there or a few days later: step on to the first day it is not, and back while the day before is not.
    let day = dayNumber(addMonths(date, months));
    while (holds(day)) day += 1;
    while (!holds(day - 1)) day -= 1;
    leaves = dateOfDay(day);
    if (leavingDays.size >= 4096) leavingDays.clear();
    leavingDays.set(key, leaves);
  }
  return leaves;
}

/**
 * Adds to `days` each day in (after, until] on which a derived fact of `ruleSet` can change for this case. Days are
 * YYYY-MM-DD strings, which order as dates: an entry's date is compared as it is, and parsed only when a day must be
 * reckoned from it (parsing costs more than the rest of the search).
 */
function candidateDays(ruleSet: CompiledRuleSet, factMap: FactMap, after: string, until: string, days: string[]): void {
  for (const mover of moversOf(ruleSet)) {
    // Reckoned on the case's own date, the same whatever asOf is.
    if (mover.on !== undefined && typeof factMap[mover.on] === 'string') continue;
    if (mover.kind === 'days') {
      const date = mover.from(factMap);
      if (date === null) continue;
      const from = dayNumber(date);
      const first = dayNumber(after);
      for (const t of mover.thresholds) {
        if (from + t > first) add(days, dateOfDay(from + t), after, until);
        if (from + t + 1 > first) add(days, dateOfDay(from + t + 1), after, until);
      }
      continue;
    }
    const list = factMap[mover.list];
    if (!Array.isArray(list) || list.length === 0) continue;
    // An entry dated on or before this day was out of the window already on the first day: it stays out.
    const outBefore = mover.kind === 'entries' && mover.months !== undefined ? windowStartOn(after, mover.months) : undefined;
    for (const item of list as Item[]) {
      if (!mover.where(item, factMap)) continue;
      if (mover.kind === 'periods') {
        if (typeof item.from === 'string') add(days, item.from, after, until);
        if (typeof item.to === 'string' && item.to >= after && item.to < until) add(days, addDays(item.to, 1), after, until);
        // Ended early (withdrawn) on a day: out of force from that day.
        const ended = mover.endedBy === undefined ? undefined : item[mover.endedBy];
        if (typeof ended === 'string') add(days, ended, after, until);
        continue;
      }
      // An undated entry counts every day; a dated one from its date, and within a window until it leaves it.
      const date = item.date;
      if (typeof date !== 'string') continue;
      add(days, date, after, until);
      if (outBefore !== undefined && date <= until && date > outBefore) add(days, leavesWindowOn(date, mover.months as number), after, until);
    }
  }
}

/** addMonths(day, -months), remembered for the last day asked: a batch is mostly decided as of one date. */
let lastWindow = { day: '', months: NaN, start: '' };
function windowStartOn(day: string, months: number): string {
  if (lastWindow.day !== day || lastWindow.months !== months) lastWindow = { day, months, start: addMonths(day, -months) };
  return lastWindow.start;
}

/** Adds `day` to `days` when it is in (after, until]. */
function add(days: string[], day: string, after: string, until: string): void {
  if (day > after && day <= until) days.push(day);
}

/** Whether two computations of a version's derived facts agree on every value (a number, null, or a sorted list). */
function sameDerived(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  for (const key in a) {
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** An outcome field's value compared as JSON: outcomes are plain data (the module's schema says so). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || !sameJson((a as Item)[key], (b as Item)[key])) return false;
  return true;
}

/** The outcome fields a rule set's module says are reckoned from asOf itself: left out of the verdict. */
function datedFromAsOf(ruleSet: string): readonly string[] {
  const module = RULE_SET_MODULES[ruleSet];
  if (!module) throw new Error(`no module is registered for rule set ${ruleSet}`);
  return module.datedFromAsOf;
}

/**
 * Whether two outcomes of a rule set are the same verdict: equal in every field but those reckoned from asOf itself
 * (the module's `datedFromAsOf`), which move with every day whatever the facts.
 */
export function sameVerdict(ruleSet: string, a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const dated = datedFromAsOf(ruleSet);
  for (const key of Object.keys(a)) if (!dated.includes(key) && !sameJson(a[key], b[key])) return false;
  for (const key of Object.keys(b)) if (!dated.includes(key) && !Object.hasOwn(a, key)) return false;
  return true;
}

/** The last day the holiday calendar covers: how far ahead holdsUntil looks. */
const calendarEnd = (ruleSet: CompiledRuleSet): string => `${String(ruleSet.calendar.toYear).padStart(4, '0')}-12-31`;

/** A version in force after asOf, with the case as it reads it (flattened, its defaults filled in) and its period. */
interface Reading {
  version: CompiledRuleSet;
  factMap: FactMap;
  /** Its first day ('' when it has none) and its last ('9999-12-31' when it has none). */
  from: string;
  to: string;
}

const LAST = '9999-12-31';

/**
 * The first day after `asOf` on which the same facts give a different verdict (the outcome without its fields reckoned
 * from asOf), each day decided by the version in force on it; null when none does up to the last day of the holiday
 * calendar. A day no version is in force on differs (nothing can be decided on it). `facts` are validated facts
 * (facts/validate.ts); `outcome`, when the caller has decided the case as of `asOf` already, spares deciding it again,
 * and that decision's `derivedFacts` with it spare computing them again; so does `factMap`, the fact map the decision
 * was made on (by the version in force on asOf), reading the case again: it is lent, and given back as it was.
 */
export function holdsUntil(
  versions: RuleSetVersions,
  facts: CaseFacts,
  asOf: string,
  outcome?: Readonly<Record<string, unknown>>,
  derivedFacts?: Readonly<Record<string, unknown>>,
  factMap?: FactMap,
): string | null {
  const lent = outcome !== undefined && derivedFacts !== undefined ? factMap : undefined;
  try {
    return firstDayDiffering(versions, facts, asOf, outcome, derivedFacts, lent);
  } finally {
    // Each day decided put that day's derived facts in the map: those of asOf go back.
    if (lent !== undefined) Object.assign(lent, derivedFacts);
  }
}

function firstDayDiffering(
  versions: RuleSetVersions,
  facts: CaseFacts,
  asOf: string,
  outcome: Readonly<Record<string, unknown>> | undefined,
  derivedFacts: Readonly<Record<string, unknown>> | undefined,
  lent: FactMap | undefined,
): string | null {
  const current = versions.resolve(asOf);
  const end = calendarEnd(current);
  if (asOf >= end) return null;
  const readings: Reading[] = [];
  const days: string[] = [];
  for (const version of versions.versions) {
    const from = version.effectiveFrom ?? '';
    const to = version.effectiveTo ?? LAST;
    if (to < asOf || from > end) continue;
    // A version's first day and the day after its last are candidates of their own; its derived facts matter only on
    // the days it is in force after asOf.
    if (from > asOf) days.push(from);
    if (to < end) days.push(addDays(to, 1));
    let factMap = version === current ? lent : undefined;
    if (factMap === undefined) {
      factMap = version.flatten(facts);
      version.applyDefaults(factMap);
    }
    readings.push({ version, factMap, from, to });
    candidateDays(version, factMap, from > asOf ? from : asOf, to < end ? to : end, days);
  }
  if (days.length === 0) return null;
  days.sort();

  const name = versions.name;
  let reading = readings.find((r) => r.version === current) as Reading;
  let verdict = outcome;
  // The derived facts the verdict was last decided on, by the version last read: a day on which none of them moved
  // gives that verdict again, without deciding (most candidate days move a count that no condition turns on).
  let derived: Readonly<Record<string, unknown>> | undefined = verdict === undefined ? undefined : derivedFacts;
  if (verdict === undefined) {
    derived = current.deriveAll(reading.factMap, asOf);
    verdict = outcomeFrom(current, reading.factMap, asOf);
  }
  let previous = asOf;
  for (const day of days) {
    if (day === previous) continue;
    previous = day;
    if (day < reading.from || day > reading.to) {
      const now = readings.find((r) => day >= r.from && day <= r.to);
      if (!now) return day;
      reading = now;
      derived = undefined;
    }
    const next = reading.version.deriveAll(reading.factMap, day);
    if (derived !== undefined && sameDerived(derived, next)) continue;
    derived = next;
    if (!sameVerdict(name, verdict, outcomeFrom(reading.version, reading.factMap, day))) return day;
  }
  return null;
}
