// The facts a decision was made on, as a salted digest: enough to prove later that facts supplied again are the same
// facts, without the log keeping them.
//
// The digest is of the facts' canonical JSON, so the same facts give the same bytes however the caller ordered their
// keys. It is salted per record: unsalted, two decisions on the same person's facts would carry the same digest (the
// log would link them), and the few values a fact can take (a date of birth, a postcode, a handful of flags) are few
// enough to hash every combination in advance and read the facts back out of an unsalted digest.
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';

const SALT_BYTES = 16;
const DIGEST = /^sha256:([0-9a-f]{32}):([0-9a-f]{64})$/;

/**
 * JSON with every object's keys sorted (by UTF-16 code unit, as Array.prototype.sort does) at every depth, arrays in
 * their order, and no whitespace. Otherwise exactly JSON.stringify: toJSON is honoured, an undefined or function
 * property is left out, in an array it is null.
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

// Written by concatenation, not map/join: this runs for every decision the service gives (profiled under load).
function write(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i += 1) text += (i === 0 ? '' : ',') + (write(value[i]) ?? 'null');
    return `${text}]`;
  }
  const keys = Object.keys(value).sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const item = write((value as Record<string, unknown>)[key]);
    if (item === undefined) continue;
    text += `${first ? '' : ','}${JSON.stringify(key)}:${item}`;
    first = false;
  }
  return `${text}}`;
}

/**
 * Salts, drawn from a pool filled 4 KiB at a time: the same CSPRNG as randomBytes, without a call into
 * it for each decision (as crypto.randomUUID keeps its own pool).
 */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function freshSalt(): Buffer {
  if (poolAt + SALT_BYTES > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const salt = Buffer.from(pool.subarray(poolAt, poolAt + SALT_BYTES));
  poolAt += SALT_BYTES;
  return salt;
}

function hash(salt: Buffer, facts: unknown): Buffer {
  return createHash('sha256').update(salt).update(canonicalJson(facts), 'utf8').digest();
}

/** `sha256:<salt hex>:<sha256(salt || canonical JSON) hex>`, with a fresh random 16-byte salt unless one is given. */
export function factsDigest(facts: unknown, salt: Buffer = freshSalt()): string {
  if (salt.length !== SALT_BYTES) throw new RangeError(`a facts digest's salt is ${SALT_BYTES} bytes, not ${salt.length}`);
  return `sha256:${salt.toString('hex')}:${hash(salt, facts).toString('hex')}`;
}

/**
 * Whether the facts are the ones the digest was made of. Never throws: a digest that is not in the form factsDigest
 * writes (or facts that cannot be written as JSON) simply do not match. Compared in constant time, so how long a
 * refusal takes says nothing about how near the facts came.
 */
export function factsMatch(digest: string, facts: unknown): boolean {
  try {
    const parts = typeof digest === 'string' ? DIGEST.exec(digest) : null;
    if (!parts) return false;
    const salt = Buffer.from(parts[1] as string, 'hex');
    const expected = Buffer.from(parts[2] as string, 'hex');
    return timingSafeEqual(hash(salt, facts), expected);
  } catch {
    return false;
  }
}
