// Compile once, evaluate many: a rule file becomes an immutable rule set with engines per applicable-rule subset.
import { createHash } from 'node:crypto';
import type { Static, TObject } from '@sinclair/typebox';
import { Engine } from 'json-rules-engine';
import type { HolidayCalendar } from '../dates/calendar';
import { DecisionError } from '../errors';
import { locate } from '../loader/positions';
import { caseFactsSchema, factPaths } from '../facts/schema';
import { compileRule, compileRuleVerdict, type CompiledRule, type RuleVerdict } from './compiled';
import { conditionFacts } from './conditions';
import { compileDerivedFact, derivedInputs, type DerivedFact } from './derived';
import { deriveAllFunction, factMapBuilder, runAllFunction, type DeriveAll, type FactMapBuilder } from './fact-map';
import type { ComputedDate, RuleExplanation } from './explain';
import { reliedOn, type ReliedOn } from './interpretations';
import { addCustomOperators } from './operators';
import { EnginePool } from './pool';
import { PARAM_PREFIX, type DefaultApplied, type FactMap, type RuleDefinition, type RuleFile } from './types';

/** What a rule set's own module supplies: how fired rules become its outcome fields. */
export interface OutcomeContext {
  asOf: string;
  /** A fact the module declares (or a derived fact); any other is a programming error and throws. */
  fact(path: string): unknown;
  file: RuleFile;
  calendar: HolidayCalendar;
  /** The rules weighed for this case (those whose appliesTo matches), in file order. */
  weighed: readonly RuleDefinition[];
  fired: ReadonlySet<string>;
  param<T = unknown>(name: string): T;
  /**
   * Says how a date of the outcome was reckoned: the entry goes in the explanation of `rule` (a weighed rule, the one
   * that decided the date) as `computed`. Both evaluators explain through the same call, so their explanations agree;
   * a decision given without its explanation (decideVerdict, for triage) drops it.
   */
  explainDate(rule: string, computed: ComputedDate): void;
}
export type OutcomeBuilder = (context: OutcomeContext) => Record<string, unknown>;

/**
 * One line of a decision's reasons, as the rule set's module reads its outcome: a rule that decided it, met (fired; a
 * criterion met) or not (a criterion unmet), or several met rules summed up in one line whose words (`text`) the module
 * takes from the rule file where it says them (a ground's description). engine/reasons.ts writes the sentences.
 */
export type DecidingRule = { rule: string; met: boolean } | { rules: readonly string[]; met: boolean; text: string };

/** What a module's decidedBy reads of one decision. */
export interface DecidedContext<Outcome = Record<string, unknown>> {
  outcome: Outcome;
  file: RuleFile;
  /** The rules weighed for this case, in file order: one array per rule subset of a version, so it may key a cache. */
  weighed: readonly RuleDefinition[];
  fired: ReadonlySet<string>;
}

/** A problem a rule set's module finds in a rule file it would read: where (a JSON pointer into the file) and what. */
export interface ModuleProblem {
  pointer: string;
  message: string;
}

/**
 * A rule set's own module: everything the service, the API and triage know of a rule set beyond its rule files. A new
 * rule set is a rule file and one of these, registered in src/rulesets/index.ts; nothing else in src/ names it.
 */
