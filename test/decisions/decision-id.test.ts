// Decision ids: UUIDv7 (RFC 9562), so the decision log's primary key grows at its end.
import { decisionId } from '../../src/decisions/decision-id';

// RFC 9562 section 5.7: 48-bit Unix milliseconds, version 7, 12 random bits, variant 10, 62 random bits.
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds a UUIDv7 begins with. */
const millisecondsOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

test('is a version 7 UUID that begins with the moment it was made', () => {
  // 2025-06-02T03:04:05.678Z; and the RFC's own example instant, 2022-02-22T19:22:22Z (0x017F22E279B0).
  for (const at of [Date.UTC(2025, 5, 2, 3, 4, 5, 678), 0x017f22e279b0, 0, 2 ** 48 - 1]) {
    const id = decisionId(at);
    expect(id).toMatch(UUID_V7);
    expect(millisecondsOf(id)).toBe(at);
  }
  expect(decisionId(0x017f22e279b0).slice(0, 13)).toBe('017f22e2-79b0');
  const now = Date.now();
  expect(Math.abs(millisecondsOf(decisionId()) - now)).toBeLessThan(1000);
});

test("sorts in the order the ids were made, millisecond by millisecond (as text, as the log's key compares them)", () => {
  const ids = Array.from({ length: 1000 }, (_, i) => decisionId(1_750_000_000_000 + i * 7));
  expect([...ids].sort()).toEqual(ids);
});

test("never repeats, within a millisecond or across the random pool's refills", () => {
  // 4 KiB of random bytes serve 409 ids: 100,000 ids in the same millisecond draw on the pool 245 times.
  const ids = Array.from({ length: 100_000 }, () => decisionId(1_750_000_000_000));
  expect(new Set(ids).size).toBe(ids.length);
  // The 74 random bits are random: each hex digit after the version's is used about evenly.
  const counts = new Map<string, number>();
  for (const id of ids) for (const digit of id.slice(24)) counts.set(digit, (counts.get(digit) ?? 0) + 1);
  expect(counts.size).toBe(16);
  for (const count of counts.values()) expect(count / (ids.length * 12)).toBeCloseTo(1 / 16, 2);
});
