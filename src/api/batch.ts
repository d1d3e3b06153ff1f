// The NDJSON batch route: streams lines in and answers out, each line decided as evaluate would decide it.
import { finished, PassThrough, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { DecisionError, type Issue } from '../errors';
import { decideRequest, engineOf, explainOf } from './decide-request';
import { decisionJson, shortDecisionJson } from './decision-json';
import { invalidJson, parseStrictJson } from './json-body';
import { ValueCount } from '../facts/validate';
import type { RuleSetVersions } from '../loader/load';
import { internalProblem, problemOf, type ProblemDocument } from './problem';
import type { CompiledRuleSet } from '../engine/compile';
import type { DecisionRecord } from '../decisions/log';
import type { DecisionRecorder } from '../decisions/recorder';
import { closeWhenAnswered } from './limits';
import { outcomeLabel, type Metrics } from './metrics';
import type { Caller } from './access';


export interface BatchOptions {
  /** The bytes one line may hold: the single evaluate's body limit. */
  lineLimitBytes: number;
  /** Lines one request may carry, bytes its body may hold once inflated, and how long it may run (limits.ts, DEFAULT_BATCH_LIMITS). */
  maxLines: number;
  maxBytes: number;
  maxMs: number;
  ruleSetNamed: (name: string) => RuleSetVersions;
  clock: () => Date;
  logger?: { error(details: object, message: string): void };
  /** Each line's decision is recorded before its answer line is written. */
  recorder: DecisionRecorder;
  metrics?: Metrics;
}

/**
 * Why a batch has an end: one request holds a worker for as long as it streams, and a body can be
 * made to inflate without end (a 329-byte brotli body to 200 MiB of newlines, answered 1.49 M lines
 * in 15 s). So a batch stops at the first of its bounds (limits.ts says why each is set where it is):
 * its line cap (413 too-many-lines), its inflated size (413 payload-too-large) or its run time (503
 * timeout). Every line before the stop is answered as usual, its decision recorded first; then ONE
 * final problem line, numbered as the first line not answered, tells the client where to resume;
 * then the answer ends and the connection is closed without reading further: a client still
 * uploading must not keep the worker reading, or inflating. (Answering each line past the cap
 * instead, as this route once did, kept the contract of one answer a line but let a client buy
 * unbounded work with a few bytes.)
 */
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

/**
 * The request body as a stream of its own, inflated when the client compressed it (large queues
 * compress well). Piped, not pipeline()d: a batch that stops early destroys this stream to stop
 * reading and inflating, and pipeline() would destroy the request with it, which resets the
 * connection before the answer's last lines have reached the client (see closeWhenAnswered()).
 */
function bodyStream(req: Request): Transform {
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  let body: Transform;
  switch (encoding) {
    case 'identity':
      body = new PassThrough();
      break;
    case 'gzip':
    case 'x-gzip':
      body = createGunzip();
      break;
    case 'deflate':
      body = createInflate();
      break;
    case 'br':
      body = createBrotliDecompress();
      break;
    default:
      throw new DecisionError('unsupported-media-type', `The content encoding "${encoding}" is not supported (use gzip, deflate, br or none).`);
  }
  req.pipe(body);
  // A client that disconnects must end the body stream too, or the reader would wait forever.
  finished(req, (error) => {
    if (error) body.destroy(error);
  });
  return body;
}

/** A line as read: its bytes, or why it was not kept; `over-cap`: a line past the cap has begun, and nothing more is read. */
type RawLine = { kind: 'bytes'; bytes: Buffer } | { kind: 'oversized' } | { kind: 'over-cap' };
/** A line to answer. */
type ReadLine = Exclude<RawLine, { kind: 'over-cap' }>;

/**
 * Splits a byte stream into lines without ever holding more than one line of at most `limit` bytes:
 * a longer line is dropped as soon as it passes the limit, and the rest of it skipped to its newline.
 * Splitting on the byte 0x0A is safe in UTF-8 (it never occurs inside a multi-byte character).
 * The first byte after the `maxLines`th line ends the splitting with `over-cap`.
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
      if (this.lines >= this.maxLines) {
        yield { kind: 'over-cap' };
        return;
      }
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
    if (this.oversized) return;
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
    if (this.oversized) line = { kind: 'oversized' };
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
 * POST /v1/rulesets/{name}/evaluate-batch. Whole-request problems (a declared length past the size
 * bound, unknown rule set, content type, engine) are thrown before any line is read and become
 * ordinary problem+json responses; after that the answer is a 200 NDJSON stream with one line per
 * input line, each a decision or a problem, up to the first bound the batch meets (see BatchOptions).
 */
export function evaluateBatch({ lineLimitBytes, maxLines, maxBytes, maxMs, ruleSetNamed, clock, logger, recorder, metrics }: BatchOptions): RequestHandler {
  return async (req, res) => {
    const declared = Number(req.get('content-length'));
    if (declared > maxBytes) {
      // Refused from the header, unread: the client may be sending it still.
      closeWhenAnswered(req, res);
      throw new DecisionError('payload-too-large', `The body's Content-Length (${declared}) passes the limit of ${maxBytes} bytes a batch may hold; it was not read. Send the lines in smaller batches.`);
    }
    // The registry is read once: a reload during the batch does not change the rules it is decided by.
    const ruleSetVersions = ruleSetNamed(String(req.params.name));
    checkContentType(req);
    const engine = engineOf(req);
    const explain = explainOf(req);
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

    const answer = async (n: number, raw: ReadLine): Promise<(typeof pending)[number]> => {
      if (raw.kind === 'oversized') return problemLine(n, null, new DecisionError('payload-too-large', `The line exceeds the limit of ${lineLimitBytes} bytes (1 MiB); the service skipped to the next line.`));
      // A line holding more JSON values than any case can is refused before it is parsed (ValueCount, as jsonBody does).
      const count = new ValueCount();
      if (!count.add(raw.bytes)) return problemLine(n, null, count.refusal());
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
        const made = decideRequest(ruleSetVersions, request, engine, () => today, explain);
        // The compiled engine answers synchronously: no await (a turn of the microtask queue) per line.
        const decided = made instanceof Promise ? await made : made;
        if (idIssue) throw new DecisionError('invalid-request', 'The line does not match the contract.', [idIssue]);
        const record = recorder.entry(decided, keyId);
        records.push(record);
        versions.add(decided.ruleSet);
        metrics?.decision(decided.decision.ruleSet, outcomeLabel(decided.decision), decided.decision.evaluator);
        const decision = explain === 'none' || !('explanation' in decided.decision) ? shortDecisionJson(decided.decision, record.decisionId) : decisionJson(decided.decision, record.decisionId);
        return { line: n, id, record, text: `{"line":${n},"id":${JSON.stringify(id)},"decision":${decision}}\n` };
      } catch (error) {
        // Every problem with the line is reported together, the id's with the body's.
        if (idIssue && error instanceof DecisionError && error.code === 'invalid-request' && !error.issues.includes(idIssue)) {
          return problemLine(n, id, new DecisionError('invalid-request', error.message, [idIssue, ...error.issues], error.issueCount + 1));
        }
        return problemLine(n, id, error);
      }
    };

    // Why the batch ends before its body does, once it meets a bound; the lines before are answered as usual.
    let stop: DecisionError | undefined;
    const undecided = 'This line and every line after it were not decided; send them in another request.';
    // The run time bounds the wait for a slow client's next chunk too: destroying the body ends that wait.
    const timer = setTimeout(() => {
      stop ??= new DecisionError('timeout', `The batch ran for its limit of ${maxMs} ms. ${undecided}`);
      body.destroy();
    }, maxMs);

    const splitter = new LineSplitter(lineLimitBytes, maxLines);
    // The number of the last line answered (its answer may wait in `pending`).
    let answered = 0;
    let inflated = 0;
    let sliceStart = performance.now();
    const handle = async (lines: Generator<RawLine>) => {
      for (const raw of lines) {
        if (gone || stop) return;
        if (raw.kind === 'over-cap') {
          stop = new DecisionError('too-many-lines', `A batch may carry at most ${maxLines} lines. ${undecided}`);
          return;
        }
        const n = splitter.lines;
        await emit(await answer(n, raw));
        answered = n;
        if (performance.now() - sliceStart > SLICE_MS) {
          await flush();
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    };

    try {
      for await (const chunk of body) {
        if (gone || stop) break;
        let bytes = chunk as Buffer;
        inflated += bytes.length;
        // The lines that end within the bound are still decided; the one it cuts is the first not read.
        const over = inflated > maxBytes;
        if (over) bytes = bytes.subarray(0, bytes.length - (inflated - maxBytes));
        await handle(splitter.push(bytes));
        if (over) stop ??= new DecisionError('payload-too-large', `The batch passes the limit of ${maxBytes} bytes (counted inflated, when compressed). ${undecided}`);
        if (stop) break;
        // Answers go out as each chunk of the request is decided, not when the request ends.
        await flush();
        sliceStart = performance.now();
      }
      if (!gone && !stop) await handle(splitter.end());
    } catch (error) {
      // The body could not be read on (a broken compressed stream, say), unless the time bound ended it.
      stop ??= new DecisionError('invalid-json', `The request body could not be read past this point: ${(error as Error).message}`, [{ pointer: '', message: 'could not be read' }]);
    } finally {
      clearTimeout(timer);
    }
    if (gone || res.destroyed || !res.socket || res.socket.destroyed) {
      body.destroy();
      return;
    }
    if (stop) {
      // Nothing more is read or inflated; the answer ends with the stop, and then the connection.
      req.unpipe(body);
      body.destroy();
      closeWhenAnswered(req, res);
      await flush();
      res.end(problemLine(answered + 1, null, stop));
      return;
    }
    await flush();
    res.end();
  };
}
