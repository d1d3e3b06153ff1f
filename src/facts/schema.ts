// The fact vocabulary (CaseFacts) and the evaluate request, as JSON Schema; docs/facts.md is written from it (npm run docs:facts).

const date = { type: 'string', format: 'date', description: 'A calendar date, YYYY-MM-DD' } as const;
/**
 * A flag records something established about the case: left out, it was not established, so it is false. That is the
 * vocabulary's own reading, the same for every flag and every rule set, and decides nothing a rule set could read
 * otherwise. A flag whose absence a rule set takes to mean something else (that the customer meets their commitments,
 * or can be phoned) has no default here: each rule file that reads it declares what it takes it to be (factDefaults),
 * where policy staff see it and every decision lists it when applied.
 */
const flag = (description: string) => ({ type: 'boolean', default: false, description }) as const;
const ruleSetsDefault = (description: string) => ({ type: 'boolean', description }) as const;
/** The flags ruleSetsDefault() gives no default, named for the schema's description (test/facts/schema.test.ts holds the list to the schema). */
export const FLAGS_DEFAULTED_BY_RULE_SETS = ['customer.meetsCommitments', 'case.customerContactableByPhone'] as const;
/**
 * What the vocabulary itself took those flags to be when a request left them out, for every rule set, until rule files
 * declared their own defaults (December 2026). Not a default for any new decision: it is how an earlier day's rules
 * and facts are read again, so that a decision recorded then is re-run as it was made (the decision log's archived
 * versions, and `ps-rules diff --base` at an older commit: LoadOptions.archived) and its facts match the digest recorded
 * with them, which was taken with these values filled in (api/decisions.ts).
 */
export const ARCHIVED_VOCABULARY_DEFAULTS: Readonly<Record<(typeof FLAGS_DEFAULTED_BY_RULE_SETS)[number], true>> = Object.freeze({
  'customer.meetsCommitments': true,
  'case.customerContactableByPhone': true,
});
/**
 * Facts added to the vocabulary with a default after decisions were first recorded, one entry per addition, oldest
 * first. A decision recorded before an addition was digested without its facts (a request then could not give them),
 * and a request validated now has their defaults filled in: reproducing the decision leaves them out again where the
 * facts given leave them out, addition by addition (api/decisions.ts). A fact added later with a default is listed
 * here, in a new entry.
 */
export const LATER_DEFAULTED_FACTS: readonly (readonly string[])[] = Object.freeze([
  // December 2026: referral options (001 Centrelink Table 3 Steps 1-2; 000 Community Connections).
  [
    'customer.urgentPaymentRequests',
    'customer.crisisPayments',
    'customer.participationRequirementsIssue',
    'customer.behaviours',
    'customer.mentalHealthConcern',
    'customer.disabilityEmployment',
    'customer.nominee',
    'customer.needs',
  ],
]);
const DEFAULTS_TEXT = `A flag left out is false, but for ${FLAGS_DEFAULTED_BY_RULE_SETS.join(' and ')}: what a rule set takes one of those to be when it is left out is declared in its rule file (factDefaults, shown by GET /v1/rulesets/{name}), and each decision lists the defaults it applied (defaultsApplied).`;
/**
 * Every list is bounded at what a real case can hold: a customer's whole history with the agency, at a rate no real
 * case reaches. The bound is what keeps a request's cost in proportion to a case (issue 11): without it a 1 MiB body
 * is a valid case of 19,000 incidents (72 ms to decide), and a list of 100,000 wrong items is 100,000 problems to find
 * and report. A longer list is refused with a 400 naming it, its items not walked (validate.ts).
 */
