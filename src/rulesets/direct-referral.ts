// direct-referral outcome: eligible when every criterion fires; due date in working days from receipt.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addWorkingDays } from '../dates/calendar';
import { unmetRules } from './grounds';

const build: OutcomeBuilder = (context) => {
  const unmet = unmetRules(context);
  const eligible = unmet.length === 0;
  const urgent = context.fact('referral.urgent') === true;
  const days = context.param<number>(urgent ? 'urgentActionWorkingDays' : 'actionWorkingDays');
  // A referral from a direct-referral area that fails a criterion is a refusal, which the SSM approves.
  const refusalOfDirectReferral = !eligible && context.fired.has(String(context.file.outcome.refusalNeedsApprovalWhen));
  return {
    eligible,
    route: eligible ? 'direct' : 'standard',
    unmet,
    actionDueBy: addWorkingDays(String(context.fact('referral.receivedOn')), days, context.calendar),
    refusalApprovedBy: refusalOfDirectReferral ? context.param<string>('refusalApprover') : null,
  };
};

export const directReferral: RuleSetModule = {
  build,
  parameters: ['urgentActionWorkingDays', 'actionWorkingDays', 'refusalApprover'],
  outcome: ['refusalNeedsApprovalWhen'],
  facts: ['referral.urgent', 'referral.receivedOn'],
};
