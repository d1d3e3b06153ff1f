// exit-readiness outcome: ready on the first ground met; the exit-letter wait gives the earliest submission.
import type { OutcomeBuilder } from '../engine/compile';
import { addDays } from '../dates/calendar';
import { judgeGrounds } from './grounds';

export const exitReadiness: OutcomeBuilder = (context) => {
  const { met, unmetBy, primary } = judgeGrounds(context);
  const letter = context.facts['case.exitLetterIssuedOn'];
  const waitsForLetter = context.facts.program === 'child-support' && context.facts['case.customerContactableByPhone'] === false && typeof letter === 'string';
  return {
    ready: met !== null,
    basis: met,
    unmet: met !== null || primary === null ? [] : unmetBy[primary],
    unmetByBasis: unmetBy,
    earliestSubmission: waitsForLetter ? addDays(letter, context.param<number>('exitLetterResponseDays')) : null,
    approvalBy: context.param<string>('approver'),
  };
};
