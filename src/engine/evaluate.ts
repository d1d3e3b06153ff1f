// Evaluation: facts, an as-of date and a compiled rule set in; an explained outcome out. No clock, no I/O.
import type { RuleResult } from 'json-rules-engine';
import type { HolidayCalendar } from '../dates/calendar';
import type { CaseFacts } from '../facts/validate';
import type { CompiledRuleSet, OutcomeContext, RuleSubset } from './compile';
import type { CompiledRule } from './compiled';
import { explainRule, type ComputedDate, type RuleExplanation } from './explain';
import { unconfirmedFor, type UnconfirmedInterpretation } from './interpretations';
import type { EnginePool } from './pool';
import type { Summary } from './summary';
import type { DefaultApplied, FactMap, RuleDefinition, RuleFile } from './types';

export interface Decision {
  ruleSet: string;
  version: string;
  /** The period the deciding version is in force: its rule file's effectiveFrom and effectiveTo. */
  effective: { from: string | null; to: string | null };
  asOf: string;
  /** Which evaluator decided: the compiled fast path or json-rules-engine itself. */
  evaluator: Evaluator;
  outcome: Record<string, unknown>;
  /**
   * What a caseworker reads first (summary.ts): the reasons in a few lines, until when the verdict holds, what would
   * change it, the facts assumed. Added after the rules have run, by whoever asks for it (the API, the CLI); absent
   * from a decision no one summarised. Its place here is its place in the answer's JSON.
   */
  summary?: Summary;
  /** Each fact the request left out that the deciding version's rule file declares a default for, with the value taken. */
  defaultsApplied: readonly DefaultApplied[];
  /**
   * Each reading of the procedure the decision relied on that policy staff have not confirmed (interpretations.ts):
   * on a weighed rule, a parameter or derived fact its conditions or the outcome builder read, or a fact default applied.
   */
  unconfirmedInterpretations: readonly UnconfirmedInterpretation[];
  explanation: RuleExplanation[];
  derivedFacts: Record<string, unknown>;
  parameters: Readonly<Record<string, unknown>>;
}

/**
 * Which evaluator decides: `compiled` (the fast path, closures from the same rule JSON) or
 * `reference` (the unmodified json-rules-engine), for an auditor reproducing a decision.
 */
export type Evaluator = 'compiled' | 'reference';

/**
 * Decides one case. Every fact is computed before json-rules-engine runs (none is asynchronous),
 * and the run has an Engine to itself, so concurrent evaluations cannot disturb one another.
 * `facts` must already be validated (facts/validate.ts) so defaults are filled in.
 */
export async function evaluate(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string, evaluator: Evaluator = 'compiled'): Promise<Decision> {
  if (evaluator === 'compiled') return decide(ruleSet, facts, asOf);
  const factMap = factsFor(ruleSet, facts, asOf);
  withParameters(ruleSet, factMap.facts);
  const { rules, pool, relied } = ruleSet.subsetFor(factMap.facts);
  const explanation = await referenceRun(rules, pool, factMap.facts, ruleSet.labels);
  return decision(ruleSet, asOf, 'reference', factMap, rules, relied, explanation);
}

/** The compiled evaluator, synchronously: what batch triage and the hot path call. */
export function decide(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string): Decision {
  const factMap = factsFor(ruleSet, facts, asOf);
  const { rules, runAll, relied } = ruleSet.subsetFor(factMap.facts);
  const explanation = runAll(factMap.facts);
  return decision(ruleSet, asOf, 'compiled', factMap, rules, relied, explanation);
}

/** json-rules-engine reads parameters as facts ("param:multiple"); the compiled rules hold them already. */
function withParameters(ruleSet: CompiledRuleSet, factMap: FactMap): FactMap {
  return Object.assign(factMap, ruleSet.parameterFacts);
}

/** The fact map json-rules-engine receives for a case: flattened CaseFacts, derived facts, `param:` facts. */
export function referenceFactMap(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string): FactMap {
  return withParameters(ruleSet, factsFor(ruleSet, facts, asOf).facts);
}

