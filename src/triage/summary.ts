// The run's closing account: every input line accounted for, counts per verdict and tier, speed and memory.
import type { ChunkCounts, RecordFormat } from './protocol';

export type RunStatus = 'complete' | 'interrupted' | 'failed';

export interface TriageSummary {
  status: RunStatus;
  /** True when some records went to the errors file (the run still completed). */
  recordErrors: boolean;
  input: string;
  inputFormat: RecordFormat;
  output: string;
  outputFormat: RecordFormat;
  errorsOutput: string;
  asOf: string;
  sorted: boolean;
  explain: boolean;
  workers: number;
  /** Input lines read, not counting a CSV header; lines = results + errors + blank. */
  lines: number;
  headerLines: number;
  results: number;
  errors: number;
  blank: number;
  /** With --previous: the results carried over from it, not decided again (counted in results too). */
  carriedOver?: number;
  /** "<rule set>.<verdict field>" (the CSV column's name) → each value it took → records: e.g. a segment, a route. */
  verdicts: Record<string, Record<string, number>>;
  /** Tier number → records. */
  tiers: Record<string, number>;
  /** The tiers' names, tier 1 first (rules/triage/priority.json). */
  tierNames: string[];
  /** rule set → version hash → records it decided. */
  versions: Record<string, Record<string, number>>;
  seconds: number;
  recordsPerSecond: number;
  peakRssBytes: number;
  failure?: string;
}

/** Adds up the workers' chunk counts. */
export class Tally {
  lines = 0;
  results = 0;
  errors = 0;
  blank = 0;
  carried = 0;
  readonly counts = new Map<string, number>();

  add(counts: ChunkCounts): void {
    this.lines += counts.lines;
    this.results += counts.results;
    this.errors += counts.errors;
    this.blank += counts.blank;
    this.carried += counts.carried;
    for (const [key, n] of Object.entries(counts.tally)) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  /** "segment:3" → { "3": n } for one prefix, keys sorted. */
  group(prefix: string): Record<string, number> {
    const out: Record<string, number> = {};
    const keys = [...this.counts.keys()].filter((k) => k.startsWith(`${prefix}:`)).sort();
    for (const key of keys) out[key.slice(prefix.length + 1)] = this.counts.get(key) as number;
    return out;
  }

  versions(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, n] of Object.entries(this.group('version'))) {
      const at = key.lastIndexOf(':');
      (out[key.slice(0, at)] ??= {})[key.slice(at + 1)] = n;
    }
    return out;
  }

  /** "verdict:<rule set>.<field>:<value>" → { "<rule set>.<field>": { value: n } }; the value is after the first colon (a rule set's name has none). */
  verdicts(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, n] of Object.entries(this.group('verdict'))) {
      const at = key.indexOf(':');
      (out[key.slice(0, at)] ??= {})[key.slice(at + 1)] = n;
    }
    return out;
  }
}

const list = (counts: Record<string, number>, label: (key: string) => string) =>
  Object.entries(counts)
    .map(([k, n]) => `${label(k)}: ${n}`)
    .join(', ') || 'none';

/** The summary as a few lines for stderr. */
export function describeSummary(s: TriageSummary): string {
  const lines = [
    `triage ${s.status}${s.recordErrors ? ` with ${s.errors} record error(s) written to ${s.errorsOutput}` : ''}: ${s.results} result(s) to ${s.output}${s.sorted ? ' (sorted by priority)' : ''}`,
    `  input ${s.input}: ${s.lines} line(s)${s.headerLines ? ` after ${s.headerLines} header line` : ''} = ${s.results} results + ${s.errors} errors + ${s.blank} blank`,
    ...(s.carriedOver === undefined ? [] : [`  carried over from the previous queue: ${s.carriedOver}; decided: ${s.results - s.carriedOver}`]),
    ...Object.entries(s.verdicts).map(([column, counts]) => `  ${column}: ${list(counts, (value) => value)}`),
    `  priority: ${list(s.tiers, (tier) => `tier ${tier}${s.tierNames[Number(tier) - 1] ? ` (${s.tierNames[Number(tier) - 1]})` : ''}`)}`,
    `  as of ${s.asOf}; ${s.workers} worker(s); ${s.seconds.toFixed(2)} s; ${s.recordsPerSecond} records/s; peak RSS ${(s.peakRssBytes / 1048576).toFixed(0)} MiB`,
  ];
  if (s.failure) lines.push(`  failed: ${s.failure}`);
  return `${lines.join('\n')}\n`;
}
