// Who may call what: API keys, each with one role, presented as `Authorization: Bearer <secret>`.
//
// A key is configured as `<id>:<role>:<secret>` (API_KEYS, comma-separated) or one a line in the
// file API_KEYS_FILE names, where `<id>:<role>:sha256:<64 hex digits>` keeps the plaintext out of
// the file altogether. The service holds only each secret's SHA-256: a heap dump or a log of the
// ring shows no secret, and every comparison is between two 32-byte digests, whatever was sent.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { DecisionError } from '../errors';

export type Role = 'caseworker' | 'policy' | 'auditor';
export type Permission = 'evaluate' | 'read-rules' | 'reload' | 'impact' | 'read-decisions' | 'propose' | 'approve' | 'read-proposals';

export const ROLES: readonly Role[] = ['caseworker', 'policy', 'auditor'];

/**
 * What each role may do; the one table access is decided from, exported for the docs.
 * A caseworker decides; a policy officer also changes the rules in force and measures the effect
 * of a change first, proposes a new version and approves another officer's (never their own: the
 * route checks that); an auditor reads the rules, the proposals and the decisions made, and decides nothing.
 */
export const PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  caseworker: ['evaluate', 'read-rules'],
  policy: ['evaluate', 'read-rules', 'reload', 'impact', 'propose', 'approve', 'read-proposals'],
  auditor: ['read-rules', 'read-decisions', 'read-proposals'],
};

export function can(role: Role, permission: Permission): boolean {
  return PERMISSIONS[role].includes(permission);
}

/** The roles that hold a permission, for a 403 that says whose key would do. */
export function rolesThatMay(permission: Permission): Role[] {
  return ROLES.filter((role) => can(role, permission));
}

/** The key a request was made with: its id (logged, and recorded with each decision) and its role. Never the secret. */
export interface Caller {
  id: string;
  role: Role;
}

/** One configured key as the service keeps it. */
export interface StoredKey {
  id: string;
  role: Role;
  /** SHA-256 of the secret's UTF-8 bytes. */
  hash: Buffer;
}

/** A parsed key and where it was configured, so a duplicate can name both places. */
export interface KeyEntry extends StoredKey {
  source: string;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
// RFC 6750's b64token: the only secrets a client can send in `Authorization: Bearer`.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const SHA256_PREFIX = 'sha256:';
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/**
 * Bearer secrets are the whole of a caller's identity and are checked on every request, unthrottled
 * until a key is known: 24 characters even of plain base64 is 144 bits, far past guessing online,
 * and rules out the short words people reach for. Generated keys are 32 random bytes.
 */
export const MIN_SECRET_LENGTH = 24;

export const REALM = 'ps-decisions';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/**
 * One `<id>:<role>:<secret>` or `<id>:<role>:sha256:<hex>` entry. `where` names it in errors
 * ("API_KEYS entry 2", "keys.txt line 7"). No message repeats the role or secret fields: an entry
 * written in the wrong order would otherwise put its secret in a log. The id is named once it is
 * a valid id, since without it an operator cannot find the entry among many.
 */
function parseEntry(text: string, where: string): KeyEntry {
  const first = text.indexOf(':');
  const second = first === -1 ? -1 : text.indexOf(':', first + 1);
  if (second === -1) throw new Error(`${where} is not <id>:<role>:<secret> (or <id>:<role>:sha256:<hex>).`);
  const id = text.slice(0, first).trim();
  const role = text.slice(first + 1, second).trim();
  const secret = text.slice(second + 1).trim();
  if (!ID.test(id)) throw new Error(`${where}: the id must be 1 to 64 letters, digits, '.', '_' or '-'.`);
  const named = `${where} (id "${id}")`;
  if (!isRole(role)) throw new Error(`${named}: the role must be one of ${ROLES.join(', ')}.`);
  if (secret.toLowerCase().startsWith(SHA256_PREFIX)) {
    const hex = secret.slice(SHA256_PREFIX.length);
    if (!SHA256_HEX.test(hex)) throw new Error(`${named}: a hashed secret must be sha256: followed by 64 hexadecimal digits.`);
    return { id, role, hash: Buffer.from(hex, 'hex'), source: named };
  }
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`${named}: the secret is shorter than ${MIN_SECRET_LENGTH} characters; bearer secrets must resist guessing.`);
  if (!BEARER_TOKEN.test(secret))
    throw new Error(`${named}: the secret may hold only letters, digits and - . _ ~ + / (with = only at the end), so that it can be sent as a Bearer token.`);
  return { id, role, hash: sha256(secret), source: named };
}

/** The value of API_KEYS (or anything in its form): comma-separated entries; blank entries, such as after a trailing comma, are skipped. */
export function parseApiKeys(value: string, source = 'API_KEYS'): KeyEntry[] {
  const entries: KeyEntry[] = [];
  value.split(',').forEach((entry, i) => {
    if (entry.trim() !== '') entries.push(parseEntry(entry.trim(), `${source} entry ${i + 1}`));
  });
  return entries;
}

/** A key file's text: one key a line; blank lines and lines starting with # are skipped. */
export function parseKeyFile(text: string, file: string): KeyEntry[] {
  const entries: KeyEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    entries.push(parseEntry(trimmed, `${file} line ${i + 1}`));
  });
  return entries;
}