/** A decision without its explanation: the outcome, and which rules fired. */
export type Verdict = Omit<Decision, 'explanation' | 'evaluator' | 'unconfirmedInterpretations'> & { fired: string[] };

/**
 * The compiled evaluator without the explanation: the same outcome and fired rules as decide()
 * (test/engine/differential.test.ts checks so), for batch triage without --explain.
 */
export function decideVerdict(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string): Verdict {
  const prepared = factsFor(ruleSet, facts, asOf);
  const { rules, runVerdicts } = ruleSet.subsetFor(prepared.facts);
  const results = runVerdicts(prepared.facts);
  const fired: string[] = [];
  for (let i = 0; i < rules.length; i += 1) if (results[i]) fired.push((rules[i] as RuleDefinition).name);
  return verdictOf(ruleSet, asOf, prepared, rules, new Set(fired), fired);
}

/**
 * A case as a version read and decided it, kept for what is worked out from it after the rules have run (summary.ts):
 * the fact map the rules read, which rules were weighed and which fired, the outcome, and each weighed rule's
 * explanation on demand.
 */
export interface CaseRun {
  ruleSet: CompiledRuleSet;
  asOf: string;
  /** Flattened, the rule file's defaults filled in, the derived facts computed as of asOf. Its owner may change it. */
  factMap: FactMap;
  subset: RuleSubset;
  /** Whether each weighed rule (subset.rules) fired. */
  results: readonly boolean[];
  fired: ReadonlySet<string>;
  outcome: Record<string, unknown>;
  /**
   * Each fact the outcome builder read to give `outcome`, with its value (path, value, path, value …: outcomeOf's
   * `reads`), when the run kept them: summary.changes knows from it which changes can move the outcome without
   * building it again.
   */
  read?: readonly unknown[];
  /** A weighed rule's explanation (undefined for a rule not weighed): the decision's own, or worked out for it alone. */
  explained(rule: string): RuleExplanation | undefined;
}

/**
 * decideVerdict, keeping the case as it was read and decided: for the summary of a decision given without its
 * explanation (?explain=summary), which reads the few rules that decided it and no more.
 */
export function decideRun(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string): { verdict: Verdict; run: CaseRun } {
  const prepared = factsFor(ruleSet, facts, asOf);
  const subset = ruleSet.subsetFor(prepared.facts);
  const { rules } = subset;
  const results = subset.runVerdicts(prepared.facts);
  const fired: string[] = [];
  for (let i = 0; i < rules.length; i += 1) if (results[i]) fired.push((rules[i] as RuleDefinition).name);
  const firedSet = new Set(fired);
  const context = new CaseContext(ruleSet, asOf, prepared.facts, rules, firedSet, false);
  const read: unknown[] = [];
  context.reads = read;
  const verdict = verdictOf(ruleSet, asOf, prepared, rules, firedSet, fired, context);
  const run: CaseRun = {
    ruleSet,
    asOf,
    factMap: prepared.facts,
    subset,
    results,
    fired: firedSet,
    outcome: verdict.outcome,
    read,
    explained(rule) {
      const index = rules.findIndex((r) => r.name === rule);
      return index < 0 ? undefined : (subset.explainers[index] as CompiledRule)(prepared.facts);
    },
  };
  return { verdict, run };
}

/**
 * The case run of an explained decision (either evaluator's), read again from its facts: the same fact map and rules
 * weighed, which rules fired as the decision says, and the decision's own explanation of each.
 */
export function runOf(ruleSet: CompiledRuleSet, facts: CaseFacts, decision: Pick<Decision, 'asOf' | 'outcome' | 'explanation'>): CaseRun {
  const { facts: factMap } = factsFor(ruleSet, facts, decision.asOf);
  const subset = ruleSet.subsetFor(factMap);
  const fired = new Set<string>();
  for (const entry of decision.explanation) if (entry.fired) fired.add(entry.rule);
  return {
    ruleSet,
    asOf: decision.asOf,
    factMap,
    subset,
    results: subset.rules.map((rule) => fired.has(rule.name)),
    fired,
    outcome: decision.outcome,
    explained: (rule) => decision.explanation.find((entry) => entry.rule === rule),
  };
}

