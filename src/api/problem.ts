// RFC 9457 problem details: the one place an error becomes an HTTP response.
import type { ServerResponse } from 'node:http';
import { DecisionError, ERROR_CATALOGUE, MAX_LISTED_ISSUES, type ErrorCode, type Issue } from '../errors';

export const PROBLEM_TYPE_BASE = 'urn:ps-decisions:problem:';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: ErrorCode;
  errors?: { pointer: string; detail: string; file?: string; line?: number; column?: number }[];
  /** How many problems were found, when more than `errors` lists (it lists the first MAX_LISTED_ISSUES). */
  errorCount?: number;
}

export function problemOf(error: DecisionError, instance?: string): ProblemDocument {
  const { status, title } = ERROR_CATALOGUE[error.code];
  const problem: ProblemDocument = { type: PROBLEM_TYPE_BASE + error.code, title, status, detail: error.message, code: error.code };
  if (instance) problem.instance = instance;
  if (error.issues.length > 0) {
    // Every problem document is capped here, whoever found the problems: a request's validation, an impact request's
    // malformed cases, a refused reload's rule files.
    const listed = error.issues.length > MAX_LISTED_ISSUES ? error.issues.slice(0, MAX_LISTED_ISSUES) : error.issues;
    problem.errors = listed.map((i: Issue) => {
      const entry: { pointer: string; detail: string; file?: string; line?: number; column?: number } = { pointer: i.pointer, detail: i.message };
      if (i.file !== undefined) Object.assign(entry, { file: i.file, line: i.line, column: i.column });
      return entry;
    });
    if (error.issueCount > listed.length) {
      problem.errorCount = error.issueCount;
      problem.detail = `${error.message} ${error.issueCount.toLocaleString('en-AU')} problems were found; the first ${listed.length} are listed.`;
    }
  }
  return problem;
}

/**
 * Written with Node's own response methods, not Express's res.status().type().send(), so that a plain ServerResponse
 * can be answered too (the request timeout's 503 is sent from a timer, limits.ts). The headers are the ones res.send wrote.
 */
export function sendProblem(res: ServerResponse, problem: ProblemDocument): void {
  const body = JSON.stringify(problem);
  res.statusCode = problem.status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Anything that is not a DecisionError is a bug: a bare 500 with nothing internal in it. */
export function internalProblem(instance?: string): ProblemDocument {
  return problemOf(new DecisionError('internal', 'The service failed to handle this request. It has been logged.'), instance);
}
