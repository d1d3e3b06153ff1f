// specialist-transfer outcome: approvable when every criterion fires; names the one specialist process outstanding.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type OutcomeContext } from '../engine/compile';
import { unmetRules } from './grounds';
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

export const specialistTransfer = defineRuleSet({
  name: 'specialist-transfer',
  outcomeSchema: SpecialistTransferOutcome,
  build,
  verdict: 'approvable',
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
