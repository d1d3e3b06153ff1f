// The NDJSON batch route: streams lines in and answers out, each line decided as evaluate would decide it.
import { finished, PassThrough, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { todayInSydney } from '../dates/calendar';
import { DecisionError } from '../errors';
import { engineOf, explainOf } from './decide-request';
import type { RuleSetVersions } from '../loader/load';
import { internalProblem } from './problem';
import type { CompiledRuleSet } from '../engine/compile';
import { RECORD_COLUMNS, type DecisionRecord } from '../decisions/log';
import type { DecisionRecorder } from '../decisions/recorder';
import { answerLine, decisionText, problemText, refusal, type LineAnswer, type LineContext, type LineId } from './batch-line';
import { DECIDED, FAILED, PROBLEM, sharedDeciders, type DeciderPool, type Job, type JobResult } from './batch-deciders';
import { closeWhenAnswered } from './limits';
import { NDJSON_MEDIA_TYPE, unsupportedCharset, unsupportedMediaType } from './media-type';
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
  /**
   * The threads that decide the lines (batch-deciders.ts); null: the request's own thread decides them. By default
   * the process's pool (sharedDeciders), for the built service only.
   */
  deciders?: DeciderPool | null;
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
const NDJSON = NDJSON_MEDIA_TYPE;

// How long the compiled engine may run lines back to back before yielding to the event loop, so a
// large batch does not hold up the single evaluates the same worker is serving.
const SLICE_MS = 10;
// Lines sent to a decider thread at a time: enough that a message's cost is small beside deciding them (tens of µs
// each way, beside some 8 ms of deciding), few enough that a slow client's lines go out soon.
const JOB_LINES = 256;
// Answer lines are gathered and written together, up to this many characters at a time; their decisions are
// committed together, just before (one transaction each time: some 500 short answers, or a dozen explained ones).
const WRITE_CHUNK_CHARS = 256 * 1024;

function checkContentType(req: Request): void {
  const header = req.get('content-type') ?? '';
  const [mediaType = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (mediaType !== NDJSON) throw unsupportedMediaType(header || undefined, [NDJSON], ': one JSON object { "id"?, "asOf"?, "facts" } a line');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw unsupportedCharset(`A batch must be UTF-8 (got charset ${charset}).`, ['utf-8']);
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

/** A line as read, numbered: its bytes, or why it was not kept; `over-cap`: a line past the cap has begun, and nothing more is read. */
type RawLine = { kind: 'bytes'; line: number; bytes: Buffer } | { kind: 'oversized'; line: number } | { kind: 'over-cap' };

/**
 * A blank line (JSON whitespace only: spaces, tabs, CRs) read before the first line that is not, kept as what it will
 * be answered as rather than as its bytes: empty (nothing but a CR), other whitespace, or past the line limit. Each is
 * answered as its bytes would be (answerLine: an empty line is "empty"; any other run of whitespace fails to parse at
 * its end, with the same message whatever the run).
 */
type Blank = 'empty' | 'whitespace' | 'oversized';
const NO_BYTES = Buffer.alloc(0);
const A_SPACE = Buffer.from(' ');

function blankOf(raw: Exclude<RawLine, { kind: 'over-cap' }>): Blank {
  if (raw.kind === 'oversized') return 'oversized';
  const { bytes } = raw;
  return bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0x0d) ? 'empty' : 'whitespace';
}

/** Blank lines 1 to n as they were kept, as lines again. */
function* linesOfBlanks(blanks: readonly Blank[]): Generator<RawLine> {
  for (let i = 0; i < blanks.length; i += 1) {
    const blank = blanks[i];
    if (blank === 'oversized') yield { kind: 'oversized', line: i + 1 };
    else yield { kind: 'bytes', line: i + 1, bytes: blank === 'empty' ? NO_BYTES : A_SPACE };
  }
}

/** Where the first byte that is not blank (a space, tab, CR or newline) is in `bytes`, or -1. */
function firstNotBlank(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return i;
  }
  return -1;
}

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
    if (this.oversized) line = { kind: 'oversized', line: this.lines };
    else line = { kind: 'bytes', line: this.lines, bytes: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length) };
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

