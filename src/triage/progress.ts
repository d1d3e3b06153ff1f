// Progress on stderr, counted in records decided (not bytes read: the reader runs far ahead of the workers).
// A bar on a terminal; otherwise (logs, CI, --quiet) one line per 10% of the records, the last with the real total.
import { SingleBar } from 'cli-progress';

/** What the run knows so far: the records of the chunks whose results are written, and those chunks' input bytes. */
export interface ProgressState {
  /** Results + errors of the chunks written. */
  decided: number;
  /** Input bytes of those same chunks. */
  bytesDecided: number;
}

/** Without a size to estimate against, a line per this many records decided. */
export const LINE_EVERY_RECORDS = 10_000;
/** The rate and ETA are measured over at least this long of records being decided. */
export const MEASURE_MS = 1000;

// ---------------------------------------------------------------------------------------------
// The pure part: numbers in, numbers (or nothing) out.

/**
 * The records the input holds, estimated from the chunks decided: their records per byte, times the file size.
 * Never below the records already decided. Undefined without a size (0: empty, or unknown) or before any record.
 */
export function estimateTotal(decided: number, bytesDecided: number, size: number): number | undefined {
  if (!(size > 0) || !(bytesDecided > 0) || !(decided > 0)) return undefined;
  const estimate = Math.round((decided * size) / bytesDecided);
  return Number.isFinite(estimate) ? Math.max(decided, estimate) : undefined;
}

/**
 * The whole percentage to show: 100 only once the run is complete (the total is then the real one), at most 99
 * before, however close the estimate says. Undefined without an estimate.
 */
export function percentDecided(decided: number, estimate: number | undefined, complete: boolean): number | undefined {
  if (complete) return 100;
  if (estimate === undefined || !(estimate > 0)) return undefined;
  return Math.max(0, Math.min(99, Math.floor((100 * decided) / estimate)));
}

/** When records were first seen decided (ms on the progress clock), and how many: what the rate is measured from. */
export interface FirstDecided {
  at: number;
  decided: number;
}

/**
 * Records per second over the time since records were first seen decided, once that is at least MEASURE_MS long:
 * the workers' start-up (seconds on a busy machine) left out, and no burst of chunks back at once taken for a speed.
 * Undefined before; never negative, never infinite.
 */
export function recordsPerSecond(decided: number, now: number, first: FirstDecided | undefined): number | undefined {
  if (!first || now - first.at < MEASURE_MS || decided <= first.decided) return undefined;
  const rate = ((decided - first.decided) * 1000) / (now - first.at);
  return Number.isFinite(rate) ? rate : undefined;
}

/** The run's average since the start, start-up included (as the summary counts it): the end's rate when a run was too short to measure one. */
export function averagePerSecond(decided: number, now: number, started: number): number | undefined {
  return now > started && decided > 0 ? (decided * 1000) / (now - started) : undefined;
}

/**
 * Seconds left, or undefined: only with a finite estimate above the records decided, and records decided for at
 * least MEASURE_MS to measure the rate on. Never negative, never NaN or infinite.
 */
export function secondsLeft(decided: number, estimate: number | undefined, now: number, first: FirstDecided | undefined): number | undefined {
  if (estimate === undefined || !Number.isFinite(estimate) || estimate <= decided) return undefined;
  const rate = recordsPerSecond(decided, now, first);
  if (rate === undefined) return undefined;
  const seconds = (estimate - decided) / rate;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** "about 3 s left", "about 4 min left", "about 2 h 5 min left"; undefined when there is no ETA. */
export function etaText(seconds: number | undefined): string | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 90) return `about ${whole} s left`;
  const minutes = Math.round(whole / 60);
  if (minutes < 90) return `about ${minutes} min left`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

/** Everything a bar or a line shows, at one moment. */
export interface ProgressView {
  decided: number;
  /** Whether the input's size is known: percentages and 10% lines, or counts only. */
  sized: boolean;
  /** The estimated total; the real one once complete. Undefined without a size, or before any record. */
  total?: number;
  /** Undefined when `total` is. */
  percent?: number;
  /** Records per second; undefined until measured (see recordsPerSecond). */
  rate?: number;
  eta?: string;
  complete: boolean;
}

export interface ProgressClock {
  now: number;
  started: number;
  first?: FirstDecided;
}

export function progressView(state: ProgressState, size: number, clock: ProgressClock, complete: boolean): ProgressView {
  const { decided } = state;
  const estimate = estimateTotal(decided, state.bytesDecided, size);
  const sized = size > 0;
  const total = sized ? (complete ? decided : estimate) : undefined;
  return {
    decided,
    sized,
    total,
    percent: total === undefined ? undefined : percentDecided(decided, estimate, complete),
    rate: recordsPerSecond(decided, clock.now, clock.first) ?? (complete ? averagePerSecond(decided, clock.now, clock.started) : undefined),
    eta: complete ? undefined : etaText(secondsLeft(decided, estimate, clock.now, clock.first)),
    complete,
  };
}

