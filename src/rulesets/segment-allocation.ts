// segment-allocation outcome: a priority order, highest first — 3, then 1 if nothing argues for 2, else 2.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addMonths } from '../dates/calendar';

/** The approver may differ by program (before 14 January 2025 the PS Team Leader approves segment 3 for Child Support). */
function approverFor(approver: string | Record<string, string>, program: unknown): string | null {
  return typeof approver === 'string' ? approver : approver[String(program)] ?? null;
}

const build: OutcomeBuilder = (context) => {
  // alsoSupportSegment3: a fired indicator that the procedure lists for segment 3 as well as for the segment its rule
  // gives (its event says `alsoSupportsSegment: 3`). It does not allocate segment 3 on its own; it is shown so that
  // whoever approves segment 3 sees it (the rule's interpretation says why).
  const indicators = { segment3: [] as string[], segment2: [] as string[], segment1: [] as string[], alsoSupportSegment3: [] as string[] };
  for (const rule of context.weighed) {
    if (!context.fired.has(rule.name)) continue;
    const segment = rule.event.params?.segment;
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
};

export const segmentAllocation: RuleSetModule = {
  build,
  parameters: ['segment3Approver', 'segment3ReviewMonths'],
  outcome: [],
  facts: ['program'],
};
