// segment-allocation outcome: a priority order, highest first — 3, then 1 if nothing argues for 2, else 2.
import type { OutcomeBuilder, RuleSetModule } from '../engine/compile';
import { addMonths } from '../dates/calendar';

const build: OutcomeBuilder = (context) => {
  const indicators = { segment3: [] as string[], segment2: [] as string[], segment1: [] as string[] };
  for (const rule of context.weighed) {
    if (!context.fired.has(rule.name)) continue;
    const segment = rule.event.params?.segment;
    if (segment === 3) indicators.segment3.push(rule.name);
    else if (segment === 2) indicators.segment2.push(rule.name);
    else if (segment === 1) indicators.segment1.push(rule.name);
  }
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
  facts: [],
};
