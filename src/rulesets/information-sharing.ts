// information-sharing outcome: whether one recorded consent covers the sharing asked about, which one, and the first step
// of the narrowing checklist (agency, purpose, direction, timeframe, not withdrawn) that no consent passes.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import type { RuleFile } from '../engine/types';
import { allMet, unmetLines } from './grounds';
import { outcome, stringOrNull, strings } from './schema';

const NO_LAWFUL_BASIS_DECIDED =
  'The service decides only whether a recorded consent covers the sharing: whether another lawful basis allows it without consent is for a person to decide';

export const InformationSharingOutcome = outcome({
  mayShare: Type.Boolean({
    description: `One recorded consent covers the sharing: the agency, the purpose, the direction and the day, not withdrawn on or before that day. false is not a refusal: ${NO_LAWFUL_BASIS_DECIDED}`,
  }),
  consentId: stringOrNull('The id of the consent that covers the sharing (the first in customer.consents when several do); null when none does'),
  unmet: strings(
    'The first step of the checklist that no consent passes, each step narrowing the consents that passed the steps before: consent-agency, consent-purpose, consent-direction, consent-timeframe, consent-not-withdrawn. Empty when a consent covers the sharing; never more than one step',
  ),
  needsPersonToDecide: Type.Boolean({
    description: `No consent covers the sharing, so a person must decide whether it may go ahead on another lawful basis. ${NO_LAWFUL_BASIS_DECIDED}`,
  }),
});
type Outcome = Static<typeof InformationSharingOutcome>;

function build(context: OutcomeContext): Outcome {
  // The rules narrow: a consent that fails one step fails every later one, so only the first step failed is reported.
  const first = context.weighed.find((rule) => !context.fired.has(rule.name));
  const mayShare = first === undefined;
  const consent = context.fact(String(context.file.outcome.consentFact));
  return {
    mayShare,
    consentId: mayShare && typeof consent === 'string' ? consent : null,
    unmet: first === undefined ? [] : [first.name],
    needsPersonToDecide: !mayShare,
  };
}

/** Covered: every step of the checklist (one line each, or one line for all); otherwise the first step no consent passes. */
function decidedBy({ outcome: decided, weighed }: DecidedContext<Outcome>): readonly DecidingRule[] {
  if (!decided.mayShare) return unmetLines(decided.unmet);
  return allMet(stepsOf(weighed), (count) => `A recorded consent covers the sharing: all ${count} steps are met`);
}

const steps = new WeakMap<readonly { name: string }[], readonly string[]>();
function stepsOf(weighed: readonly { name: string }[]): readonly string[] {
  let names = steps.get(weighed);
  if (!names) {
    names = weighed.map((rule) => rule.name);
    steps.set(weighed, names);
  }
  return names;
}

/** The outcome's consentId is the value of the derived fact outcome.consentFact names: one that gives a consent's id. */
function check(file: RuleFile): ModuleProblem[] {
  const name = file.outcome.consentFact;
  const definition = typeof name === 'string' ? file.derivedFacts[name] : undefined;
  if (definition?.kind === 'firstCurrent' && definition.list === 'customer.consents' && definition.field === 'id') return [];
  return [
    {
      pointer: '/outcome/consentFact',
      message: `${JSON.stringify(name)} must name a derived fact of kind firstCurrent giving the id (field "id") of the first consent (list "customer.consents") that covers the sharing`,
    },
  ];
}

export const informationSharing = defineRuleSet({
  name: 'information-sharing',
  outcomeSchema: InformationSharingOutcome,
  build,
  decidedBy,
  verdict: 'mayShare',
  datedFromAsOf: [],
  columns: ['mayShare', 'consentId', 'unmet', 'needsPersonToDecide'],
  example: {
    customer: {
      consents: [
        { id: 'c1', agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency', from: '2025-01-01', to: '2025-12-31' },
      ],
    },
    sharing: { agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency', on: '2025-06-02' },
  },
  parameters: [],
  outcome: ['consentFact'],
  facts: [],
  check,
});