export interface RuleSetModuleOf<Outcome extends TObject> {
  /** The rule set's name: the `ruleSet` of its rule files, and its place in the API (/v1/rulesets/{name}). */
  name: string;
  /**
   * The outcome's JSON Schema (TypeBox): the one source of the outcome's schema in /openapi.json and, as
   * `Static<typeof schema>`, of the type build() returns. Closed (additionalProperties: false), so a field the builder
   * adds without the schema fails the type check, and every answer a test gives is checked against it.
   */
  outcomeSchema: Outcome;
  build(context: OutcomeContext): Static<Outcome>;
  /**
   * The outcome's headline field: a small fixed set of values (a segment, a route, ready or not) that metrics label
   * each decision by and triage counts in its summary.
   */
  verdict: keyof Static<Outcome> & string;
  /**
   * The outcome fields that are dates reckoned from asOf itself (a review date asOf plus some months): they move with
   * every day, so the verdict summary.holdsUntil compares (the outcome without them) leaves them out. A date reckoned
   * from a fact (a due date from the day a referral was received) is not one of them.
   */
  datedFromAsOf: readonly (keyof Static<Outcome> & string)[];
  /**
   * The rules that decided the outcome, as this rule set reads it: for a positive outcome the rules that made it, for a
   * negative one each unmet criterion; usually one to five, never the whole trace. summary.reasons is written from them.
   */
  decidedBy(context: DecidedContext<Static<Outcome>>): readonly DecidingRule[];
  /** The outcome fields triage writes as CSV columns, in order; a nested field dotted ("indicators.segment3"). */
  columns: readonly string[];
  /**
   * What triage ranks a case by besides its tier (rules/triage/priority.json declares the tiers): the outcome field
   * holding the date the case must be actioned by (YYYY-MM-DD, or null when none), if the outcome has one. A case
   * whose earliest such date is before the as-of date is overdue, and a tier may ask for that.
   */
  dueBy?: keyof Static<Outcome> & string;
  /**
   * Who must approve, as a triage queue line says it: the outcome field naming the person (a role, or null when no one
   * need approve this case), and what they approve, in a few words ("segment 3").
   */
  approval?: { field: keyof Static<Outcome> & string; what: string };
  /** A case to try the rule set with: the rules page's starting facts, and the rule set's example in /openapi.json. */
  example: Readonly<Record<string, unknown>>;
  /** The parameters the builder reads: a rule file without one is refused. */
  parameters: readonly string[];
  /** The outcome settings (the rule file's `outcome` section) the builder reads: a rule file without one is refused. */
  outcome: readonly string[];
  /** The CaseFacts paths the builder reads besides the rules' own (the fact map holds only facts someone reads). */
  facts: readonly string[];
  /**
   * What the builder needs of the rule file beyond named parameters and outcome settings (e.g. that the parameter a
   * timeframe rule's event names exists and counts working days): each problem refuses the file, as the loader's do.
   */
  check?(file: RuleFile): ModuleProblem[];
}

/**
 * A module as the registry holds it, its outcome typed loosely: each module is written against its own schema
 * (defineRuleSet below checks it), and what reads modules by name needs only what every outcome has.
 */
export type RuleSetModule = Omit<RuleSetModuleOf<TObject>, 'build' | 'verdict' | 'dueBy' | 'approval' | 'datedFromAsOf' | 'decidedBy'> & {
  build: OutcomeBuilder;
  decidedBy(context: DecidedContext): readonly DecidingRule[];
  verdict: string;
  dueBy?: string;
  approval?: { field: string; what: string };
  datedFromAsOf: readonly string[];
};

/** A module, type-checked against its own outcome schema, as the registry holds it. */
export function defineRuleSet<Outcome extends TObject>(module: RuleSetModuleOf<Outcome>): RuleSetModule {
  return module;
}

export interface RuleSubset {
  rules: RuleDefinition[];
  /** For the reference evaluator: json-rules-engine Engines on loan. */
  pool: EnginePool;
  /** For the compiled evaluator: every rule's generated function, run in order. */
  runAll: (facts: FactMap) => RuleExplanation[];
  /** Whether each rule fires, without the explanation: for callers that need no more. */
  runVerdicts: (facts: FactMap) => boolean[];
  /** Each rule's own generated functions, in order: whether it fires, and its explanation (what runAll runs each of). */
  verdicts: readonly RuleVerdict[];
  explainers: readonly CompiledRule[];
  /**
   * Fact (a CaseFacts path, a derived fact) → the indices of the rules whose conditions read it: a change to one fact
   * can move only those (summary.changes decides a changed case again by them alone).
   */
  readers: ReadonlyMap<string, readonly number[]>;
  /** The unconfirmed interpretations a decision weighing these rules relies on (interpretations.ts): worked out once, here. */
  relied: ReliedOn;
}

