// Decider threads for evaluate-batch: the lines of a batch are decided in another thread (batch-decider.ts) while the
// request's own thread reads the body, commits the decisions to the log and writes the answers.
//
// Why: a line costs some 30 µs to decide (parse 4.5, validate 6, decide 3.5, the facts digest 10, its answer and record
// 4; one thread, a quiet core) and 10 µs more to commit and answer (SQLite 7, the socket and the rest 3). In one thread
// that is at most 25,000 lines a second, while the machine's other cores wait. Here the threads decide while the
// request's thread commits one group and writes it; and when every thread has all the jobs it can take (JOBS_WAITING),
// the request's thread decides the next job itself rather than wait. A thread is started the first time a batch needs
// one (some 300 ms to load the engine and compile the rules), the request's thread deciding meanwhile, and is kept for
// the batches after it until it has been idle IDLE_MS.
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RuleSetVersions } from '../loader/load';
import type { Explain } from './decide-request';
import type { LineId } from './batch-line';

/** What a decider thread is sent. */
export type ToDecider =
  /** The rule texts of a rule set's versions, to compile; `key` names them (their version hashes, in order). */
  | { kind: 'rules'; key: string; name: string; calendarText: string; files: { file: string; text: string }[] }
  /** Lines to decide: `bytes` holds them, line i ending at ends[i] (exclusive), the first numbered `first`. */
  | {
      kind: 'job';
      job: number;
      key: string;
      today: string;
      explain: Explain;
      instance: string;
      keepFacts: boolean;
      first: number;
      bytes: Uint8Array;
      ends: Uint32Array;
    };

/** What a decider thread answers: a job's result, or why it could not decide the job (it is decided elsewhere). */
export type FromDecider = { kind: 'ready' } | { kind: 'done'; job: number; result: JobResult } | { kind: 'refused'; job: number; message: string };

/** What a decider thread made of a line. */
export const PROBLEM = 0;
export const DECIDED = 1;
export const FAILED = 2;

/**
 * A job's lines decided, in line order, in as few values as a message can carry cheaply: a message's cost is per value
 * (a string a line and eleven a record cost more to send than the line cost to decide, measured).
 */
export interface JobResult {
  /** The answer lines, one after another; a failed line's is empty (the request's thread answers it). */
  text: string;
  /** Each line's length in `text`, in UTF-16 code units. */
  lengths: Uint32Array;
  /** Each line's kind: PROBLEM, DECIDED or FAILED. */
  kinds: Uint8Array;
  /** The ids of the decided and failed lines, in line order. */
  ids: LineId[];
  /**
   * The decided lines' record columns (recordColumns' values, decided_at and key_id left for the request's thread to
   * fill), RECORD_COLUMNS a line, as one JSON array.
   */
  columns: string;
  /** Each failed line's error, in line order. */
  failures: { message: string; stack?: string }[];
  /** The decisions made, counted by rule set, outcome label and evaluator (for the metrics). */
  decisions: { ruleSet: string; label: string; evaluator: string; count: number }[];
}

/** What one job carries: consecutive lines of one batch. */
export interface Job {
  first: number;
  lines: Buffer[];
}

/** The request context a batch's jobs are decided in. */
export interface JobContext {
  today: string;
  explain: Explain;
  instance: string;
  keepFacts: boolean;
}

class Decider {
  readonly worker: Worker;
  ready = false;
  /** Rule sets (keys) this thread has been sent. */
  readonly rules = new Set<string>();
  readonly waiting = new Map<number, { resolve: (result: JobResult) => void; reject: (error: Error) => void }>();

  constructor(script: string, execArgv: string[] | undefined, gone: (decider: Decider) => void) {
    this.worker = new Worker(script, { execArgv });
    // An idle thread does not keep the process alive: a server that is stopping stops.
    this.worker.unref();
    this.worker.on('message', (message: FromDecider) => {
      if (message.kind === 'ready') {
        this.ready = true;
        return;
      }
      const waiting = this.waiting.get(message.job);
      this.waiting.delete(message.job);
      if (message.kind === 'done') waiting?.resolve(message.result);
      else waiting?.reject(new Error(message.message));
    });
    const fail = (error: Error) => {
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
      gone(this);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`a batch decider thread exited (code ${code})`)));
  }
}

/** A thread no batch has used for this long is stopped: it holds its own copy of the engine and the rules. */
const IDLE_MS = 5 * 60_000;

/** Jobs a thread may have waiting (one being decided, one to start on the moment it is done). */
const JOBS_WAITING = 2;

/** The key of a rule set's versions: their hashes, in order. */
const keyOf = (versions: RuleSetVersions): string => versions.versions.map((v) => v.version).join(',');

/**
 * Threads that decide batch lines. `size` threads at most, started on a batch's first use; a thread that fails is
 * dropped (its jobs are decided in the request's thread), and another is started by the next batch.
 */
export class DeciderPool {
  private readonly deciders: Decider[] = [];
  private jobs = 0;
  private next = 0;
  private closed = false;
  private decided = 0;
  /** Stops the threads once no batch has used them for idleMs. */
  private idle: NodeJS.Timeout | undefined;

