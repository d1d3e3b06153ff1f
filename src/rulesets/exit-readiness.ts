// exit-readiness outcome: ready on the first ground met; the exit-letter wait gives the earliest submission.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addDays } from '../dates/calendar';
import { judgeGrounds } from './grounds';

const build: OutcomeBuilder = (context) => {
  const { met, unmetBy, primary } = judgeGrounds(context);
  // The exit-letter wait applies where its rule is weighed (Child Support), to a customer not reachable by phone.
  const wait = context.file.outcome.exitLetterWait as { rule: string; parameter: string };
  const letter = context.facts['case.exitLetterIssuedOn'];
  const waitsForLetter = context.weighed.some((rule) => rule.name === wait.rule) && context.facts['case.customerContactableByPhone'] === false && typeof letter === 'string';
  return {
    ready: met !== null,
    basis: met,
    unmet: met !== null || primary === null ? [] : unmetBy[primary],
    unmetByBasis: unmetBy,
    earliestSubmission: waitsForLetter ? addDays(letter, context.param<number>(wait.parameter)) : null,
    approvalBy: context.param<string>('approver'),
  };
};

export const exitReadiness: RuleSetModule = {
  build,
  parameters: ['approver'],
  outcome: ['bases', 'exitLetterWait'],
};
