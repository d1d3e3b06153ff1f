// The NDJSON batch route: streams lines in and answers out, each line decided as evaluate would decide it.
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { DecisionError, type Issue } from '../errors';
import { decideRequest, engineOf } from './decide-request';
import { decisionJson } from './decision-json';
import { invalidJson, parseStrictJson } from './json-body';
import type { RuleSetVersions } from '../loader/load';
import { internalProblem, problemOf, type ProblemDocument } from './problem';
import type { CompiledRuleSet } from '../engine/compile';
import type { DecisionRecord } from '../decisions/log';
import type { DecisionRecorder } from '../decisions/recorder';
import { outcomeLabel, type Metrics } from './metrics';
import type { Caller } from './access';


export interface BatchOptions {
  /** The bytes one line may hold: the single evaluate's body limit. */
  lineLimitBytes: number;
  /** Lines one request may carry; each line past it is answered with a too-many-lines problem. */
  maxLines: number;
  ruleSetNamed: (name: string) => RuleSetVersions;
  clock: () => Date;
  logger?: { error(details: object, message: string): void };
  /** Each line's decision is recorded before its answer line is written. */
  recorder: DecisionRecorder;
  metrics?: Metrics;
}

/**
 * Why a cap on lines, and why answer each further line rather than stop: one request holds a worker
 * for as long as it streams, and a caseworker tool that sends a team's queue needs thousands of
 * lines, not millions, so the default (100,000) is generous for that and still bounds the time one
 * request takes. Past the cap the service keeps its contract — exactly one answer line per input
 * line, in order — by answering each further line with a 413 too-many-lines problem without parsing
 * it (counting newlines costs next to nothing), so a client learns precisely which lines to send
 * again. Closing the response early would leave it guessing. The request as a whole is still bounded
 * in time by the server's requestTimeout.
 */
export const DEFAULT_MAX_BATCH_LINES = 100_000;

const NDJSON = 'application/x-ndjson';

// How long the compiled engine may run lines back to back before yielding to the event loop, so a
// large batch does not hold up the single evaluates the same worker is serving.
const SLICE_MS = 10;
// Answer lines are gathered and written together, up to this many characters at a time.
const WRITE_CHUNK_CHARS = 64 * 1024;

function checkContentType(req: Request): void {
  const header = req.get('content-type') ?? '';
  const [mediaType = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== NDJSON) {
    throw new DecisionError('unsupported-media-type', `Send the batch as ${NDJSON}: one JSON object { "id"?, "asOf"?, "facts" } a line (got ${header || 'no content type'}). Only ${NDJSON} is accepted.`);
  }
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new DecisionError('unsupported-media-type', `A batch must be UTF-8 (got charset ${charset}).`);
  }
}

/** The request body, inflated when the client compressed it (large queues compress well). */
function bodyStream(req: Request): Readable {
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  // pipeline, not pipe: a client that disconnects must end the inflated stream too, or the reader would wait forever.
  const inflated = (inflate: Readable & NodeJS.WritableStream) => pipeline(req, inflate, () => {});
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return inflated(createGunzip());
    case 'deflate':
      return inflated(createInflate());
    case 'br':
      return inflated(createBrotliDecompress());
    default:
      throw new DecisionError('unsupported-media-type', `The content encoding "${encoding}" is not supported (use gzip, deflate, br or none).`);
  }
}

/** A line as read: its bytes, or why it was not kept. */
type RawLine = { kind: 'bytes'; bytes: Buffer } | { kind: 'oversized' } | { kind: 'over-cap' };

/**
 * Splits a byte stream into lines without ever holding more than one line of at most `limit` bytes:
 * a longer line is dropped as soon as it passes the limit, and the rest of it skipped to its newline.
 * Splitting on the byte 0x0A is safe in UTF-8 (it never occurs inside a multi-byte character).
 */
class LineSplitter {
  private parts: Buffer[] = [];
  private length = 0;
  private oversized = false;
  lines = 0;

  constructor(
    private readonly limit: number,
    private readonly maxLines: number,
  ) {}

  /** Every line the chunk completes, in order. */
  *push(chunk: Buffer): Generator<RawLine> {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) break;
      yield this.finish();
      start = newline + 1;
    }
  }

  /** The last line, when the body does not end with a newline. */
  *end(): Generator<RawLine> {
    if (this.length > 0) yield this.finish();
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    this.length += piece.length;
    if (this.oversized || this.lines >= this.maxLines) return;
    if (this.length > this.limit) {
      this.oversized = true;
      this.parts = [];
      return;
    }
    this.parts.push(piece);
  }

  private finish(): RawLine {
    this.lines += 1;
    let line: RawLine;
    if (this.lines > this.maxLines) line = { kind: 'over-cap' };
    else if (this.oversized) line = { kind: 'oversized' };
    else line = { kind: 'bytes', bytes: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length) };
    this.parts = [];
    this.length = 0;
    this.oversized = false;
    return line;
  }
}

/** Resolves when the response can take more, or the client has gone; never leaves listeners behind. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

const idOf = (value: unknown): string | number | null => (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? value : null);

/**
 * POST /v1/rulesets/{name}/evaluate-batch. Whole-request problems (unknown rule set, content type,
 * engine) are thrown before any line is read and become ordinary problem+json responses; after that
 * the answer is a 200 NDJSON stream with one line per input line, each a decision or a problem.
 */