/**
 * Answers waiting to be written: a line answered here, or a decider thread's job of consecutive lines. A decision waits
 * with its log record, committed before its answer is written.
 */
type Pending =
  | { kind: 'line'; last: number; text: string; decided?: { id: LineId; record: DecisionRecord; ruleSet: CompiledRuleSet } }
  | {
      kind: 'job';
      first: number;
      last: number;
      text: string;
      records: DecisionRecord[];
      ruleSets: CompiledRuleSet[];
      /** Each line's length in `text`, and kind (PROBLEM, DECIDED), and the ids of the decided lines (JobResult). */
      lengths: Uint32Array;
      kinds: Uint8Array;
      ids: LineId[];
    };

/**
 * The answers of a run of consecutive lines, in the order they are to be written: ready, or being decided by a decider
 * thread (`answers` is set when they are, and `settled` resolves).
 */
interface Slot {
  answers?: Pending[];
  settled?: Promise<void>;
}

/**
 * POST /v1/rulesets/{name}/evaluate-batch. Whole-request problems (a declared length past the size
 * bound, unknown rule set, content type, engine) are thrown before any line is read and become
 * ordinary problem+json responses; after that the answer is a 200 NDJSON stream with one line per
 * input line, each a decision or a problem, up to the first bound the batch meets (see BatchOptions).
 *
 * Two loops share the work. The reader reads the body, splits it into lines and has them decided: by the decider
 * threads, JOB_LINES at a time (batch-deciders.ts), or here, line by line (the reference engine, a rule set the
 * threads cannot compile, a process with none, or until they have started). The writer takes the answers in line
 * order, commits their decisions and writes them. So while one group of decisions is committed and written, the
 * next is being decided.
 */
