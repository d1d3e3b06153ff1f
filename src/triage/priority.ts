// The queue's priority: which tier a record is in (rules/triage/priority.json declares them) and the compact sort key it ranks by.
import { MAX_TIERS, type Tier, type TriagePriority } from '../loader/triage-priority';

/** What a record's tier is judged on: each rule set's outcome (by its place in the run's rule sets), and whether it is overdue. */
export type TierOf = (outcomes: readonly (Record<string, unknown> | undefined)[], overdue: boolean) => number;

/**
 * The tier function for a run over `ruleSets`: the 1-based number of the first tier whose conditions all hold. A
 * condition on a rule set the run does not include is never met; the last tier has none, so every record has a tier.
 */
export function tierFunction(priority: TriagePriority, ruleSets: readonly string[]): TierOf {
  const tiers = priority.tiers.map((tier: Tier) => ({
    overdue: tier.overdue,
    outcomes: tier.outcomes.map(({ ruleSet, field, value }) => ({ at: ruleSets.indexOf(ruleSet), field, value })),
  }));
  return (outcomes, overdue) => {
    for (let t = 0; t < tiers.length; t += 1) {
      const tier = tiers[t] as (typeof tiers)[number];
      if (tier.overdue !== undefined && tier.overdue !== overdue) continue;
      if (tier.outcomes.every(({ at, field, value }) => at >= 0 && outcomes[at]?.[field] === value)) return t + 1;
    }
    // Not reached: the file's last tier has no conditions (loader/triage-priority.ts holds it to that).
    return tiers.length;
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
