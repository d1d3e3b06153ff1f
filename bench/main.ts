// npm run bench -- [--quick] [--only a,b,c,d,e] [--seed N]: the figures for docs/performance.md, one
// section after another on this machine, then a summary table with the targets checked.
//   a  in-process evaluations/s per rule set (compiled and reference), and the decision's summary (alone, and with
//      holdsUntil and changes), with the summary answer's median size
//   b  json-rules-engine used directly for segment allocation (naive and reused): the baselines
//   c  the hand-written segment allocation: the ceiling
//   d  ps-rules triage end to end (100,000 and 1,000,001 lines), with peak RSS
//   e  HTTP evaluate under autocannon, beside a bare Express 5 route; one evaluate-batch stream
import os from 'node:os';
import { parseArgs } from 'node:util';
import { handwrittenCeiling, type CeilingFigures } from './ceiling';
import { mib, n, ratio, say, secs, shippedRegistry } from './common';
import { httpThroughput, type HttpFigures } from './http';
import { inProcess, type InProcessFigures } from './in-process';
import { jsonRulesEngineBaselines, type BaselineFigures } from './json-rules-engine';
import { benchSettings } from './settings';
import { triageThroughput, type TriageRun } from './triage';

const SECTIONS = {
  a: 'in-process evaluations (the built dist/ modules)',
  b: 'json-rules-engine used directly (baselines)',
  c: 'hand-written segment allocation (ceiling)',
  d: 'triage end to end',
  e: 'HTTP evaluate and evaluate-batch',
} as const;
type Section = keyof typeof SECTIONS;

// HTTP: every edge in place (key, rate limit, timeout, request log, metrics, helmet, compression), at 64 connections,
// the load generator on the same 2 cores; the edges may cost at most a fifth of a bare Express route's throughput.
const TARGETS = {
  inProcess: 250_000,
  // The summary (engine/summary.ts): alone (reasons and assumed) at the explained answer's own pace; with holdsUntil and
  // changes (?explain=summary) at 100,000 a second, and the answer at most 2 KB.
  summaryReasons: 250_000,
  summaryChanges: 100_000,
  summaryBytes: 2048,
  overReused: 25,
  triageMs: 20_000,
  triageRss: 512 * 1024 * 1024,
  httpRps: 3_500,
  httpP99: 50,
  overBare: 0.8,
  batchPerSecond: 50_000,
};

interface Figures {
  a?: InProcessFigures;
  b?: BaselineFigures;
  c?: CeilingFigures;
  d?: TriageRun[];
  e?: HttpFigures;
}

const check = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**MISSED**');

/** What triage reported of itself, beside what the bench measured from outside. */
function ownSummary(summary: Record<string, unknown> | undefined): string {
  const { seconds, peakRssBytes } = summary ?? {};
  const parts = [typeof seconds === 'number' ? `${seconds.toFixed(1)} s` : '', typeof peakRssBytes === 'number' ? mib(peakRssBytes) : ''].filter(Boolean);
  return parts.length > 0 ? `; triage's own: ${parts.join(', ')}` : '';
}