/**
 * The outcome alone from a fact map this version has read (flattened, its defaults filled in, its derived facts computed
 * as of `asOf`): decideVerdict's outcome, for holds-until.ts, which reads a case once and decides it on several days.
 */
export function outcomeFrom(ruleSet: CompiledRuleSet, factMap: FactMap, asOf: string): Record<string, unknown> {
  const { rules, runVerdicts } = ruleSet.subsetFor(factMap);
  const results = runVerdicts(factMap);
  const fired = new Set<string>();
  for (let i = 0; i < rules.length; i += 1) if (results[i]) fired.add((rules[i] as RuleDefinition).name);
  return ruleSet.buildOutcome(new CaseContext(ruleSet, asOf, factMap, rules, fired, false));
}

/**
 * The outcome of a case whose weighed rules `rules` fired as `fired` says, on a fact map this version has read: for
 * summary.changes, which decides a changed case again by the few rules a change can move. `reads`, when given,
 * collects each fact the outcome builder read with its value (path, value, path, value …): with the same rules fired
 * and those values, the builder gives the same outcome.
 */
export function outcomeOf(
  ruleSet: CompiledRuleSet,
  factMap: FactMap,
  asOf: string,
  rules: readonly RuleDefinition[],
  fired: ReadonlySet<string>,
  reads?: unknown[],
): Record<string, unknown> {
  const context = new CaseContext(ruleSet, asOf, factMap, rules, fired, false);
  context.reads = reads;
  return ruleSet.buildOutcome(context);
}

interface PreparedFacts {
  facts: FactMap;
  derivedFacts: Record<string, unknown>;
  defaultsApplied: readonly DefaultApplied[];
}

/** The case as this version reads it: flattened, the rule file's defaults filled in, then the derived facts computed. */
function factsFor(ruleSet: CompiledRuleSet, facts: CaseFacts, asOf: string): PreparedFacts {
  const factMap = ruleSet.flatten(facts);
  const defaultsApplied = ruleSet.applyDefaults(factMap);
  return { facts: factMap, derivedFacts: ruleSet.deriveAll(factMap, asOf), defaultsApplied };
}

/** What an outcome builder sees of one case: a class, so a case costs one object and no closures. */
class CaseContext implements OutcomeContext {
  readonly file: RuleFile;
  readonly calendar: HolidayCalendar;
  /** The dates the builder explained, as rule name, entry, rule name, entry …; undefined until one is (or when not explaining). */
  dates: (string | ComputedDate)[] | undefined;
  /** When set, each fact the builder reads is added to it, as path, value, path, value … (outcomeOf). */
  reads: unknown[] | undefined;

  constructor(
    private readonly ruleSet: CompiledRuleSet,
    readonly asOf: string,
    private readonly facts: FactMap,
    readonly weighed: readonly RuleDefinition[],
    readonly fired: ReadonlySet<string>,
    private readonly explaining: boolean,
  ) {
    this.file = ruleSet.file;
    this.calendar = ruleSet.calendar;
  }

  explainDate(rule: string, computed: ComputedDate): void {
    if (this.explaining) (this.dates ??= []).push(rule, computed);
  }

  fact(path: string): unknown {
    if (!(path in this.facts)) throw new Error(`the ${this.ruleSet.name} outcome reads ${path}, which its module does not declare in facts`);
    const value = this.facts[path];
    if (this.reads) this.reads.push(path, value);
    return value;
  }

  param<T = unknown>(name: string): T {
    const parameters = this.ruleSet.parameterValues;
    if (!(name in parameters)) throw new Error(`rule set ${this.ruleSet.name} has no parameter ${name}`);
    return parameters[name] as T;
  }
}

