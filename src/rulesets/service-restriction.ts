// service-restriction outcome: the pathway met (after a warning, or immediately for violence), the approval chain, and the review.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addMonths } from '../dates/calendar';
import { judgeGrounds } from './grounds';

const build: OutcomeBuilder = (context) => {
  const { met, unmetBy, primary } = judgeGrounds(context);
  // A review window only where the procedure gives one (002: three to six months); 001 leaves the date to the Approvers.
  const window = 'reviewFromMonths' in context.file.parameters && 'reviewToMonths' in context.file.parameters;
  return {
    mayPropose: met !== null,
    pathway: met,
    unmet: met !== null || primary === null ? [] : unmetBy[primary],
    unmetByPathway: unmetBy,
    approvalChain: context.param<string[]>('approvalChain'),
    reviewBetween: met === null || !window ? null : [
      addMonths(context.asOf, context.param<number>('reviewFromMonths')),
      addMonths(context.asOf, context.param<number>('reviewToMonths')),
    ],
    reviewApprovedBy: context.param<string>('reviewApprover'),
  };
};

export const serviceRestriction: RuleSetModule = {
  build,
  parameters: ['approvalChain', 'reviewApprover'],
  outcome: ['bases'],
  facts: ['program'],
};
