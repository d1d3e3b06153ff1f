// service-restriction outcome: the pathway met (after a warning, or immediately for violence), the approval chain, and the review.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import type { RuleFile } from '../engine/types';
import { addMonths } from '../dates/calendar';
import { groundsDecidedBy, judgeGrounds, unknownGrounds } from './grounds';
import { date, oneOf, orNull, outcome, strings } from './schema';

/** The pathways (the rule file's outcome.bases) a restriction may be proposed on. */
const PATHWAYS = ['after-warning', 'immediate-violence'] as const;
type Pathway = (typeof PATHWAYS)[number];

// Who approves and how long a review window runs are the deciding version's parameters (GET /v1/rulesets/{name}): named
// here, never repeated, so the document cannot go on saying them after they change.
export const ServiceRestrictionOutcome = outcome({
  mayPropose: Type.Boolean({ description: 'A pathway is met: a restriction may be proposed' }),
  pathway: orNull(oneOf(PATHWAYS), 'The pathway met; null when none is'),
  unmet: strings("The primary pathway's unmet criteria when none is met; empty otherwise"),
  unmetByPathway: Type.Record(Type.String(), strings(), { description: 'Each pathway → its unmet criteria', propertyNames: { enum: [...PATHWAYS] } }),
  approvalChain: strings('Who a proposal passes through, in order: the parameter approvalChain of the deciding version'),
  reviewBetween: Type.Unsafe<[string, string] | null>({
    type: ['array', 'null'],
    prefixItems: [date(), date()],
    items: false,
    minItems: 2,
    description:
      'The window for reviewing a restriction, where the deciding version has one: asOf plus the parameter reviewFromMonths, to asOf plus the parameter reviewToMonths. null when none may be proposed, or when the deciding version has no review window (the review date is then left to whoever reviewApprovedBy names)',
  }),
  reviewApprovedBy: Type.String({ description: 'Who decides or approves the review of a restriction: the parameter reviewApprover of the deciding version' }),
});
type Outcome = Static<typeof ServiceRestrictionOutcome>;

function build(context: OutcomeContext): Outcome {
  const { met, unmetBy, primary } = judgeGrounds(context);
  // A review window only where the procedure gives one (002: three to six months); 001 leaves the date to the Approvers.
  const window = 'reviewFromMonths' in context.file.parameters && 'reviewToMonths' in context.file.parameters;
  return {
    mayPropose: met !== null,
    // check() holds the rule file's pathways to PATHWAYS.
    pathway: met as Pathway | null,
    unmet: met !== null || primary === null ? [] : (unmetBy[primary] as string[]),
    unmetByPathway: unmetBy,
    approvalChain: context.param<string[]>('approvalChain'),
    reviewBetween:
      met === null || !window
        ? null
        : [addMonths(context.asOf, context.param<number>('reviewFromMonths')), addMonths(context.asOf, context.param<number>('reviewToMonths'))],
    reviewApprovedBy: context.param<string>('reviewApprover'),
  };
}

/** The pathway met (its criteria), or the primary pathway's unmet criteria. */
const decidedBy = (context: DecidedContext<Outcome>): readonly DecidingRule[] => groundsDecidedBy(context, context.outcome.pathway, context.outcome.unmet);

const check = (file: RuleFile): ModuleProblem[] => unknownGrounds(file, PATHWAYS);

export const serviceRestriction = defineRuleSet({
  name: 'service-restriction',
  outcomeSchema: ServiceRestrictionOutcome,
  build,
  decidedBy,
  verdict: 'mayPropose',
  datedFromAsOf: ['reviewBetween'],
  columns: ['mayPropose', 'pathway', 'unmet', 'approvalChain'],
  example: { program: 'child-support', customer: { psHistory: 'current', counterproductiveBehaviour: true } },
  parameters: ['approvalChain', 'reviewApprover'],
  outcome: ['bases'],
  facts: ['program'],
  check,
});