/** What every decision says, explained or not: which version, as of when, the outcome, the facts derived. */
function decided(
  ruleSet: CompiledRuleSet,
  asOf: string,
  { facts, derivedFacts, defaultsApplied }: PreparedFacts,
  rules: readonly RuleDefinition[],
  fired: ReadonlySet<string>,
  context = new CaseContext(ruleSet, asOf, facts, rules, fired, false),
) {
  return {
    ruleSet: ruleSet.name,
    version: ruleSet.version,
    effective: { from: ruleSet.effectiveFrom, to: ruleSet.effectiveTo },
    asOf,
    outcome: ruleSet.buildOutcome(context),
    defaultsApplied,
    derivedFacts,
    parameters: ruleSet.parameterValues,
  };
}

/**
 * Puts each date the outcome builder explained into the explanation entry of the rule that decided it, as `computed`.
 * Shared by both evaluators, after their rules have run, so the two explanations carry the same entries.
 */
function explainDates(explanation: RuleExplanation[], dates: readonly (string | ComputedDate)[]): void {
  for (let i = 0; i < dates.length; i += 2) {
    const rule = dates[i] as string;
    const entry = explanation.find((r) => r.rule === rule);
    if (!entry) throw new Error(`a date of the outcome is explained by rule ${rule}, which was not weighed`);
    (entry.computed ??= []).push(dates[i + 1] as ComputedDate);
  }
}

/** A verdict: what every decision says, and the rules that fired (written out, not spread: a spread copies slowly). */
function verdictOf(
  ruleSet: CompiledRuleSet,
  asOf: string,
  prepared: PreparedFacts,
  rules: readonly RuleDefinition[],
  firedSet: ReadonlySet<string>,
  fired: string[],
  context?: CaseContext,
): Verdict {
  const { ruleSet: name, version, effective, outcome, defaultsApplied, derivedFacts, parameters } = decided(ruleSet, asOf, prepared, rules, firedSet, context);
  return { ruleSet: name, version, effective, asOf, outcome, defaultsApplied, derivedFacts, parameters, fired };
}

function decision(
  ruleSet: CompiledRuleSet,
  asOf: string,
  evaluator: Evaluator,
  prepared: PreparedFacts,
  rules: readonly RuleDefinition[],
  relied: RuleSubset['relied'],
  explanation: RuleExplanation[],
): Decision {
  const fired = new Set<string>();
  for (const rule of explanation) if (rule.fired) fired.add(rule.rule);
  const context = new CaseContext(ruleSet, asOf, prepared.facts, rules, fired, true);
  const { ruleSet: name, version, effective, outcome, defaultsApplied, derivedFacts, parameters } = decided(ruleSet, asOf, prepared, rules, fired, context);
  if (context.dates) explainDates(explanation, context.dates);
  // Decision's field order is the response's: evaluator after asOf, the summary (when one is added) and the defaults
  // taken after the outcome, then the explanation. The summary's key is made here, undefined, so that a summary added
  // later takes this place in JSON.stringify's order; while undefined, JSON.stringify leaves it out.
  const unconfirmedInterpretations = unconfirmedFor(relied, defaultsApplied);
  return {
    ruleSet: name,
    version,
    effective,
    asOf,
    evaluator,
    outcome,
    summary: undefined,
    defaultsApplied,
    unconfirmedInterpretations,
    explanation,
    derivedFacts,
    parameters,
  };
}

/** The reference evaluator: json-rules-engine itself, on an Engine of its own for this run. */
async function referenceRun(
  rules: readonly RuleDefinition[],
  pool: EnginePool,
  factMap: FactMap,
  labels: Readonly<Record<string, string>>,
): Promise<RuleExplanation[]> {
  const results = await pool.run(async (engine) => {
    const { results: passed, failureResults: failed } = await engine.run(factMap);
    return [...passed, ...failed];
  });
  const byName = new Map<string, RuleResult>(results.map((r) => [r.name, r]));
  return rules.map((rule) => {
    const result = byName.get(rule.name);
    if (!result) throw new Error(`json-rules-engine returned no result for rule ${rule.name}`);
    return explainRule(rule, result.result === true, result.toJSON(false).conditions as never, labels);
  });
}
