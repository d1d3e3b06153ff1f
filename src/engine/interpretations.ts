// The readings of the procedure a rule file applies where its words leave them open (interpretations), where each
// sits, and which of them a decision relied on.
//
// A decision that rests on a reading policy staff have not confirmed says so (unconfirmedInterpretations). Which
// readings it rests on follows from the version and the rules weighed, not from the case: it is worked out once per
// rule subset of a version (compile.ts), and a decision only lends the list; a fact default's reading, relied on
// only when the default was applied to the case, is added per decision from a map made at the same time.
import { pointerToken } from '../facts/validate';
import { conditionFacts } from './conditions';
import { isParamRef } from './derived';
import { PARAM_PREFIX, type DerivedFactDefinition, type Interpretation, type RuleDefinition, type RuleFile } from './types';

/** What an interpretation is marked on, as the API names it. */
export type InterpretationOn = 'parameter' | 'derivedFact' | 'factDefault' | 'rule';

/** The words a person reads for each place ("derived fact recentMonths"). */
export const ON_WORDS: Readonly<Record<InterpretationOn, string>> = {
  parameter: 'parameter',
  derivedFact: 'derived fact',
  factDefault: 'fact default',
  rule: 'rule',
};

/** An interpretation with where it sits in its rule file: the kind of thing, its name, and a JSON pointer to it. */
export interface PlacedInterpretation {
  on: InterpretationOn;
  name: string;
  /** JSON pointer to the interpretation in its rule file. */
  pointer: string;
  interpretation: Interpretation;
}

/** An unconfirmed reading a decision relied on, as the decision lists it. */
export interface UnconfirmedInterpretation {
  on: InterpretationOn;
  name: string;
  question: string;
  chosen: string;
}

export const isConfirmed = (interpretation: Interpretation): boolean => interpretation.confirmedBy !== undefined && interpretation.confirmedOn !== undefined;

/** "unconfirmed", or "confirmed by X on D": how a listing says where a reading stands. */
export const confirmation = (interpretation: Interpretation): string =>
  isConfirmed(interpretation) ? `confirmed by ${interpretation.confirmedBy} on ${interpretation.confirmedOn}` : 'unconfirmed';

/** Every interpretation of a rule file, in file order by section: parameters, derived facts, fact defaults, rules. */
export function interpretationsOf(file: RuleFile): PlacedInterpretation[] {
  const found: PlacedInterpretation[] = [];
  const add = (on: InterpretationOn, name: string, pointer: string, interpretation: Interpretation | undefined) => {
    if (interpretation !== undefined) found.push({ on, name, pointer: `${pointer}/interpretation`, interpretation });
  };
  for (const [name, parameter] of Object.entries(file.parameters)) add('parameter', name, `/parameters/${pointerToken(name)}`, parameter.interpretation);
  for (const [name, derived] of Object.entries(file.derivedFacts)) add('derivedFact', name, `/derivedFacts/${pointerToken(name)}`, derived.interpretation);
  for (const [fact, declared] of Object.entries(file.factDefaults ?? {}))
    add('factDefault', fact, `/factDefaults/${pointerToken(fact)}`, declared.interpretation);
  file.rules.forEach((rule, i) => add('rule', rule.name, `/rules/${i}`, rule.interpretation));
  return found;
}

/** The parameters a derived fact's definition names ({ "param": … } in withinMonths, required or where). */
function derivedParameters(definition: DerivedFactDefinition): string[] {
  const names: string[] = [];
  for (const value of [definition.withinMonths, definition.required, ...Object.values(definition.where ?? {})]) if (isParamRef(value)) names.push(value.param);
  return names;
}

/** What a subset of a version relies on: its unconfirmed readings, and those of the fact defaults it reads, by fact. */
export interface ReliedOn {
  /** Relied on by every decision the subset weighs (a frozen list, shared by those decisions). */
  unconfirmed: readonly UnconfirmedInterpretation[];
  /** A fact default's unconfirmed reading, relied on when that default is applied to the case. */
  byDefault: ReadonlyMap<string, UnconfirmedInterpretation>;
}

const listed = ({ on, name, interpretation: { question, chosen } }: PlacedInterpretation): UnconfirmedInterpretation =>
  Object.freeze({ on, name, question, chosen });

/**
 * The unconfirmed interpretations the rules `weighed` rely on: each weighed rule's own; each parameter or derived fact
 * a weighed rule's conditions read, and each parameter such a derived fact reads; each parameter the outcome builder
 * reads (`builderParameters`, the module's `parameters`, and any a weighed rule's event names); and, by fact, each
 * fact default whose fact a weighed rule, a derived fact it reads, or the builder (`builderFacts`) reads.
 */
export function reliedOn(file: RuleFile, weighed: readonly RuleDefinition[], builderParameters: readonly string[], builderFacts: readonly string[]): ReliedOn {
  const parameters = new Set(builderParameters);
  const derived = new Set<string>();
  const facts = new Set(builderFacts);
  const rules = new Set<string>();
  for (const rule of weighed) {
    rules.add(rule.name);
    for (const fact of Object.keys(rule.appliesTo ?? {})) facts.add(fact);
    // A parameter a weighed rule's event names (a timeframe rule's "workingDays": "actionWorkingDays") is one the
    // outcome builder reads for that rule, beyond the module's own list.
    for (const value of Object.values(rule.event.params ?? {})) if (typeof value === 'string' && Object.hasOwn(file.parameters, value)) parameters.add(value);
    for (const fact of conditionFacts(rule.conditions)) {
      if (fact.startsWith(PARAM_PREFIX)) parameters.add(fact.slice(PARAM_PREFIX.length));
      else if (Object.hasOwn(file.derivedFacts, fact)) derived.add(fact);
      else facts.add(fact);
    }
  }
  for (const name of derived) {
    const definition = file.derivedFacts[name] as DerivedFactDefinition;
    for (const parameter of derivedParameters(definition)) parameters.add(parameter);
    for (const fact of [definition.list, definition.date]) if (fact !== undefined) facts.add(fact);
  }
  const unconfirmed: UnconfirmedInterpretation[] = [];
  const byDefault = new Map<string, UnconfirmedInterpretation>();
  for (const placed of interpretationsOf(file)) {
    if (isConfirmed(placed.interpretation)) continue;
    const { on, name } = placed;
    if (on === 'factDefault') {
      if (facts.has(name)) byDefault.set(name, listed(placed));
      continue;
    }
    const relied = on === 'parameter' ? parameters.has(name) : on === 'derivedFact' ? derived.has(name) : rules.has(name);
    if (relied) unconfirmed.push(listed(placed));
  }
  return { unconfirmed: Object.freeze(unconfirmed), byDefault };
}

/** A decision's unconfirmed interpretations: its subset's, and those of the fact defaults applied to its case. */
export function unconfirmedFor(relied: ReliedOn, applied: readonly { fact: string }[]): readonly UnconfirmedInterpretation[] {
  if (applied.length === 0 || relied.byDefault.size === 0) return relied.unconfirmed;
  const more = applied.flatMap(({ fact }) => {
    const entry = relied.byDefault.get(fact);
    return entry ? [entry] : [];
  });
  return more.length === 0 ? relied.unconfirmed : Object.freeze([...relied.unconfirmed, ...more]);
}
