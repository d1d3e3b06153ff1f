// Impact analysis: the same cases under two sets of rules — which outcomes change, and which rules' results changed.
import { isDeepStrictEqual } from 'node:util';
import { evaluate } from '../engine/evaluate';
import { DecisionError } from '../errors';
import { parseEvaluateRequest } from '../facts/validate';
import type { RuleRegistry } from '../loader/load';
import { attribute, type Attribution, type Side } from './attribution';

export interface ImpactCase {
  id: string;
  ruleSet: string;
  asOf: string;
  facts: Record<string, unknown>;
}

export interface CaseChange {
  id: string;
  ruleSet: string;
  asOf: string;
  versions: { base: string; changed: string };
  /** Outcome fields whose value differs. */
  fields: { field: string; base: unknown; changed: unknown }[];
  /** Rules whose fired/not-fired result differs, or that exist in only one version. */
  rules: { rule: string; base: boolean | null; changed: boolean | null }[];
  /** Why: the parameters and rules that changed (old → new) and the customer's entries that met them. */
  because: Attribution;
}

export interface ImpactReport {
  cases: number;
  unchanged: number;
  changed: CaseChange[];
  /** Cases refused (invalid facts, no version in force) under either rule set, with the reason. */
  refused: { id: string; ruleSet: string; base: string | null; changed: string | null }[];
  /** "<ruleSet> <field>: <base> → <changed>" → how many cases. */
  counts: Record<string, number>;
}

/** Decides a case under one set of rules: the deciding version, the facts it read and its decision, or why it was refused. */
export async function decideCase(registry: RuleRegistry, c: ImpactCase): Promise<Side | string> {
  try {
    const versions = registry.ruleSets.get(c.ruleSet);
    if (!versions) return `no rule set ${c.ruleSet}`;
    const ruleSet = versions.resolve(c.asOf);
    const request = parseEvaluateRequest({ asOf: c.asOf, facts: c.facts }, c.ruleSet, ruleSet.file.requires);
    return { ruleSet, facts: request.facts, decision: await evaluate(ruleSet, request.facts, c.asOf) };
  } catch (error) {
    if (error instanceof DecisionError) return `${error.message} ${error.issues.map((i) => `${i.pointer} ${i.message}`).join('; ')}`.trim();
    throw error;
  }
}

const brief = (value: unknown) => JSON.stringify(value);

export async function impactOf(base: RuleRegistry, changed: RuleRegistry, cases: Iterable<ImpactCase> | AsyncIterable<ImpactCase>): Promise<ImpactReport> {
  const report: ImpactReport = { cases: 0, unchanged: 0, changed: [], refused: [], counts: {} };
  for await (const c of cases) {
    report.cases += 1;
    const beforeSide = await decideCase(base, c);
    const afterSide = await decideCase(changed, c);
    const before = typeof beforeSide === 'string' ? beforeSide : beforeSide.decision;
    const after = typeof afterSide === 'string' ? afterSide : afterSide.decision;
    if (typeof before === 'string' || typeof after === 'string') {
      if (typeof before === 'string' && typeof after === 'string' && before === after) {
        report.unchanged += 1;
      }
      report.refused.push({
        id: c.id,
        ruleSet: c.ruleSet,
        base: typeof before === 'string' ? before : null,
        changed: typeof after === 'string' ? after : null,
      });
      continue;
    }
    const fields = [...new Set([...Object.keys(before.outcome), ...Object.keys(after.outcome)])]
      .filter((field) => !isDeepStrictEqual(before.outcome[field], after.outcome[field]))
      .map((field) => ({ field, base: before.outcome[field], changed: after.outcome[field] }));
    if (fields.length === 0) {
      report.unchanged += 1;
      continue;
    }
    const firedBefore = new Map(before.explanation.map((r) => [r.rule, r.fired]));
    const firedAfter = new Map(after.explanation.map((r) => [r.rule, r.fired]));
    const rules = [...new Set([...firedBefore.keys(), ...firedAfter.keys()])]
      .filter((rule) => firedBefore.get(rule) !== firedAfter.get(rule))
      .map((rule) => ({ rule, base: firedBefore.get(rule) ?? null, changed: firedAfter.get(rule) ?? null }));
    report.changed.push({
      id: c.id,
      ruleSet: c.ruleSet,
      asOf: c.asOf,
      versions: { base: before.version, changed: after.version },
      fields,
      rules,
      because: attribute(beforeSide as Side, afterSide as Side),
    });
    for (const f of fields) {
      const key = `${c.ruleSet} ${f.field}: ${brief(f.base)} → ${brief(f.changed)}`;
      report.counts[key] = (report.counts[key] ?? 0) + 1;
    }
  }
  return report;
}
