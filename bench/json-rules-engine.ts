// (b) The baselines: segment allocation through json-rules-engine used directly, given the fact map
// our evaluator builds (flattened CaseFacts, derived facts, param: facts), prepared outside the timed
// loop. Naive: a new Engine with every rule added for each case. Reused: one Engine, run() per case.
// Every case's segment is checked against ours.
import { Engine, type EngineResult } from 'json-rules-engine';
import { decide } from '../src/engine/evaluate';
import { addCustomOperators } from '../src/engine/operators';
import type { FactMap, RuleDefinition } from '../src/engine/types';
import type { RuleRegistry } from '../src/loader/load';
import { factMapFor, n, prepareCases, say, timeAsync, type Rate } from './common';
import type { BenchSettings } from './settings';

export interface BaselineFigures {
  naive: Rate;
  reused: Rate;
  cases: number;
  agreeNaive: number;
  agreeReused: number;
}

function engineWith(rules: readonly RuleDefinition[]): Engine {
  // The options and operators our reference evaluator gives its Engines (src/engine/compile.ts).
  const engine = new Engine([], { allowUndefinedFacts: false, allowUndefinedConditions: false });
  addCustomOperators(engine);
  // json-rules-engine copies what it needs from a rule definition and does not change it.
  for (const rule of rules) engine.addRule({ name: rule.name, conditions: rule.conditions, event: rule.event, priority: rule.priority ?? 1 });
  return engine;
}

/** The segment-allocation priority order (src/rulesets/segment-allocation.ts) over the events that fired. */
function segmentOf({ events }: EngineResult): number {
  const indicated = new Set(events.map((event) => event.params?.segment as number));
  return indicated.has(3) ? 3 : indicated.has(1) && !indicated.has(2) ? 1 : 2;
}

export async function jsonRulesEngineBaselines(registry: RuleRegistry, settings: BenchSettings): Promise<BaselineFigures> {
  const rules = registry.ruleSets.get('segment-allocation');
  if (!rules) throw new Error('no segment-allocation rule set');
  const cases = prepareCases(rules, settings.cases, settings.seed);
  const maps: FactMap[] = cases.map((c) => factMapFor(c.version, c.facts, c.asOf));
  const ours = cases.map((c) => decide(c.version, c.facts, c.asOf).outcome.segment as number);
  const ruleDefinitions = rules.latest.file.rules;
  say(`${n(cases.length)} cases; fact maps built before timing (our compiled path builds its own inside the timed loop)`);
  if (rules.versions.length > 1) say("  (segment-allocation has several versions: the baselines use the latest version's rules)");

  // Each case must be run at least once, and agree: agreed[i] stays true only if every run of case i agreed.
  const measure = async (engineFor: () => Engine): Promise<{ rate: Rate; agree: number }> => {
    const agreed = new Array<boolean>(cases.length).fill(true);
    const rate = await timeAsync(
      async (i) => {
        const k = i % cases.length;
        if (segmentOf(await engineFor().run(maps[k] as FactMap)) !== ours[k]) agreed[k] = false;
      },
      { warmMs: settings.warmMs, minMs: settings.minMs, minCount: cases.length },
    );
    return { rate, agree: agreed.filter(Boolean).length };
  };

  const naive = await measure(() => engineWith(ruleDefinitions));
  say(
    `naive (new Engine + ${ruleDefinitions.length} addRule + run, per case): ${n(naive.rate.perSecond)}/s; segment agrees with ours on ${n(naive.agree)} of ${n(cases.length)} cases`,
  );
  const engine = engineWith(ruleDefinitions);
  const reused = await measure(() => engine);
  say(`reused (one Engine, run() per case): ${n(reused.rate.perSecond)}/s; segment agrees with ours on ${n(reused.agree)} of ${n(cases.length)} cases`);
  if (naive.agree !== cases.length || reused.agree !== cases.length) say('  WARNING: json-rules-engine used directly disagrees with our segment on some cases');
  return { naive: naive.rate, reused: reused.rate, cases: cases.length, agreeNaive: naive.agree, agreeReused: reused.agree };
}
