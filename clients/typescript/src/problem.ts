// Every answer that is not a 2xx, thrown as a typed exception: the service answers each one as an RFC 9457 problem
// (application/problem+json) with a stable `code`; the class says which kind of failure it is, so a caller can
// `catch (e) { if (e instanceof RateLimitedError) … }` instead of reading statuses.
import type { components } from './schema';

/** A problem as the service sends it (the document's Problem). */
export type Problem = components['schemas']['Problem'];
/** Every error code the service reports. */
export type ErrorCode = components['schemas']['ErrorCode'];
/** One place in the request a problem names (a JSON pointer), with what is wrong there. */
export type ProblemItem = components['schemas']['ProblemItem'];

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/**
 * A non-2xx answer. `problem` is the parsed problem+json body; it is absent only when the answer was not one (a proxy's
 * or load balancer's own page, say), and then `text` holds what was sent instead.
 */
export class ProblemError extends Error {
  override readonly name: string = 'ProblemError';
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly text: string | undefined;
  /** The answer's headers (WWW-Authenticate on a 401, Retry-After on a 429, …). */
  readonly headers: Headers;

  constructor(status: number, problem: Problem | undefined, headers: Headers, text?: string) {
    super(
      problem
        ? `${status} ${problem.code}: ${problem.detail}`
        : `${status}: the service answered ${text === undefined || text === '' ? 'no body' : 'a body that is not a problem'}`,
    );
    this.status = status;
    this.problem = problem;
    this.headers = headers;
    this.text = problem ? undefined : text;
  }

  /** The problem's stable code (the document's ErrorCode); undefined when the answer was not a problem. */
  get code(): ErrorCode | undefined {
    return this.problem?.code;
  }

  /** What went wrong, in a sentence a person can act on. */
  get detail(): string | undefined {
    return this.problem?.detail;
  }

  /** Each place in the input at fault (by JSON pointer), when the problem is with particular places. */
  get errors(): ProblemItem[] {
    return this.problem?.errors ?? [];
  }
}

/** 400 or 422: the request (its body, a parameter, asOf) is not one the service can decide; `errors` names each place. */
export class InvalidRequestError extends ProblemError {
  override readonly name: string = 'InvalidRequestError';
}

/** 401: no API key, or one the service does not accept. */
export class UnauthorizedError extends ProblemError {
  override readonly name: string = 'UnauthorizedError';
}

/** 403: the key's role may not do this. */
export class ForbiddenError extends ProblemError {
  override readonly name: string = 'ForbiddenError';
}

/** 404: no such rule set, decision or path. */
export class NotFoundError extends ProblemError {
  override readonly name: string = 'NotFoundError';
}

/** 429: the key made more requests this minute than it may; `retryAfter` says in how many seconds it may again. */
export class RateLimitedError extends ProblemError {
  override readonly name: string = 'RateLimitedError';
  /** Seconds to wait, from Retry-After; undefined when the answer did not say. */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: Problem | undefined, headers: Headers, text?: string) {
    super(status, problem, headers, text);
    this.retryAfter = retryAfterSeconds(headers.get('Retry-After'));
  }
}

/**
 * Retry-After as seconds: delta-seconds as the service sends it, or an HTTP date (RFC 9110 allows either), counted from
 * now. undefined when absent or unreadable.
 */
export function retryAfterSeconds(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

const isProblem = (body: unknown): body is Problem =>
  typeof body === 'object' && body !== null && typeof (body as Problem).status === 'number' && typeof (body as Problem).code === 'string';

/** The exception for a non-2xx answer: its class by status, carrying the parsed problem (openapi-fetch's `error`). */
export function problemError(response: Response, body: unknown): ProblemError {
  const isProblemBody = (response.headers.get('Content-Type') ?? '').startsWith(PROBLEM_MEDIA_TYPE) && isProblem(body);
  const problem = isProblemBody ? body : undefined;
  const text = isProblemBody ? undefined : typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
  const { status, headers } = response;
  switch (status) {
    case 400:
    case 422:
      return new InvalidRequestError(status, problem, headers, text);
    case 401:
      return new UnauthorizedError(status, problem, headers, text);
    case 403:
      return new ForbiddenError(status, problem, headers, text);
    case 404:
      return new NotFoundError(status, problem, headers, text);
    case 429:
      return new RateLimitedError(status, problem, headers, text);
    default:
      return new ProblemError(status, problem, headers, text);
  }
}
