// The service's settings: every environment variable the service and ps-rules read, read and checked here, once.
//
// A mistake in any of them stops the start with one line per bad value, each naming the variable,
// what it must be and what was given, all of them together: an operator fixes the whole env file
// in one go rather than one restart per mistake. Variables the service does not know are left alone.
// A cluster's workers never read the environment: the primary hands each the Settings it read
// (server.ts), so every worker serves with the same settings and the same keys, even the
// development keys generated once at the start.
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { KeyRing, keysFromEnvironment, ROLES, type GeneratedKey, type Role } from './api/access';
import { DEFAULT_BATCH_LIMITS, DEFAULT_SERVER_LIMITS, type BatchLimits, type ServerLimits } from './api/limits';
import { defaultRulesDirectory } from './loader/load';

/** The variables as given: process.env, or a test's own. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * RATE_LIMIT_PER_MINUTE's default: requests one API key may make a minute, across all workers. 100
 * a second: far above a caseworker's pace, low enough to stop a runaway script.
 */
export const DEFAULT_RATE_PER_MINUTE = 6000;
/** REQUEST_TIMEOUT_MS's default: 10 s. A decision takes milliseconds, so anything near this is stuck. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** PORT's default. */
export const DEFAULT_PORT = 3000;
/**
 * HOST's default while the service runs on development keys (neither API_KEYS nor API_KEYS_FILE):
 * keys printed to a terminal are for the person at it, not for the network the machine is on.
 */
export const DEVELOPMENT_HOST = '127.0.0.1';

/** Every limit an operator may set. */
export interface Limits {
  /** RATE_LIMIT_PER_MINUTE; 0 turns the limit off. */
  readonly ratePerMinute: number;
  /** REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs: number;
  /** BATCH_MAX_LINES, BATCH_MAX_BYTES, BATCH_TIMEOUT_MS (DEFAULT_BATCH_LIMITS says why their defaults). */
  readonly batch: Readonly<BatchLimits>;
  /** HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_CONNECTIONS_PER_WORKER (DEFAULT_SERVER_LIMITS says why); Node's request timeout follows BATCH_TIMEOUT_MS. */
  readonly server: Readonly<ServerLimits>;
}

/** An API key as the settings carry it: the SHA-256 of its secret (hex), never the secret. */
export interface ApiKey {
  readonly id: string;
  readonly role: Role;
  readonly sha256: string;
}

/** Everything the service is configured with, read once at the start and frozen. */
export interface Settings {
  /** RULES_DIR: the rules folder (default: this project's rules/). */
  readonly rulesDirectory: string;
  /** HOST: the address to bind; undefined binds every interface (Node's choice of :: or 0.0.0.0). */
  readonly host: string | undefined;
  /** PORT: 0 to 65535 (default 3000); 0 picks a free port. */
  readonly port: number;
  /** DATA_DIR: where the SQLite decision log lives (default ./data), as an absolute path. */
  readonly dataDir: string;
  /** WORKERS: serving processes (default one per core); 1 serves without a cluster. */
  readonly workers: number;
  /** API_KEYS and API_KEYS_FILE, or the development keys generated for this run. */
  readonly keys: readonly ApiKey[];
  /** True when neither API_KEYS nor API_KEYS_FILE is set, and the keys were generated for this run. */
  readonly keysGenerated: boolean;
  /** DECISION_LOG_URL: the PostgreSQL decision log; undefined means SQLite under dataDir. */
  readonly decisionLogUrl: string | undefined;
  /** DECISION_LOG_FACTS=keep: the facts are kept with each decision, not only their digest. */
  readonly keepFacts: boolean;
  readonly limits: Limits;
}

/** Every bad value at once, one line each. Its message is those lines; no stack trace is wanted for it. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

/** Reads variables, noting each bad value (and going on to the next) rather than stopping at the first. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Environment) {}

  /** The value, trimmed; undefined when unset or blank (as an env file leaves a variable it lists without a value). */
  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  refuse(name: string, mustBe: string, given: string): undefined {
    this.problems.push(`${name} must be ${mustBe} (got "${given}").`);
    return undefined;
  }

  /** A whole number from min to max, or the default when unset; undefined (and a problem noted) for anything else. */
  wholeNumber(name: string, fallback: number, mustBe: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) return this.refuse(name, mustBe, raw);
    return value;
  }
}

/** RULES_DIR: the folder named, or this project's rules/; the service also requires the folder named to be one. */
function rulesDirectory(reader: Reader, mustBeFolder: boolean): string | undefined {
  const given = reader.text('RULES_DIR');
  if (given === undefined) {
    try {
      return defaultRulesDirectory();
    } catch {
      reader.problems.push('RULES_DIR must be set: there is no rules/ folder above the service to default to.');
      return undefined;
    }
  }
  const resolved = path.resolve(given);
  if (!mustBeFolder) return resolved;
  let folder: boolean;
  try {
    folder = statSync(resolved).isDirectory();
  } catch {
    folder = false;
  }
  return folder ? resolved : reader.refuse('RULES_DIR', 'a folder of rule files', given);
}

