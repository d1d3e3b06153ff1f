// Decision ids: UUIDs of version 7 (RFC 9562, section 5.7), which begin with the time they were made.
//
// A decision id is the decision log's primary key. A random (version 4) id lands anywhere in the key's B-tree, so a
// commit of a hundred decisions touched a hundred index pages, each written whole to SQLite's WAL: 50 µs a decision
// (200,000 records in commits of 130, as an evaluate-batch stream commits them), the largest single cost of a batch.
// Ids that begin with the time append at the right edge of the tree instead, a few pages a commit: 15 µs. They are still
// UUIDs (the API's decisionId is `format: uuid`), still unguessable (74 random bits), and their order is the order
// they were made in, to the millisecond; what they add is the moment of the decision, which decidedAt says anyway.
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Random bytes drawn from a pool refilled 4 KiB at a time (as crypto.randomUUID keeps its own), not a call each. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/**
 * A new UUIDv7: 48 bits of Unix time in milliseconds, the version (7), 12 random bits, the variant (binary 10) and 62
 * random bits, written as lower-case hex in the 8-4-4-4-12 form.
 */
export function decisionId(now: number = Date.now()): string {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 10;
  // 48 bits do not fit a 32-bit integer: the high 32 and the low 16 are taken apart.
  const high = Math.floor(now / 0x10000);
  const low = now % 0x10000;
  return (
    HEX[(high >>> 24) & 0xff]! +
    HEX[(high >>> 16) & 0xff]! +
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    '-' +
    HEX[low >>> 8]! +
    HEX[low & 0xff]! +
    '-' +
    HEX[0x70 | (pool[r]! & 0x0f)]! +
    HEX[pool[r + 1]!]! +
    '-' +
    HEX[0x80 | (pool[r + 2]! & 0x3f)]! +
    HEX[pool[r + 3]!]! +
    '-' +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  );
}
