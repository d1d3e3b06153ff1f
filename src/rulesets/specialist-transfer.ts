// specialist-transfer outcome: approvable when every criterion fires; names the one specialist process outstanding.
import { Type, type Static } from '@sinclair/typebox';
import type { RuleDefinition } from '../engine/types';
import { defineRuleSet, type DecidedContext, type DecidingRule, type OutcomeContext } from '../engine/compile';
import { allMet, unmetLines, unmetRules } from './grounds';
import { outcome, stringOrNull, strings } from './schema';

export const SpecialistTransferOutcome = outcome({
  approvable: Type.Boolean({ description: 'Every criterion is met: the transfer may be approved' }),
  specialistProcess: stringOrNull('The one specialist process outstanding; null unless exactly one is'),
  unmet: strings('Ids of the criteria (rules) not met, in file order'),
  approvalBy: Type.String({ description: 'Who approves the transfer: the parameter approver of the deciding version' }),
});
type Outcome = Static<typeof SpecialistTransferOutcome>;

function build(context: OutcomeContext): Outcome {
  const unmet = unmetRules(context);
  const processes = context.fact(String(context.file.outcome.specialistProcessFact));
  return {
    approvable: unmet.length === 0,
    specialistProcess: Array.isArray(processes) && processes.length === 1 ? (processes[0] as string) : null,
    unmet,
    approvalBy: context.param<string>('approver'),
  };
}

const criteria = new WeakMap<readonly RuleDefinition[], readonly string[]>();
/** Approvable: every criterion weighed (summed up in one line if there are many); otherwise each unmet criterion. */
function decidedBy({ outcome, weighed }: DecidedContext<Outcome>): readonly DecidingRule[] {
  if (!outcome.approvable) return unmetLines(outcome.unmet);
  let names = criteria.get(weighed);
  if (!names) {
    names = weighed.map((rule) => rule.name);
    criteria.set(weighed, names);
  }
  return allMet(names, (count) => `All ${count} criteria for the transfer are met`);
}

export const specialistTransfer = defineRuleSet({
  name: 'specialist-transfer',
  outcomeSchema: SpecialistTransferOutcome,
  build,
  decidedBy,
  verdict: 'approvable',
  approval: { field: 'approvalBy', what: 'the transfer' },
  datedFromAsOf: [],
  columns: ['approvable', 'specialistProcess', 'unmet'],
  example: {
    program: 'child-support',
    customer: { escalatingHistory: false },
    case: { issues: [{ id: '1', kind: 'objection', status: 'confirmed', specialistProcess: 'objection' }] },
  },
  parameters: ['approver'],
  outcome: ['specialistProcessFact'],
  facts: [],
});