const HISTORY_YEARS = 50;
interface Bound {
  maxItems: number;
  /** Why a real case holds no more, in words built from the figures. */
  why: string;
}
const atMost = (perYear: number, rate: string): Bound => ({ maxItems: perYear * HISTORY_YEARS, why: `${rate} for ${HISTORY_YEARS} years` });
const BOUNDS = {
  serviceRestrictions: atMost(2, 'two new restrictions a year, the longest one going unreviewed,'),
  incidents: atMost(12, 'one a month'),
  complaints: atMost(12, 'one a month'),
  scsActivity: atMost(12, 'one a month'),
  nonCompliance: atMost(12, 'one a month'),
  paymentArrangementDefaults: atMost(4, 'one a quarter'),
  issues: atMost(4, 'four new issues a year'),
  outstandingIntrays: atMost(4, 'four a year, none ever cleared,'),
  warnings: atMost(2, 'two a year'),
  phoneAttempts: { maxItems: 100, why: 'five a working day for the twenty working days of a review' },
  consents: atMost(12, 'one a month'),
  urgentPaymentRequests: atMost(12, 'one a month'),
  crisisPayments: atMost(4, 'one a quarter'),
} satisfies Record<string, Bound>;
const grouped = (count: number): string => count.toLocaleString('en-AU');
/** The bounds in words, for the schema's description (and so /openapi.json); not in each list's own description, which is the fact's label in explanations. */
const BOUNDS_TEXT = `Each list holds at most what a real case can: ${Object.entries(BOUNDS)
  .map(([name, bound]) => `${name} ${grouped(bound.maxItems)} (${bound.why})`)
  .join('; ')}. A longer list is refused with a 400 naming it: the bound keeps a request's cost in proportion to a case.`;
const list = (items: object, description: string, bound: Bound) => ({ type: 'array', default: [], maxItems: bound.maxItems, items, description }) as const;
/**
 * A list added to the vocabulary after decisions were first recorded: no default, so a request that leaves it out is
 * validated, and its facts digested (decisions/facts-digest.ts), exactly as before, and a decision recorded then is
 * still reproduced from the same facts. Left out, it reads as empty all the same: a derived fact reads a list that is
 * not there as one with no entries.
 */
const laterList = (items: object, description: string, bound: Bound) => ({ type: 'array', maxItems: bound.maxItems, items, description }) as const;
const record = (properties: Record<string, object>, required: string[] = []) =>
  ({ type: 'object', additionalProperties: false, properties, required }) as const;

export const REFERRAL_SOURCES = [
  'escalated-complaint',
  'external-complaint',
  'media-branch',
  'nrat',
  'senior-executive',
  'social-work-services',
  'smart-centre',
  'intelligence-investigations',
  'mats',
  'member-of-parliament',
  'ombudsman',
  'ministerial',
  'level-2-complaint',
  'customer-review-gateway',
  'privacy-breach',
  'media-escalation',
  'proactive',
  'associated-customer',
  'zone',
  'other',
] as const;

/**
 * The Child Support intrays a referral reaches PS through, as the procedures name them: 001 Child Support Table 1
 * Step 1 (current) and 002 "Actioning a referral to Personalised Services" Step 1 (before 14 January 2025). The
 * older procedure's action timeframe depends on which (a rule's `appliesTo` may name them).
 */
export const REFERRAL_INTRAYS = [
  'crg-referral',
  'ps-referral-tl-only',
  'complaints-referral',
  'customer-assigned',
  'acer-referral',
  'centrelink-referral',
] as const;

/** Which way information would go between the agency (Services Australia) and another agency. */
export const SHARING_DIRECTIONS = ['to-agency', 'from-agency'] as const;

/** What a customer may need help with from a community agency: the kinds of agency 000 "Community Connections" lists. */
export const COMMUNITY_NEEDS = [
  'emergency-relief',
  'accommodation',
  'financial-aid',
  'crisis-counselling',
  'domestic-violence',
  'legal',
  'health',
  'drug-alcohol-gambling',
  'advocacy',
  'transport-mobility',
  'education',
  'family-support',
] as const;

/** Behaviours 001 Centrelink Table 3 Step 2 names that are not incidents (threats and violence are recorded as incidents). */
export const CUSTOMER_BEHAVIOURS = ['cannot-accept-information', 'non-compliant'] as const;

/** A list of values from `values`, each at most once: bounded by the values themselves. */
const valuesList = (values: readonly string[], description: string) =>
  ({ type: 'array', default: [], uniqueItems: true, maxItems: values.length, items: { enum: values }, description }) as const;

