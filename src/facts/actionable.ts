// Which facts of the vocabulary a caseworker can act on or check, and how each may change: what summary.changes
// (engine/changes.ts) may propose. A property of the facts, the same for every rule set; never a parameter.
//
// Left out on purpose, because they record the past in a way no one can change honestly: program, the referral (its
// source, the day it was received, whether it was urgent, its intray), PS history, and the flags that say something
// happened (an escalating history, a compensation or waiver application, a privacy breach reported, options declined,
// behaviour continued after a warning). A change to one of them would be a different case, not a path to a different
// answer. So is the sharing a request asks about (its agency, purpose, direction and day): another question, not
// another answer to it; and a consent the customer has not given is theirs to give, not a caseworker's to record.

type Item = Record<string, unknown>;

/** How one fact may change. */
export type Actionable =
  /**
   * A list's entry may be found not to belong on the record (a duplicate, or recorded in error): a caseworker checks the
   * record. `describe` names the entry in plain words with its values, for the change's text.
   */
  | {
      how: 'remove-entry';
      why: string;
      describe: (item: Item) => string;
      /**
       * A field of an entry that may itself be found recorded in error, the entry standing (a withdrawal recorded against
       * the wrong consent): the check removes that field alone. `describe` names it with its value.
       */
      fieldInError?: { field: string; describe: (item: Item) => string };
    }
  /** A restriction in force may be ended on review (from the day before asOf); one that starts on asOf, withdrawn. */
  | { how: 'end-restriction'; why: string; describe: (item: Item) => string }
  /** An entry's field may move forward along `steps` (an issue is confirmed, then resolved): never back. */
  | { how: 'advance'; why: string; field: string; steps: readonly string[]; describe: (item: Item) => string }
  /** A flag a caseworker makes true by doing something (an activity completed): never made false again. */
  | { how: 'do'; why: string }
  /** A flag that records the customer's circumstances today, which a caseworker checks and may find either way. */
  | { how: 'check'; why: string }
  /** A value that moves forward along `steps` (a response pending, then received). */
  | { how: 'advance-value'; why: string; steps: readonly string[] }
  /** A date a caseworker sets by acting today (issuing the exit letter): given only when the case has none. */
  | { how: 'act-today'; why: string; act: string }
  /**
   * An entry a caseworker adds to a list by acting today (a phone attempt made): each of `entries`, dated asOf. What the
   * entry's other fields say (whether the attempt reached the customer) is for the action to find, so each is tried.
   */
  | { how: 'add-entry'; why: string; entries: readonly Item[]; describe: (item: Item) => string };

const dated = (noun: string) => (item: Item) => `the ${noun} of ${String(item.date)}`;
const DONE = 'something a caseworker does for the case: once done, it is done';
const CIRCUMSTANCE = 'a circumstance a caseworker checks with the customer or the records: it may be found either way today';