export interface CompiledRuleSet {
  name: string;
  version: string;
  /** The rule file this version was compiled from, relative to the rules folder. */
  sourceFile: string;
  effectiveFrom: string | null;
  effectiveTo: string | null;
  file: RuleFile;
  calendar: HolidayCalendar;
  derived: ReadonlyArray<readonly [string, DerivedFact]>;
  /** CaseFacts → this version's fact map, with a slot for each derived fact. */
  flatten: FactMapBuilder;
  /** Computes every derived fact into a fact map; returns them. */
  deriveAll: DeriveAll;
  /**
   * Fills into a fresh fact map each fact default the rule file declares (factDefaults) whose fact the case left out,
   * and returns those it filled, as the decision lists them: a shared empty list when none.
   */
  applyDefaults(factMap: FactMap): readonly DefaultApplied[];
  parameterFacts: FactMap;
  /** Parameter name → value, as the outcome builders and the response read them. */
  parameterValues: Readonly<Record<string, unknown>>;
  labels: Readonly<Record<string, string>>;
  buildOutcome: OutcomeBuilder;
  /** The module's reading of which rules decided an outcome (summary.reasons, engine/reasons.ts). */
  decidedBy: RuleSetModule['decidedBy'];
  subsetFor(facts: FactMap): RuleSubset;
  /** The rule file and calendar texts the version hash was taken of, when loaded from files (loader/load.ts). */
  readonly texts?: { rule: string; calendar: string };
}

/** The version names the exact bytes that decide: the rule file and the holiday calendar. */
export function versionOf(ruleFileText: string, calendarText: string): string {
  return createHash('sha256').update(ruleFileText).update('\0').update(calendarText).digest('hex').slice(0, 16);
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

function schemaLabels(node: SchemaNode, prefix = '', into: Record<string, string> = {}): Record<string, string> {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child.properties) schemaLabels(child, path, into);
    else into[path] = child.description ?? path;
  }
  return into;
}

/** The CaseFacts paths a version reads: its conditions', its derived facts' inputs, appliesTo, and its module's. */
function factsRead(file: RuleFile, module: RuleSetModule): string[] {
  const read = new Set<string>(module.facts);
  for (const rule of file.rules) {
    conditionFacts(rule.conditions, read);
    for (const fact of Object.keys(rule.appliesTo ?? {})) read.add(fact);
  }
  for (const definition of Object.values(file.derivedFacts)) for (const fact of derivedInputs(definition)) read.add(fact);
  const paths = factPaths();
  for (const fact of module.facts) if (!paths.includes(fact)) throw new Error(`the ${file.ruleSet} module declares ${fact}, which is not a CaseFacts path`);
  return paths.filter((path) => read.has(path));
}

const NONE_APPLIED: readonly DefaultApplied[] = Object.freeze([]);

function applies(rule: RuleDefinition, facts: FactMap): boolean {
  return Object.entries(rule.appliesTo ?? {}).every(([fact, values]) => values.includes(facts[fact]));
}

