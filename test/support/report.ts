// What the bench (bench/) and the system scripts (test/system/) print: a line at a time, with numbers formatted alike.

/** The project keeps console.log out of its code: reports go straight to stdout. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const grouped = new Intl.NumberFormat('en-AU', { maximumFractionDigits: 0 });
/** 1234567 → "1,234,567". */
export const n = (value: number): string => grouped.format(value);
/** Seconds with one decimal, or ms below one second. */
export const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : 'n/a');

/** A monotonic clock in milliseconds, fractional. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
