// Bounds on what one caller, and one request, may take: a rate per API key and a time per request.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { DecisionError } from '../errors';
import type { Caller } from './access';
import { problemOf, sendProblem } from './problem';

const WINDOW_MS = 60_000;

/** One key's count in its current window. */
interface Window {
  used: number;
  /** When the window ends (ms since the epoch); it begins at the key's first request after the last one ended. */
  resetAt: number;
  /** The IETF draft's partition key: a short digest of the key id, so the header does not repeat the id itself. */
  partition: string;
}

/**
 * At most `perMinute` requests per API key in each 60-second window; the next is a 429
 * `rate-limited` problem with Retry-After. Keyed on the key id, not the address: caseworkers
 * share office NAT addresses, and one key's script must not exhaust another's allowance. Mount it
 * after authorize(), which sets res.locals.caller. `perMinute` 0 turns the limit off.
 *
 * One limiter serves every route, so a key has one allowance, not one per route. In a cluster each
 * worker is given its share (workerShare()).
 *
 * Every answer carries RateLimit and RateLimit-Policy (IETF draft 8, as express-rate-limit wrote them:
 * `"6000-in-1min"; r=5999; t=60` and `"6000-in-1min"; q=6000; w=60; pk=:…:`). Written here, not with
 * express-rate-limit, because the evaluate route runs its handlers outside Express's router (app.ts,
 * the lane) and the library's middleware, with an await for each of its steps and a SHA-256 of the key
 * for every answer, was one of the costs the lane exists to avoid. The count is a Map entry per key id
 * (only authorized callers reach it, so the map holds at most the configured keys).
 */
export function rateLimitPerKey(options: { perMinute: number; clock?: () => number }): RequestHandler {
  const { perMinute, clock = Date.now } = options;
  if (!Number.isSafeInteger(perMinute) || perMinute < 0) throw new Error(`The rate limit must be a whole number of requests a minute, 0 or more (got ${perMinute}).`);
  if (perMinute === 0) return (_req, _res, next) => next();
  const name = `"${perMinute}-in-1min"`;
  const windows = new Map<string, Window>();
  return (_req, res, next) => {
    const caller = res.locals.caller as Caller | undefined;
    // A limiter mounted before authorize() would otherwise count every caller as one: a wiring bug, so a 500.
    if (!caller) throw new Error('rateLimitPerKey() is mounted before authorize(): there is no caller to count against.');
    const now = clock();
    let window = windows.get(caller.id);
    if (window === undefined) {
      window = { used: 0, resetAt: now + WINDOW_MS, partition: Buffer.from(createHash('sha256').update(caller.id).digest('hex').slice(0, 12)).toString('base64') };
      windows.set(caller.id, window);
    } else if (now >= window.resetAt) {
      window.used = 0;
      window.resetAt = now + WINDOW_MS;
    }
    window.used += 1;
    const seconds = Math.max(0, Math.ceil((window.resetAt - now) / 1000));
    res.setHeader('RateLimit', `${name}; r=${Math.max(perMinute - window.used, 0)}; t=${seconds}`);
    res.setHeader('RateLimit-Policy', `${name}; q=${perMinute}; w=${WINDOW_MS / 1000}; pk=:${window.partition}:`);
    if (window.used <= perMinute) {
      next();
      return;
    }
    res.setHeader('Retry-After', String(seconds));
    next(new DecisionError('rate-limited', `Key "${caller.id}" has made more than its ${perMinute} requests a minute; try again in ${seconds} s.`));
  };
}

/**
 * A cluster worker's share of a key's limit. Each worker counts in its own memory and allows its share,
 * so a key's requests across the cluster never exceed the configured limit; a client whose one
 * connection stays with one worker gets that worker's share. Counting in the primary instead
 * (@express-rate-limit/cluster-memory-store) costs an IPC round trip a request: measured at 64
 * connections on this 2-core machine, 4,570 req/s fell to 3,105, and p99 rose from 31 ms to 50 ms.
 */
export function workerShare(perMinute: number, workers: number): number {
  if (perMinute === 0) return 0;
  return Math.max(1, Math.ceil(perMinute / Math.max(1, workers)));
}

/**
 * After a timeout has answered, the route that is still running may yet try to answer too: its
 * res.json(), res.writeHead() or res.end() would throw ERR_HTTP_HEADERS_SENT, and a throw from a
 * timer or callback (not a promise Express awaits) ends the process. On this response only, those
 * calls become no-ops; a callback passed to write() or end() is still called, as the caller expects.
 */
