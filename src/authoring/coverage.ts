// How well the fixtures exercise the rules: for each rule and condition, how many cases made it true and false.
import type { ConditionExplanation } from '../engine/explain';
import type { Decision } from '../engine/evaluate';
import type { RuleFile } from '../engine/types';

export interface Tally {
  true: number;
  false: number;
}

export interface RuleCoverage {
  rule: string;
  fired: number;
  failed: number;
  /** Keyed by the condition's place in the rule, e.g. "all/0" or "any/1/all/0", with its fact. */
  conditions: Record<string, Tally & { fact: string }>;
}

function walk(condition: ConditionExplanation, at: string[], into: RuleCoverage['conditions']): void {
  if ('all' in condition) condition.all.forEach((c, i) => walk(c, [...at, 'all', String(i)], into));
  else if ('any' in condition) condition.any.forEach((c, i) => walk(c, [...at, 'any', String(i)], into));
  else if ('not' in condition) walk(condition.not, [...at, 'not'], into);
  else {
    const tally = (into[at.join('/')] ??= { fact: condition.fact, true: 0, false: 0 });
    if (condition.result === true) tally.true += 1;
    if (condition.result === false) tally.false += 1;
  }
}

export function coverageOf(file: RuleFile, decisions: readonly Decision[]): RuleCoverage[] {
  const byRule = new Map<string, RuleCoverage>(file.rules.map((r) => [r.name, { rule: r.name, fired: 0, failed: 0, conditions: {} }]));
  for (const decision of decisions) {
    for (const explained of decision.explanation) {
      const coverage = byRule.get(explained.rule);
      if (!coverage) continue;
      if (explained.fired) coverage.fired += 1;
      else coverage.failed += 1;
      walk(explained.conditions, [], coverage.conditions);
    }
  }
  return [...byRule.values()];
}

/** A rule that never fires or never fails in its fixtures is untested in one direction. */
export function gaps(coverage: readonly RuleCoverage[]): string[] {
  return coverage.flatMap((c) => [...(c.fired === 0 ? [`${c.rule} never fires`] : []), ...(c.failed === 0 ? [`${c.rule} never fails`] : [])]);
}
