// (c) The ceiling: the hand-written segment allocation on the same validated cases. It must agree with
// ours on every case, or the bench stops: a ceiling that decides differently measures nothing.
import { decide } from '../src/engine/evaluate';
import type { RuleRegistry } from '../src/loader/load';
import { handwrittenSegment } from './handwritten-segment';
import { n, prepareCases, say, timeSync, type PreparedCase, type Rate } from './common';
import type { BenchSettings } from './settings';

export interface CeilingFigures {
  rate: Rate;
  cases: number;
  agree: number;
}

export function handwrittenCeiling(registry: RuleRegistry, settings: BenchSettings): CeilingFigures {
  const rules = registry.ruleSets.get('segment-allocation');
  if (!rules) throw new Error('no segment-allocation rule set');
  const cases = prepareCases(rules, settings.cases, settings.seed);
  let agree = 0;
  let firstDifference: string | undefined;
  for (const c of cases) {
    const ours = decide(c.version, c.facts, c.asOf).outcome.segment;
    const handwritten = handwrittenSegment(c.facts, c.asOf);
    if (ours === handwritten) agree += 1;
    else firstDifference ??= `asOf ${c.asOf}: ours ${String(ours)}, hand-written ${handwritten}, facts ${JSON.stringify(c.facts)}`;
  }
  say(`hand-written segment agrees with ours on ${n(agree)} of ${n(cases.length)} cases`);
  if (firstDifference)
    throw new Error(`the hand-written segment allocation disagrees with ours on ${n(cases.length - agree)} cases; first: ${firstDifference}`);
  let sink = 0;
  const rate = timeSync(
    (i) => {
      const c = cases[i % cases.length] as PreparedCase;
      sink += handwrittenSegment(c.facts, c.asOf);
    },
    { warmMs: settings.warmMs, minMs: settings.minMs, minCount: cases.length, batch: 1024 },
  );
  if (sink === 0) throw new Error('unreachable');
  say(`hand-written segment allocation: ${n(rate.perSecond)}/s`);
  return { rate, cases: cases.length, agree };
}
