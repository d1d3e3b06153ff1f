// (a) Single evaluations per second in one process: compiled decide() with its full explanation, and
// the reference evaluator (json-rules-engine through our pool), for every rule set. Then what a summary adds
// (engine/summary.ts): the summary only (the verdict, its reasons, the facts assumed), and the summary with holdsUntil
// and changes (decideSummary, what ?explain=summary computes), with the summary HTTP answer's median size. All of it on
// the built modules the service runs (built.ts says why).
import { gzipSync } from 'node:zlib';
import { builtEngine } from './built';
import { n, prepareCases, say, timeAsync, timeSync, type PreparedCase, type Rate } from './common';
import type { BenchSettings } from './settings';

export interface SummaryFigures {
  /** The summary only: the verdict, its reasons (only the deciding rules explained) and the facts assumed. */
  reasons: Rate;
  /** The summary with holdsUntil and changes: what ?explain=summary computes (decideSummary). */
  withChanges: Rate;
  /** The summary HTTP answer (summaryDecisionJson), median bytes over the prepared cases. */
  medianBytes: number;
  /** The same answers gzipped as the service sends them to a client that accepts gzip (compression's zlib defaults): median bytes. */
  medianGzipBytes: number;
}

export interface InProcessFigures {
  compiled: Record<string, Rate>;
  reference: Record<string, Rate>;
  summary: Record<string, SummaryFigures>;
}

const µs = (rate: Rate) => (1e6 / rate.perSecond).toFixed(1);

/** Times the built service's modules (dist/, see built.ts), on the shipped rules as its loader compiles them. */
export async function inProcess(settings: BenchSettings): Promise<InProcessFigures> {
  const { evaluate: engine, reasons: explained, summary: summaries, decisionJson, registry } = await builtEngine();
  const { decide, decideRun, evaluate } = engine;
  const { summaryAssumed, summaryReasons } = explained;
  const { decideSummary } = summaries;
  const { summaryDecisionJson } = decisionJson;
  const figures: InProcessFigures = { compiled: {}, reference: {}, summary: {} };
  const prepared = new Map<string, PreparedCase[]>();
  const timing = { warmMs: settings.warmMs, minMs: settings.minMs };
  say(`| rule set | cases | compiled decide()/s | reference/s | compiled / reference |`);
  say(`|---|---:|---:|---:|---:|`);
  for (const rules of registry.ruleSets.values()) {
    const cases: PreparedCase[] = prepareCases(rules, settings.cases, settings.seed);
    prepared.set(rules.name, cases);
    let sink = 0;
    const compiled = timeSync((i) => {
      const c = cases[i % cases.length] as PreparedCase;
      sink += decide(c.version, c.facts, c.asOf).explanation.length;
    }, timing);
    const reference = await timeAsync(async (i) => {
      const c = cases[i % cases.length] as PreparedCase;
      sink += (await evaluate(c.version, c.facts, c.asOf, 'reference')).explanation.length;
    }, timing);
    if (sink === 0) throw new Error(`${rules.name}: no rule weighed in any evaluation`);
    figures.compiled[rules.name] = compiled;
    figures.reference[rules.name] = reference;
    say(
      `| ${rules.name} | ${n(cases.length)} | ${n(compiled.perSecond)} | ${n(reference.perSecond)} | ${(compiled.perSecond / reference.perSecond).toFixed(0)}× |`,
    );
  }

  say('');
  say(
    'The summary (engine/summary.ts): alone (the verdict, its reasons and the facts assumed), and with holdsUntil and changes (decideSummary, as ?explain=summary answers).',
  );
  say('');
  say(
    `| rule set | decide() explained /s (µs) | summary only /s (µs) | summary with holdsUntil and changes /s (µs) | summary answer, median bytes (gzipped) |`,
  );
  say(`|---|---:|---:|---:|---:|`);
  for (const rules of registry.ruleSets.values()) {
    const cases = prepared.get(rules.name) as PreparedCase[];
    let sink = 0;
    const reasons = timeSync((i) => {
      const c = cases[i % cases.length] as PreparedCase;
      const { verdict, run } = decideRun(c.version, c.facts, c.asOf);
      sink += summaryReasons(run, c.facts).length + summaryAssumed(c.version, verdict).length;
    }, timing);
    const withChanges = timeSync((i) => {
      const c = cases[i % cases.length] as PreparedCase;
      sink += decideSummary(rules, c.version, c.facts, c.asOf, c.sent).summary.changes?.length ?? 0;
    }, timing);
    if (sink === 0) throw new Error(`${rules.name}: no summary gave a reason or a change`);
    const answers = cases.map((c, i) =>
      Buffer.from(summaryDecisionJson({ ...decideSummary(rules, c.version, c.facts, c.asOf, c.sent), evaluator: 'compiled' }, `bench-${i}`)),
    );
    const median = (sizes: number[]) => sizes.sort((a, b) => a - b)[Math.floor(sizes.length / 2)] as number;
    const medianBytes = median(answers.map((answer) => answer.length));
    const medianGzipBytes = median(answers.map((answer) => gzipSync(answer).length));
    figures.summary[rules.name] = { reasons, withChanges, medianBytes, medianGzipBytes };
    const compiled = figures.compiled[rules.name] as Rate;
    say(
      `| ${rules.name} | ${n(compiled.perSecond)} (${µs(compiled)}) | ${n(reasons.perSecond)} (${µs(reasons)}) | ${n(withChanges.perSecond)} (${µs(withChanges)}) | ${n(medianBytes)} (${n(medianGzipBytes)}) |`,
    );
  }
  return figures;
}