function summary(figures: Figures): void {
  const ours = figures.a?.compiled['segment-allocation']?.perSecond;
  const rows: string[][] = [];
  const row = (...cells: string[]) => rows.push(cells);
  if (ours !== undefined)
    row('segment allocation in-process, explained (compiled)', `${n(ours)}/s`, '', `≥ ${n(TARGETS.inProcess)}/s`, check(ours >= TARGETS.inProcess));
  const summarised = figures.a?.summary['segment-allocation'];
  if (summarised) {
    const { reasons, withChanges, medianBytes, medianGzipBytes } = summarised;
    row(
      'segment allocation in-process, summary only (verdict, reasons, assumed)',
      `${n(reasons.perSecond)}/s`,
      ours === undefined ? '' : `of decide() explained ${(reasons.perSecond / ours).toFixed(2)}`,
      `≥ ${n(TARGETS.summaryReasons)}/s`,
      check(reasons.perSecond >= TARGETS.summaryReasons),
    );
    row(
      'segment allocation in-process, summary with holdsUntil and changes (?explain=summary)',
      `${n(withChanges.perSecond)}/s`,
      `${(1e6 / withChanges.perSecond).toFixed(1)} µs a case`,
      `≥ ${n(TARGETS.summaryChanges)}/s`,
      check(withChanges.perSecond >= TARGETS.summaryChanges),
    );
    row(
      'segment allocation summary answer (?explain=summary), median size',
      `${n(medianBytes)} bytes`,
      `gzipped as sent to a client that accepts it: ${n(medianGzipBytes)} bytes`,
      `≤ ${n(TARGETS.summaryBytes)} bytes`,
      check(medianBytes <= TARGETS.summaryBytes),
    );
  }
  const reference = figures.a?.reference['segment-allocation']?.perSecond;
  if (reference !== undefined)
    row(
      'segment allocation, our reference evaluator (json-rules-engine)',
      `${n(reference)}/s`,
      ours === undefined ? '' : `ours ${ratio(ours, reference)}`,
      '',
      '',
    );
  if (figures.c)
    row(
      'hand-written segment allocation (ceiling)',
      `${n(figures.c.rate.perSecond)}/s`,
      ours === undefined ? '' : `ours / ceiling ${(ours / figures.c.rate.perSecond).toFixed(2)}`,
      `agrees on every case`,
      check(figures.c.agree === figures.c.cases),
    );
  if (figures.b) {
    const { naive, reused } = figures.b;
    const agree = figures.b.agreeNaive === figures.b.cases && figures.b.agreeReused === figures.b.cases;
    row(
      'json-rules-engine direct, new Engine per case (naive)',
      `${n(naive.perSecond)}/s`,
      ours === undefined ? '' : `ours / naive ${ratio(ours, naive.perSecond)}`,
      'agrees on every case',
      check(agree),
    );
    row(
      'json-rules-engine direct, one Engine reused',
      `${n(reused.perSecond)}/s`,
      ours === undefined ? '' : `ours / reused ${ratio(ours, reused.perSecond)}`,
      `≥ ${TARGETS.overReused}×`,
      check(ours === undefined ? undefined : ours / reused.perSecond >= TARGETS.overReused),
    );
  }
  for (const run of figures.d ?? []) {
    const big = run.lines >= 1_000_000;
    const rss = run.peakRss === undefined ? 'peak RSS unknown' : `peak RSS ${mib(run.peakRss)}`;
    row(
      `triage ${n(run.lines)} lines (${n(run.corrupt)} corrupt)`,
      `${n(run.recordsPerSecond)} records/s, ${secs(run.wallMs)}, ${rss}`,
      `results ${n(run.results)}, errors ${n(run.errors)}${ownSummary(run.summary)}`,
      big ? `< ${secs(TARGETS.triageMs)}, < ${mib(TARGETS.triageRss)}, counts right` : 'counts right',
      check(run.countsAsExpected && (!big || (run.wallMs < TARGETS.triageMs && run.peakRss !== undefined && run.peakRss < TARGETS.triageRss))),
    );
  }
  for (const run of figures.e?.service ?? []) {
    const failed = run.errors + run.timeouts + run.non2xx;
    const bare = figures.e?.bare.find((b) => b.ruleSet === run.ruleSet);
    const overBare = bare ? run.requestsPerSecond / bare.requestsPerSecond : undefined;
    row(
      `HTTP ${run.ruleSet} evaluate (every edge)`,
      `${n(run.requestsPerSecond)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
      `errors ${run.errors}, timeouts ${run.timeouts}, non-2xx ${run.non2xx}`,
      `≥ ${n(TARGETS.httpRps)} req/s, p99 < ${TARGETS.httpP99} ms, 0 errors`,
      check(run.requestsPerSecond >= TARGETS.httpRps && run.p99 < TARGETS.httpP99 && failed === 0),
    );
    if (bare) {
      row(
        `HTTP ${run.ruleSet}, bare Express 5 route (no edges)`,
        `${n(bare.requestsPerSecond)} req/s, p50 ${bare.p50} ms, p99 ${bare.p99} ms`,
        `service / bare ${(overBare as number).toFixed(2)}`,
        `≥ ${TARGETS.overBare}`,
        check((overBare as number) >= TARGETS.overBare),
      );
    }
  }
  for (const run of figures.e?.batch ?? []) {
    const whole = run.decisions === run.lines && run.logged === run.lines;
    row(
      `evaluate-batch, ${n(run.lines)} segment allocations, explain=${run.explain}`,
      `${n(run.decisionsPerSecond)} decisions/s, ${secs(run.wallMs)}, ${mib(run.answerBytes)} answered`,
      `${n(run.decisions)} decided, ${n(run.logged)} in the decision log`,
      run.explain === 'none' ? `≥ ${n(TARGETS.batchPerSecond)}/s, every line logged` : 'every line logged',
      check(whole && (run.explain !== 'none' || run.decisionsPerSecond >= TARGETS.batchPerSecond)),
    );
  }
  say('| measure | result | ratio / detail | target | check |');
  say('|---|---|---|---|---|');
  for (const cells of rows) say(`| ${cells.join(' | ')} |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, seed: { type: 'string', default: '4242' } },
  });
  const only = (values.only ?? Object.keys(SECTIONS).join(',')).split(',').map((s) => s.trim());
  for (const s of only) if (!(s in SECTIONS)) throw new Error(`--only: unknown section "${s}" (sections: ${Object.keys(SECTIONS).join(', ')})`);
  const settings = benchSettings(values.quick === true, Number(values.seed));
  const cpus = os.cpus();
  say(`# ps-decision-service bench${settings.quick ? ' (--quick: development figures, not for docs/performance.md)' : ''}`);
  say(
    `${new Date().toISOString()}; node ${process.version}; ${os.platform()} ${os.release()} ${os.arch()}; ${cpus.length} × ${cpus[0]?.model ?? 'unknown cpu'}; available parallelism ${os.availableParallelism()}; ${mib(os.totalmem())} memory; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  say(
    `sections: ${only.join(', ')}; seed ${settings.seed}; ${n(settings.cases)} cases per rule set, ≥ ${secs(settings.minMs)} per measurement after ${secs(settings.warmMs)} warm-up`,
  );

  const registry = shippedRegistry();
  const figures: Figures = {};
  const section = async <K extends Section>(key: K, run: () => Figures[K] | Promise<Figures[K]>) => {
    if (!only.includes(key)) return;
    say('');
    say(`## (${key}) ${SECTIONS[key]}`);
    figures[key] = await run();
  };
  await section('a', () => inProcess(settings));
  await section('b', () => jsonRulesEngineBaselines(registry, settings));
  await section('c', () => handwrittenCeiling(registry, settings));
  await section('d', () => triageThroughput(settings));
  await section('e', () => httpThroughput(settings));

  say('');
  say('## Summary');
  say(`${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown cpu'}`);
  say('');
  summary(figures);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