/**
 * The line due now, as its step, or undefined: with a percentage, the highest 10% step reached above the last one
 * written (a chunk that jumps two steps gets one line, for the higher: a line's percentage is never more than the
 * records say); without one (no size), the same per LINE_EVERY_RECORDS records. None while the estimate says all is
 * decided (the 99% cap would make it a stale "90%" line just before the end); the run's end is always due, once.
 * `last` is the last step written (0 at first); the end's step is Infinity.
 */
export function lineDue(view: ProgressView, last: number): number | undefined {
  if (view.complete) return last === Infinity ? undefined : Infinity;
  // Every byte decided by the estimate's account: the end comes next, and says 100% with the real total.
  if (view.total !== undefined && view.decided >= view.total) return undefined;
  // No size, no percentage: a line per LINE_EVERY_RECORDS records instead (a pipe, an empty file).
  const step = view.sized ? Math.floor((view.percent ?? 0) / 10) * 10 : Math.floor(view.decided / LINE_EVERY_RECORDS) * LINE_EVERY_RECORDS;
  return step > last ? step : undefined;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** "4,210 records/s", or undefined before there is a rate. */
const rateText = (view: ProgressView): string | undefined => (view.rate === undefined ? undefined : `${count(view.rate)} records/s`);

/** "6,000 of about 20,000 records", or "6,000 records" without an estimate. */
function recordsText(view: ProgressView): string {
  if (view.total === undefined) return `${count(view.decided)} records`;
  return `${count(view.decided)} of ${view.complete ? '' : 'about '}${count(view.total)} records`;
}

/** A progress line for a step lineDue gave: "triage: 30% — 6,000 of about 20,000 records decided, 4,210 records/s, about 3 s left". */
export function lineText(view: ProgressView, step: number): string {
  const head = view.sized ? `${step === Infinity ? 100 : step}% — ` : view.complete ? 'all ' : '';
  return `triage: ${[`${head}${recordsText(view)} decided`, rateText(view), view.eta].filter(Boolean).join(', ')}`;
}

/** The bar's text after it: "37% | 7,400 of about 20,000 records | 4,210 records/s | about 3 s left". */
export function barText(view: ProgressView): string {
  return [view.percent === undefined ? undefined : `${view.percent}%`, recordsText(view), rateText(view), view.eta].filter(Boolean).join(' | ');
}

// ---------------------------------------------------------------------------------------------
// The stateful part: samples the run, draws the bar or writes the lines.

export interface ProgressOptions {
  /** A bar (true) or lines (false); default: whether stderr is a terminal. */
  tty?: boolean;
  /** Lines even on a terminal. */
  quiet?: boolean;
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream;
  /** Milliseconds on a steady clock; default performance.now. */
  now?: () => number;
}

export class Progress {
  private readonly stream: NodeJS.WritableStream;
  private readonly now: () => number;
  private readonly started: number;
  private first: FirstDecided | undefined;
  private bar: SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly lines: boolean;
  private lastStep = 0;
  private complete = false;
  private stopped = false;

  /** `state` is read on each update: run.ts calls update() as each chunk's result is written, a timer too for the bar. */
  constructor(
    private readonly size: number,
    private readonly state: () => ProgressState,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    const tty = options.tty ?? process.stderr.isTTY === true;
    this.lines = options.quiet === true || !tty;
    if (!this.lines) {
      // Our own text after the bar: cli-progress's {eta_formatted} is what once said "NFs", and its {percentage} would say 100 early.
      this.bar = new SingleBar({
        stream: this.stream,
        format: size > 0 ? 'triage [{bar}] {text}' : 'triage {text}',
        hideCursor: true,
        fps: 5,
      });
      this.bar.start(100, 0, { text: barText(this.view()) });
      this.timer = setInterval(() => this.update(), 200);
      this.timer.unref();
    }
  }

  private view(): ProgressView {
    const now = this.now();
    const state = this.state();
    if (!this.first && state.decided > 0) this.first = { at: now, decided: state.decided };
    return progressView(state, this.size, { now, started: this.started, first: this.first }, this.complete);
  }

  /** Samples the run: redraws the bar, or writes the line due, if any. */
  update(): void {
    if (this.stopped) return;
    const view = this.view();
    if (this.bar) this.bar.update(view.percent ?? 0, { text: barText(view) });
    else {
      const step = lineDue(view, this.lastStep);
      if (step === undefined) return;
      this.lastStep = step;
      this.stream.write(`${lineText(view, step)}\n`);
    }
  }

  /** Every record is decided: the total is now the real one, and the bar or the last line says 100%. */
  finish(): void {
    if (this.stopped) return;
    this.complete = true;
    this.update();
    this.stop();
  }

  /** A phase after reading (sorting): said once, as a line. */
  note(message: string): void {
    this.stop();
    this.stream.write(`triage: ${message}\n`);
  }

  /** Stops the bar where it is (interrupted, failed: below 100%) or after finish(); idempotent. */
  stop(): void {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) {
      this.update();
      this.bar.stop();
      this.bar = undefined;
    }
    this.stopped = true;
  }
}
