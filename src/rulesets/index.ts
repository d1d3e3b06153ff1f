// The registry of rule sets: each rule file's `ruleSet` name maps to the module that builds its outcome.
import type { RuleSetModule } from '../engine/compile';
import { directReferral } from './direct-referral';
import { exitReadiness } from './exit-readiness';
import { segmentAllocation } from './segment-allocation';
import { serviceRestriction } from './service-restriction';
import { specialistTransfer } from './specialist-transfer';

export const RULE_SET_MODULES: Readonly<Record<string, RuleSetModule>> = {
  'direct-referral': directReferral,
  'segment-allocation': segmentAllocation,
  'exit-readiness': exitReadiness,
  'specialist-transfer': specialistTransfer,
  'service-restriction': serviceRestriction,
};
