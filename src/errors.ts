// The catalogue of every error the service reports: stable codes, kept apart from HTTP statuses.

export type ErrorCode =
  | 'invalid-json'
  | 'invalid-request'
  | 'unknown-rule-set'
  | 'no-version-in-force'
  | 'payload-too-large'
  | 'too-many-lines'
  | 'unsupported-media-type'
  | 'not-found'
  | 'method-not-allowed'
  | 'date-outside-calendar'
  | 'date-out-of-range'
  | 'rule-file-invalid'
  | 'rules-refused'
  | 'unauthorized'
  | 'forbidden'
  | 'rate-limited'
  | 'timeout'
  | 'log-unavailable'
  | 'log-unreadable'
  | 'not-ready'
  | 'facts-differ'
  | 'version-unavailable'
  | 'draft-invalid'
  | 'proposal-conflict'
  | 'proposals-unavailable'
  | 'internal';

/** One problem with one place in the input: a JSON pointer and a sentence a person can act on. */
export interface Issue {
  pointer: string;
  message: string;
  /** For a rule file: which file, and where in it (1-based). */
  file?: string;
  line?: number;
  column?: number;
}

/** Rule-file problems one a line, as `file:line:column message`, for logs and the command line. */
export function issueLines(issues: readonly Issue[], indent = ''): string {
  return issues.map((i) => `${indent}${i.file ?? ''}:${i.line ?? 0}:${i.column ?? 0} ${i.message}`).join('\n');
}

/**
 * The most problems one answer lists. Enough to fix a request by; past it, listing costs the service more than it
 * helps anyone (issue 11: one 1 MiB body of wrong items was 96,311 problems, a 10 MB answer and half a CPU-second).
 * The rest are counted, and the answer says how many (api/problem.ts).
 */
export const MAX_LISTED_ISSUES = 100;

/** A failure the caller or the rule author can fix; carries every problem found, not the first. */
export class DecisionError extends Error {
  /**
   * How many problems were found. More than `issues` holds when whoever found them stopped describing them at
   * MAX_LISTED_ISSUES (facts/validate.ts): a body's thousandth mistake is counted, never described.
   */
  readonly issueCount: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: Issue[] = [],
    issueCount = issues.length,
  ) {
    super(message);
    this.name = 'DecisionError';
    this.issueCount = Math.max(issueCount, issues.length);
  }
}

export interface ErrorDescription {
  status: number;
  title: string;
}

/** Code → HTTP status and RFC 9457 title. The only place HTTP meets the catalogue. */
export const ERROR_CATALOGUE: Record<ErrorCode, ErrorDescription> = {
  'invalid-json': { status: 400, title: 'The request body is not valid JSON' },
  'invalid-request': { status: 400, title: 'The request does not match the contract' },
  'unknown-rule-set': { status: 404, title: 'No such rule set' },
  'no-version-in-force': { status: 422, title: 'No version of the rule set is in force on that date' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'too-many-lines': { status: 413, title: 'The batch has more lines than one request may carry' },
  'unsupported-media-type': { status: 415, title: 'The request body must be JSON' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'date-outside-calendar': { status: 422, title: 'A date falls outside the holiday calendar' },
  'date-out-of-range': { status: 422, title: 'A date the decision needs is past the year 9999' },
  'rule-file-invalid': { status: 500, title: 'A rule file is invalid' },
  'rules-refused': { status: 422, title: 'The edited rules were refused; the last good rules stay in force' },
  unauthorized: { status: 401, title: 'An API key is required' },
  forbidden: { status: 403, title: 'This API key may not do that' },
  'rate-limited': { status: 429, title: 'Too many requests for this API key' },
  timeout: { status: 503, title: 'The request took too long and was abandoned' },
  'log-unavailable': { status: 503, title: 'The decision log could not record the decision, so none was given' },
  'log-unreadable': { status: 503, title: 'The decision log could not be read' },
  'not-ready': { status: 503, title: 'The service is not ready' },
  'facts-differ': { status: 409, title: 'The facts supplied are not the facts that were decided on' },
  'version-unavailable': { status: 410, title: 'The rule version that decided is no longer available' },
  'draft-invalid': { status: 422, title: 'The draft rule file is invalid; nothing was proposed or published' },
  'proposal-conflict': { status: 409, title: 'The proposal cannot be decided as it stands' },
  'proposals-unavailable': { status: 501, title: 'Proposals are not available on this service' },
  internal: { status: 500, title: 'Internal error' },
};
