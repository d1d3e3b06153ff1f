// segment-allocation outcome: a priority order, highest first — 3, then 1 if nothing argues for 2, else 2.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type OutcomeContext } from '../engine/compile';
import type { RuleDefinition } from '../engine/types';
import { addMonths } from '../dates/calendar';
import { MAX_REASONS, unmetLines } from './grounds';
import { dateOrNull, oneOf, outcome, stringOrNull, strings } from './schema';

// Who approves and how soon segment 3 is reviewed are the deciding version's parameters (GET /v1/rulesets/{name}), named
// here, never repeated: a description that said them would go on saying them after they changed.
export const SegmentAllocationOutcome = outcome({
  segment: oneOf(
    [1, 2, 3],
    'The segment recommended: 3 on any segment 3 indicator; otherwise 1 when the customer fits the segment 1 profile and shows no segment 2 indicator; otherwise 2',
  ),
  requiresApproval: Type.Boolean({ description: 'Segment 3 is discussed with and approved by approvalBy before it is allocated' }),
  approvalBy: stringOrNull('Who discusses and approves a segment 3 allocation (the parameter segment3Approver, which may differ by program); null otherwise'),
  reviewBy: dateOrNull('The latest segment 3 review date: asOf plus the parameter segment3ReviewMonths; null otherwise'),
  indicators: Type.Object(
    {
      segment3: strings(),
      segment2: strings(),
      segment1: strings(),
      alsoSupportSegment3: strings(
        'Indicators found (rules that fired, also listed in segment2) that the procedure lists for segment 3 as well: they support segment 3 but do not allocate it on their own; shown for whoever approves segment 3',
      ),
    },
    { additionalProperties: false, description: "Every indicator found for every segment (the rules that fired), not only the winning segment's" },
  ),
});
type Outcome = Static<typeof SegmentAllocationOutcome>;

/** The approver may differ by program (before 14 January 2025 the PS Team Leader approves segment 3 for Child Support). */
function approverFor(approver: string | Record<string, string>, program: unknown): string | null {
  return typeof approver === 'string' ? approver : (approver[String(program)] ?? null);
}

function build(context: OutcomeContext): Outcome {
  // alsoSupportSegment3: a fired indicator that the procedure lists for segment 3 as well as for the segment its rule
  // gives (its event says `alsoSupportsSegment: 3`). It does not allocate segment 3 on its own; it is shown so that
  // whoever approves segment 3 sees it (the rule's interpretation says why).
  const indicators = { segment3: [] as string[], segment2: [] as string[], segment1: [] as string[], alsoSupportSegment3: [] as string[] };
  for (const rule of context.weighed) {
    if (!context.fired.has(rule.name)) continue;
    const segment: unknown = rule.event.params?.segment;
    if (segment === 3) indicators.segment3.push(rule.name);
    else if (segment === 2) indicators.segment2.push(rule.name);
    else if (segment === 1) indicators.segment1.push(rule.name);
    if (rule.event.params?.alsoSupportsSegment === 3) indicators.alsoSupportSegment3.push(rule.name);
  }
  const segment = indicators.segment3.length > 0 ? 3 : indicators.segment1.length > 0 && indicators.segment2.length === 0 ? 1 : 2;
  const high = segment === 3;
  return {
    segment,
    requiresApproval: high,
    approvalBy: high ? approverFor(context.param<string | Record<string, string>>('segment3Approver'), context.fact('program')) : null,
    reviewBy: high ? addMonths(context.asOf, context.param<number>('segment3ReviewMonths')) : null,
    indicators,
  };
}

const segmentOf = (rule: RuleDefinition): unknown => rule.event.params?.segment;

/** What decidedBy reads of the rules weighed: the segment 1 rules, and the segment 2 indicators summed up in one line. */
interface Plan {
  segment1: readonly string[];
  noSegment2: DecidingRule;
}
const plans = new WeakMap<readonly RuleDefinition[], Plan>();
function planFor(weighed: readonly RuleDefinition[]): Plan {
  let plan = plans.get(weighed);
  if (!plan) {
    const segment2 = weighed.filter((rule) => segmentOf(rule) === 2).map((rule) => rule.name);
    plan = {
      segment1: weighed.filter((rule) => segmentOf(rule) === 1).map((rule) => rule.name),
      noSegment2: { rules: segment2, met: false, text: `None of the ${segment2.length} segment 2 indicators is found` },
    };
    plans.set(weighed, plan);
  }
  return plan;
}

/** Indicators found, one line each; past MAX_REASONS, the rest summed up in one line. */
function found(indicators: readonly string[], segment: number): DecidingRule[] {
  if (indicators.length <= MAX_REASONS) return indicators.map((rule) => ({ rule, met: true }));
  const rest = indicators.slice(MAX_REASONS - 1);
  return [
    ...indicators.slice(0, MAX_REASONS - 1).map((rule) => ({ rule, met: true })),
    { rules: rest, met: true, text: `${rest.length} more segment ${segment} indicators are found too` },
  ];
}

/**
 * What decided the segment, read as build() decides it: segment 3, its indicators found; segment 1, the segment 1
 * rules that fired and that no segment 2 indicator did; segment 2, its indicators found or, when none is, the segment
 * 1 profile not met (the customer is one of 001's "most new referrals").
 */
function decidedBy({ outcome, weighed }: DecidedContext<Outcome>): readonly DecidingRule[] {
  if (outcome.segment === 3) return found(outcome.indicators.segment3, 3);
  const plan = planFor(weighed);
  if (outcome.segment === 1) return [...found(outcome.indicators.segment1, 1), plan.noSegment2];
  if (outcome.indicators.segment2.length > 0) return found(outcome.indicators.segment2, 2);
  return unmetLines(plan.segment1);
}

export const segmentAllocation = defineRuleSet({
  name: 'segment-allocation',
  outcomeSchema: SegmentAllocationOutcome,
  build,
  decidedBy,
  verdict: 'segment',
  datedFromAsOf: ['reviewBy'],
  approval: { field: 'approvalBy', what: 'segment 3' },
  columns: ['segment', 'requiresApproval', 'approvalBy', 'reviewBy'],
  example: { program: 'child-support', referral: { source: 'ombudsman' }, customer: { psHistory: 'previously' } },
  parameters: ['segment3Approver', 'segment3ReviewMonths'],
  outcome: [],
  facts: ['program'],
});