export function evaluateBatch({
  lineLimitBytes,
  maxLines,
  maxBytes,
  maxMs,
  ruleSetNamed,
  clock,
  logger,
  recorder,
  metrics,
  deciders = sharedDeciders(),
}: BatchOptions): RequestHandler {
  return async (req, res) => {
    const declared = Number(req.get('content-length'));
    if (declared > maxBytes) {
      // Refused from the header, unread: the client may be sending it still.
      closeWhenAnswered(req, res);
      throw new DecisionError(
        'payload-too-large',
        `The body's Content-Length (${declared}) passes the limit of ${maxBytes} bytes a batch may hold; it was not read. Send the lines in smaller batches.`,
      );
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
    const context: LineContext = { versions: ruleSetVersions, engine, today, explain, instance };
    const keyId = (res.locals.caller as Caller).id;
    // The compiled engine's lines may be decided by the decider threads; json-rules-engine's are decided here.
    const remote = engine === 'compiled' ? deciders?.forBatch(ruleSetVersions, { today, explain, instance, keepFacts: recorder.keepsFacts }) : undefined;
    const versionNamed = new Map(ruleSetVersions.versions.map((v) => [v.version, v]));

    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) gone = true;
    });

    // The 200 is committed to when the first byte that is not blank arrives (or a bound stops the batch first): a body
    // with nothing to decide, no bytes or blank lines alone, is a 400 problem+json instead, which cannot follow a 200.
    // Until then the blank lines are kept (as `blanks`), not answered; committed, they are answered first, as before.
    let committed = false;
    const blanks: Blank[] = [];

    const problemLine = (n: number, id: LineId, error: unknown): string => {
      const answer = refusal(n, id, error, instance);
      if (answer.kind === 'problem') return answer.text;
      logger?.error({ err: answer.error, path: req.path, line: n }, 'unhandled error in a batch line');
      return problemText(n, id, internalProblem(instance));
    };

    /** A line answered here: a decided line's record is made (a fresh decision id, the facts' digest) and counted. */
    const pendingOf = (answer: LineAnswer): Pending => {
      if (answer.kind === 'problem') return { kind: 'line', last: answer.line, text: answer.text };
      if (answer.kind === 'failed') return { kind: 'line', last: answer.line, text: problemLine(answer.line, answer.id, answer.error) };
      const { line, id, decided } = answer;
      try {
        const record = recorder.entry(decided, keyId);
        metrics?.decision(decided.decision.ruleSet, outcomeLabel(decided.decision), decided.decision.evaluator);
        return {
          kind: 'line',
          last: line,
          text: decisionText(line, id, decided, record.decisionId, explain),
          decided: { id, record, ruleSet: decided.ruleSet },
        };
      } catch (error) {
        return { kind: 'line', last: line, text: problemLine(line, id, error) };
      }
    };

    /** A job's lines decided here: when no decider thread is ready, or one could not decide them. */
    const decideHere = (job: Job): Pending[] => job.lines.map((bytes, i) => pendingOf(answerLine(job.first + i, bytes, context) as LineAnswer));

    /** A job as a decider thread decided it; its records are completed here (when, and for whom), its failures logged. */
    const pendingOfResult = (job: Job, result: JobResult): Pending => {
      const columns = JSON.parse(result.columns) as (string | null)[];
      const records: DecisionRecord[] = [];
      const ruleSets = new Set<CompiledRuleSet>();
      for (let at = 0; at < columns.length; at += RECORD_COLUMNS) {
        const record = recorder.entryOfColumns(columns.slice(at, at + RECORD_COLUMNS), keyId);
        records.push(record);
        ruleSets.add(versionNamed.get(record.version) as CompiledRuleSet);
      }
      for (const { ruleSet, label, evaluator, count } of result.decisions) metrics?.decision(ruleSet, label, evaluator, count);
      const { lengths, kinds } = result;
      let { text } = result;
      let ids = result.ids;
      if (result.failures.length > 0) {
        ids = [];
        // A line the thread failed on (the service's fault, not the line's) is logged and answered here.
        const texts: string[] = [];
        let from = 0;
        let withId = 0;
        let failed = 0;
        kinds.forEach((kind, i) => {
          const line = job.first + i;
          if (kind === FAILED) {
            const { message, stack } = result.failures[failed++] as { message: string; stack?: string };
            const problem = problemLine(line, result.ids[withId++] as LineId, Object.assign(new Error(message), { stack }));
            texts.push(problem);
            lengths[i] = problem.length;
            kinds[i] = PROBLEM;
            return;
          }
          texts.push(text.slice(from, from + (lengths[i] as number)));
          from += lengths[i] as number;
          if (kind === DECIDED) ids.push(result.ids[withId++] as LineId);
        });
        text = texts.join('');
      }
      return { kind: 'job', first: job.first, last: job.first + kinds.length - 1, text, records, ruleSets: [...ruleSets], lengths, kinds, ids };
    };

    /** The text of answers whose decisions could not be committed: each decision a problem line saying why. */
    const unrecorded = (answer: Pending, failure: unknown): string => {
      if (answer.kind === 'line') return answer.decided ? problemLine(answer.last, answer.decided.id, failure) : answer.text;
      let text = '';
      let from = 0;
      let decided = 0;
      answer.kinds.forEach((kind, i) => {
        const length = answer.lengths[i] as number;
        text += kind === DECIDED ? problemLine(answer.first + i, answer.ids[decided++] as LineId, failure) : answer.text.slice(from, from + length);
        from += length;
      });
      return text;
    };

    // ---- The writer: answers in line order, their decisions committed before they are written.

    // Answers waiting to be written, with the records (and versions, to archive) of those that are decisions: the
    // records are committed together, once per write, and only then are their answers written. If the commit fails,
    // each of those decisions is answered with a 503 log-unavailable problem instead.
    let pending: Pending[] = [];
    let pendingChars = 0;
    const flush = async () => {
      if (pending.length === 0 || gone) return;
      const answers = pending;
      pending = [];
      pendingChars = 0;
      const records: DecisionRecord[] = [];
      const versions = new Set<CompiledRuleSet>();
      for (const a of answers) {
        if (a.kind === 'job') {
          for (const r of a.records) records.push(r);
          for (const v of a.ruleSets) versions.add(v);
        } else if (a.decided) {
          records.push(a.decided.record);
          versions.add(a.decided.ruleSet);
        }
      }
      let failure: unknown;
      try {
        await recorder.commit(records, [...versions]);
      } catch (error) {
        failure = error;
      }
      let text = '';
      for (const a of answers) text += failure === undefined ? a.text : unrecorded(a, failure);
      if (!res.write(text)) await drained(res);
    };

    const slots: Slot[] = [];
    let readerDone = false;
    // Past the time bound nothing more is answered, though lines may have been decided.
    let halted = false;
    // The number of the last line answered (its answer may wait in `pending`).
    let answered = 0;
    // Whoever waits for the other loop: the writer for answers, the reader for room in `slots`.
    let wakeWriter: (() => void) | undefined;
    let wakeReader: (() => void) | undefined;
    const wake = (which: 'writer' | 'reader') => {
      const resolve = which === 'writer' ? wakeWriter : wakeReader;
      if (which === 'writer') wakeWriter = undefined;
      else wakeReader = undefined;
      resolve?.();
    };

    const write = async () => {
      for (;;) {
        if (gone || halted) return;
        const slot = slots[0];
        if (!slot?.answers) {
          if (!slot && readerDone) return;
          // Nothing ready: what is answered goes out now, then wait for more.
          await flush();
          if (gone || halted || slots[0]?.answers || (!slots[0] && readerDone)) continue;
          await new Promise<void>((resolve) => {
            wakeWriter = resolve;
            void slots[0]?.settled?.then(resolve);
          });
          continue;
        }
        slots.shift();
        wake('reader');
        for (const answer of slot.answers) {
          pending.push(answer);
          pendingChars += answer.text.length;
          answered = answer.last;
          if (pendingChars >= WRITE_CHUNK_CHARS) {
            await flush();
            if (gone || halted) return;
          }
        }
      }
    };
    const writing = write();

    // ---- The reader: lines into jobs (or answered here), in order.

    // At most this many runs of answers may wait to be written: the reader waits for the writer beyond it.
    const SLOTS = 2 * (deciders?.size ?? 0) + 2;
    const push = (slot: Slot) => {
      slots.push(slot);
      wake('writer');
    };
    /** Answers decided here join the last slot if it is one of those too, so that a line costs no slot of its own. */
    const answerHere = (answer: Pending) => {
      const last = slots[slots.length - 1];
      if (last?.answers && !last.settled) last.answers.push(answer);
      else push({ answers: [answer] });
    };
    let job: Job | undefined;
    /** Has the job decided: by a thread, or (none ready, or each with all it can take) here; false if decided here. */
    const send = (): boolean => {
      if (!job) return true;
      const sent = job;
      job = undefined;
      let deciding: Promise<JobResult> | undefined;
      try {
        deciding = remote?.(sent);
      } catch {
        // The message could not be sent (the thread is gone): the lines are decided here, below.
      }
      if (!deciding) {
        push({ answers: decideHere(sent) });
        return false;
      }
      const slot: Slot = {};
      const settled = deciding.then(
        (result) => {
          slot.answers = [pendingOfResult(sent, result)];
        },
        // A thread that could not decide them (it failed, or cannot compile the rule set): they are decided here.
        () => {
          slot.answers = decideHere(sent);
        },
      );
      slot.settled = settled;
      void settled.then(() => wake('writer'));
      push(slot);
      return true;
    };
    // After deciding a job here, the event loop turns before the next: the threads' answers wait in it, and until
    // they are taken the threads count as busy, and would be left idle while this thread decided job after job.
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const room = async () => {
      while (slots.length >= SLOTS && !gone && !halted) await new Promise<void>((resolve) => (wakeReader = resolve));
    };

    // Why the batch ends before its body does, once it meets a bound; the lines before are answered as usual.
    let stop: DecisionError | undefined;
    const undecided = 'This line and every line after it were not decided; send them in another request.';
    // The run time bounds the wait for a slow client's next chunk too: destroying the body ends that wait.
    const timer = setTimeout(() => {
      stop ??= new DecisionError('timeout', `The batch ran for its limit of ${maxMs} ms. ${undecided}`);
      halted = true;
      wake('writer');
      wake('reader');
      body.destroy();
    }, maxMs);

    const splitter = new LineSplitter(lineLimitBytes, maxLines);
    let inflated = 0;
    let sliceStart = performance.now();
    /** Has lines answered; `pastStop`: the blank lines read before a stop, which are answered before it (commit()). */
    const handle = async (lines: Generator<RawLine>, pastStop = false) => {
      for (const raw of lines) {
        if (gone || halted || (stop && !pastStop)) return;
        if (raw.kind === 'over-cap') {
          stop = new DecisionError('too-many-lines', `A batch may carry at most ${maxLines} lines. ${undecided}`);
          return;
        }
        const n = raw.line;
        if (!committed) blanks.push(blankOf(raw));
        else if (raw.kind === 'oversized') {
          send();
          answerHere({
            kind: 'line',
            last: n,
            text: problemLine(
              n,
              null,
              new DecisionError('payload-too-large', `The line exceeds the limit of ${lineLimitBytes} bytes (1 MiB); the service skipped to the next line.`),
            ),
          });
        } else if (remote) {
          job ??= { first: n, lines: [] };
          job.lines.push(raw.bytes);
          if (job.lines.length >= JOB_LINES) {
            if (!send()) await turn();
            await room();
          }
        } else {
          const answer = answerLine(n, raw.bytes, context);
          if (answer instanceof Promise) {
            const slot: Slot = {};
            const settled = answer.then((a) => {
              slot.answers = [pendingOf(a)];
            });
            slot.settled = settled;
            void settled.then(() => wake('writer'));
            push(slot);
            await room();
          } else answerHere(pendingOf(answer));
        }
        if (performance.now() - sliceStart > SLICE_MS) {
          // Time for the other requests this worker serves, and for the writer (a job being gathered waits for its lines).
          await turn();
          await room();
          sliceStart = performance.now();
        }
      }
    };

    /** The 200 and its headers, then the blank lines read before it (unless the time bound has passed: nothing more is answered). */
    const commit = async () => {
      committed = true;
      res.writeHead(200, { 'Content-Type': NDJSON, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      // Headers go out now: the client knows the batch was accepted before its first answer is ready.
      res.flushHeaders();
      if (blanks.length > 0) await handle(linesOfBlanks(blanks.splice(0)), true);
    };

    try {
      for await (const chunk of body) {
        if (gone || stop) break;
        let bytes = chunk as Buffer;
        inflated += bytes.length;
        // The lines that end within the bound are still decided; the one it cuts is the first not read.
        const over = inflated > maxBytes;
        if (over) bytes = bytes.subarray(0, bytes.length - (inflated - maxBytes));
        if (committed) await handle(splitter.push(bytes));
        else {
          // The lines before the first byte that is not blank are blank, and kept; the answer is committed to at that byte.
          const first = firstNotBlank(bytes);
          await handle(splitter.push(first === -1 ? bytes : bytes.subarray(0, first)));
          if (first !== -1 && !stop && !gone) {
            await commit();
            await handle(splitter.push(bytes.subarray(first)));
          }
        }
        if (over)
          stop ??= new DecisionError('payload-too-large', `The batch passes the limit of ${maxBytes} bytes (counted inflated, when compressed). ${undecided}`);
        if (stop) break;
        // Answers go out as the request is decided, not when it ends: the lines read so far are sent to be decided
        // when no more of the body has arrived (a client may wait for their answers before it sends on).
        if (body.readableLength === 0) {
          if (!send()) await turn();
          await room();
          sliceStart = performance.now();
        }
      }
      if (!gone && !stop) await handle(splitter.end());
    } catch (error) {
      // The body could not be read on (a broken compressed stream, say), unless the time bound ended it.
      stop ??= new DecisionError('invalid-json', `The request body could not be read past this point: ${(error as Error).message}`, [
        { pointer: '', message: 'could not be read' },
      ]);
    }
    if (!committed && !gone) {
      if (!stop) {
        // The whole body was read, and held nothing to decide: refused as a whole, as problem+json.
        readerDone = true;
        wake('writer');
        await writing;
        clearTimeout(timer);
        throw new DecisionError(
          'invalid-request',
          `The batch holds no line to decide: its body is ${blanks.length === 0 ? 'empty' : 'blank lines only'}. Send one JSON object { "id"?, "asOf"?, "facts" } a line.`,
          [{ pointer: '', message: 'must hold at least one line that is not blank' }],
        );
      }
      // Stopped by a bound (or a body that could not be read on) before any line but blank ones: those are answered, then the stop.
      await commit();
    }
    // Every line read is answered (unless the time bound comes first).
    if (!halted && !gone) send();
    readerDone = true;
    wake('writer');
    await writing;
    clearTimeout(timer);
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
