// The queue's priority: tiers (segment 3 and overdue first) and the compact sort key a record ranks by.

/** 1 = segment 3 and overdue, 2 = segment 3, 3 = overdue, 4 = the rest. */
export function tierOf(segment3: boolean, overdue: boolean): 1 | 2 | 3 | 4 {
  return segment3 ? (overdue ? 1 : 2) : overdue ? 3 : 4;
}

/** Due-date day numbers fit 17 bits (to the year 2328); a record with no due date sorts after every date. */
const DAY_BITS = 2 ** 17;
export const NO_DUE_DAY = DAY_BITS - 1;

/**
 * Tier, then due day, in one int32: ascending order of the key is the queue's order. Segment 3
 * before the rest, then overdue before not, is exactly tier order (1, 2, 3, 4).
 */
export function sortKey(tier: number, dueDay: number): number {
  return (tier - 1) * DAY_BITS + Math.min(Math.max(dueDay, 0), NO_DUE_DAY);
}

/**
 * Orders records by key, then input order, with one native numeric sort: key and input index
 * packed into a double (19 + 32 bits, inside the 53 exact bits). Returns input indices in rank order.
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