export const caseFactsSchema = {
  $id: 'https://ps-decisions.example/schemas/case-facts.json',
  title: 'CaseFacts',
  description: `The facts of one case. ${DEFAULTS_TEXT} ${BOUNDS_TEXT}`,
  ...record({
    program: { enum: ['centrelink', 'child-support'], description: 'The program managing the customer' },
    referral: {
      default: {},
      ...record({
        source: { enum: REFERRAL_SOURCES, description: 'Where the referral to PS came from' },
        receivedOn: { ...date, description: 'The day PS received the referral' },
        urgent: flag('The referral was confirmed as urgent'),
        intray: {
          enum: REFERRAL_INTRAYS,
          description:
            'The Child Support intray the referral arrived in: crg-referral "CRG Referral to PS" (002 only), ps-referral-tl-only "PS Referral (TL only)", complaints-referral "Complaints referral to PS", customer-assigned "Customer Assigned to PS", acer-referral "ACER referral to PS" (001 only), centrelink-referral "Centrelink referral to PS" (001 only). Optional; an urgent referral (001: "Once confirmed as urgent use s47E(d) intray", its name withheld) is given as urgent: true with the intray it was referred through, if known',
        },
      }),
    },
    customer: {
      default: {},
      ...record({
        psHistory: { enum: ['never', 'previously', 'current'], description: 'Managed in PS: never, previously, or currently' },
        zoneCaseManagement: flag('Currently case managed by a Zone'),
        serviceRestrictions: list(
          record(
            {
              channel: { enum: ['phone', 'face-to-face', 'online', 'written'] },
              level: { enum: ['full', 'partial'] },
              from: date,
              to: date,
            },
            ['channel', 'level', 'from'],
          ),
          'Service-channel restrictions, current when from <= asOf <= to',
          BOUNDS.serviceRestrictions,
        ),
        incidents: list(
          record(
            {
              date,
              kind: { enum: ['verbal-abuse', 'threat-of-violence', 'physical-violence', 'self-harm-threat', 'property-damage'] },
              setting: { enum: ['face-to-face', 'phone', 'online', 'written'] },
              securityIncident: { type: 'boolean', default: false },
            },
            ['date', 'kind', 'setting'],
          ),
          'Recorded customer incidents',
          BOUNDS.incidents,
        ),
        complaints: list(
          record(
            {
              date,
              stage: { enum: ['frontline', 'escalated'] },
              topic: { type: 'string', minLength: 1, maxLength: 200 },
              upheld: { type: 'boolean' },
            },
            ['date', 'stage', 'topic'],
          ),
          'Complaints, frontline or escalated (Level 2, formerly step 3)',
          BOUNDS.complaints,
        ),
        scsActivity: list(record({ date }, ['date']), 'SCS Activity Summary entries', BOUNDS.scsActivity),
        departureProhibitionOrder: flag('A current Departure Prohibition Order (DPO)'),
        nonCompliance: list(record({ date }, ['date']), 'Non-compliance entries', BOUNDS.nonCompliance),
        paymentArrangementDefaults: list(record({ date }, ['date']), 'Defaulted payment arrangements', BOUNDS.paymentArrangementDefaults),
        compensationOrWaiverApplied: flag('Has applied for compensation or waiver'),
        privacyBreachReported: flag('Has reported a privacy breach'),
        meetsCommitments: ruleSetsDefault('Meets their Services Australia commitments'),
        escalatingHistory: flag('Has a history of escalating issues or decisions'),
        declinedOptions: flag('Elected not to take up the options offered'),
        counterproductiveBehaviour: flag('Continues to show counterproductive behaviour'),
        consents: laterList(
          record(
            {
              id: { type: 'string', minLength: 1, maxLength: 100, description: 'The consent as recorded (its reference)' },
              agency: { type: 'string', minLength: 1, maxLength: 200, description: 'The agency the consent names, as recorded' },
              purpose: { type: 'string', minLength: 1, maxLength: 200, description: 'The reason the consent is for, as recorded' },
              direction: {
                enum: SHARING_DIRECTIONS,
                description: "to-agency: the customer's information given to the agency; from-agency: the agency's data about the customer accessed",
              },
              from: { ...date, description: 'The first day of the timeframe the consent was given for' },
              to: { ...date, description: 'The last day of the timeframe the consent was given for (on or after from)' },
              withdrawnOn: { ...date, description: 'The day the customer withdrew the consent: from that day it covers nothing' },
            },
            ['id', 'agency', 'purpose', 'direction', 'from', 'to'],
          ),
          'Consents the customer has given to share their information, each for one agency, one reason, one direction and one timeframe',
          BOUNDS.consents,
        ),
        urgentPaymentRequests: list(record({ date }, ['date']), 'Urgent payment requests the customer made', BOUNDS.urgentPaymentRequests),
        crisisPayments: list(record({ date }, ['date']), 'Crisis payments made to the customer', BOUNDS.crisisPayments),
        participationRequirementsIssue: flag('Participation requirements (mutual obligations) are an issue for the customer'),
        behaviours: valuesList(
          CUSTOMER_BEHAVIOURS,
          'Behaviours recorded of the customer: cannot-accept-information (cannot accept information or explanations of decisions), non-compliant. Threats and violence are incidents',
        ),
        mentalHealthConcern: flag('A mental health concern is recorded for the customer'),
        disabilityEmployment: flag('The customer is, or may be, supported by a Disability Employment Services provider'),
        nominee: flag('The customer has a nominee acting for them'),
        needs: valuesList(
          COMMUNITY_NEEDS,
          "The customer's needs a community agency may help with: emergency-relief, accommodation, financial-aid, crisis-counselling, domestic-violence (support), legal, health, drug-alcohol-gambling, advocacy (support and advocacy groups), transport-mobility, education, family-support (wider family support)",
        ),
      }),
    },
    case: {
      default: {},
      ...record({
        issues: list(
          record(
            {
              id: { type: 'string', minLength: 1, maxLength: 100 },
              kind: { type: 'string', minLength: 1, maxLength: 100 },
              status: { enum: ['recorded', 'confirmed', 'resolved'] },
              mandatory: { type: 'boolean' },
              specialistProcess: {
                enum: ['change-of-assessment', 'objection', 'compensation', 'privacy', 'litigation', 'foi', 'estimate', 'departure-prohibition-order', 'care'],
              },
            },
            ['id', 'kind', 'status'],
          ),
          'Issues on the case',
          BOUNDS.issues,
        ),
        servicingStrategiesResolved: flag('Servicing strategies resolved or implemented'),
        customerManagesOwnBusiness: flag('The customer can manage their own business'),
        appropriateBehaviour: flag('The customer shows appropriate behaviour'),
        usesDigitalServices: flag('The customer uses online and digital services'),
        digitalServicesAppropriate: flag('Online and digital services are appropriate for the customer'),
        decisionsNotified: flag('The customer has been notified of decisions'),
        feedbackProvided: flag('Relevant feedback has been provided'),
        futureArrangementsDiscussed: flag('Future arrangements discussed with the customer and the Zone'),
        cmaActivitiesComplete: flag('All Customer Management Approach activities complete'),
        cmpActionsComplete: flag('All Customer Management Plan actions complete'),
        activeMspDiscussedWithPsm: flag('An active MSP has been discussed with the PSM'),
        otherAvenuesExhausted: flag('All other reasonable avenues of service and review exhausted'),
        mspOptionsExhausted: flag('All MSP resolution options exhausted'),
        ministerialOrOmbudsmanResponse: {
          enum: ['none', 'pending', 'received-and-understood'],
          default: 'none',
          description: 'Written response to a Ministerial or Ombudsman complaint',
        },
        outstandingIntrays: list(
          record(
            {
              kind: { type: 'string', minLength: 1, maxLength: 100 },
              specialist: { type: 'boolean' },
            },
            ['kind', 'specialist'],
          ),
          'Outstanding intrays',
          BOUNDS.outstandingIntrays,
        ),
        mspActive: flag('A Managed Service Plan is active'),
        customerContactableByPhone: ruleSetsDefault('The customer can be contacted by phone'),
        exitLetterIssuedOn: { ...date, description: 'The day the exit letter was issued' },
        optionsDeclined: flag('The customer declined to take up their options'),
        optionsCommunicatedInWriting: flag('Options were clearly communicated to the customer'),
        optionsTimeframeGiven: flag('A suitable timeframe to take up options was given'),
        psWillNotResolve: flag('Ongoing PS management will not resolve the issues'),
        warnings: list(record({ date, kind: { enum: ['verbal', 'written'] } }, ['date', 'kind']), 'Warnings given', BOUNDS.warnings),
        behaviourContinuedAfterWarning: flag('The behaviour continued after the warning'),
        // No default object: a request without an MSP stays as it was sent (and as its recorded digest was taken).
        msp: {
          description: "The Managed Service Plan's review: when the plan ends, and what has been done in its review",
          ...record({
            endsOn: { ...date, description: 'The day the Managed Service Plan ends' },
            reviewEmailOn: { ...date, description: 'The day CIMS sent the review email (the review process starts)' },
            phoneAttempts: list(
              record({ date, contacted: { type: 'boolean' } }, ['date', 'contacted']),
              'Phone attempts to contact the customer for the MSP review',
              BOUNDS.phoneAttempts,
            ),
            letterSentOn: { ...date, description: 'The day the review letter was sent to the customer' },
            documentationAddedOn: { ...date, description: 'The day the review documentation was added to the MSP' },
          }),
        },
      }),
    },
    // No default, for the reason laterList gives: a request that leaves it out is validated and digested as before.
    sharing: {
      description: "A proposed sharing of the customer's information with another agency: whether a consent the customer gave covers it",
      ...record({
        agency: { type: 'string', minLength: 1, maxLength: 200, description: 'The agency the information would be shared with, as consents name it' },
        purpose: { type: 'string', minLength: 1, maxLength: 200, description: 'The reason it would be shared for, as consents name it' },
        direction: {
          enum: SHARING_DIRECTIONS,
          description:
            "The way it would go: to-agency (the customer's information given to the agency) or from-agency (the agency's data about the customer accessed)",
        },
        on: { ...date, description: 'The day it would be shared (default: the as-of date)' },
      }),
    },
  }),
} as const;

