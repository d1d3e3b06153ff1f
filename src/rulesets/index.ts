// The registry of rule sets: each rule file's `ruleSet` name maps to the module that builds its outcome.
//
// A rule set is its rule files and its module: registered here, it is loaded, served, documented in /openapi.json,
// counted by the metrics and written by triage, none of which names it. registerRuleSet() adds one at run time (a
// test's throwaway rule set, say); the shipped ones are registered below.
import type { RuleSetModule } from '../engine/compile';
import { directReferral } from './direct-referral';
import { exitReadiness } from './exit-readiness';
import { informationSharing } from './information-sharing';
import { mspReview } from './msp-review';
import { referralOptions } from './referral-options';
import { segmentAllocation } from './segment-allocation';
import { serviceRestriction } from './service-restriction';
import { specialistTransfer } from './specialist-transfer';

const registered: Record<string, RuleSetModule> = {};
let generation = 0;

/** Every registered module by rule-set name: a live view, so what reads it sees a rule set registered after it looked. */
export const RULE_SET_MODULES: Readonly<Record<string, RuleSetModule>> = registered;

/** A rule set's name: what its rule files' `ruleSet` must be, and what the API's paths accept. */
const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Registers a rule set's module under its name; returns what unregisters it. A name registered already is refused: two
 * modules for one rule set would make which builds its outcome depend on the order they were registered in.
 */
export function registerRuleSet(module: RuleSetModule): () => void {
  if (!NAME.test(module.name)) throw new Error(`a rule set's name is lower-case letters, digits and hyphens, starting with a letter: "${module.name}" is not`);
  if (Object.hasOwn(registered, module.name)) throw new Error(`a module for rule set "${module.name}" is registered already`);
  for (const field of [
    module.verdict,
    ...module.datedFromAsOf,
    ...(module.dueBy === undefined ? [] : [module.dueBy]),
    ...(module.approval === undefined ? [] : [module.approval.field]),
    ...module.columns.map((column) => column.split('.')[0] as string),
  ]) {
    if (!Object.hasOwn(module.outcomeSchema.properties, field))
      throw new Error(`the ${module.name} module names outcome field "${field}", which its outcome schema does not have`);
  }
  registered[module.name] = module;
  generation += 1;
  return () => {
    if (registered[module.name] !== module) return;
    delete registered[module.name];
    generation += 1;
  };
}

/** A count that moves on whenever a rule set is registered or unregistered: what is built from the registry is rebuilt when it moves. */
export function registryGeneration(): number {
  return generation;
}

for (const module of [directReferral, segmentAllocation, exitReadiness, specialistTransfer, serviceRestriction, mspReview, referralOptions, informationSharing])
  registerRuleSet(module);
