// Bounds on what one caller, one request and one connection may take: a rate per key, a request's time and a batch's size, the server's timeouts and connection cap.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { MemoryStore, rateLimit, type ClientRateLimitInfo, type RateLimitInfo } from 'express-rate-limit';
import { DecisionError } from '../errors';
import type { Caller } from './access';
import { problemOf, sendProblem } from './problem';

const WINDOW_MS = 60_000;

/**
 * express-rate-limit's MemoryStore, for one of `workers` processes that each count a key's requests apart: each
 * request counts as limit / share quota units, share being this process's part of the limit (workerShare()). So a
 * process refuses a key past its share, and the key's requests across the cluster never exceed the limit, while the
 * RateLimit headers state the key's limit (q=6000), not one process's part of it (3000 in a 2-worker cluster), and
 * the remaining allowance (r) reaches 0 with the last request this process allows. The IETF draft allows a request
 * to cost more than one quota unit; with one process (or no cluster) each costs one.
 */
class ShareStore extends MemoryStore {
  private readonly unitsPerRequest: number;

  constructor(limit: number, workers: number) {
    super();
    this.unitsPerRequest = limit / workerShare(limit, workers);
  }

  override async increment(key: string): Promise<ClientRateLimitInfo> {
    const { totalHits, resetTime } = await super.increment(key);
    return { totalHits: Math.ceil(totalHits * this.unitsPerRequest), resetTime };
  }
}

/**
 * At most `perMinute` requests per API key in each 60-second window from the key's first request; the next is a
 * 429 `rate-limited` problem with Retry-After. Keyed on the key id, not the address: caseworkers share office NAT
 * addresses, and one key's script must not exhaust another's allowance. Mount it after authorize(), which sets
 * res.locals.caller. `perMinute` 0 turns the limit off.
 *
 * One limiter serves every route, so a key has one allowance, not one per route. Every answer carries RateLimit
 * and RateLimit-Policy (IETF draft 8: `"6000-in-1min"; r=5999; t=60` and `"6000-in-1min"; q=6000; w=60; pk=:…:`).
 *
 * In a cluster (`workers` > 1) each worker counts in its own memory and allows its share of the limit (ShareStore);
 * the headers still state the key's limit. Counting in the primary instead (@express-rate-limit/cluster-memory-store)
 * costs an IPC round trip a request: measured at 64 connections on this 2-core machine, 4,570 req/s fell to 3,105,
 * and p99 rose from 31 ms to 50 ms. A store shared by several hosts (Redis, PostgreSQL) is express-rate-limit's
 * `store` option; this service runs on one host, so it has none.
 */
export function rateLimitPerKey(options: { perMinute: number; workers?: number }): RequestHandler {
  const { perMinute, workers = 1 } = options;
  if (!Number.isSafeInteger(perMinute) || perMinute < 0)
    throw new Error(`The rate limit must be a whole number of requests a minute, 0 or more (got ${perMinute}).`);
  if (!Number.isSafeInteger(workers) || workers < 1) throw new Error(`The rate limit's workers must be a whole number, 1 or more (got ${workers}).`);
  if (perMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-8',
    // The policy's name, fixed: the library would work it out from the window for every answer.
    identifier: `${perMinute}-in-1min`,
    legacyHeaders: false,
    store: new ShareStore(perMinute, workers),
    keyGenerator: (_req, res) => {
      const caller = res.locals.caller as Caller | undefined;
      // A limiter mounted before authorize() would otherwise count every caller as one: a wiring bug, so a 500.
      if (!caller) throw new Error('rateLimitPerKey() is mounted before authorize(): there is no caller to count against.');
      return caller.id;
    },
    // The 429 as every other refusal: a problem (app.ts), after the library has set Retry-After and the RateLimit headers.
    handler: (req, res, next) => {
      const { resetTime } = (req as Request & { rateLimit: RateLimitInfo }).rateLimit;
      const seconds = resetTime ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;
      next(
        new DecisionError(
          'rate-limited',
          `Key "${(res.locals.caller as Caller).id}" has made more than its ${perMinute} requests a minute; try again in ${seconds} s.`,
        ),
      );
    },
  });
}

/**
 * A cluster worker's share of a key's limit: what it allows when each of `workers` counts in its own memory. Rounded
 * down, so a key's requests across the cluster never exceed the limit (5 a minute over 2 workers: 2 each, not 3);
 * except that each worker allows at least 1, so a limit below the number of workers allows one request a worker.
 */
