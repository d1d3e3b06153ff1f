// referral-options outcome: every referral or consultation a fired rule suggests, with the rules that suggest it, and
// whether to discuss options with the PS Service Support Manager. Suggestions only: nothing here is decided for anyone.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import type { RuleDefinition, RuleFile } from '../engine/types';
import { COMMUNITY_NEEDS } from '../facts/schema';
import { MAX_REASONS } from './grounds';
import { oneOf, outcome, strings } from './schema';

/** The specialised activities 001 Child Support Table 5 Step 3 names. */
const SPECIALIST_PROCESSES = ['objection', 'change-of-assessment', 'compensation', 'privacy'] as const;

/** Every referral a rule may suggest, in the order the outcome lists them: the module's, so the order never depends on which rule fired first. */
export const REFERRALS = [
  'assessment-services-review',
  'social-work',
  'mental-health-services',
  'workforce-australia-provider',
  'disability-employment-services-provider',
  'payment-options-review',
  'nominee',
  ...SPECIALIST_PROCESSES.map((process) => `specialist-${process}` as const),
  ...COMMUNITY_NEEDS.map((need) => `community-${need}` as const),
] as const;
type Referral = (typeof REFERRALS)[number];

/** A rule's event: it suggests a referral (`consider`, naming it), or discussing options with the SSM. */
const CONSIDER = 'consider';
const DISCUSS_WITH_SSM = 'discuss-with-ssm';

export const ReferralOptionsOutcome = outcome({
  consider: Type.Array(
    Type.Object(
      {
        referral: oneOf(
          REFERRALS,
          'The referral or consultation to consider: a business area, service or provider (assessment-services-review, social-work, mental-health-services, workforce-australia-provider, disability-employment-services-provider, payment-options-review, nominee), a Child Support specialised activity (specialist-<process>) or a community agency for a need (community-<need>)',
        ),
        because: strings('The ids of the rules (in the rule file) whose facts suggest it, in file order'),
      },
      { additionalProperties: false },
    ),
    {
      description:
        'Referrals and consultations to consider, each once, in a fixed order. A suggestion from the facts recorded, never a decision: the caseworker decides with the customer whether to make it, and the procedure leaves room for others the facts do not show. Empty when no rule suggests one',
    },
  ),
  discussWithSsm: Type.Boolean({
    description:
      'A risk of escalating behaviour is identified from the facts recorded: discuss options with the PS Service Support Manager. A suggestion: the caseworker may discuss a case with the SSM at any time, and false does not mean there is no risk',
  }),
});
type Outcome = Static<typeof ReferralOptionsOutcome>;

const referralOf = (rule: RuleDefinition): unknown => rule.event.params?.referral;

function build(context: OutcomeContext): Outcome {
  const because = new Map<Referral, string[]>();
  let discussWithSsm = false;
  for (const rule of context.weighed) {
    if (!context.fired.has(rule.name)) continue;
    if (rule.event.type === DISCUSS_WITH_SSM) discussWithSsm = true;
    else {
      const referral = referralOf(rule) as Referral;
      const rules = because.get(referral);
      if (rules) rules.push(rule.name);
      else because.set(referral, [rule.name]);
    }
  }
  const consider: Outcome['consider'] = [];
  for (const referral of REFERRALS) {
    const rules = because.get(referral);
    if (rules) consider.push({ referral, because: rules });
  }
  return { consider, discussWithSsm };
}

/** A line saying that nothing is suggested, per rule subset: made once, since it names every rule weighed. */
const nothingFound = new WeakMap<readonly RuleDefinition[], readonly DecidingRule[]>();

/**
 * The rules that suggested something, one line each in file order (each says the customer's evidence); past
 * MAX_REASONS the rest summed up in one line. When none fired, one line saying so, backed by every rule weighed.
 */
function decidedBy({ weighed, fired }: DecidedContext<Outcome>): readonly DecidingRule[] {
  const suggesting = weighed.filter((rule) => fired.has(rule.name)).map((rule) => rule.name);
  if (suggesting.length === 0) {
    let line = nothingFound.get(weighed);
    if (!line) {
      const names = weighed.map((rule) => rule.name);
      line = [
        {
          rules: names,
          met: false,
          text: `Nothing to consider: none of the ${names.length} grounds for a referral, or for discussing options with the PS Service Support Manager, is recorded`,
        },
      ];
      nothingFound.set(weighed, line);
    }
    return line;
  }
  if (suggesting.length <= MAX_REASONS) return suggesting.map((rule) => ({ rule, met: true }));
  const rest = suggesting.slice(MAX_REASONS - 1);
  return [
    ...suggesting.slice(0, MAX_REASONS - 1).map((rule) => ({ rule, met: true })),
    { rules: rest, met: true, text: `${rest.length} more grounds for referrals or consultations to consider are recorded too` },
  ];
}

/** Each rule either suggests a referral the outcome schema lists, or discussing options with the SSM: anything else would be dropped unseen. */
function check(file: RuleFile): ModuleProblem[] {
  const known: readonly string[] = REFERRALS;
  return file.rules.flatMap((rule, r): ModuleProblem[] => {
    if (rule.event.type === DISCUSS_WITH_SSM) return [];
    if (rule.event.type !== CONSIDER)
      return [
        { pointer: `/rules/${r}/event/type`, message: `a ${file.ruleSet} rule's event is "${CONSIDER}" (with params.referral) or "${DISCUSS_WITH_SSM}"` },
      ];
    const referral = referralOf(rule);
    return typeof referral === 'string' && known.includes(referral)
      ? []
      : [
          {
            pointer: `/rules/${r}/event/params/referral`,
            message: `${JSON.stringify(referral)} is not a referral the ${file.ruleSet} outcome knows (${known.join(', ')}): a new one is added to the outcome schema in its module too`,
          },
        ];
  });
}

export const referralOptions = defineRuleSet({
  name: 'referral-options',
  outcomeSchema: ReferralOptionsOutcome,
  build,
  decidedBy,
  verdict: 'discussWithSsm',
  datedFromAsOf: [],
  columns: ['discussWithSsm', 'consider'],
  example: {
    program: 'centrelink',
    customer: {
      urgentPaymentRequests: [{ date: '2025-02-10' }, { date: '2025-04-28' }],
      behaviours: ['cannot-accept-information'],
      needs: ['emergency-relief'],
      escalatingHistory: true,
    },
  },
  parameters: ['multiple', 'recentMonths'],
  outcome: [],
  facts: [],
  check,
});