  private readonly script: string;
  private readonly idleMs: number;

  /** `size` threads at most; `idleMs`: how long an unused thread is kept (IDLE_MS). */
  constructor(
    readonly size: number,
    { idleMs = IDLE_MS, script = path.join(__dirname, `batch-decider${path.extname(__filename)}`) }: { idleMs?: number; script?: string } = {},
  ) {
    this.idleMs = idleMs;
    this.script = script;
  }

  /** The threads running (loaded or loading). */
  get threads(): number {
    return this.deciders.length;
  }

  /** Starts threads up to the pool's size (they load in the background; see ready()). */
  start(): void {
    if (this.closed) return;
    this.used();
    while (this.deciders.length < this.size) {
      // From TypeScript sources (tests), the thread needs a loader for them too.
      const execArgv = this.script.endsWith('.ts') ? ['--require', 'tsx/cjs'] : undefined;
      this.deciders.push(new Decider(this.script, execArgv, (gone) => this.drop(gone)));
    }
  }

  /** Resolves once every thread has loaded: for a caller that must know the threads decide (a test). */
  async ready(timeoutMs = 30_000): Promise<void> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    while (!this.deciders.every((d) => d.ready)) {
      if (Date.now() > deadline) throw new Error('the batch decider threads did not start in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Idle from now, not from when they were asked for.
    this.used();
  }

  /**
   * A batch's way to its deciders, or undefined if they cannot decide it: the pool is empty or closed, or a version
   * lacks its texts or has a calendar of its own. Starts the threads if they are not running.
   */
  forBatch(versions: RuleSetVersions, context: JobContext): ((job: Job) => Promise<JobResult> | undefined) | undefined {
    if (this.size === 0 || this.closed) return undefined;
    const calendarText = versions.versions[0]?.texts?.calendar;
    if (calendarText === undefined || !versions.versions.every((v) => v.texts && v.texts.calendar === calendarText)) return undefined;
    this.start();
    const key = keyOf(versions);
    const rules: ToDecider = {
      kind: 'rules',
      key,
      name: versions.name,
      calendarText,
      files: versions.versions.map((v) => ({ file: v.sourceFile, text: v.texts!.rule })),
    };
    return (job) => {
      const decider = this.pick();
      if (!decider) return undefined;
      this.used();
      if (!decider.rules.has(key)) {
        decider.worker.postMessage(rules);
        decider.rules.add(key);
      }
      let size = 0;
      for (const line of job.lines) size += line.length;
      // A fresh buffer, not a pooled one, so that it can be handed over rather than copied again.
      const bytes = new Uint8Array(size);
      const ends = new Uint32Array(job.lines.length);
      let at = 0;
      job.lines.forEach((line, i) => {
        bytes.set(line, at);
        at += line.length;
        ends[i] = at;
      });
      const id = (this.jobs += 1);
      const message: ToDecider = { kind: 'job', job: id, key, first: job.first, bytes, ends, ...context };
      return new Promise<JobResult>((resolve, reject) => {
        decider.waiting.set(id, {
          resolve: (result) => {
            this.decided += 1;
            resolve(result);
          },
          reject,
        });
        decider.worker.postMessage(message, [bytes.buffer, ends.buffer]);
      });
    };
  }

  /**
   * The ready thread with the fewest jobs waiting, taken in turn among equals; undefined while none is ready, or every
   * one has JOBS_WAITING: then the request's thread decides the job itself, rather than wait with nothing to do.
   */
  private pick(): Decider | undefined {
    let best: Decider | undefined;
    for (let i = 0; i < this.deciders.length; i += 1) {
      const decider = this.deciders[(this.next + i) % this.deciders.length] as Decider;
      if (decider.ready && decider.waiting.size < JOBS_WAITING && (!best || decider.waiting.size < best.waiting.size)) best = decider;
    }
    this.next += 1;
    return best;
  }

  /** Keeps the threads idleMs more; past that, with no job waiting, they are stopped, and a later batch starts others. */
  private used(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.deciders.some((d) => d.waiting.size > 0)) this.used();
      else for (const decider of this.deciders.splice(0)) void decider.worker.terminate();
    }, this.idleMs);
    this.idle.unref();
  }

  private drop(decider: Decider): void {
    const at = this.deciders.indexOf(decider);
    if (at !== -1) this.deciders.splice(at, 1);
  }

  /** The jobs the threads have decided: how a caller can tell they did. */
  get jobsDecided(): number {
    return this.decided;
  }

  /** Stops the threads; the pool decides nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idle);
    const deciders = this.deciders.splice(0);
    await Promise.all(deciders.map((d) => d.worker.terminate()));
  }
}

let shared: DeciderPool | undefined;

/**
 * The process's decider pool: one thread fewer than the cores (at least one), the request's own thread being the
 * last (a second thread on 2 cores was no faster, measured). Only for the built service: from TypeScript sources
 * (tests) a batch is decided in its own thread unless a pool is given.
 */
export function sharedDeciders(): DeciderPool | undefined {
  if (path.extname(__filename) !== '.js') return undefined;
  shared ??= new DeciderPool(Math.max(1, os.availableParallelism() - 1));
  return shared;
}
