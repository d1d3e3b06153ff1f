// specialist-transfer outcome: approvable when every criterion fires; names the one specialist process outstanding.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { unmetRules } from './grounds';

const build: OutcomeBuilder = (context) => {
  const unmet = unmetRules(context);
  const processes = context.fact(String(context.file.outcome.specialistProcessFact));
  return {
    approvable: unmet.length === 0,
    specialistProcess: Array.isArray(processes) && processes.length === 1 ? processes[0] : null,
    unmet,
    approvalBy: context.param<string>('approver'),
  };
};

export const specialistTransfer: RuleSetModule = {
  build,
  parameters: ['approver'],
  outcome: ['specialistProcessFact'],
  facts: [],
};
