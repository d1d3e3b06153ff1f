// service-restriction outcome: the pathway met (after a warning, or immediately for violence) and the approval chain.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addMonths } from '../dates/calendar';
import { judgeGrounds } from './grounds';

const build: OutcomeBuilder = (context) => {
  const { met, unmetBy, primary } = judgeGrounds(context);
  return {
    mayPropose: met !== null,
    pathway: met,
    unmet: met !== null || primary === null ? [] : unmetBy[primary],
    unmetByPathway: unmetBy,
    approvalChain: context.param<string[]>('approvalChain'),
    reviewBetween: met === null ? null : [
      addMonths(context.asOf, context.param<number>('reviewFromMonths')),
      addMonths(context.asOf, context.param<number>('reviewToMonths')),
    ],
  };
};

export const serviceRestriction: RuleSetModule = {
  build,
  parameters: ['approvalChain', 'reviewFromMonths', 'reviewToMonths'],
  outcome: ['bases'],
  facts: ['program'],
};
