#!/usr/bin/env node
// The backlog CLI: writes a seeded referral backlog (NDJSON or CSV, optionally with corrupt lines) for triage benchmarks; counts go to stderr.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { BACKLOG_MAPPING_FILE, DEFAULT_AS_OF, backlogLines, writeBacklog, writeLines, type BacklogOptions } from '../fixtures/backlog';
import type { CsvMapping } from '../src/triage/mapping';

const whole =
  (name: string) =>
  (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number.`);
    return Number(value);
  };

interface Options {
  count: number;
  seed: number;
  corrupt: number;
  format: string;
  asOf: string;
  out?: string;
  mapping?: string;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('backlog')
    .description('Write a seeded, realistic PS referral backlog (see fixtures/BACKLOG.md). Same options, same file.')
    .requiredOption('--count <n>', 'data lines to write, corrupt ones included', whole('--count'))
    .option('--seed <n>', 'random seed', whole('--seed'), 1)
    .option('--corrupt <n>', 'how many of the data lines are corrupt (spread evenly)', whole('--corrupt'), 0)
    .option('--format <format>', 'ndjson or csv', 'ndjson')
    .option('--as-of <date>', 'the day the team triages the backlog (YYYY-MM-DD)', DEFAULT_AS_OF)
    .option('--mapping <file>', `CSV mapping file (default: ${BACKLOG_MAPPING_FILE})`)
    .option('--out <file>', 'output file (default: standard output)')
    .exitOverride();
  try {
    program.parse(argv);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const options = program.opts<Options>();
  if (options.format !== 'ndjson' && options.format !== 'csv') {
    process.stderr.write(`backlog: --format must be ndjson or csv, got ${options.format}\n`);
    return 2;
  }
  const backlog: BacklogOptions = { count: options.count, seed: options.seed, corrupt: options.corrupt, asOf: options.asOf, format: options.format };
  if (options.mapping) backlog.mapping = JSON.parse(readFileSync(options.mapping, 'utf8')) as CsvMapping;

  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let counts: { lines: number; records: number; corrupt: number };
  if (options.out) {
    counts = await writeBacklog(options.out, backlog);
  } else {
    const lines = await writeLines(process.stdout, backlogLines(backlog));
    counts = { lines, records: backlog.count - (backlog.corrupt ?? 0), corrupt: backlog.corrupt ?? 0 };
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // CPU time too: on a shared machine the wall-clock rate says more about the neighbours than the generator.
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const perSecond = (s: number) => Math.round(backlog.count / Math.max(s, 1e-9));
  process.stderr.write(
    `${JSON.stringify({
      ...counts,
      format: options.format,
      seed: options.seed,
      asOf: options.asOf,
      out: options.out ?? '-',
      seconds: Number(seconds.toFixed(3)),
      cpuSeconds: Number(cpuSeconds.toFixed(3)),
      linesPerSecond: perSecond(seconds),
      linesPerCpuSecond: perSecond(cpuSeconds),
    })}\n`,
  );
  return 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`backlog failed: ${(error as Error).message}\n`);
    process.exitCode = 2;
  },
);
