// segment-allocation outcome: a priority order, highest first — 3, then 1 if nothing argues for 2, else 2.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addMonths } from '../dates/calendar';

const build: OutcomeBuilder = (context) => {
  const firedFor = (segment: number) =>
    context.weighed.filter((rule) => rule.event.params?.segment === segment && context.fired.has(rule.name)).map((rule) => rule.name);
  const indicators = { segment3: firedFor(3), segment2: firedFor(2), segment1: firedFor(1) };
  const segment = indicators.segment3.length > 0 ? 3 : indicators.segment1.length > 0 && indicators.segment2.length === 0 ? 1 : 2;
  const high = segment === 3;
  return {
    segment,
    requiresApproval: high,
    approvalBy: high ? context.param<string>('segment3Approver') : null,
    reviewBy: high ? addMonths(context.asOf, context.param<number>('segment3ReviewMonths')) : null,
    indicators,
  };
};

export const segmentAllocation: RuleSetModule = {
  build,
  parameters: ['segment3Approver', 'segment3ReviewMonths'],
  outcome: [],
};
