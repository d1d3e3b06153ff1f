// RFC 9457 problem details: the one place an error becomes an HTTP response.
import type { Response } from 'express';
import { DecisionError, ERROR_CATALOGUE, type ErrorCode, type Issue } from '../errors';

export const PROBLEM_TYPE_BASE = 'urn:ps-decisions:problem:';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: ErrorCode;
  errors?: { pointer: string; detail: string; file?: string; line?: number; column?: number }[];
}

export function problemOf(error: DecisionError, instance?: string): ProblemDocument {
  const { status, title } = ERROR_CATALOGUE[error.code];
  const problem: ProblemDocument = { type: PROBLEM_TYPE_BASE + error.code, title, status, detail: error.message, code: error.code };
  if (instance) problem.instance = instance;
  if (error.issues.length > 0) {
    problem.errors = error.issues.map((i: Issue) => {
      const entry: { pointer: string; detail: string; file?: string; line?: number; column?: number } = { pointer: i.pointer, detail: i.message };
      if (i.file !== undefined) Object.assign(entry, { file: i.file, line: i.line, column: i.column });
      return entry;
    });
  }
  return problem;
}

export function sendProblem(res: Response, problem: ProblemDocument): void {
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** Anything that is not a DecisionError is a bug: a bare 500 with nothing internal in it. */
export function internalProblem(instance?: string): ProblemDocument {
  return problemOf(new DecisionError('internal', 'The service failed to handle this request. It has been logged.'), instance);
}