export function evaluateBatch({ lineLimitBytes, maxLines, ruleSetNamed, clock, logger, recorder, metrics }: BatchOptions): RequestHandler {
  return async (req, res) => {
    // The registry is read once: a reload during the batch does not change the rules it is decided by.
    const ruleSetVersions = ruleSetNamed(String(req.params.name));
    checkContentType(req);
    const engine = engineOf(req);
    const body = bodyStream(req);
    // One date for the whole batch: a queue sent just before midnight is decided as of one day.
    const today = todayInSydney(clock());
    const instance = req.originalUrl;

    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) gone = true;
    });

    res.writeHead(200, { 'Content-Type': NDJSON, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    // Headers go out now: the client knows the batch was accepted before its first answer is ready.
    res.flushHeaders();

    const keyId = (res.locals.caller as Caller).id;
    // Answer lines waiting to be written. A decided line waits with its log record: the records are
    // committed together, once per write, and only then are their answers written. If the commit
    // fails, each of those lines is answered with a 503 log-unavailable problem instead.
    let pending: (string | { line: number; id: string | number | null; record: DecisionRecord; text: string })[] = [];
    let pendingChars = 0;
    let records: DecisionRecord[] = [];
    let versions = new Set<CompiledRuleSet>();
    const flush = async () => {
      if (pending.length === 0 || gone) return;
      const lines = pending;
      const committing = records;
      const ruleSets = [...versions];
      pending = [];
      pendingChars = 0;
      records = [];
      versions = new Set();
      let failure: unknown;
      try {
        await recorder.commit(committing, ruleSets);
      } catch (error) {
        failure = error;
      }
      const text = lines.map((l) => (typeof l === 'string' ? l : failure === undefined ? l.text : problemLine(l.line, l.id, failure))).join('');
      if (!res.write(text)) await drained(res);
    };
    const emit = async (line: (typeof pending)[number]) => {
      pending.push(line);
      pendingChars += typeof line === 'string' ? line.length : line.text.length;
      if (pendingChars >= WRITE_CHUNK_CHARS) await flush();
    };

    const problemLine = (n: number, id: string | number | null, error: unknown): string => {
      let problem: ProblemDocument;
      if (error instanceof DecisionError && error.code !== 'internal' && error.code !== 'rule-file-invalid') problem = problemOf(error, instance);
      else {
        logger?.error({ err: error, path: req.path, line: n }, 'unhandled error in a batch line');
        problem = internalProblem(instance);
      }
      return `{"line":${n},"id":${JSON.stringify(id)},"problem":${JSON.stringify(problem)}}\n`;
    };

    const answer = async (n: number, raw: RawLine): Promise<(typeof pending)[number]> => {
      if (raw.kind === 'over-cap') return problemLine(n, null, new DecisionError('too-many-lines', `A batch may carry at most ${maxLines} lines; this line was not decided. Send it in another request.`));
      if (raw.kind === 'oversized') return problemLine(n, null, new DecisionError('payload-too-large', `The line exceeds the limit of ${lineLimitBytes} bytes (1 MiB); the service skipped to the next line.`));
      let text = raw.bytes.toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.length === 0) {
        return problemLine(n, null, new DecisionError('invalid-json', 'The line is empty: each line must be one JSON object { "id"?, "asOf"?, "facts" }.', [{ pointer: '', message: 'is empty' }]));
      }
      let parsed: unknown;
      try {
        parsed = parseStrictJson(text);
      } catch (error) {
        return problemLine(n, null, invalidJson(error));
      }
      // The id is the client's, echoed back; it is not part of the evaluate body.
      let request = parsed;
      let id: string | number | null = null;
      let idIssue: Issue | undefined;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'id' in parsed) {
        const { id: given, ...rest } = parsed as Record<string, unknown>;
        request = rest;
        id = idOf(given);
        if (id === null) idIssue = { pointer: '/id', message: 'must be a JSON string or number' };
      }
      try {
        const decided = await decideRequest(ruleSetVersions, request, engine, () => today);
        if (idIssue) throw new DecisionError('invalid-request', 'The line does not match the contract.', [idIssue]);
        const record = recorder.entry(decided, keyId);
        records.push(record);
        versions.add(decided.ruleSet);
        metrics?.decision(decided.decision.ruleSet, outcomeLabel(decided.decision), decided.decision.evaluator);
        return { line: n, id, record, text: `{"line":${n},"id":${JSON.stringify(id)},"decision":${decisionJson(decided.decision, record.decisionId)}}\n` };
      } catch (error) {
        // Every problem with the line is reported together, the id's with the body's.
        if (idIssue && error instanceof DecisionError && error.code === 'invalid-request' && !error.issues.includes(idIssue)) {
          return problemLine(n, id, new DecisionError('invalid-request', error.message, [idIssue, ...error.issues]));
        }
        return problemLine(n, id, error);
      }
    };

    const splitter = new LineSplitter(lineLimitBytes, maxLines);
    let sliceStart = performance.now();
    const handle = async (lines: Generator<RawLine>) => {
      for (const raw of lines) {
        if (gone) return;
        await emit(await answer(splitter.lines, raw));
        if (performance.now() - sliceStart > SLICE_MS) {
          await flush();
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    };

    try {
      for await (const chunk of body) {
        if (gone) break;
        await handle(splitter.push(chunk as Buffer));
        // Answers go out as each chunk of the request is decided, not when the request ends.
        await flush();
        sliceStart = performance.now();
      }
      if (!gone) await handle(splitter.end());
    } catch (error) {
      if (gone || res.destroyed || !res.socket || res.socket.destroyed) return;
      // The body could not be read on (a broken compressed stream, say): say so on the line it broke, then end.
      await emit(problemLine(splitter.lines + 1, null, new DecisionError('invalid-json', `The request body could not be read past this point: ${(error as Error).message}`, [{ pointer: '', message: 'could not be read' }])));
    }
    if (gone) {
      if (body !== req) body.destroy();
      return;
    }
    await flush();
    res.end();
  };
}
