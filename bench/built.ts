// The service's modules as they ship: compiled by `npm run build` into dist/, which `npm start`, the CLI and triage's
// workers run. The bench's own scripts run under tsx, which compiles src/ on the fly with esbuild's keepNames: every
// function made at run time (the summary's closures, say) is wrapped by a call to `__name`. Timed that way, the
// summary of a segment allocation took 6.0 µs against 3.9 µs on dist/ (2026-12-02, the same cases back to back), so
// section (a) times dist/'s modules. Their types are src/'s: dist/ is built from it, by `npm run bench` itself.
import path from 'node:path';
import type * as DecisionJson from '../src/api/decision-json';
import type * as Evaluate from '../src/engine/evaluate';
import type * as Reasons from '../src/engine/reasons';
import type * as Summary from '../src/engine/summary';
import type * as Load from '../src/loader/load';
import type * as RuleSets from '../src/rulesets';

const DIST = path.join(__dirname, '..', 'dist', 'src');

async function built<T>(module: string): Promise<T> {
  return (await import(path.join(DIST, `${module}.js`))) as T;
}

export interface BuiltEngine {
  evaluate: typeof Evaluate;
  reasons: typeof Reasons;
  summary: typeof Summary;
  decisionJson: typeof DecisionJson;
  /** The shipped rules, loaded by dist/'s loader with dist/'s modules: every rule compiled as the service compiles it. */
  registry: Load.RuleRegistry;
}

export async function builtEngine(): Promise<BuiltEngine> {
  const load = await built<typeof Load>('loader/load');
  const ruleSets = await built<typeof RuleSets>('rulesets/index');
  return {
    evaluate: await built<typeof Evaluate>('engine/evaluate'),
    reasons: await built<typeof Reasons>('engine/reasons'),
    summary: await built<typeof Summary>('engine/summary'),
    decisionJson: await built<typeof DecisionJson>('api/decision-json'),
    registry: load.loadRules(load.defaultRulesDirectory(), { modules: ruleSets.RULE_SET_MODULES }),
  };
}
