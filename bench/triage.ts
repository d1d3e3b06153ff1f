// (d) `ps-rules triage` end to end: a generated NDJSON backlog in, results and errors out, timed from
// outside with the child's peak RSS; the output line counts are checked against the corrupt lines put in.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corruptLineIndexes, writeBacklog } from '../fixtures/backlog';
import { runNode } from './child';
import { mib, n, say, secs } from './common';
import type { BenchSettings } from './settings';

const CLI = path.resolve(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const AS_OF = '2026-01-19';

export interface TriageRun {
  lines: number;
  corrupt: number;
  wallMs: number;
  recordsPerSecond: number;
  peakRss?: number;
  results: number;
  errors: number;
  countsAsExpected: boolean;
  summary?: Record<string, unknown>;
}

async function countLines(file: string): Promise<number> {
  if (!existsSync(file)) return 0;
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
    last = chunk[chunk.length - 1] ?? last;
  }
  return last === 10 ? lines : lines + 1;
}

/** The summary's top-level figures (its status, counts, time, speed and memory), whatever fields it has. */
function ownFigures(summary: Record<string, unknown>): string {
  return Object.entries(summary)
    .filter(([key, value]) => typeof value === 'number' || key === 'status')
    .map(([key, value]) =>
      /rss|bytes/i.test(key) && typeof value === 'number'
        ? `${key} ${mib(value)}`
        : `${key} ${typeof value !== 'number' ? String(value) : Number.isInteger(value) ? n(value) : value.toFixed(2)}`,
    )
    .join(', ');
}

/** Why the triage section cannot run yet, if it cannot. */
function missing(): string | undefined {
  if (!existsSync(CLI)) return 'triage not built (no dist/src/cli/main.js)';
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^\s+triage\b/m.test(help)) return 'triage not built';
  return undefined;
}

export async function triageThroughput(settings: BenchSettings): Promise<TriageRun[] | undefined> {
  const why = missing();
  if (why) {
    say(`skipped: ${why}`);
    return undefined;
  }
  const runs: TriageRun[] = [];
  for (const { lines, corrupt } of settings.triageRuns) {
    const base = path.join(os.tmpdir(), `ps-bench-triage-${process.pid}-${lines}`);
    const [input, out, errors, summaryFile] = [`${base}.ndjson`, `${base}.results.ndjson`, `${base}.errors.ndjson`, `${base}.summary.json`];
    try {
      const written = await writeBacklog(input, { count: lines, seed: settings.seed, corrupt, format: 'ndjson' });
      say(`input: ${n(written.lines)} lines (${n(written.records)} records, ${n(written.corrupt)} corrupt) in ${input}`);
      const run = await runNode([CLI, 'triage', input, '--out', out, '--errors', errors, '--as-of', AS_OF, '--summary', summaryFile]);
      if (run.code !== 0) {
        say(`triage exited with ${run.code ?? run.signal}; its last output:\n${run.outputTail}`);
        continue;
      }
      const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, unknown>) : undefined;
      const [results, errorLines] = [await countLines(out), await countLines(errors)];
      const expected = { results: written.records, errors: written.corrupt };
      // Each error names its input line: exactly the lines the generator corrupted (0-based indexes there).
      const reported = readFileSync(errors, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { line: number }).line);
      const planted = corruptLineIndexes(written.lines, written.corrupt).map((i) => i + 1);
      const linesAsExpected = reported.length === planted.length && reported.every((line, i) => line === planted[i]);
      const countsAsExpected = results === expected.results && errorLines === expected.errors && linesAsExpected;
      const recordsPerSecond = ((written.records + written.corrupt) / run.wallMs) * 1000;
      say(
        `${n(written.lines)} lines: ${n(recordsPerSecond)} records/s, wall ${secs(run.wallMs)}, peak RSS ${run.peakRss === undefined ? 'unknown' : mib(run.peakRss)} (${run.peakRssFrom})`,
      );
      say(
        `  results ${n(results)}, errors ${n(errorLines)} ${countsAsExpected ? '(as expected; every error names a line the generator corrupted)' : `MISMATCH: expected results ${n(expected.results)}, errors ${n(expected.errors)} on lines ${planted.slice(0, 5).join(', ')}…; error lines ${linesAsExpected ? 'match' : 'differ'}`}`,
      );
      say(summary ? `  triage's own summary: ${ownFigures(summary)}` : '  (triage wrote no summary file)');
      runs.push({
        lines: written.lines,
        corrupt: written.corrupt,
        wallMs: run.wallMs,
        recordsPerSecond,
        peakRss: run.peakRss,
        results,
        errors: errorLines,
        countsAsExpected,
        summary,
      });
    } finally {
      for (const file of [input, out, errors, summaryFile]) rmSync(file, { force: true });
    }
  }
  return runs;
}
