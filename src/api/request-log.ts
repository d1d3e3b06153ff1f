// One JSON line per request (pino-http): its id, method and path, the route that matched, its status and
// how long it took, which key asked and the decision given. Never a body, a query string or a header.
//
// A body carries the facts of a customer's case, a query string whatever a caller put in it, the
// Authorization header a key's secret and a cookie a session. So the line is built from an allow-list
// (the serializers below) instead of pino-http's defaults, which copy every header: Authorization and
// Cookie are not redacted after the fact, they are never serialized. pino's `redact` would have nothing
// to find and cost a microsecond a request (measured); test/api/request-log.test.ts plants a key, a
// cookie, a body value and a query string and checks none of them reaches the log.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Caller } from './access';
import { routePattern, UNMATCHED } from './metrics';

/** A request id a caller may choose (to follow a request through its own logs and ours); anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Probes and scrapes come every few seconds: logging each success would bury the requests that matter. */
export const DEFAULT_QUIET_PATHS: readonly string[] = ['/health', '/ready', '/metrics'];

export interface RequestLogOptions {
  /**
   * Paths whose successful requests (status below 400) are not logged; their failures still are (a
   * failing /ready is what an operator looks for). Default DEFAULT_QUIET_PATHS; [] logs every request.
   */
  quietPaths?: readonly string[];
}

/** The path without the query string, as the caller sent it: req.path is relative inside a mounted router. */
function pathOf(req: Request): string {
  const url = req.originalUrl;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The request's id: the caller's X-Request-Id if it is a plain token, else a new one; echoed in the answer either way. */
function requestId(req: Request, res: Response): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * What is known once the answer has gone: the route pattern, the key (set by authorize(), access.ts)
 * and the decision id (set by the evaluate route). Added to pino-http's own { res, responseTime }
 * when the line is written, not through customProps: that is called at the start of the request too,
 * when none of these is known yet, and at the end it makes a child logger for them.
 */
interface Line {
  res: Response;
  err?: Error;
  responseTime: number;
  route?: string;
  keyId?: string;
  decisionId?: string;
}

function completed(req: Request, res: Response, line: Line): Line {
  line.route = routePattern(req) ?? UNMATCHED;
  const caller = res.locals.caller as Caller | undefined;
  if (caller !== undefined) line.keyId = caller.id;
  const decisionId = res.locals.decisionId as unknown;
  if (typeof decisionId === 'string') line.decisionId = decisionId;
  return line;
}

/** Structured request logs, as the app's outermost middleware: sets the X-Request-Id header and req.id, and writes one line per request. */
export function requestLog(logger: Logger, options: RequestLogOptions = {}): RequestHandler {
  const quiet = new Set(options.quietPaths ?? DEFAULT_QUIET_PATHS);
  return pinoHttp<Request, Response>({
    logger,
    genReqId: requestId,
    // Raw objects to the serializers: pino-http's wrappers would first copy every header and the remote address.
    wrapSerializers: false,
    serializers: {
      // Serialized when the request arrives (pino-http binds it to the request's logger), before any router has rewritten req.url.
      req: (req: Request) => ({ id: req.id, method: req.method, path: req.path }),
      res: (res: Response) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
    customLogLevel: (req, res, error) => {
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return quiet.size > 0 && quiet.has(pathOf(req)) ? 'silent' : 'info';
    },
    customSuccessObject: (req, res, line: Line) => completed(req, res, line),
    customErrorObject: (req, res, error, line: Line) => {
      // For a 5xx it was given no error for, pino-http makes one up; its stack is pino-http's own, not the
      // fault's (the app's error handler logs that), so it is left out.
      if (res.err === undefined && error.message === `failed with status code ${res.statusCode}`) delete line.err;
      return completed(req, res, line);
    },
  });
}
