// What the main thread and the triage workers say to each other: setup, chunks in, results out.
import type { TriagePriority } from '../loader/triage-priority';
import type { CsvMapping } from './mapping';
import type { PreviousIndex } from './previous';

export type RecordFormat = 'ndjson' | 'csv';

/** Everything a worker needs to triage any chunk the same way as every other worker. */
export interface TriageSetup {
  rulesDirectory: string;
  ruleSets: readonly string[];
  /** The tiers records are put in (rules/triage/priority.json), read and checked once by the main thread. */
  priority: TriagePriority;
  /** The run's as-of date; an NDJSON record may carry its own `asOf`. */
  asOf: string;
  input: RecordFormat;
  output: RecordFormat;
  explain: boolean;
  /** Collect the compact ranking fields (--sort priority). */
  ranking: boolean;
  /** CSV input: the mapping and the file's header row. */
  mapping?: CsvMapping;
  headers?: readonly string[];
  /** --previous: where each record of the last run's queue is; a record whose answer still stands is carried over. */
  previous?: PreviousIndex;
}

/** A run of whole input lines (ending in "\n"), and the 1-based line number of its first. */
export interface ChunkMessage {
  type: 'chunk';
  seq: number;
  firstLine: number;
  data: Uint8Array;
  /** Output buffers of earlier chunks, written out by the main thread: the worker writes later chunks' output into them. */
  recycled?: ArrayBuffer[];
}

/** Per-chunk tallies; the main thread adds them up for the summary. */
export interface ChunkCounts {
  /** Input lines in the chunk (for CSV: records, a quoted multi-line cell counting once). */
  lines: number;
  results: number;
  errors: number;
  blank: number;
  /** Results carried over from --previous (counted in results too). */
  carried: number;
  /** "verdict:<ruleSet>.<field>:<value>", "tier:1", "version:<ruleSet>:<hash>" → records. */
  tally: Record<string, number>;
}

/**
 * A chunk done: output bytes and error text (whole lines), the counts, and when ranking, for each
 * result in order its sort key, its byte length and where the rank goes in it. The input buffer and
 * the output buffer come back for reuse: fresh transferred ArrayBuffers are freed only when the main
 * thread's small heap is collected, which made its memory grow with the input size.
 */
export interface ChunkResult {
  type: 'done';
  seq: number;
  /** The records' lines, UTF-8, in a buffer transferred here and handed back in a later chunk (ChunkMessage.recycled). */
  out: Uint8Array;
  err: string;
  /** The chunk's input buffer, handed back so the reader can fill it again. */
  input: Uint8Array;
  counts: ChunkCounts;
  keys?: Int32Array;
  lengths?: Uint32Array;
  cuts?: Uint32Array;
}

export interface ReadyMessage {
  type: 'ready';
  /** rule set → the version hashes this worker loaded, oldest first. */
  versions: Record<string, string>;
}

export interface FatalMessage {
  type: 'fatal';
  message: string;
}

export type WorkerReply = ChunkResult | ReadyMessage | FatalMessage;