export function workerShare(perMinute: number, workers: number): number {
  if (perMinute === 0) return 0;
  return Math.max(1, Math.floor(perMinute / Math.max(1, workers)));
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
    if (typeof last === 'function') process.nextTick(last);
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
 *
 * A request whose body is still arriving when the time comes (a drip-fed body) has its connection
 * closed after the 503 (closeWhenAnswered()): otherwise Node would read the rest of the body to
 * keep the connection, and the client could hold the socket until the server's request timeout.
 */
export function requestTimeout(ms: number): RequestHandler {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`The request timeout must be a whole number of milliseconds, more than 0 (got ${ms}).`);
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.writableEnded || res.headersSent) return;
      res.locals.timedOut = true;
      if (!req.complete) closeWhenAnswered(req, res);
      sendProblem(
        res,
        problemOf(new DecisionError('timeout', `No answer was ready within ${ms} ms, so the request was abandoned; it may be sent again.`), req.originalUrl),
      );
      silence(res);
    }, ms);
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}

/**
 * A closing connection (closeWhenAnswered()) reads on, discarding, at most this much of what the
 * client still sends: enough for a client that writes its whole body before it reads (many do) and
 * sent somewhat too much to finish, read its answer and close; a client sending far more is simply
 * no longer read.
 */
const LINGER_BYTES = 4 * 1024 * 1024;
/**
 * How long a closing connection stays open after its answer's last byte was handed to the kernel:
 * on a LAN that byte arrives within milliseconds; 2 s allows for a slow client's link without
 * letting a client hold the socket.
 */
const LINGER_MS = 2_000;
const closing = new WeakSet<ServerResponse>();

/**
 * Closes the connection once this answer is written: for a request whose body the service will not
 * read (refused from its headers, answered before its body arrived, timed out, or a batch stopped
 * early). The client may still be sending; reading on would let it hold the socket, and the worker's
 * time, for as long as it likes. Before the answer is sent, it says `Connection: close`.
 *
 * Not Node's own close for `Connection: close`, which destroys the socket as soon as the answer is
 * handed to the kernel: with the client still sending, that close is a reset, and a reset can
 * discard the end of the answer before the client reads it (RFC 9112 §9.6; measured on loopback: a
 * 2 MB answer was lost every time, a 400-byte one kept). Instead the rest of the body is discarded
 * up to LINGER_BYTES and then no longer read; the socket is half-closed once the answer is written
 * (the client sees the answer end, then the close) and destroyed LINGER_MS after that, or as soon
 * as the client closes its side.
 */
export function closeWhenAnswered(req: IncomingMessage, res: ServerResponse): void {
  if (closing.has(res)) return;
  closing.add(res);
  if (!res.headersSent) res.setHeader('Connection', 'close');
  const socket = req.socket;
  // Node ends a Connection: close exchange with destroySoon(); on this socket, that is the half-close below instead.
  socket.destroySoon = () => socket.end();
  // Consumed here, so Node does not dump it (which reads without end); paused once LINGER_BYTES are discarded.
  let discarded = 0;
  const discard = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) {
      req.off('data', discard);
      req.pause();
    }
  };
  req.on('data', discard);
  req.resume();
  res.once('finish', () => {
    socket.end();
    const destroyLater = () => {
      const timer = setTimeout(() => socket.destroy(), LINGER_MS);
      socket.once('close', () => clearTimeout(timer));
    };
    if (socket.writableFinished) destroyLater();
    else socket.once('finish', destroyLater);
  });
}

/** What one evaluate-batch request may take (batch.ts). */
export interface BatchLimits {
  /** Lines one request may carry. */
  maxLines: number;
  /** Bytes the body may hold as read, inflated when it is compressed; also the most its Content-Length may declare. */
  maxBytes: number;
  /** How long one batch may run, from when its headers have been read. */
  maxMs: number;
}

/**
 * Bounds no caseworker tool reaches, so that only a runaway or hostile request meets them. A team's
 * queue is thousands of lines: 100,000 lines is well above it, and at the typical 1–2 KB a line
 * (a generated referral is about 320 bytes) those are at most 200 MB, under 256 MiB (a lone 1 MiB
 * line still fits many times over). Measured on this 2-core machine with the built cluster: 100,000
 * lines took 24 s with the compiled engine; 10,000 lines took 6.3 s with ?engine=reference, so about
 * 63 s for 100,000; 5 minutes leaves about five times that for a slower host or a busy worker.
 * Without these, a 329-byte brotli body inflating to 200 MiB of newlines was answered 1.49 M lines
 * in 15 s and would have gone on to ~70 GB.
 */