function silence(res: Response): void {
  const callback = (args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === 'function') process.nextTick(last as () => void);
  };
  const self = () => res;
  Object.assign(res, {
    writeHead: self,
    setHeader: self,
    appendHeader: self,
    removeHeader: () => undefined,
    flushHeaders: () => undefined,
    write: (...args: unknown[]) => {
      callback(args);
      return true;
    },
    end: (...args: unknown[]) => {
      callback(args);
      return res;
    },
  });
}

/**
 * A request not answered within `ms` of reaching this middleware is answered 503 `timeout`, and
 * res.locals.timedOut is set so a route can see its answer is no longer wanted (and, say, skip
 * recording a decision nobody received). Whatever the route sends afterwards is discarded (see
 * silence()). A response already begun when the time comes (a stream) is left to finish: its
 * status is sent and cannot be changed. Mount it first, before the body is read.
 */
export function requestTimeout(ms: number): RequestHandler {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`The request timeout must be a whole number of milliseconds, more than 0 (got ${ms}).`);
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.writableEnded || res.headersSent) return;
      res.locals.timedOut = true;
      sendProblem(res, problemOf(new DecisionError('timeout', `No answer was ready within ${ms} ms, so the request was abandoned; it may be sent again.`), req.originalUrl));
      silence(res);
    }, ms);
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}

export interface ServerTimeouts {
  /** The whole request, headers and body, must arrive within this (server.requestTimeout). */
  requestMs: number;
  /** The request's headers must arrive within this, measured from the request's first byte (server.headersTimeout). */
  headersMs: number;
  /** An idle keep-alive connection is closed after this (server.keepAliveTimeout). */
  keepAliveMs: number;
}

/**
 * requestMs: Node's own default, 5 minutes; it bounds a slow upload, a batch above all.
 * headersMs: 10 s. Headers are a few hundred bytes; a client slower than that is a slowloris.
 * keepAliveMs: 65 s, above the 60 s idle timeout of AWS ALB, nginx's upstream keep-alive and most
 * other balancers, so the balancer always closes a pooled connection first. The other way round,
 * Node closes a connection just as the balancer sends on it, and the client sees a 502 the service
 * never logged.
 */
export const DEFAULT_SERVER_TIMEOUTS: Readonly<ServerTimeouts> = { requestMs: 300_000, headersMs: 10_000, keepAliveMs: 65_000 };

/**
 * Sets the server's socket-level timeouts (these apply before Express sees a request, and to the
 * batch route, which requestTimeout() leaves alone). headersMs must be below requestMs: Node
 * silently swaps the two otherwise. Since Node 18 headersTimeout runs from each request's first
 * byte, not from the end of the previous response, so it need not exceed keepAliveMs (older
 * advice). Node checks these two every 30 s (connectionsCheckingInterval), so they are enforced
 * within that much of the time set.
 */
export function serverTimeouts(server: Server, timeouts: Partial<ServerTimeouts> = {}): void {
  const { requestMs, headersMs, keepAliveMs } = { ...DEFAULT_SERVER_TIMEOUTS, ...timeouts };
  for (const [name, value] of Object.entries({ requestMs, headersMs, keepAliveMs })) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`serverTimeouts: ${name} must be a whole number of milliseconds, more than 0 (got ${value}).`);
  }
  if (headersMs >= requestMs) throw new Error(`serverTimeouts: headersMs (${headersMs}) must be less than requestMs (${requestMs}).`);
  server.requestTimeout = requestMs;
  server.headersTimeout = headersMs;
  server.keepAliveTimeout = keepAliveMs;
}

export const DEFAULT_RATE_PER_MINUTE = 6000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** A whole number from the environment, or the default when unset or blank; anything else names the variable. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, meaning: string): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be ${meaning} (got "${raw}").`);
  return value;
}

/**
 * RATE_LIMIT_PER_MINUTE: requests one API key may make a minute, across all workers (default 6000,
 * 100 a second: far above a caseworker's pace, low enough to stop a runaway script; 0 turns it off).
 * REQUEST_TIMEOUT_MS: how long a request may take before it is answered 503 (default 10 s; a
 * decision takes milliseconds, so anything near this is stuck).
 */
export function limitsFromEnvironment(env: NodeJS.ProcessEnv): { ratePerMinute: number; requestTimeoutMs: number } {
  return {
    ratePerMinute: wholeNumber(env, 'RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_PER_MINUTE, 0, 'a whole number of requests a minute, 0 (no limit) or more'),
    requestTimeoutMs: wholeNumber(env, 'REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 1, 'a whole number of milliseconds, 1 or more'),
  };
}
