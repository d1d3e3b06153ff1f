// Triage progress: counted in records decided, never 100% before the end, an ETA that is a number or nothing, a line per 10%.
import { Writable } from 'node:stream';
import fc from 'fast-check';
import {
  barText,
  estimateTotal,
  etaText,
  lineDue,
  lineText,
  LINE_EVERY_RECORDS,
  percentDecided,
  Progress,
  recordsPerSecond,
  progressView,
  secondsLeft,
  type ProgressState,
  type ProgressView,
} from '../../src/triage/progress';

/** A stream that keeps what is written; `isTTY` for the bar (cli-progress draws only on a terminal). */
class Capture extends Writable {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 200;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += String(chunk);
    done();
  }
  lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/** A run driven by hand: a Progress in lines mode (or a bar), a clock in ms, and chunks decided at will. */
function simulated(size: number, options: { tty?: boolean; quiet?: boolean } = {}) {
  const stream = new Capture(options.tty === true);
  let now = 0;
  const state: ProgressState = { decided: 0, bytesDecided: 0 };
  const progress = new Progress(size, () => ({ ...state }), { tty: options.tty ?? false, quiet: options.quiet, stream, now: () => now });
  return {
    stream,
    progress,
    /** A chunk's result written: its records and input bytes, `ms` after the last. */
    decide(records: number, bytes: number, ms = 100) {
      now += ms;
      state.decided += records;
      state.bytesDecided += bytes;
      progress.update();
    },
  };
}

const percentOf = (line: string): number => Number(/^triage: (\d+)% — /.exec(line)?.[1]);
const decidedOf = (line: string): number => Number((/(\d[\d,]*) (?:of |records decided)/.exec(line)?.[1] ?? 'NaN').replace(/,/g, ''));

const RECORD_BYTES = 346;
const view = (partial: Partial<ProgressView>): ProgressView => ({ decided: 0, sized: true, rate: 0, complete: false, ...partial });

describe('the estimated total', () => {
  it('is the records decided scaled by file size over the bytes decided', () => {
    expect(estimateTotal(6000, 6000 * RECORD_BYTES, 20_000 * RECORD_BYTES)).toBe(20_000);
    expect(estimateTotal(500, 100_000, 1_000_000)).toBe(5000);
  });

  it('is never below the records already decided (a CSV header, the newline added to a last line: bytes decided past the size)', () => {
    expect(estimateTotal(3000, 1_000_001, 1_000_000)).toBe(3000);
    fc.assert(
      fc.property(fc.nat(1e7), fc.nat(1e9), fc.nat(1e9), (decided, bytes, size) => {
        const estimate = estimateTotal(decided, bytes, size);
        if (estimate !== undefined) {
          expect(Number.isFinite(estimate)).toBe(true);
          expect(estimate).toBeGreaterThanOrEqual(decided);
        }
      }),
    );
  });

  it('is absent without a size, or before any record is decided', () => {
    expect(estimateTotal(6000, 2_000_000, 0)).toBeUndefined();
    expect(estimateTotal(0, 0, 2_000_000)).toBeUndefined();
    expect(estimateTotal(0, 500_000, 2_000_000)).toBeUndefined();
  });
});