export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = { maxLines: 100_000, maxBytes: 256 * 1024 * 1024, maxMs: 300_000 };

/** How the HTTP server itself treats slow, idle and surplus connections (before Express sees a request). */
export interface ServerLimits {
  /** The whole request, headers and body, must arrive within this (server.requestTimeout). */
  requestMs: number;
  /** The request's headers must arrive within this, from its first byte, or from the connection's opening for its first request (server.headersTimeout). */
  headersMs: number;
  /** A connection with a request under way on which nothing is sent or received for this long is destroyed (server.timeout). */
  idleMs: number;
  /** An idle keep-alive connection between requests is closed after this (server.keepAliveTimeout). */
  keepAliveMs: number;
  /** Connections one server (one cluster worker) holds open at once; each past it is closed as it arrives. */
  maxConnections: number;
}

/**
 * requestMs: a minute longer than a batch may run (DEFAULT_BATCH_LIMITS.maxMs): a batch that meets
 * its own bound ends with its final problem line, never cut short by Node. Every other route that
 * reads a body answers 503 at REQUEST_TIMEOUT_MS and closes the connection, so this is a backstop.
 * headersMs: 10 s. Headers are a few hundred bytes; a client slower than that is a slowloris, and
 * Node answers it 408 and closes the connection.
 * idleMs: 30 s, above the 10 s request timeout (so a stuck evaluate is answered 503 before its
 * connection is cut), and far above any pause a client or the service makes mid-request: a batch
 * writes its answers as it decides them. What it ends is a client that stops sending its body, or
 * stops reading its answer, and stays connected.
 * keepAliveMs: 65 s, above the 60 s idle timeout of AWS ALB, nginx's upstream keep-alive and most
 * other balancers, so the balancer always closes a pooled connection first. The other way round,
 * Node closes a connection just as the balancer sends on it, and the client sees a 502 the service
 * never logged.
 * maxConnections: 1,000 a worker, far above a balancer's pool or the connections caseworker tools
 * hold; each connection holds a file descriptor and memory, and a worker out of descriptors cannot
 * open the decision log's files either.
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = {
  requestMs: DEFAULT_BATCH_LIMITS.maxMs + 60_000,
  headersMs: 10_000,
  idleMs: 30_000,
  keepAliveMs: 65_000,
  maxConnections: 1_000,
};

/**
 * Node checks the header and request timeouts of every connection each connectionsCheckingInterval
 * (30 s by default), so a slowloris would be closed anywhere from 10 to 40 s after its first byte.
 * Checked each second instead, they hold to within a second; the check walks only the connections
 * still receiving a request (or yet to send their first).
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/**
 * The HTTP server for `listener`, with these limits (defaults for those not given). headersMs must
 * be below requestMs: Node silently swaps the two otherwise. Since Node 18 headersTimeout runs
 * from each request's first byte, not from the end of the previous response, so it need not exceed
 * keepAliveMs (older advice).
 *
 * The connection cap is counted here rather than with server.maxConnections: in a cluster worker
 * (round-robin, Node's default on Linux) a worker at its maxConnections hands the connection back to
 * the primary, which offers it to the next worker and back again, without end, instead of closing
 * it. Measured on Node 20 with 2 workers capped at 2 and 6 connections: the 2 surplus connections
 * stayed open and the primary spent 1.3 CPU-s in 3 s passing them round.
 */
export function limitedServer(listener: RequestListener, limits: Partial<ServerLimits> = {}): Server {
  const { requestMs, headersMs, idleMs, keepAliveMs, maxConnections } = { ...DEFAULT_SERVER_LIMITS, ...limits };
  for (const [name, value] of Object.entries({ requestMs, headersMs, idleMs, keepAliveMs, maxConnections })) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`limitedServer: ${name} must be a whole number, more than 0 (got ${value}).`);
  }
  if (headersMs >= requestMs) throw new Error(`limitedServer: headersMs (${headersMs}) must be less than requestMs (${requestMs}).`);
  const server = createServer(
    {
      requestTimeout: requestMs,
      headersTimeout: headersMs,
      keepAliveTimeout: keepAliveMs,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, headersMs),
    },
    listener,
  );
  server.timeout = idleMs;
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= maxConnections) {
      socket.destroy();
      return;
    }
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
  });
  return server;
}
