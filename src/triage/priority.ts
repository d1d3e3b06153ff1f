// The queue's priority and next action: which tier a record is in and what to do next (rules/triage/priority.json
// declares both), and the compact sort key it ranks by.
import { shortDate } from '../dates/calendar';
import { ACTION_PLACEHOLDERS, MAX_TIERS, type Conditions, type TriagePriority } from '../loader/triage-priority';

/** What a record's tier and next action are judged on. */
export interface QueueFacts {
  /** Each rule set's outcome, by its place in the run's rule sets. */
  outcomes: readonly (Record<string, unknown> | undefined)[];
  /** Whether the case is overdue; null when no due date applies to it. */
  overdue: boolean | null;
  /** The fact program. */
  program: string;
}

/** A tier's or an action's conditions, compiled for one run's rule sets: a condition on a rule set not in it is never met. */
function matcher(conditions: Conditions, ruleSets: readonly string[]): (record: QueueFacts) => boolean {
  const outcomes = conditions.outcomes.map(({ ruleSet, field, value }) => ({ at: ruleSets.indexOf(ruleSet), field, value }));
  const { overdue, program } = conditions;
  return (record) =>
    (overdue === undefined || record.overdue === overdue) &&
    (program === undefined || record.program === program) &&
    outcomes.every(({ at, field, value }) => at >= 0 && record.outcomes[at]?.[field] === value);
}

/** The first of a list whose conditions hold: its 0-based index. The file's last has none (loader/triage-priority.ts holds it to that). */
function firstMatch(list: readonly Conditions[], ruleSets: readonly string[]): (record: QueueFacts) => number {
  const matchers = list.map((item) => matcher(item, ruleSets));
  return (record) => {
    for (let i = 0; i < matchers.length; i += 1) if ((matchers[i] as (record: QueueFacts) => boolean)(record)) return i;
    return matchers.length - 1;
  };
}

/** The tier function for a run over `ruleSets`: the 1-based number of the first tier whose conditions all hold. */
export type TierOf = (record: QueueFacts) => number;

export function tierFunction(priority: TriagePriority, ruleSets: readonly string[]): TierOf {
  const first = firstMatch(priority.tiers, ruleSets);
  return (record) => first(record) + 1;
}

/** The due date in the words of a work list: "due 29 Apr", "overdue: it was due 23 Dec 2025", "no due date worked out". */
export function dueWords(dueBy: string | null, overdue: boolean | null, asOf: string): string {
  if (dueBy === null) return 'no due date worked out';
  const date = shortDate(dueBy, Number(asOf.slice(0, 4)));
  return overdue ? `overdue: it was due ${date}` : `due ${date}`;
}

/** The places, in the run's rule sets, of the rule sets a tier's or an action's conditions name. */
export function namedRuleSets(conditions: Conditions, ruleSets: readonly string[]): number[] {
  return [...new Set(conditions.outcomes.map(({ ruleSet }) => ruleSets.indexOf(ruleSet)).filter((at) => at >= 0))];
}

/**
 * A record's next action, in one line: the first action of the file whose conditions hold, its placeholders filled;
 * with the places of the rule sets its conditions name (whose reasons explain it).
 */
export type ActionOf = (record: QueueFacts, dueBy: string | null, approver: string | null, asOf: string) => { text: string; named: readonly number[] };

export function actionFunction(priority: TriagePriority, ruleSets: readonly string[]): ActionOf {
  const first = firstMatch(priority.actions, ruleSets);
  const named = priority.actions.map((action) => namedRuleSets(action, ruleSets));
  // Each text split once into its literal parts and placeholders (odd indexes).
  const texts = priority.actions.map(({ text }) =>
    text.split(/\{([^{}]*)\}/).map((part, i) => {
      if (i % 2 === 0 || (ACTION_PLACEHOLDERS as readonly string[]).includes(part)) return part;
      const dot = part.indexOf('.');
      return { at: ruleSets.indexOf(part.slice(0, dot)), field: part.slice(dot + 1) };
    }),
  );
  return (record, dueBy, approver, asOf) => {
    let line = '';
    const index = first(record);
    const parts = texts[index] as (string | { at: number; field: string })[];
    for (let i = 0; i < parts.length; i += 1) {
      const part = parts[i] as string | { at: number; field: string };
      if (i % 2 === 0) line += part as string;
      else if (part === 'due') line += dueWords(dueBy, record.overdue, asOf);
      else if (part === 'approver') line += approver ?? 'no one';
      else {
        // The loader holds a placeholder to a rule set the action's conditions name, so the outcome is there.
        const { at, field } = part as { at: number; field: string };
        const value = record.outcomes[at]?.[field];
        line += typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : JSON.stringify(value ?? null);
      }
    }
    return { text: line, named: named[index] as number[] };
  };
}

/** Due-date day numbers fit 17 bits (to the year 2328); a record with no due date sorts after every date. */
const DAY_BITS = 2 ** 17;
export const NO_DUE_DAY = DAY_BITS - 1;

/**
 * Tier, then due day, in one int32: ascending order of the key is the queue's order. At most MAX_TIERS (16) tiers, so
 * a key takes 21 bits.
 */
export function sortKey(tier: number, dueDay: number): number {
  return (Math.min(Math.max(tier, 1), MAX_TIERS) - 1) * DAY_BITS + Math.min(Math.max(dueDay, 0), NO_DUE_DAY);
}

/**
 * Orders records by key, then input order, with one native numeric sort: key and input index
 * packed into a double (21 + 32 bits, inside the 53 exact bits). Returns input indices in rank order.
 */
export function rankOrder(keys: Int32Array, count: number): Uint32Array {
  if (count > 2 ** 32) throw new Error('too many records to rank');
  const packed = new Float64Array(count);
  for (let i = 0; i < count; i += 1) packed[i] = (keys[i] as number) * 2 ** 32 + i;
  packed.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i += 1) order[i] = (packed[i] as number) % 2 ** 32;
  return order;
}
