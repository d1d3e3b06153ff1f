// The batch triage run on the main thread: read chunks, keep workers fed, write results in order, account for every line.
import { open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { isCalendarDate } from '../dates/calendar';
import { DecisionError, issueLines } from '../errors';
import { loadRules, versionsByFile, type RuleRegistry } from '../loader/load';
import { loadTriagePriority, TRIAGE_PRIORITY_FILE, type TriagePriority } from '../loader/triage-priority';
import { RULE_SET_MODULES } from '../rulesets';
import { csvHeader } from './columns';
import { errorsCsvHeader, errorsNameProblem } from './errors-file';
import { loadMapping, MappingError, missingColumns, type CsvMapping } from './mapping';
import { indexPrevious, PreviousError, type PreviousIndex } from './previous';
import { WorkerPool } from './pool';
import { Progress } from './progress';
import type { ChunkResult, RecordFormat, TriageSetup } from './protocol';
import { RankIndex } from './ranking';
import { ChunkReader } from './reader';
import { reportHtml, ruleVersions } from './report';
import { describeSummary, Tally, type RunStatus, type TriageSummary } from './summary';

export interface TriageOptions {
  input: string;
  out: string;
  errors: string;
  asOf: string;
  /** The rule sets to run; absent: those rules/triage/priority.json names. */
  ruleSets?: string[];
  /** Output format; default from the --out extension. */
  format?: RecordFormat;
  mapping?: string;
  sort: boolean;
  explain: boolean;
  workers: number;
  summary?: string;
  /** Also the summary as one HTML page for a team leader (report.ts), written once the run ends, interrupted or not. */
  report?: string;
  /** The last run's NDJSON queue: records whose answer still stands are carried over from it (previous.ts). */
  previous?: string;
  rulesDirectory: string;
  /** Progress bar (true), a line per 10% (false); default: whether stderr is a terminal. */
  tty?: boolean;
  /** A line per 10% even on a terminal, no bar (--quiet). */
  quiet?: boolean;
}

/** Bad usage or unreadable input: the CLI exits 2 with this message. */
export class UsageError extends Error {}

export const EXIT_CODES = { complete: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Output format from the file name: .csv is CSV, anything else NDJSON. */
export function formatFor(file: string): RecordFormat {
  return path.extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson';
}

/** Encodes text into one reused buffer: per-chunk Buffers would pile up between the main thread's rare collections. */
class TextWriter {
  private buffer = Buffer.allocUnsafeSlow(4 * 1024 * 1024);

  async write(handle: FileHandle, text: string): Promise<void> {
    if (text.length === 0) return;
    const size = Buffer.byteLength(text);
    if (size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(size * 2);
    this.buffer.write(text, 0, size, 'utf8');
    await writeAll(handle, this.buffer.subarray(0, size));
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

/** The rules, and the queue's tiers beside them: both checked before anything is read or written. */
function loadRegistry(directory: string): { registry: RuleRegistry; priority: TriagePriority } {
  try {
    return { registry: loadRules(directory, { modules: RULE_SET_MODULES }), priority: loadTriagePriority(directory, RULE_SET_MODULES) };
  } catch (error) {
    if (error instanceof DecisionError) throw new Error(`${error.message}\n${issueLines(error.issues, '  ')}`, { cause: error });
    throw error;
  }
}

/** Checks the options that need no file: a UsageError says what is wrong. */
function checkUsage(options: TriageOptions, ruleSets: readonly string[], registry: RuleRegistry): void {
  if (!isCalendarDate(options.asOf)) throw new UsageError(`--as-of "${options.asOf}" is not a date written YYYY-MM-DD`);
  if (ruleSets.length === 0) throw new UsageError('--rule-sets names no rule set');
  const from = options.ruleSets ? '--rule-sets' : `the ruleSets of ${TRIAGE_PRIORITY_FILE}`;
  for (const name of ruleSets)
    if (!registry.ruleSets.has(name)) throw new UsageError(`${from}: no rule set "${name}" (known: ${[...registry.ruleSets.keys()].join(', ')})`);
  if (new Set(ruleSets).size !== ruleSets.length) throw new UsageError('--rule-sets names a rule set twice');
  if (!Number.isInteger(options.workers) || options.workers < 1 || options.workers > 256)
    throw new UsageError('--workers must be a whole number from 1 to 256');
  if (path.resolve(options.out) === path.resolve(options.errors)) throw new UsageError('--out and --errors must be different files');
  // The previous queue is read while the new one is written: the same file would be emptied first.
  if (options.previous !== undefined && [options.out, options.errors].some((file) => path.resolve(file) === path.resolve(options.previous as string)))
    throw new UsageError("--previous must be another file than --out and --errors (the last run's queue, kept)");
  // The report is written last: over any of these, it would replace what the run read or wrote.
  const report = options.report;
  if (report !== undefined) {
    const taken = {
      '--out': options.out,
      '--errors': options.errors,
      '--summary': options.summary,
      '--previous': options.previous,
      '--mapping': options.mapping,
      'the input': options.input,
    };
    for (const [option, file] of Object.entries(taken))
      if (file !== undefined && path.resolve(file) === path.resolve(report)) throw new UsageError(`--report must be another file than ${option}`);
  }
}

/**
 * Runs a triage and returns the exit code: 0 complete (record errors included), 1 failed,
 * 2 bad usage or unreadable input, 130 interrupted. The summary goes to stderr and --summary.
 */
export async function runTriage(options: TriageOptions): Promise<number> {
  const started = process.hrtime.bigint();
  let registry: RuleRegistry;
  let priority: TriagePriority;
  try {
    ({ registry, priority } = loadRegistry(options.rulesDirectory));
  } catch (error) {
    process.stderr.write(`ps-rules triage: the rules in ${options.rulesDirectory} cannot be loaded: ${(error as Error).message}\n`);
    return EXIT_CODES.failed;
  }

  // Usage and input checks, before any output file is touched.
  let reader: ChunkReader;
  let mapping: CsvMapping | undefined;
  let headers: string[] | undefined;
  let previous: PreviousIndex | undefined;
  const inputFormat: RecordFormat = options.mapping || formatFor(options.input) === 'csv' ? 'csv' : 'ndjson';
  const outputFormat = options.format ?? formatFor(options.out);
  const ruleSets = options.ruleSets ?? priority.ruleSets;
  try {
    checkUsage(options, ruleSets, registry);
    if (inputFormat === 'csv' && !options.mapping) throw new UsageError(`${options.input} is CSV: give its column mapping with --mapping <file.json>`);
    // The errors file follows the input's format: a name that says the other one would mislead whoever opens it.
    const errorsName = errorsNameProblem(options.errors, inputFormat);
    if (errorsName) throw new UsageError(errorsName);
    if (options.mapping) mapping = loadMapping(options.mapping);
    if (options.previous !== undefined) previous = indexPrevious(options.previous);
    try {
      reader = await ChunkReader.open(options.input, inputFormat);
    } catch (error) {
      throw new UsageError(`Cannot read the input ${options.input}: ${(error as Error).message}`);
    }
    if (mapping) {
      headers = await reader.readHeader();
      const missing = missingColumns(mapping, headers ?? []);
      if (missing.length > 0) {
        await reader.close();
        throw new UsageError(
          `${options.input} lacks the column(s) the mapping names: ${missing.map((m) => `"${m}"`).join(', ')} (its header: ${(headers ?? []).map((h) => `"${h}"`).join(', ') || 'empty'})`,
        );
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof MappingError || error instanceof PreviousError) {
      process.stderr.write(`ps-rules triage: ${error.message}\n`);
      return EXIT_CODES.usage;
    }
    throw error;
  }

  const spill = options.sort ? path.join(path.dirname(path.resolve(options.out)), `.${path.basename(options.out)}.${process.pid}.unsorted`) : undefined;
  let out: FileHandle;
  let errors: FileHandle;
  try {
    out = await open(spill ?? options.out, 'w');
    errors = await open(options.errors, 'w');
    // A CSV input's errors file has its header from the start, even if no record is refused.
    if (inputFormat === 'csv') await writeAll(errors, Buffer.from(errorsCsvHeader()));
  } catch (error) {
    await reader.close();
    process.stderr.write(`ps-rules triage: cannot write the output: ${(error as Error).message}\n`);
    return EXIT_CODES.usage;
  }

  const setup: TriageSetup = {
    rulesDirectory: options.rulesDirectory,
    ruleSets,
    priority,
    asOf: options.asOf,
    input: inputFormat,
    output: outputFormat,
    explain: options.explain,
    ranking: options.sort,
    mapping,
    headers,
    previous,
  };
  const tally = new Tally();
  const ranks = options.sort ? new RankIndex() : undefined;
  let status: RunStatus = 'complete';
  let failure: string | undefined;
  // The first SIGINT stops reading; a second drops the chunks still in flight, or stops the ranked copy.
  let sigints = 0;
  const onSigint = () => {
    sigints += 1;
  };
  process.on('SIGINT', onSigint);
  // Progress in records decided, the total estimated from the input bytes of the chunks decided (not read: the reader runs ahead).
  let bytesDecided = 0;
  const progress = new Progress(reader.size, () => ({ decided: tally.results + tally.errors, bytesDecided }), { tty: options.tty, quiet: options.quiet });
  let pool: WorkerPool | undefined;
  try {
    pool = await WorkerPool.start(options.workers, setup, versionsByFile(registry));

    if (outputFormat === 'csv' && !options.sort) await writeAll(out, Buffer.from(stringify([csvHeader(ruleSets, { rank: false, explain: options.explain })])));
    const text = new TextWriter();
    const recycled: ArrayBuffer[] = [];
    const write = async (result: ChunkResult) => {
      bytesDecided += result.input.byteLength;
      reader.buffers.release(result.input);
      tally.add(result.counts);
      progress.update();
      await writeAll(out, result.out);
      // Written out: the buffer goes back to a worker with the next chunk, a few at most waiting.
      if (recycled.length < options.workers * 4) recycled.push(result.out.buffer as ArrayBuffer);
      await text.write(errors, result.err);
      if (ranks && result.keys && result.lengths && result.cuts) ranks.add(result.keys, result.lengths, result.cuts);
    };

    // Bounded in flight: a few chunks per worker, so memory stays flat however large the input.
    const limit = options.workers * 3;
    const queue: Promise<ChunkResult>[] = [];
    let seq = 0;
    let exhausted = false;
    while (sigints === 0) {
      while (!exhausted && sigints === 0 && queue.length < limit) {
        const chunk = await reader.next();
        if (!chunk) exhausted = true;
        else {
          const result = pool.submit({ type: 'chunk', seq: seq++, firstLine: chunk.firstLine, data: chunk.data, recycled: recycled.splice(0, 2) });
          result.catch(() => undefined); // awaited in order below; this only keeps an early failure from being "unhandled"
          queue.push(result);
        }
      }
      const head = queue.shift();
      if (!head) break;
      await write(await head);
    }
    // Interrupted: the chunks already handed out finish and are written whole; nothing more is read.
    for (const pending of queue) {
      const result = await pending;
      if (sigints > 1) break;
      await write(result);
    }
    if (sigints > 0) status = 'interrupted';
    else progress.finish();

    if (ranks && spill) {
      await out.close();
      out = await open(options.out, 'w');
      progress.note(`sorting ${ranks.count} results by priority`);
      if (outputFormat === 'csv') await writeAll(out, Buffer.from(stringify([csvHeader(ruleSets, { rank: true, explain: options.explain })])));
      // Interrupted while reading: the records already decided are still ranked and written, unless interrupted again.
      const target = out;
      const before = sigints;
      await ranks.copyRanked(
        spill,
        outputFormat,
        (block) => writeAll(target, block),
        () => sigints > before,
      );
      if (sigints > 0) status = 'interrupted';
    }
  } catch (error) {
    status = 'failed';
    failure = (error as Error).message;
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
    await pool?.close();
    await reader.close().catch(() => undefined);
    await out.close().catch(() => undefined);
    await errors.close().catch(() => undefined);
    if (spill) await rm(spill, { force: true });
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary: TriageSummary = {
    status,
    recordErrors: tally.errors > 0,
    input: options.input,
    inputFormat,
    output: options.out,
    outputFormat,
    errorsOutput: options.errors,
    asOf: options.asOf,
    sorted: options.sort,
    explain: options.explain,
    workers: options.workers,
    lines: tally.lines,
    headerLines: inputFormat === 'csv' ? 1 : 0,
    results: tally.results,
    errors: tally.errors,
    blank: tally.blank,
    ...(previous ? { carriedOver: tally.carried } : {}),
    verdicts: tally.verdicts(),
    tiers: tally.tiers(priority.tiers.map((tier) => tier.name)),
    programs: tally.programs(),
    dueWeeks: tally.dueWeeks(),
    errorKinds: tally.group('error'),
    versions: tally.versions(),
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSecond: Math.round((tally.results + tally.errors) / Math.max(seconds, 0.001)),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(failure ? { failure } : {}),
  };
  process.stderr.write(describeSummary(summary));
  if (options.summary) await writeFile(options.summary, `${JSON.stringify(summary, null, 2)}\n`);
  const code = status === 'complete' ? EXIT_CODES.complete : status === 'interrupted' ? EXIT_CODES.interrupted : EXIT_CODES.failed;
  // The queue and errors are written by now: a report that cannot be written fails the run, but leaves them.
  if (options.report && !(await writeReport(options.report, summary, registry))) return code === EXIT_CODES.complete ? EXIT_CODES.failed : code;
  return code;
}

/** Writes the run's HTML report; false, said on stderr, when it cannot be. */
async function writeReport(file: string, summary: TriageSummary, registry: RuleRegistry): Promise<boolean> {
  try {
    await writeFile(file, reportHtml(summary, ruleVersions(registry)));
    return true;
  } catch (error) {
    process.stderr.write(`ps-rules triage: cannot write the report ${file}: ${(error as Error).message}\n`);
    return false;
  }
}