export function compileRuleSet(
  file: RuleFile,
  sourceFile: string,
  version: string,
  calendar: HolidayCalendar,
  module: RuleSetModule,
  texts?: CompiledRuleSet['texts'],
): CompiledRuleSet {
  const problems = module.check?.(file) ?? [];
  if (problems.length > 0) {
    throw new DecisionError(
      'rule-file-invalid',
      `Rule files refused: ${problems.length} problem(s).`,
      problems.map(({ pointer, message }) => ({ file: sourceFile, ...locate(texts?.rule ?? '', pointer), pointer: `${sourceFile}#${pointer}`, message })),
    );
  }
  const derived = Object.entries(file.derivedFacts).map(([name, definition]) => [name, compileDerivedFact(definition, file.parameters, calendar)] as const);
  const parameterFacts: FactMap = {};
  const parameterValues: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(file.parameters)) {
    parameterFacts[PARAM_PREFIX + name] = parameter.value;
    parameterValues[name] = parameter.value;
  }

  // One entry per declared default, made once: a case that needs it lists the same object.
  const defaults = Object.entries(file.factDefaults ?? {}).map(([fact, { value }]) => Object.freeze({ fact, value, file: sourceFile }));
  const applyDefaults = (factMap: FactMap): readonly DefaultApplied[] => {
    let applied: DefaultApplied[] | undefined;
    for (const entry of defaults) {
      // A fact the case left out is null in the fact map (the vocabulary allows no null for a fact that has a type).
      if (factMap[entry.fact] !== null) continue;
      factMap[entry.fact] = entry.value;
      (applied ??= []).push(entry);
    }
    return applied ?? NONE_APPLIED;
  };

  const labels: Record<string, string> = schemaLabels(caseFactsSchema);
  for (const [name, definition] of Object.entries(file.derivedFacts)) labels[name] = definition.description;
  for (const [name, parameter] of Object.entries(file.parameters)) labels[PARAM_PREFIX + name] = parameter.description;

  // Which rules are weighed depends only on the facts rules' appliesTo name (e.g. program), so the
  // subset is found by those facts' values: one short key per case, not a filter over every rule.
  const appliesFacts = [...new Set(file.rules.flatMap((rule) => Object.keys(rule.appliesTo ?? {})))];
  const subsets = new Map<string, RuleSubset>();
  const subsetFor = (facts: FactMap): RuleSubset => {
    let key = '';
    for (const fact of appliesFacts) key += `${JSON.stringify(facts[fact] ?? null)}\n`;
    let subset = subsets.get(key);
    if (!subset) {
      const rules = file.rules.filter((rule) => applies(rule, facts));
      const create = () => {
        const engine = new Engine([], { allowUndefinedFacts: false, allowUndefinedConditions: false });
        addCustomOperators(engine);
        for (const rule of rules) {
          engine.addRule({ name: rule.name, conditions: structuredClone(rule.conditions), event: structuredClone(rule.event), priority: rule.priority ?? 1 });
        }
        return engine;
      };
      const explainers = rules.map((rule) => compileRule(rule, labels, parameterFacts));
      const verdicts = rules.map((rule) => compileRuleVerdict(rule, parameterFacts));
      const readers = new Map<string, number[]>();
      rules.forEach((rule, index) => {
        for (const fact of conditionFacts(rule.conditions)) {
          const indices = readers.get(fact) ?? [];
          if (!indices.includes(index)) indices.push(index);
          readers.set(fact, indices);
        }
      });
      subset = {
        rules,
        pool: new EnginePool(create),
        runAll: runAllFunction(explainers),
        runVerdicts: runAllFunction(verdicts),
        verdicts,
        explainers,
        readers,
        relied: reliedOn(file, rules, module.parameters, module.facts),
      };
      subsets.set(key, subset);
    }
    return subset;
  };

  return Object.freeze({
    name: file.ruleSet,
    version,
    sourceFile,
    effectiveFrom: file.effectiveFrom ?? null,
    effectiveTo: file.effectiveTo ?? null,
    file,
    calendar,
    derived,
    flatten: factMapBuilder(
      factsRead(file, module),
      derived.map(([name]) => name),
    ),
    deriveAll: deriveAllFunction(derived),
    applyDefaults,
    parameterFacts,
    parameterValues: Object.freeze(parameterValues),
    labels,
    buildOutcome: module.build,
    decidedBy: (context: DecidedContext) => module.decidedBy(context),
    subsetFor,
    texts,
  });
}
