// exit-readiness outcome: ready on the first ground met; the exit-letter wait gives the earliest submission.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import type { RuleFile } from '../engine/types';
import { addDays } from '../dates/calendar';
import { groundsDecidedBy, judgeGrounds, unknownGrounds } from './grounds';
import { dateOrNull, oneOf, orNull, outcome, stringOrNull, strings } from './schema';

/** The grounds (the rule file's outcome.bases) an exit or finalisation may rest on. */
const BASES = ['issues-addressed', 'options-declined', 'specialist-process-ongoing'] as const;
type Basis = (typeof BASES)[number];

export const ExitReadinessOutcome = outcome({
  ready: Type.Boolean({ description: 'A ground is met: the PSSO may recommend exit (or submit the finalisation request)' }),
  basis: orNull(oneOf(BASES), 'The first ground met; null when none is'),
  unmet: strings("The primary ground's unmet criteria when no ground is met; empty otherwise"),
  unmetByBasis: Type.Record(Type.String(), strings(), {
    description: 'Each ground open to the case → its unmet criteria',
    propertyNames: { enum: [...BASES] },
  }),
  earliestSubmission: dateOrNull(
    "When a customer not reachable by phone was sent the exit letter: the day the response period (the parameter the rule file's outcome.exitLetterWait names) ends; null otherwise",
  ),
  approvalBy: stringOrNull(
    'Who quality-checks the recommendation or decides the request (the parameter approver, which may differ by program); null when the deciding version names no one for the program',
  ),
});
type Outcome = Static<typeof ExitReadinessOutcome>;

/** The approver may differ by program (the older Child Support procedure has the PS Team Leader decide). */
function approverFor(approver: string | Record<string, string>, program: string): string | null {
  return typeof approver === 'string' ? approver : (approver[program] ?? null);
}

function build(context: OutcomeContext): Outcome {
  const { met, unmetBy, primary } = judgeGrounds(context);
  // The exit-letter wait applies where its rule is weighed (Child Support), to a customer not reachable by phone.
  const wait = context.file.outcome.exitLetterWait as { rule: string; parameter: string };
  const letter = context.fact('case.exitLetterIssuedOn');
  const waitsForLetter =
    context.weighed.some((rule) => rule.name === wait.rule) && context.fact('case.customerContactableByPhone') === false && typeof letter === 'string';
  return {
    ready: met !== null,
    // check() holds the rule file's grounds to BASES.
    basis: met as Basis | null,
    unmet: met !== null || primary === null ? [] : (unmetBy[primary] as string[]),
    unmetByBasis: unmetBy,
    earliestSubmission: waitsForLetter ? addDays(letter, context.param<number>(wait.parameter)) : null,
    approvalBy: approverFor(context.param<string | Record<string, string>>('approver'), String(context.fact('program'))),
  };
}

/** The ground met (its criteria), or the primary ground's unmet criteria. */
const decidedBy = (context: DecidedContext<Outcome>): readonly DecidingRule[] => groundsDecidedBy(context, context.outcome.basis, context.outcome.unmet);

const check = (file: RuleFile): ModuleProblem[] => unknownGrounds(file, BASES);

export const exitReadiness = defineRuleSet({
  name: 'exit-readiness',
  outcomeSchema: ExitReadinessOutcome,
  build,
  decidedBy,
  verdict: 'ready',
  approval: { field: 'approvalBy', what: 'the exit' },
  datedFromAsOf: [],
  columns: ['ready', 'basis', 'unmet', 'earliestSubmission'],
  example: { program: 'child-support', case: { cmaActivitiesComplete: true, cmpActionsComplete: true, decisionsNotified: true, feedbackProvided: true } },
  parameters: ['approver'],
  outcome: ['bases', 'exitLetterWait'],
  facts: ['program', 'case.exitLetterIssuedOn', 'case.customerContactableByPhone'],
  check,
});
