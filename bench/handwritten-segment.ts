// The ceiling: segment allocation written by hand, as fast as plain TypeScript goes. It reads validated
// CaseFacts and computes the derived counts of rules/segment-allocation.json in one pass per list, with
// the parameters written in. No explanation: a bench reference only, checked against ours case by case.
import { addMonths } from '../src/dates/calendar';
import type { CaseFacts } from '../src/facts/validate';

type Dated = { date: string };
interface Customer {
  psHistory: string;
  serviceRestrictions: { from: string; to?: string }[];
  incidents: (Dated & { kind: string; securityIncident?: boolean })[];
  complaints: (Dated & { stage: string; topic: string })[];
  scsActivity: Dated[];
  nonCompliance: Dated[];
  paymentArrangementDefaults: Dated[];
  departureProhibitionOrder: boolean;
  compensationOrWaiverApplied: boolean;
  privacyBreachReported: boolean;
  meetsCommitments: boolean;
  escalatingHistory: boolean;
  declinedOptions: boolean;
}

const MULTIPLE = 2;
const RECENT_MONTHS = 12;
const ESCALATED_SOURCES = new Set(['member-of-parliament', 'ombudsman', 'ministerial', 'level-2-complaint', 'privacy-breach', 'media-escalation']);
const SEGMENT_1_SOURCES = new Set(['proactive', 'associated-customer']);
const AGGRESSION_KINDS = new Set(['verbal-abuse', 'threat-of-violence', 'physical-violence', 'property-damage', 'self-harm-threat']);

/** Window starts, computed once per as-of date. */
const windowStarts = new Map<string, string>();
function recentFrom(asOf: string): string {
  let start = windowStarts.get(asOf);
  if (start === undefined) {
    start = addMonths(asOf, -RECENT_MONTHS);
    windowStarts.set(asOf, start);
  }
  return start;
}

/** Entries dated on or before `asOf`: "a history of", "previously", with no time limit. */
function countToDate(list: Dated[], asOf: string): number {
  let count = 0;
  for (const entry of list) if (entry.date <= asOf) count += 1;
  return count;
}

/** Entries dated after `after` and on or before `asOf`. */
function countBetween(list: Dated[], after: string, asOf: string): number {
  let count = 0;
  for (const entry of list) if (entry.date > after && entry.date <= asOf) count += 1;
  return count;
}

/** The segment, 1, 2 or 3, that the segment-allocation rules recommend for validated facts on `asOf`. */
export function handwrittenSegment(facts: CaseFacts, asOf: string): 1 | 2 | 3 {
  const customer = facts.customer as Customer;
  const referralSource = (facts.referral as { source: string }).source;
  const issues = (facts.case as { issues: { status: string }[] }).issues;
  const recent = recentFrom(asOf);

  let currentRestrictions = 0;
  for (const r of customer.serviceRestrictions) if (r.from <= asOf && (r.to === undefined || asOf <= r.to)) currentRestrictions += 1;
  let securityIncidents = 0;
  let aggression = 0;
  for (const incident of customer.incidents) {
    if (incident.date > asOf) continue;
    if (incident.securityIncident === true) securityIncidents += 1;
    if (AGGRESSION_KINDS.has(incident.kind)) aggression += 1;
  }
  let escalatedComplaints = 0;
  for (const complaint of customer.complaints) if (complaint.stage === 'escalated' && complaint.date <= asOf) escalatedComplaints += 1;
  const recentScs = countBetween(customer.scsActivity, recent, asOf);
  const recentNonCompliance = countBetween(customer.nonCompliance, recent, asOf);
  const recentDefaults = countBetween(customer.paymentArrangementDefaults, recent, asOf);
  const nonComplianceToDate = countToDate(customer.nonCompliance, asOf);
  const defaultsToDate = countToDate(customer.paymentArrangementDefaults, asOf);
  const managedBefore = customer.psHistory === 'previously' || customer.psHistory === 'current';
  let openIssues = 0;
  for (const issue of issues) if (issue.status === 'recorded' || issue.status === 'confirmed') openIssues += 1;

  const segment3 =
    currentRestrictions >= 1 ||
    securityIncidents >= 1 ||
    aggression >= MULTIPLE ||
    escalatedComplaints >= MULTIPLE ||
    recentScs >= MULTIPLE ||
    customer.escalatingHistory === true ||
    (managedBefore && customer.declinedOptions === true);
  if (segment3) return 3;
  const segment2 =
    ESCALATED_SOURCES.has(referralSource) ||
    managedBefore ||
    openIssues >= MULTIPLE ||
    customer.meetsCommitments === false ||
    recentScs >= 1 ||
    escalatedComplaints >= 1 ||
    nonComplianceToDate >= 1 ||
    defaultsToDate >= 1 ||
    customer.departureProhibitionOrder === true ||
    customer.compensationOrWaiverApplied === true ||
    customer.privacyBreachReported === true;
  const segment1 =
    SEGMENT_1_SOURCES.has(referralSource) &&
    customer.psHistory === 'never' &&
    openIssues < MULTIPLE &&
    customer.meetsCommitments === true &&
    recentScs === 0 &&
    customer.departureProhibitionOrder === false &&
    recentNonCompliance === 0 &&
    recentDefaults === 0;
  return segment1 && !segment2 ? 1 : 2;
}
