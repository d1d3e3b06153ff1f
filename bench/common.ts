// Shared by the bench scripts: output, number formatting, the shipped rules, prepared cases and timed loops.
import { backlogGenerator, DEFAULT_AS_OF } from '../fixtures/backlog';
import { caseGenerator } from '../fixtures/generator';
import type { CompiledRuleSet } from '../src/engine/compile';
import { referenceFactMap } from '../src/engine/evaluate';
import { checkCaseFacts, requireFacts, type CaseFacts } from '../src/facts/validate';
import { defaultRulesDirectory, loadRules, type RuleRegistry, type RuleSetVersions } from '../src/loader/load';
import { RULE_SET_MODULES } from '../src/rulesets';
import { now } from '../test/support/report';

// Printing and the free port are shared with the system scripts in test/system/, which must not import the bench.
export { freePort } from '../test/support/net';
export { mib, n, now, ratio, say, secs } from '../test/support/report';

export function shippedRegistry(): RuleRegistry {
  return loadRules(defaultRulesDirectory(), { modules: RULE_SET_MODULES });
}

export interface PreparedCase {
  version: CompiledRuleSet;
  facts: CaseFacts;
  asOf: string;
  /** The facts as a request sends them, before any default is filled in: what summary.changes writes its patches on. */
  sent: unknown;
}

/**
 * The rule sets triage runs over referral backlogs: they are measured on realistic referrals
 * (fixtures/backlog.ts, as of the backlog's date). The others read case-management facts a
 * referral does not have, so they are measured on fixtures/generator.ts's varied cases.
 */
const BACKLOG_RULE_SETS = new Set(['direct-referral', 'segment-allocation']);

function generatorFor(rules: RuleSetVersions, seed: number): () => { asOf: string; facts: unknown } {
  if (!BACKLOG_RULE_SETS.has(rules.name)) return caseGenerator(seed);
  const next = backlogGenerator(seed, { asOf: DEFAULT_AS_OF });
  return () => ({ asOf: DEFAULT_AS_OF, facts: next().facts });
}

/**
 * Generated cases, validated (defaults filled in) and given the version in force on their date, all
 * outside any timed loop. Each goes through JSON first, as every real input does, so its strings
 * are laid out as parsed input's are.
 */
export function prepareCases(rules: RuleSetVersions, count: number, seed: number): PreparedCase[] {
  const next = generatorFor(rules, seed);
  const cases: PreparedCase[] = [];
  while (cases.length < count) {
    const { asOf, facts } = next();
    const version = rules.inForceOn(asOf);
    if (!version) continue;
    const text = JSON.stringify(facts);
    const checked = checkCaseFacts(JSON.parse(text), { copy: false });
    requireFacts(checked, rules.name, version.file.requires);
    cases.push({ version, facts: checked, asOf, sent: JSON.parse(text) });
  }
  return cases;
}

/** The fact map json-rules-engine receives from our reference evaluator. */
export const factMapFor = referenceFactMap;

export interface Rate {
  count: number;
  ms: number;
  perSecond: number;
}

/**
 * Calls `run(i)` for i = 0, 1, 2 … (the caller cycles its inputs) for a warm-up, then for at least
 * `minMs` and at least `minCount` calls, checking the clock every `batch` calls.
 */
export function timeSync(
  run: (i: number) => void,
  { warmMs, minMs, minCount = 0, batch = 256 }: { warmMs: number; minMs: number; minCount?: number; batch?: number },
): Rate {
  let i = 0;
  for (const start = now(); now() - start < warmMs;) for (let b = 0; b < batch; b += 1) run(i++);
  let count = 0;
  const start = now();
  let ms: number;
  do {
    for (let b = 0; b < batch; b += 1) run(i++);
    count += batch;
    ms = now() - start;
  } while (ms < minMs || count < minCount);
  return { count, ms, perSecond: (count / ms) * 1000 };
}

/** timeSync for asynchronous calls, awaited one at a time. */
export async function timeAsync(
  run: (i: number) => Promise<void>,
  { warmMs, minMs, minCount = 0, batch = 16 }: { warmMs: number; minMs: number; minCount?: number; batch?: number },
): Promise<Rate> {
  let i = 0;
  for (const start = now(); now() - start < warmMs;) for (let b = 0; b < batch; b += 1) await run(i++);
  let count = 0;
  const start = now();
  let ms: number;
  do {
    for (let b = 0; b < batch; b += 1) await run(i++);
    count += batch;
    ms = now() - start;
  } while (ms < minMs || count < minCount);
  return { count, ms, perSecond: (count / ms) * 1000 };
}