describe('the percentage', () => {
  it('never says 100% before the end, however close the estimate, and 100% once complete', () => {
    expect(percentDecided(19_999, 20_000, false)).toBe(99);
    expect(percentDecided(20_000, 20_000, false)).toBe(99);
    expect(percentDecided(20_000, 20_000, true)).toBe(100);
    fc.assert(
      fc.property(fc.nat(1e7), fc.nat(1e9), fc.integer({ min: 1, max: 1e9 }), (decided, bytes, size) => {
        const percent = percentDecided(decided, estimateTotal(decided, bytes, size), false);
        if (percent !== undefined) {
          expect(Number.isInteger(percent)).toBe(true);
          expect(percent).toBeGreaterThanOrEqual(0);
          expect(percent).toBeLessThanOrEqual(99);
        }
      }),
    );
  });

  it('the reader far ahead of the workers ("100% | 6118 records"): the percentage comes from the records decided, not the bytes read', () => {
    // Every byte of a 20,118-record file read, 6,118 records decided: bytes read would say 100%.
    const size = 20_118 * RECORD_BYTES;
    const shown = progressView({ decided: 6118, bytesDecided: 6118 * RECORD_BYTES }, size, { now: 2000, started: 0, first: { at: 500, decided: 1000 } }, false);
    expect(shown.percent).toBe(30);
    expect(shown.total).toBe(20_118);
    expect(barText(shown)).toMatch(/^30% \| 6,118 of about 20,118 records \| \d[\d,]* records\/s \| about \d+ s left$/);
    // Driven through Progress as run.ts drives it: the lines say 10%, 20%, 30%, nothing near 100.
    const run = simulated(size);
    for (let decided = 0; decided < 6118; decided += 200) run.decide(Math.min(200, 6118 - decided), Math.min(200, 6118 - decided) * RECORD_BYTES);
    run.progress.stop();
    expect(run.stream.lines().map(percentOf)).toEqual([10, 20, 30]);
  });
});

