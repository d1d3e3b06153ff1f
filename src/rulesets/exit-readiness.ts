// exit-readiness outcome: ready on the first ground met; the exit-letter wait gives the earliest submission.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addDays } from '../dates/calendar';
import { judgeGrounds } from './grounds';

/** The approver may differ by program (the older Child Support procedure has the PS Team Leader decide). */
function approverFor(approver: string | Record<string, string>, program: string): string | null {
  return typeof approver === 'string' ? approver : approver[program] ?? null;
}

const build: OutcomeBuilder = (context) => {
  const { met, unmetBy, primary } = judgeGrounds(context);
  // The exit-letter wait applies where its rule is weighed (Child Support), to a customer not reachable by phone.
  const wait = context.file.outcome.exitLetterWait as { rule: string; parameter: string };
  const letter = context.fact('case.exitLetterIssuedOn');
  const waitsForLetter = context.weighed.some((rule) => rule.name === wait.rule) && context.fact('case.customerContactableByPhone') === false && typeof letter === 'string';
  return {
    ready: met !== null,
    basis: met,
    unmet: met !== null || primary === null ? [] : unmetBy[primary],
    unmetByBasis: unmetBy,
    earliestSubmission: waitsForLetter ? addDays(letter, context.param<number>(wait.parameter)) : null,
    approvalBy: approverFor(context.param<string | Record<string, string>>('approver'), String(context.fact('program'))),
  };
};

export const exitReadiness: RuleSetModule = {
  build,
  parameters: ['approver'],
  outcome: ['bases', 'exitLetterWait'],
  facts: ['program', 'case.exitLetterIssuedOn', 'case.customerContactableByPhone'],
};