/**
 * The rules folder ps-rules uses when it is not given --rules: RULES_DIR, or this project's rules/.
 * A folder that is not there is for the loader to report, as it does for --rules.
 */
export function rulesDirectoryFromEnvironment(env: Environment): string {
  const reader = new Reader(env);
  const found = rulesDirectory(reader, false);
  if (found === undefined) throw new SettingsError(reader.problems);
  return found;
}

// A host name as RFC 1123 allows: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** HOST: an IP address or a host name; whether it is this machine's is for listen() to say. */
function host(reader: Reader, keysGenerated: boolean): string | undefined {
  const given = reader.text('HOST');
  if (given === undefined) return keysGenerated ? DEVELOPMENT_HOST : undefined;
  // All digits and dots is an IPv4 address or a mistake (300.1.1.1), never a host name.
  const hostName = HOST_NAME.test(given) && !/^[\d.]+$/.test(given);
  if (isIP(given) === 0 && !hostName)
    return reader.refuse('HOST', 'an IP address to bind (127.0.0.1 for this machine only; 0.0.0.0 or :: for every interface) or a host name', given);
  return given;
}

/**
 * API_KEYS and API_KEYS_FILE (access.ts says their form). Their messages never repeat what was
 * given: a value in the wrong order would put a secret in the log. Each names the variable, or the
 * file's line, so an operator can find the entry.
 */