export function readKeyFile(file: string): KeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`API_KEYS_FILE ${file} could not be read: ${(error as Error).message}`, { cause: error });
  }
  return parseKeyFile(text, file);
}

/** The secret of `Authorization: Bearer <secret>` (the scheme in any case), or undefined for anything else. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization?.trim() ?? '');
  return match?.[1];
}

/** The configured keys. Holds ids, roles and digests only. */
export class KeyRing {
  private readonly keys: readonly StoredKey[];

  /** Refuses two keys with one id (which would a decision's key id mean?) or one secret (which key presented it?). */
  constructor(entries: readonly (StoredKey & { source?: string })[]) {
    const byId = new Map<string, string>();
    const byHash = new Map<string, string>();
    for (const entry of entries) {
      const where = entry.source ?? `key "${entry.id}"`;
      const sameId = byId.get(entry.id);
      if (sameId !== undefined) throw new Error(`${where}: the id "${entry.id}" is already used by ${sameId}; ids must be unique.`);
      const hex = entry.hash.toString('hex');
      const sameSecret = byHash.get(hex);
      if (sameSecret !== undefined) throw new Error(`${where} has the same secret as ${sameSecret}; each key needs its own.`);
      byId.set(entry.id, where);
      byHash.set(hex, where);
    }
    this.keys = entries.map(({ id, role, hash }) => ({ id, role, hash: Buffer.from(hash) }));
  }

  get size(): number {
    return this.keys.length;
  }

  ids(): string[] {
    return this.keys.map((k) => k.id);
  }

  /**
   * The key whose secret this is. The secret is hashed first, so the comparisons are of digests the
   * caller cannot steer byte by byte; and every key is compared, with no early exit, so the time
   * taken does not say which key (or whether an early one) matched.
   */
  identify(secret: string): Caller | undefined {
    const presented = sha256(secret);
    let found: StoredKey | undefined;
    for (const key of this.keys) {
      const same = timingSafeEqual(key.hash, presented);
      found = same ? key : found;
    }
    return found ? { id: found.id, role: found.role } : undefined;
  }

  /** The caller an Authorization header identifies; undefined if it is missing, not Bearer, or no key's. */
  authenticate(authorization: string | undefined): Caller | undefined {
    const secret = bearerToken(authorization);
    return secret === undefined ? undefined : this.identify(secret);
  }
}

export interface GeneratedKey {
  id: string;
  role: Role;
  secret: string;
}

/**
 * The keys API_KEYS and API_KEYS_FILE configure (either or both; ids unique across the two), as
 * config.ts reads them. With neither set (or set empty), one development key per role is generated,
 * new each start, and returned so the server can print them: a local run works without setup, and
 * no fixed default secret exists to be left enabled in production. `keys` holds what the service
 * keeps of each, digests only, for a cluster's primary to hand its workers (config.ts).
 */
export function keysFromEnvironment(env: { API_KEYS?: string; API_KEYS_FILE?: string }): { ring: KeyRing; keys: StoredKey[]; generated?: GeneratedKey[] } {
  const spec = env.API_KEYS?.trim();
  const file = env.API_KEYS_FILE?.trim();
  if (!spec && !file) {
    const generated = ROLES.map((role) => ({ id: `dev-${role}`, role, secret: randomBytes(32).toString('base64url') }));
    const keys = generated.map(({ id, role, secret }) => ({ id, role, hash: sha256(secret) }));
    return { ring: new KeyRing(keys), keys, generated };
  }
  const entries = [...(spec ? parseApiKeys(spec) : []), ...(file ? readKeyFile(file) : [])];
  if (entries.length === 0) {
    const sources = [spec ? 'API_KEYS' : '', file ? `API_KEYS_FILE ${file}` : ''].filter(Boolean);
    throw new Error(`No API keys are configured: ${sources.join(' and ')} ${sources.length > 1 ? 'hold' : 'holds'} no keys.`);
  }
  return { ring: new KeyRing(entries), keys: entries.map(({ id, role, hash }) => ({ id, role, hash })) };
}

/**
 * Lets a request through if its key holds the permission; sets res.locals.caller for the routes.
 * A request with no key, or not a Bearer one, is 401 with a challenge; a key the ring does not know
 * is 401 with error="invalid_token" (RFC 6750 §3.1), so a client can tell a missing key from a
 * revoked one; a known key without the permission is 403. No answer repeats the presented secret.
 */
export function authorize(ring: KeyRing, permission: Permission): RequestHandler {
  const mayDo = rolesThatMay(permission);
  return (req, res, next) => {
    const authorization = req.headers.authorization;
    const secret = bearerToken(authorization);
    if (secret === undefined) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}"`);
      const detail =
        authorization === undefined
          ? 'Send an API key as "Authorization: Bearer <secret>".'
          : 'The Authorization header is not a Bearer API key; send "Authorization: Bearer <secret>".';
      next(new DecisionError('unauthorized', detail));
      return;
    }
    const caller = ring.identify(secret);
    if (!caller) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
      next(new DecisionError('unauthorized', 'The API key presented is not one this service accepts.'));
      return;
    }
    if (!can(caller.role, permission)) {
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope"`);
      next(
        new DecisionError(
          'forbidden',
          `Key "${caller.id}" has the role ${caller.role}, which may not ${permission}; roles that may: ${mayDo.join(', ') || 'none'}.`,
        ),
      );
      return;
    }
    res.locals.caller = caller;
    next();
  };
}
