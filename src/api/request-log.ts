// One JSON line per request (pino-http): its id, method and path, the route that matched, its status and
// how long it took, which key asked and the decision given. Never a body, a query string or a header.
//
// A body carries the facts of a customer's case, a query string whatever a caller put in it, the
// Authorization header a key's secret and a cookie a session. So the line is built from an allow-list:
// pino-http's own serializers (which write the URL with its query, every header, the remote address) are
// replaced, not wrapped, by ones that keep only the fields below; Authorization and Cookie are not redacted
// after the fact, they are never serialized. test/api/request-log.test.ts plants a key, a cookie, a body
// value and a query string and checks none of them reaches the log.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger, LevelWithSilent } from 'pino';
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
function pathOf(req: IncomingMessage): string {
  const url = (req as Request).originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The request's id: the caller's X-Request-Id if it is a plain token, else a new one; echoed in the answer either way. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The client went away before the answer was written (pino-http logs on 'close' then, without 'finish'). */
const aborted = (res: ServerResponse): boolean => !res.writableFinished;

/**
 * What is known once the answer has gone, beside pino-http's `res` and `responseTime`: the route pattern, the key
 * (set by authorize(), access.ts) and the decision id (set by the evaluate route). Never pino-http's `err`: for a
 * 5xx it makes up an Error ("failed with status code 500") whose stack says nothing; the fault itself is logged
 * where it is caught (app.ts).
 */
function completed(req: IncomingMessage, res: ServerResponse, val: { res: unknown; responseTime: number }) {
  const locals = (res as Response).locals;
  const caller = locals.caller as Caller | undefined;
  const decisionId = locals.decisionId as unknown;
  return {
    res: val.res,
    responseTime: val.responseTime,
    route: routePattern(req as Request) ?? UNMATCHED,
    ...(caller !== undefined ? { keyId: caller.id } : {}),
    ...(typeof decisionId === 'string' ? { decisionId } : {}),
  };
}

/** Structured request logs, as the app's outermost middleware: sets the X-Request-Id header and req.id, and writes one line per request. */
export function requestLog(logger: Logger, options: RequestLogOptions = {}): RequestHandler {
  const quiet = new Set(options.quietPaths ?? DEFAULT_QUIET_PATHS);
  const message = (_req: IncomingMessage, res: ServerResponse) => (aborted(res) ? 'request aborted' : 'request completed');
  return pinoHttp({
    logger,
    genReqId: requestId,
    // The allow-list, on the raw request and response: pino-std-serializers' wrapping would build their full
    // objects (every header among them) first, for these to pick from.
    wrapSerializers: false,
    serializers: {
      // Taken when the request arrives (pino-http binds it then): a mounted router rewrites req.url while it runs.
      req: (req: IncomingMessage) => ({ id: req.id, method: req.method, path: pathOf(req) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res): LevelWithSilent => {
      const status = res.statusCode;
      if (aborted(res) || status >= 400) return status >= 500 ? 'error' : 'warn';
      return quiet.has(pathOf(req)) ? 'silent' : 'info';
    },
    customSuccessMessage: message,
    customErrorMessage: message,
    customSuccessObject: completed,
    customErrorObject: (req, res, _error, val: { res: unknown; responseTime: number }) => completed(req, res, val),
  });
}
