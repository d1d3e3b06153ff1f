// --previous: the last run's queue, so that a backlog triaged again decides only the records whose answer may have
// changed, and carries the others over as they were decided.
//
// A record is carried over when all of these hold, and decided again otherwise:
// - the previous queue has a record with its id (the first, if it has several);
// - its input is the same: the digest of its NDJSON line or CSV row (inputDigest) is the previous record's, so a record
//   whose facts changed since is decided again;
// - it is decided as of a day on or after the previous record's asOf, and before the previous record's holdsUntil
//   (the earliest of its rule sets'; null: no change before the holiday calendar ends). holdsUntil counts the days a
//   rule version takes effect or ends, so a dated version that took effect since is a change already;
// - every rule set of this run is in the previous record, decided by the version in force on this record's as-of date
//   (a rule file edited in place, not dated, has a new version hash: its records are decided again);
// - with --explain, the previous record has each explanation.
// Nothing else moves an answer: with the facts fixed, a decision depends on the date only through the version in force
// and the derived facts, both of which holdsUntil follows (engine/holds-until.ts). What a carried-over record keeps is
// its verdict; what is read as of its day stays as of that day: its asOf, the outcome fields reckoned from asOf (a
// review date), and the reason's evidence (the incidents in a window then, say). Its priority is worked out again as of
// this run's date, since a due date passes without any answer changing.
//
// The main thread indexes the previous queue once (each record's id, and where its line is); each worker looks a
// record up by id and reads its line from the file when it needs it, so no worker holds the previous queue in memory.
import { closeSync, openSync, readSync } from 'node:fs';
import type { TriageDecision } from './chunk';

/** Where each previous record's line is: ids in file order, with the byte offset and length of each line. */
export interface PreviousIndex {
  file: string;
  ids: string[];
  offsets: Float64Array;
  lengths: Uint32Array;
}

/** What the previous queue holds of one record (an NDJSON line of a triage's --out, ranked or not). */
export interface PreviousRecord {
  id: string | number;
  asOf: string;
  holdsUntil: string | null;
  inputDigest?: string;
  /** Each rule set's result, as the run wrote it. */
  results: Record<string, Omit<TriageDecision, 'ruleSet'>>;
}

/** A previous queue that cannot be read as one: the CLI exits 2 with this message. */
export class PreviousError extends Error {}

/** The id at the start of a queue line, as triage writes it: `{"rank":…,"id":…,"line":…` or `{"id":…,"line":…`. */
const LINE_START = /^\{(?:"rank":\d+,)?"id":("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*),"line":/;

const key = (id: string | number): string => (typeof id === 'number' ? `#${id}` : id);

/** Reads the previous queue once, line by line, keeping only each record's id and where its line is. */
export function indexPrevious(file: string): PreviousIndex {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new PreviousError(`Cannot read the previous queue ${file}: ${(error as Error).message}`);
  }
  const ids: string[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  try {
    const block = Buffer.allocUnsafe(1 << 20);
    let carry = Buffer.alloc(0);
    let position = 0;
    let lineNumber = 0;
    const line = (bytes: Buffer, offset: number) => {
      lineNumber += 1;
      if (bytes.length === 0) return;
      // The start of the line is enough: ids are short, and the rest is read again only for records looked up.
      const match = LINE_START.exec(bytes.subarray(0, Math.min(bytes.length, 4096)).toString('utf8'));
      if (!match) throw new PreviousError(`${file} line ${lineNumber} is not a line of an NDJSON queue ps-rules triage wrote ({"id", "line", …})`);
      ids.push(key(JSON.parse(match[1] as string) as string | number));
      offsets.push(offset);
      lengths.push(bytes.length);
    };
    for (;;) {
      const read = readSync(fd, block, 0, block.length, null);
      if (read === 0) break;
      const data = carry.length > 0 ? Buffer.concat([carry, block.subarray(0, read)]) : block.subarray(0, read);
      const dataStart = position - carry.length;
      let start = 0;
      for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
        line(data.subarray(start, end), dataStart + start);
        start = end + 1;
      }
      carry = Buffer.from(data.subarray(start));
      position += read;
    }
    if (carry.length > 0) line(carry, position - carry.length);
  } finally {
    closeSync(fd);
  }
  return { file, ids, offsets: Float64Array.from(offsets), lengths: Uint32Array.from(lengths) };
}

/** A worker's view of the previous queue: look a record up by id, its line read from the file when found. */
export class PreviousRecords {
  private readonly at = new Map<string, number>();
  private readonly fd: number;
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly index: PreviousIndex) {
    index.ids.forEach((id, i) => {
      if (!this.at.has(id)) this.at.set(id, i);
    });
    this.fd = openSync(index.file, 'r');
  }

  /** The previous record with this id, or undefined when there is none. */
  find(id: string | number): PreviousRecord | undefined {
    const i = this.at.get(key(id));
    if (i === undefined) return undefined;
    const length = this.index.lengths[i] as number;
    if (length > this.scratch.length) this.scratch = Buffer.allocUnsafe(length * 2);
    const read = readSync(this.fd, this.scratch, 0, length, this.index.offsets[i] as number);
    if (read !== length) throw new Error(`the previous queue ${this.index.file} changed while it was read`);
    return JSON.parse(this.scratch.subarray(0, length).toString('utf8')) as PreviousRecord;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Whether a previous record's answer still stands for a record with `digest`, decided as of `asOf` by `versions`
 * (rule set name and version hash, in the run's order): see the top of this file.
 */
export function stillHolds(
  previous: PreviousRecord,
  digest: string,
  asOf: string,
  versions: readonly { name: string; version: string }[],
  explain: boolean,
): boolean {
  if (previous.inputDigest !== digest) return false;
  if (asOf < previous.asOf) return false;
  // A queue written before holdsUntil was has none: its records are decided again.
  if (previous.holdsUntil === undefined || (previous.holdsUntil !== null && previous.holdsUntil <= asOf)) return false;
  for (const { name, version } of versions) {
    const result = previous.results?.[name];
    if (!result || result.version !== version) return false;
    if (explain && result.explanation === undefined) return false;
  }
  return true;
}