/** CaseFacts path → how it may change. A path not listed is never changed. */
export const ACTIONABLE_FACTS: Readonly<Record<string, Actionable>> = Object.freeze({
  'customer.serviceRestrictions': {
    how: 'end-restriction',
    why: 'a restriction is reviewed and may be lifted: ending it is an action the service takes',
    describe: (r: Item) => `the ${String(r.level)} ${String(r.channel)} restriction from ${String(r.from)}`,
  },
  'customer.incidents': {
    how: 'remove-entry',
    why: 'an incident is checked against the record: one recorded in error or twice is not an incident of the customer',
    describe: (i: Item) =>
      `the ${String(i.kind)} incident (${String(i.setting)}${i.securityIncident === true ? ', security incident' : ''}) of ${String(i.date)}`,
  },
  'customer.complaints': {
    how: 'remove-entry',
    why: 'a complaint is checked against the record: the same complaint recorded twice is one complaint',
    describe: (c: Item) => `the ${String(c.stage)} complaint of ${String(c.date)} about '${String(c.topic)}'`,
  },
  'customer.scsActivity': { how: 'remove-entry', why: 'an SCS Activity Summary entry is checked against the record', describe: dated('SCS activity entry') },
  'customer.nonCompliance': { how: 'remove-entry', why: 'a non-compliance entry is checked against the record', describe: dated('non-compliance entry') },
  'customer.paymentArrangementDefaults': {
    how: 'remove-entry',
    why: 'a defaulted arrangement is checked against the record',
    describe: dated('payment arrangement default'),
  },
  'customer.consents': {
    how: 'remove-entry',
    why: "a consent is checked against the record: one recorded in error, or a withdrawal recorded against the wrong consent, is not the customer's. A new consent is the customer's to give, never proposed here",
    describe: (c: Item) => `consent ${String(c.id)} (${String(c.agency)}, ${String(c.purpose)}, ${String(c.direction)})`,
    fieldInError: { field: 'withdrawnOn', describe: (c: Item) => `the withdrawal of consent ${String(c.id)} on ${String(c.withdrawnOn)}` },
  },
  'customer.urgentPaymentRequests': {
    how: 'remove-entry',
    why: 'an urgent payment request is checked against the record: one recorded twice or in error is not a request the customer made',
    describe: dated('urgent payment request'),
  },
  'customer.crisisPayments': {
    how: 'remove-entry',
    why: 'a crisis payment is checked against the record: one recorded twice or in error was not paid',
    describe: dated('crisis payment'),
  },
  'customer.needs': {
    how: 'remove-entry',
    why: 'a need is checked with the customer: one they no longer have is not a need a community agency is sought for',
    // A list of values: each entry is the need itself, not a record.
    describe: (need: unknown) => `the need for ${String(need).replace(/-/g, ' ')}`,
  },
  'case.warnings': {
    how: 'remove-entry',
    why: 'a warning is checked against the record',
    describe: (w: Item) => `the ${String(w.kind)} warning of ${String(w.date)}`,
  },
  'case.outstandingIntrays': {
    how: 'remove-entry',
    why: 'an outstanding intray is cleared by actioning it',
    describe: (t: Item) => `the outstanding ${t.specialist === true ? 'specialist' : 'non-specialist'} intray '${String(t.kind)}'`,
  },
  'case.issues': {
    how: 'advance',
    why: 'an issue is worked on: a recorded issue is confirmed, a confirmed one resolved',
    field: 'status',
    steps: ['recorded', 'confirmed', 'resolved'],
    describe: (i: Item) => `issue ${String(i.id)} (${String(i.kind)})`,
  },
  'customer.zoneCaseManagement': { how: 'check', why: CIRCUMSTANCE },
  'customer.departureProhibitionOrder': { how: 'check', why: 'whether a DPO is current is checked, and a DPO ends' },
  'customer.meetsCommitments': { how: 'check', why: CIRCUMSTANCE },
  'customer.counterproductiveBehaviour': { how: 'check', why: CIRCUMSTANCE },
  'customer.participationRequirementsIssue': { how: 'check', why: CIRCUMSTANCE },
  'customer.disabilityEmployment': { how: 'check', why: CIRCUMSTANCE },
  'customer.nominee': { how: 'check', why: 'whether the customer has a nominee is checked in the records: a nominee is appointed, and an appointment ends' },
  'case.customerManagesOwnBusiness': { how: 'check', why: CIRCUMSTANCE },
  'case.appropriateBehaviour': { how: 'check', why: CIRCUMSTANCE },
  'case.usesDigitalServices': { how: 'check', why: CIRCUMSTANCE },
  'case.digitalServicesAppropriate': { how: 'check', why: CIRCUMSTANCE },
  'case.customerContactableByPhone': { how: 'check', why: CIRCUMSTANCE },
  'case.psWillNotResolve': { how: 'check', why: "a caseworker's assessment of the case today" },
  'case.mspActive': { how: 'check', why: 'whether a Managed Service Plan is active is checked, and a plan is started or ended' },
  'case.servicingStrategiesResolved': { how: 'do', why: DONE },
  'case.decisionsNotified': { how: 'do', why: DONE },
  'case.feedbackProvided': { how: 'do', why: DONE },
  'case.futureArrangementsDiscussed': { how: 'do', why: DONE },
  'case.cmaActivitiesComplete': { how: 'do', why: DONE },
  'case.cmpActionsComplete': { how: 'do', why: DONE },
  'case.activeMspDiscussedWithPsm': { how: 'do', why: DONE },
  'case.otherAvenuesExhausted': { how: 'do', why: DONE },
  'case.mspOptionsExhausted': { how: 'do', why: DONE },
  'case.optionsCommunicatedInWriting': { how: 'do', why: DONE },
  'case.optionsTimeframeGiven': { how: 'do', why: DONE },
  'case.ministerialOrOmbudsmanResponse': {
    how: 'advance-value',
    why: 'a pending written response is sent and its receipt confirmed',
    steps: ['pending', 'received-and-understood'],
  },
  'case.exitLetterIssuedOn': { how: 'act-today', why: 'issuing the exit letter is an action a caseworker takes today', act: 'the exit letter were issued' },
  'case.msp.phoneAttempts': {
    how: 'add-entry',
    why: 'a phone attempt to contact the customer is an action a caseworker takes today, and either reaches the customer or does not',
    entries: [{ contacted: true }, { contacted: false }],
    describe: (a: Item) => `a phone attempt ${a.contacted === true ? 'reaching' : 'not reaching'} the customer`,
  },
  'case.msp.letterSentOn': {
    how: 'act-today',
    why: 'sending the MSP review letter is an action a caseworker takes today',
    act: 'the MSP review letter were sent',
  },
  'case.msp.documentationAddedOn': {
    how: 'act-today',
    why: 'adding the review documentation to the MSP is an action a caseworker takes today',
    act: 'the MSP review documentation were added',
  },
} satisfies Record<string, Actionable>);
