// The run's closing account: every input line accounted for, counts per verdict and tier, speed and memory.
import type { ChunkCounts, RecordFormat } from './protocol';

export type RunStatus = 'complete' | 'interrupted' | 'failed';

/** Why a record went to the errors file, by kind: what the report counts and each error line carries as `kind`. */
export const ERROR_KINDS = {
  'not-json': 'line is not JSON',
  'not-a-record': 'line is not a triage record (an id and its facts)',
  'not-a-row': 'row does not fit the CSV header',
  'refused-cell': 'a cell the mapping refuses (a code, date or flag)',
  'invalid-facts': 'facts the schema refuses',
  'missing-fact': 'a fact a rule set needs is missing',
  'no-version': 'no rule version in force on its date',
  undecidable: 'could not be decided (a date past the holiday calendar)',
} as const;
export type ErrorKind = keyof typeof ERROR_KINDS;

/** One tier of the queue: its name (rules/triage/priority.json), its records, and those per program. */
export interface TierCount {
  tier: number;
  name: string;
  records: number;
  byProgram: Record<string, number>;
}

/** One program's records: how many are overdue, and how many have no due date (none applies, or none can be worked out). */
export interface ProgramCount {
  records: number;
  overdue: number;
  noDueDate: number;
}

/** The records due in one week (Monday to Sunday), and how many of them are overdue on the as-of date. */
export interface DueWeek {
  week: string;
  records: number;
  overdue: number;
}

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
  /** Every tier of rules/triage/priority.json, tier 1 first, with its records (0 included). */
  tiers: TierCount[];
  /** Program → its records, overdue and without a due date. */
  programs: Record<string, ProgramCount>;
  /** The weeks records are due in, earliest first (the week's Monday), with the overdue among them. */
  dueWeeks: DueWeek[];
  /** Error kind → records (ERROR_KINDS says what each is). */
  errorKinds: Partial<Record<ErrorKind, number>>;
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

  /** The queue's tiers by name, every tier listed, with each tier's records per program. */
  tiers(names: readonly string[]): TierCount[] {
    const byProgram = this.group('tier-program');
    return names.map((name, i) => {
      const tier = i + 1;
      const programs: Record<string, number> = {};
      for (const [key, n] of Object.entries(byProgram)) if (key.startsWith(`${tier}:`)) programs[key.slice(key.indexOf(':') + 1)] = n;
      return { tier, name, records: this.counts.get(`tier:${tier}`) ?? 0, byProgram: programs };
    });
  }

  programs(): Record<string, ProgramCount> {
    const out: Record<string, ProgramCount> = {};
    for (const [program, records] of Object.entries(this.group('program')))
      out[program] = { records, overdue: this.counts.get(`overdue:${program}`) ?? 0, noDueDate: this.counts.get(`no-due:${program}`) ?? 0 };
    return out;
  }

  dueWeeks(): DueWeek[] {
    return Object.entries(this.group('week')).map(([week, records]) => ({ week, records, overdue: this.counts.get(`week-overdue:${week}`) ?? 0 }));
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

/** A count as people read it: 30,220, not 30220. */
const count = (n: number): string => n.toLocaleString('en-AU');

const list = (counts: Record<string, number>, label: (key: string) => string) =>
  Object.entries(counts)
    .map(([k, n]) => `${label(k)}: ${count(n)}`)
    .join(', ') || 'none';

/** The summary as a few lines for stderr. */
export function describeSummary(s: TriageSummary): string {
  const lines = [
    `triage ${s.status}${s.recordErrors ? ` with ${count(s.errors)} record error(s) written to ${s.errorsOutput}` : ''}: ${count(s.results)} result(s) to ${s.output}${s.sorted ? ' (sorted by priority)' : ''}`,
    `  input ${s.input}: ${count(s.lines)} line(s)${s.headerLines ? ` after ${s.headerLines} header line` : ''} = ${count(s.results)} results + ${count(s.errors)} errors + ${count(s.blank)} blank`,
    ...(s.carriedOver === undefined ? [] : [`  carried over from the previous queue: ${count(s.carriedOver)}; decided: ${count(s.results - s.carriedOver)}`]),
    ...Object.entries(s.verdicts).map(([column, counts]) => `  ${column}: ${list(counts, (value) => value)}`),
    `  queue: ${s.tiers.map((t) => `${t.name}: ${count(t.records)}`).join(' · ')}`,
    `  overdue: ${
      Object.entries(s.programs)
        .map(([program, p]) => `${program} ${count(p.overdue)} of ${count(p.records)}${p.noDueDate ? ` (${count(p.noDueDate)} with no due date)` : ''}`)
        .join(' · ') || 'none'
    }`,
    ...(s.errors > 0 ? [`  errors: ${list(s.errorKinds, (kind) => ERROR_KINDS[kind as ErrorKind] ?? kind)}`] : []),
    `  as of ${s.asOf}; ${s.workers} worker(s); ${s.seconds.toFixed(2)} s; ${count(s.recordsPerSecond)} records/s; peak RSS ${(s.peakRssBytes / 1048576).toFixed(0)} MiB`,
  ];
  if (s.failure) lines.push(`  failed: ${s.failure}`);
  return `${lines.join('\n')}\n`;
}
