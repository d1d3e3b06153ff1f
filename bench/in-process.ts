// (a) Single evaluations per second in one process: compiled decide() with its full explanation, and
// the reference evaluator (json-rules-engine through our pool), for every rule set.
import { decide, evaluate } from '../src/engine/evaluate';
import type { RuleRegistry } from '../src/loader/load';
import { n, prepareCases, say, timeAsync, timeSync, type PreparedCase, type Rate } from './common';
import type { BenchSettings } from './settings';

export interface InProcessFigures {
  compiled: Record<string, Rate>;
  reference: Record<string, Rate>;
}

export async function inProcess(registry: RuleRegistry, settings: BenchSettings): Promise<InProcessFigures> {
  const figures: InProcessFigures = { compiled: {}, reference: {} };
  say(`| rule set | cases | compiled decide()/s | reference/s | compiled / reference |`);
  say(`|---|---:|---:|---:|---:|`);
  for (const rules of registry.ruleSets.values()) {
    const cases: PreparedCase[] = prepareCases(rules, settings.cases, settings.seed);
    let sink = 0;
    const compiled = timeSync(
      (i) => {
        const c = cases[i % cases.length] as PreparedCase;
        sink += decide(c.version, c.facts, c.asOf).explanation.length;
      },
      { warmMs: settings.warmMs, minMs: settings.minMs },
    );
    const reference = await timeAsync(
      async (i) => {
        const c = cases[i % cases.length] as PreparedCase;
        sink += (await evaluate(c.version, c.facts, c.asOf, 'reference')).explanation.length;
      },
      { warmMs: settings.warmMs, minMs: settings.minMs },
    );
    if (sink === 0) throw new Error(`${rules.name}: no rule weighed in any evaluation`);
    figures.compiled[rules.name] = compiled;
    figures.reference[rules.name] = reference;
    say(
      `| ${rules.name} | ${n(cases.length)} | ${n(compiled.perSecond)} | ${n(reference.perSecond)} | ${(compiled.perSecond / reference.perSecond).toFixed(0)}× |`,
    );
  }
  return figures;
}
