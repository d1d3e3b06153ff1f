// Progress on stderr: a bar on a terminal, a plain line every ~2 s otherwise (logs, CI).
import { SingleBar } from 'cli-progress';

export interface ProgressState {
  bytesRead: number;
  records: number;
}

export class Progress {
  private readonly started = Date.now();
  private bar: SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size: number,
    private readonly state: () => ProgressState,
    tty: boolean = process.stderr.isTTY === true,
  ) {
    if (tty) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: 'triage [{bar}] {percentage}% | {records} records | {rate} records/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      });
      this.bar.start(Math.max(size, 1), 0, { records: 0, rate: 0 });
      this.timer = setInterval(() => this.tick(), 200);
    } else {
      this.timer = setInterval(() => this.line(), 2000);
    }
    this.timer.unref();
  }

  private rate(records: number): number {
    return Math.round(records / Math.max((Date.now() - this.started) / 1000, 0.001));
  }

  private tick(): void {
    const { bytesRead, records } = this.state();
    this.bar?.update(bytesRead, { records, rate: this.rate(records) });
  }

  private line(): void {
    const { bytesRead, records } = this.state();
    const fraction = this.size > 0 ? bytesRead / this.size : 1;
    const seconds = (Date.now() - this.started) / 1000;
    const eta = fraction > 0 ? Math.max(0, Math.round(seconds / fraction - seconds)) : undefined;
    process.stderr.write(
      `triage: ${Math.floor(fraction * 100)}% of input read, ${records} records, ${this.rate(records)} records/s${eta === undefined ? '' : `, ETA ${eta} s`}\n`,
    );
  }

  /** A phase after reading (sorting): said once, as a line. */
  note(message: string): void {
    this.stop();
    process.stderr.write(`triage: ${message}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) {
      this.tick();
      this.bar.stop();
      this.bar = undefined;
    }
  }
}