function keys(reader: Reader): { keys: ApiKey[]; generated?: GeneratedKey[] } | undefined {
  try {
    const found = keysFromEnvironment({ API_KEYS: reader.text('API_KEYS'), API_KEYS_FILE: reader.text('API_KEYS_FILE') });
    return { keys: found.keys.map((k) => ({ id: k.id, role: k.role, sha256: k.hash.toString('hex') })), generated: found.generated };
  } catch (error) {
    const message = (error as Error).message;
    reader.problems.push(message.startsWith('API_KEYS') || message.startsWith('No API keys') ? message : `API_KEYS_FILE: ${message}`);
    return undefined;
  }
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** DECISION_LOG_URL: a PostgreSQL URL. Only its scheme is ever repeated: the rest may hold the database's password. */
function decisionLogUrl(reader: Reader): string | undefined {
  const url = reader.text('DECISION_LOG_URL');
  if (url === undefined) return undefined;
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return url;
  reader.problems.push(
    `DECISION_LOG_URL must be a postgres:// or postgresql:// URL, or unset for SQLite under DATA_DIR (got ${scheme === undefined ? 'a value with no scheme' : `a ${scheme}: URL`}; the rest is not repeated, as it may hold a password).`,
  );
  return undefined;
}

function keepFacts(reader: Reader): boolean | undefined {
  const given = reader.text('DECISION_LOG_FACTS');
  if (given === undefined || given === 'digest') return false;
  if (given === 'keep') return true;
  return reader.refuse('DECISION_LOG_FACTS', '"digest" (the default: facts are kept only as a salted digest) or "keep"', given);
}

/**
 * RATE_LIMIT_PER_MINUTE: requests one API key may make a minute, across all workers (0 turns it off).
 * REQUEST_TIMEOUT_MS: how long a request may take before it is answered 503.
 * BATCH_MAX_LINES, BATCH_MAX_BYTES, BATCH_TIMEOUT_MS: what one evaluate-batch may carry and how long
 * it may run; an operator whose queues are larger, or whose host is slower, raises them. Node's own
 * request timeout follows the batch's, a minute above it.
 * HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_CONNECTIONS_PER_WORKER: the server's; the idle timeout
 * must exceed REQUEST_TIMEOUT_MS, so that a request that takes too long is answered 503 before its
 * connection counts as idle.
 */
function limits(reader: Reader): Limits | undefined {
  const ms = 'a whole number of milliseconds, 1 or more';
  const before = reader.problems.length;
  const ratePerMinute = reader.wholeNumber('RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_PER_MINUTE, 'a whole number of requests a minute, 0 (no limit) or more', 0);
  const requestTimeoutMs = reader.wholeNumber('REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, ms, 1);
  const maxLines = reader.wholeNumber('BATCH_MAX_LINES', DEFAULT_BATCH_LIMITS.maxLines, 'a whole number of lines, 1 or more', 1);
  const maxBytes = reader.wholeNumber('BATCH_MAX_BYTES', DEFAULT_BATCH_LIMITS.maxBytes, 'a whole number of bytes, 1 or more', 1);
  const maxMs = reader.wholeNumber('BATCH_TIMEOUT_MS', DEFAULT_BATCH_LIMITS.maxMs, ms, 1);
  const headersMs = reader.wholeNumber('HEADERS_TIMEOUT_MS', DEFAULT_SERVER_LIMITS.headersMs, ms, 1);
  const idleMs = reader.wholeNumber('IDLE_TIMEOUT_MS', DEFAULT_SERVER_LIMITS.idleMs, ms, 1);
  const maxConnections = reader.wholeNumber('MAX_CONNECTIONS_PER_WORKER', DEFAULT_SERVER_LIMITS.maxConnections, 'a whole number of connections, 1 or more', 1);
  // How they bear on each other is judged only between values that are themselves right.
  const requestMs = maxMs === undefined ? undefined : maxMs + (DEFAULT_SERVER_LIMITS.requestMs - DEFAULT_BATCH_LIMITS.maxMs);
  if (idleMs !== undefined && requestTimeoutMs !== undefined && idleMs <= requestTimeoutMs) {
    reader.problems.push(
      `IDLE_TIMEOUT_MS (${idleMs}) must be more than REQUEST_TIMEOUT_MS (${requestTimeoutMs}), so that a request that takes too long is answered 503 before its connection is cut as idle.`,
    );
  }
  if (headersMs !== undefined && requestMs !== undefined && headersMs >= requestMs) {
    reader.problems.push(`HEADERS_TIMEOUT_MS (${headersMs}) must be less than BATCH_TIMEOUT_MS (${maxMs}) and a minute, the time a whole request may take.`);
  }
  if (reader.problems.length > before) return undefined;
  return {
    ratePerMinute: ratePerMinute!,
    requestTimeoutMs: requestTimeoutMs!,
    batch: { maxLines: maxLines!, maxBytes: maxBytes!, maxMs: maxMs! },
    server: { requestMs: requestMs!, headersMs: headersMs!, idleMs: idleMs!, keepAliveMs: DEFAULT_SERVER_LIMITS.keepAliveMs, maxConnections: maxConnections! },
  };
}

/** Freezes plain objects and arrays all the way down. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * The service's settings from its environment, or a SettingsError listing every bad value. With
 * neither API_KEYS nor API_KEYS_FILE, a key per role is generated: `generated` holds their secrets,
 * for the one process that reads the environment to print once; the settings hold only digests.
 */
export function settingsFromEnvironment(env: Environment): { settings: Settings; generated?: readonly GeneratedKey[] } {
  const reader = new Reader(env);
  const rules = rulesDirectory(reader, true);
  const port = reader.wholeNumber('PORT', DEFAULT_PORT, 'a whole number from 0 to 65535 (0: any free port)', 0, 65_535);
  const workers = reader.wholeNumber('WORKERS', availableParallelism(), 'a whole number of processes, 1 or more', 1);
  const configuredKeys = keys(reader);
  // With keys that could not be read, the service does not start; HOST is still checked, as if keys were configured.
  const bind = host(reader, configuredKeys?.generated !== undefined);
  const url = decisionLogUrl(reader);
  const keep = keepFacts(reader);
  const limitsRead = limits(reader);
  if (reader.problems.length > 0) throw new SettingsError(reader.problems);
  const settings: Settings = {
    rulesDirectory: rules!,
    host: bind,
    port: port!,
    dataDir: path.resolve(reader.text('DATA_DIR') ?? 'data'),
    workers: workers!,
    keys: configuredKeys!.keys,
    keysGenerated: configuredKeys!.generated !== undefined,
    decisionLogUrl: url,
    keepFacts: keep!,
    limits: limitsRead!,
  };
  return { settings: deepFreeze(settings), generated: configuredKeys!.generated };
}

/** One key as the primary sends it: an id, a role, and the SHA-256 of its secret in hex. */
function isApiKey(value: unknown): value is ApiKey {
  const key = value as Partial<ApiKey> | null;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.id === 'string' &&
    (ROLES as readonly unknown[]).includes(key.role) &&
    typeof key.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(key.sha256)
  );
}

/**
 * A worker's settings, as its primary sent them (over the cluster's IPC channel, as JSON). The
 * primary and worker run the same code, so a shape check is all that is wanted: a message that is
 * not settings at all is a bug, and the worker should stop rather than serve on guesses.
 */
export function settingsFromPrimary(message: unknown): Settings {
  const candidate = message as Partial<Settings> | null;
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.rulesDirectory === 'string' &&
    typeof candidate.port === 'number' &&
    typeof candidate.workers === 'number' &&
    Array.isArray(candidate.keys) &&
    (candidate.keys as unknown[]).every(isApiKey) &&
    typeof candidate.limits === 'object' &&
    candidate.limits !== null;
  if (!valid) throw new Error('the settings the cluster primary sent are not settings');
  return deepFreeze({ ...candidate, host: candidate.host ?? undefined, decisionLogUrl: candidate.decisionLogUrl ?? undefined } as Settings);
}

/** The keys the service accepts, as the key ring that checks a presented secret against them. */
export function keyRing(settings: Settings): KeyRing {
  return new KeyRing(settings.keys.map(({ id, role, sha256 }) => ({ id, role, hash: Buffer.from(sha256, 'hex') })));
}