/**
 * The lists whose entries give two dates that must be in order, by fact path: the second on or after the first (a
 * consent's timeframe ends on or after it starts). JSON Schema cannot compare two fields, so validate.ts checks these
 * after the schema and refuses an entry out of order with a 400 naming the later field. A list of periods added to the
 * vocabulary is listed here when an entry out of order is an error of the record, not a period that is never in force.
 */
export const DATES_IN_ORDER: Readonly<Record<string, readonly [string, string]>> = Object.freeze({
  'customer.consents': ['from', 'to'],
});

export const evaluateRequestSchema = {
  $id: 'https://ps-decisions.example/schemas/evaluate-request.json',
  title: 'EvaluateRequest',
  ...record({ asOf: { ...date, description: 'The date to decide as of (default: today in Sydney)' }, facts: { $ref: caseFactsSchema.$id } }, ['facts']),
} as const;

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  default?: unknown;
}

/**
 * Every dotted path to a value in CaseFacts that a rule condition may name (objects are walked,
 * lists are values): "program", "referral.source", "case.issues", ...
 */
export function factPaths(node: SchemaNode = caseFactsSchema, prefix = ''): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child.type === 'object' && child.properties) paths.push(...factPaths(child, path));
    else paths.push(path);
  }
  return paths;
}

/** The paths that have a default, so a rule set may use them without requiring them. */
export function defaultedFactPaths(node: SchemaNode = caseFactsSchema, prefix = ''): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child.type === 'object' && child.properties) paths.push(...defaultedFactPaths(child, path));
    else if (child.default !== undefined) paths.push(path);
  }
  return paths;
}