describe('the ETA', () => {
  const size = 20_000 * RECORD_BYTES;

  it('is absent at the start, before records have been decided for a second, and without a size', () => {
    const bytes = 6000 * RECORD_BYTES;
    expect(secondsLeft(0, undefined, 0, undefined)).toBeUndefined();
    expect(progressView({ decided: 0, bytesDecided: 0 }, size, { now: 0, started: 0 }, false).eta).toBeUndefined();
    expect(progressView({ decided: 6000, bytesDecided: bytes }, size, { now: 900, started: 0, first: { at: 0, decided: 500 } }, false).eta).toBeUndefined();
    expect(progressView({ decided: 6000, bytesDecided: bytes }, 0, { now: 5000, started: 0, first: { at: 0, decided: 500 } }, false).eta).toBeUndefined();
    // Nothing more decided since the first records: no rate to divide by.
    expect(
      progressView({ decided: 500, bytesDecided: 500 * RECORD_BYTES }, size, { now: 5000, started: 0, first: { at: 0, decided: 500 } }, false).eta,
    ).toBeUndefined();
  });

  it('is a number of seconds or minutes once records have been decided for a second', () => {
    // 5,500 records in 2 s since the first 500: 2,750 records/s, 14,000 left: about 6 s.
    const shown = progressView({ decided: 6000, bytesDecided: 6000 * RECORD_BYTES }, size, { now: 3000, started: 0, first: { at: 1000, decided: 500 } }, false);
    expect(shown.eta).toBe('about 6 s left');
    expect(shown.rate).toBe(2750);
    expect(secondsLeft(6000, 20_000, 3000, { at: 1000, decided: 500 })).toBeCloseTo(14_000 / 2750);
    expect(etaText(0.2)).toBe('about 1 s left');
    expect(etaText(89)).toBe('about 89 s left');
    expect(etaText(150)).toBe('about 3 min left');
    expect(etaText(2 * 3600 + 5 * 60)).toBe('about 2 h 5 min left');
    expect([0, -3, NaN, Infinity, undefined].map(etaText)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('never reads NaN, Infinity, "NFs" or a negative number, whatever the numbers', () => {
    fc.assert(
      fc.property(
        fc.nat(1e7),
        fc.nat(1e9),
        fc.nat(1e9),
        fc.nat(1e7),
        fc.option(fc.record({ at: fc.nat(1e7), decided: fc.nat(1e7) })),
        fc.boolean(),
        (decided, bytes, size, now, first, complete) => {
          const shown = progressView({ decided, bytesDecided: bytes }, size, { now, started: 0, first: first ?? undefined }, complete);
          if (shown.eta !== undefined) expect(shown.eta).toMatch(/^about [1-9]\d* (s|min|h \d+ min) left$/);
          if (shown.rate !== undefined) expect(Number.isFinite(shown.rate) && shown.rate >= 0).toBe(true);
          for (const text of [barText(shown), lineText(shown, 10), lineText(shown, Infinity)]) expect(text).not.toMatch(/NaN|Infinity|NF|-\d/);
        },
      ),
    );
  });
});

describe('the rate', () => {
  it('is measured from the first records decided, over a second at least: no start-up in it, no burst taken for a speed', () => {
    const first = { at: 4000, decided: 3000 }; // workers slow to start: the first chunk back after 4 s
    expect(recordsPerSecond(3000, 4000, first)).toBeUndefined();
    expect(recordsPerSecond(6000, 4001, first)).toBeUndefined(); // a second chunk back a millisecond later
    expect(recordsPerSecond(12_000, 5000, first)).toBe(9000);
    expect(recordsPerSecond(12_000, 5000, undefined)).toBeUndefined();
  });

  it('is absent from the text until measured; at the end of a run too short to measure, the average since the start', () => {
    const size = 10_000 * RECORD_BYTES;
    const early = progressView(
      { decided: 3000, bytesDecided: 3000 * RECORD_BYTES },
      size,
      { now: 4000, started: 0, first: { at: 4000, decided: 3000 } },
      false,
    );
    expect(early.rate).toBeUndefined();
    expect(lineText(early, 30)).toBe('triage: 30% — 3,000 of about 10,000 records decided');
    expect(barText(early)).toBe('30% | 3,000 of about 10,000 records');
    const end = progressView({ decided: 10_000, bytesDecided: size }, size, { now: 5000, started: 0, first: { at: 4500, decided: 3000 } }, true);
    expect(end.rate).toBe(2000);
    expect(lineText(end, Infinity)).toBe('triage: 100% — 10,000 of 10,000 records decided, 2,000 records/s');
  });
});

describe('the lines (not a terminal, or --quiet)', () => {
  it('are due at each 10% exactly once, highest step reached when a chunk jumps several, never lower than the last', () => {
    expect(lineDue(view({ percent: 9 }), 0)).toBeUndefined();
    expect(lineDue(view({ percent: 10 }), 0)).toBe(10);
    expect(lineDue(view({ percent: 14 }), 10)).toBeUndefined();
    expect(lineDue(view({ percent: 47 }), 10)).toBe(40);
    expect(lineDue(view({ percent: 38 }), 40)).toBeUndefined(); // the estimate grew: no step again, none lower
    expect(lineDue(view({ percent: 99 }), 90)).toBeUndefined();
    // All decided by the estimate (the last chunk back), not yet finished: no stale "90%" line, the end follows.
    expect(lineDue(view({ percent: 99, decided: 1000, total: 1000 }), 0)).toBeUndefined();
    expect(lineDue(view({ percent: 100, complete: true }), 90)).toBe(Infinity);
    expect(lineDue(view({ percent: 100, complete: true }), Infinity)).toBeUndefined();
    // No size: a line per 10,000 records.
    expect(lineDue(view({ sized: false, decided: 9999 }), 0)).toBeUndefined();
    expect(lineDue(view({ sized: false, decided: 25_000 }), 10_000)).toBe(20_000);
  });

  it('a run in small chunks writes 10%, 20%, … 100% once each, the last with the real total', () => {
    const total = 20_013;
    const run = simulated(total * RECORD_BYTES);
    for (let decided = 0; decided < total; decided += 97) run.decide(Math.min(97, total - decided), Math.min(97, total - decided) * RECORD_BYTES, 25);
    run.progress.finish();
    run.progress.stop(); // run.ts stops again in its finally: nothing more is written
    const lines = run.stream.lines();
    expect(lines.map(percentOf)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(lines.at(-1)).toMatch(/^triage: 100% — 20,013 of 20,013 records decided, [\d,]+ records\/s$/);
    expect(lines[0]).toMatch(/^triage: 10% — [\d,]+ of about 20,013 records decided$/); // half a second in: no rate yet
    expect(lines[2]).toMatch(/^triage: 30% — [\d,]+ of about 20,013 records decided, [\d,]+ records\/s, about \d+ s left$/);
    expect(lines.slice(0, -1).every((line) => decidedOf(line) < total)).toBe(true);
  });

  it('with records of uneven size (the estimate moving) and big chunks: percentages increase, none above 100, the last the real total', () => {
    const sizes = Array.from({ length: 12_345 }, (_, i) => 200 + ((i * 7919) % 400) + (i > 9000 ? 500 : 0));
    const size = sizes.reduce((a, b) => a + b, 0) + 120; // and a CSV header no chunk carries
    const run = simulated(size);
    for (let at = 0; at < sizes.length; at += 1500) {
      const chunk = sizes.slice(at, at + 1500);
      run.decide(
        chunk.length,
        chunk.reduce((a, b) => a + b, 0),
      );
    }
    run.progress.finish();
    const lines = run.stream.lines();
    const percents = lines.map(percentOf);
    percents.slice(1).forEach((p, i) => expect(p).toBeGreaterThan(percents[i] as number));
    expect(percents.every((p) => p % 10 === 0 && p <= 100)).toBe(true);
    expect(percents.at(-1)).toBe(100);
    expect(decidedOf(lines.at(-1) as string)).toBe(12_345);
    expect(lines.slice(0, -1).every((line) => percentOf(line) <= Math.floor((100 * decidedOf(line)) / 12_345))).toBe(true);
  });

  it('without a size: a line per 10,000 records, no percentage or ETA, the last with the real count', () => {
    const run = simulated(0);
    for (let i = 0; i < 25; i += 1) run.decide(1000, 346_000, 200);
    run.progress.finish();
    const lines = run.stream.lines();
    expect(lines.map(decidedOf)).toEqual([10_000, 20_000, 25_000]);
    expect(lines[0]).toMatch(/^triage: 10,000 records decided, [\d,]+ records\/s$/);
    expect(lines.at(-1)).toMatch(/^triage: all 25,000 records decided, [\d,]+ records\/s$/);
    expect(LINE_EVERY_RECORDS).toBe(10_000);
  });

  it('an interrupted run (stopped, not finished) writes no 100% line', () => {
    const run = simulated(10_000 * RECORD_BYTES);
    for (let i = 0; i < 50; i += 1) run.decide(100, 100 * RECORD_BYTES);
    run.progress.stop();
    run.progress.finish(); // too late: already stopped
    expect(run.stream.lines().map(percentOf)).toEqual([10, 20, 30, 40, 50]);
  });

  it('--quiet on a terminal writes lines, not a bar', () => {
    const run = simulated(1000 * RECORD_BYTES, { tty: true, quiet: true });
    run.decide(1000, 1000 * RECORD_BYTES);
    run.progress.finish();
    expect(run.stream.text).toMatch(/^triage: 100% — 1,000 of 1,000 records decided, [\d,]+ records\/s\n$/);
  });
});

describe('the bar (a terminal)', () => {
  // cli-progress draws on start and stop, and on its own timer in between: the text it draws is barText, tested above.
  const ESCAPE = new RegExp(`\r|\n|${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`);
  const drawn = (text: string) => text.split(ESCAPE).filter((s) => s.startsWith('triage'));

  it("ends on the real total at 100% once finished, with our ETA text, never cli-progress's", () => {
    const run = simulated(5000 * RECORD_BYTES, { tty: true });
    for (let i = 0; i < 50; i += 1) run.decide(100, 100 * RECORD_BYTES);
    run.progress.finish();
    const frames = drawn(run.stream.text);
    expect(frames.at(-1)).toMatch(/^triage \[.*\] 100% \| 5,000 of 5,000 records \| [\d,]+ records\/s$/);
    expect(frames.slice(0, -1).some((frame) => /100%/.test(frame))).toBe(false);
    expect(run.stream.text).not.toMatch(/ETA|NF|NaN|Infinity/);
  });

  it('stopped short of the end stays below 100%', () => {
    const run = simulated(5000 * RECORD_BYTES, { tty: true });
    // Every byte decided, yet not finished (interrupted, or failed, before the end was seen): 99%, not 100%.
    for (let i = 0; i < 50; i += 1) run.decide(100, 100 * RECORD_BYTES);
    run.progress.stop();
    expect(drawn(run.stream.text).at(-1)).toMatch(/^triage \[.*\] 99% \| 5,000 of about 5,000 records/);
  });
});
