// One evaluate-batch line, from its bytes to its answer: what the request's own thread does for each line it decides,
// and what a decider thread (batch-decider.ts) does for the lines it is sent. No I/O, no clock: the date is the batch's.
import { DecisionError, type Issue } from '../errors';
import type { Evaluator } from '../engine/evaluate';
import { ValueCount } from '../facts/validate';
import type { RuleSetVersions } from '../loader/load';
import type { Decided } from '../decisions/recorder';
import { decideRequest, type Explain } from './decide-request';
import { answerJson } from './decision-json';
import { invalidJson, parseStrictJson } from './json-body';
import { problemOf } from './problem';

/** What every line of one batch is decided with. */
export interface LineContext {
  versions: RuleSetVersions;
  engine: Evaluator;
  /** The batch's date, for a line without an asOf. */
  today: string;
  explain: Explain;
  /** The batch's URL, each problem's instance. */
  instance: string;
}

/** A client's id for a line, echoed back. */
export type LineId = string | number | null;

/**
 * A line's answer: a problem to tell the client (its answer line written); a decision (its record is the caller's to
 * make and commit, then the answer line is written with the record's decision id); or a failure of the service's own,
 * which the caller logs and answers with an internal problem.
 */
export type LineAnswer =
  | { kind: 'problem'; line: number; text: string }
  | { kind: 'decided'; line: number; id: LineId; decided: Decided }
  | { kind: 'failed'; line: number; id: LineId; error: unknown };

/** An answer line carrying a problem. */
export function problemText(line: number, id: LineId, problem: object): string {
  return `{"line":${line},"id":${JSON.stringify(id)},"problem":${JSON.stringify(problem)}}\n`;
}

/** An answer line carrying a decision, its id the record's; `written`: its outcome's and fired rules' JSON, if written already (the record's). */
export function decisionText(
  line: number,
  id: LineId,
  decided: Decided,
  decisionId: string,
  explain: Explain,
  written?: { outcome: string; fired: string },
): string {
  return `{"line":${line},"id":${JSON.stringify(id)},"decision":${answerJson(decided.decision, decisionId, explain, written)}}\n`;
}

/** A problem the client is told of, or a failure of the service's own (any other error, and a rule file refused). */
export function refusal(line: number, id: LineId, error: unknown, instance: string): Extract<LineAnswer, { kind: 'problem' | 'failed' }> {
  if (error instanceof DecisionError && error.code !== 'internal' && error.code !== 'rule-file-invalid')
    return { kind: 'problem', line, text: problemText(line, id, problemOf(error, instance)) };
  return { kind: 'failed', line, id, error };
}

const idOf = (value: unknown): LineId => (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? value : null);

/**
 * Decides line `n` of a batch from its bytes (without the newline), as POST …/evaluate decides the same body. A promise
 * only for the reference engine: the compiled engine answers synchronously, so a batch it decides costs no turn of
 * the microtask queue a line.
 */
export function answerLine(n: number, bytes: Buffer, context: LineContext): LineAnswer | Promise<LineAnswer> {
  // A line holding more JSON values than any case can is refused before it is parsed (ValueCount, as jsonBody does).
  // Each value counted takes a byte of its own (a bracket or a comma), so a line of no more bytes than the most
  // values cannot hold too many, and is not counted: that is every real case, and 1.3 µs a line.
  const count = new ValueCount();
  if (bytes.length > count.most && !count.add(bytes)) return refusal(n, null, count.refusal(), context.instance);
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.length === 0) {
    return refusal(
      n,
      null,
      new DecisionError('invalid-json', 'The line is empty: each line must be one JSON object { "id"?, "asOf"?, "facts" }.', [
        { pointer: '', message: 'is empty' },
      ]),
      context.instance,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    return refusal(n, null, invalidJson(error), context.instance);
  }
  // The id is the client's, echoed back; it is not part of the evaluate body.
  let request = parsed;
  let id: LineId = null;
  let idIssue: Issue | undefined;
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'id' in parsed) {
    const { id: given, ...rest } = parsed as Record<string, unknown>;
    request = rest;
    id = idOf(given);
    if (id === null) idIssue = { pointer: '/id', message: 'must be a JSON string or number' };
  }
  const decided = (made: Decided): LineAnswer => {
    if (idIssue) throw new DecisionError('invalid-request', 'The line does not match the contract.', [idIssue]);
    return { kind: 'decided', line: n, id, decided: made };
  };
  const refused = (error: unknown): LineAnswer => {
    // Every problem with the line is reported together, the id's with the body's.
    if (idIssue && error instanceof DecisionError && error.code === 'invalid-request' && !error.issues.includes(idIssue)) {
      return refusal(n, id, new DecisionError('invalid-request', error.message, [idIssue, ...error.issues], error.issueCount + 1), context.instance);
    }
    return refusal(n, id, error, context.instance);
  };
  try {
    const made = decideRequest(context.versions, request, context.engine, () => context.today, context.explain);
    return made instanceof Promise ? made.then(decided).catch(refused) : decided(made);
  } catch (error) {
    return refused(error);
  }
}
