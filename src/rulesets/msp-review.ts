// msp-review outcome: the MSP review's timetable (its due dates) and, as of asOf, the next step and the steps overdue.
//
// The dates are reckoned from the MSP's own dates, never from asOf: each is the due date of a `daysPast` derived fact
// the rule file names in outcome.dates, computed by the very function the fact counts days from (derived.ts
// dueDateOf), so the date reported and the day its rule turns on cannot drift apart. They are part of the verdict
// (datedFromAsOf is empty). What moves with asOf (the next step, the steps overdue, the attempts made) is read from the
// rules that fired, whose facts are derived facts holds-until.ts knows the change days of.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import { dueDateOf, derivedInputs } from '../engine/derived';
import type { FactMap, RuleFile } from '../engine/types';
import { date, dateOrNull, oneOf, outcome, strings } from './schema';

/** The review's steps, in the order the procedure takes them. */
const STEPS = ['phone-attempts', 'write-to-customer', 'add-documentation', 'zone-panel', 'complete'] as const;
type Step = (typeof STEPS)[number];

/** The outcome's dates, each the due date of the derived fact the rule file's outcome.dates names for it. */
const DATES = ['reviewStartsOn', 'phoneAttemptsDueBy', 'letterDueBy', 'responseDueOnOrBefore', 'documentationDueBy', 'zonePanelFrom', 'zonePanelTo'] as const;
type DateField = (typeof DATES)[number];

// The numbers (how many days, working or calendar) are the deciding version's parameters, shown by
// GET /v1/rulesets/{name}: a description here that repeated them would go on saying them after they changed.
export const MspReviewOutcome = outcome({
  reviewStartsOn: date("The review's day 1: the day of the CIMS review email (case.msp.reviewEmailOn, or the MSP's end less the review's length)"),
  phoneAttemptsDueBy: date('The day the phone attempts to contact the customer are due by: working days after the CIMS email'),
  phoneAttemptsMade: Type.Integer({ minimum: 0, description: 'Phone attempts made for the review, dated on or before asOf' }),
  letterRequired: Type.Boolean({
    description:
      'Phone contact was not made: the phone attempts were all made without reaching the customer, or their due date passed without contact; the PSSO writes to the customer',
  }),
  letterDueBy: dateOrNull('The day the letter to the customer is due by (days after the CIMS email); null when no letter is required'),
  responseDueOnOrBefore: date("The latest day the letter may nominate for the customer's response: before day 14 of the review"),
  documentationDueBy: date('The day the review documentation is due to be added to the MSP: day 14 of the review'),
  zonePanelFrom: date("The first of the review's last days, in which Zones may hold a Zone Panel Meeting"),
  zonePanelTo: date("The last of the review's last days, in which Zones may hold a Zone Panel Meeting: the day before the MSP ends"),
  nextStep: oneOf(
    STEPS,
    'The review step to take next as of asOf: phone-attempts (the customer not yet reached or written to), write-to-customer (phone contact not made, no letter sent), add-documentation (the customer reached or written to), zone-panel (documented; PS contributes to any Zone Panel Meeting until the MSP ends), complete (documented, and the MSP has ended)',
  ),
  overdue: strings(
    'The steps whose due date has passed as of asOf without their being done, in the order of the review (phone-attempts, write-to-customer, add-documentation); empty once the documentation is added',
  ),
});
type Outcome = Static<typeof MspReviewOutcome>;

const CONTACT = 'phone-contact-made';
const ATTEMPTS_MADE = 'phone-attempts-made';
const PHONE_LATE = 'phone-deadline-passed';
const LETTER_REQUIRED = 'letter-required';
const LETTER_SENT = 'letter-sent';
const LETTER_LATE = 'letter-deadline-passed';
const DOCUMENTED = 'documentation-added';
const DOCUMENTATION_LATE = 'documentation-deadline-passed';
const ENDED = 'review-period-over';
/** The rules build() reads: a rule file without one is refused (check). */
const RULES = [CONTACT, ATTEMPTS_MADE, PHONE_LATE, LETTER_REQUIRED, LETTER_SENT, LETTER_LATE, DOCUMENTED, DOCUMENTATION_LATE, ENDED];

interface DueDate {
  due: (facts: FactMap) => string | null;
  reads: readonly string[];
}
/** Each outcome date's due-date function, with the facts it reads, once per version's file. */
const dueDates = new WeakMap<RuleFile, Map<DateField, DueDate>>();
function dueDatesOf(context: OutcomeContext): Map<DateField, DueDate> {
  let found = dueDates.get(context.file);
  if (!found) {
    found = new Map();
    const names = context.file.outcome.dates as Record<DateField, string>;
    for (const field of DATES) {
      const definition = context.file.derivedFacts[names[field]];
      if (definition === undefined) continue; // check() refuses such a file
      found.set(field, { due: dueDateOf(definition, context.file.parameters, context.calendar), reads: derivedInputs(definition) });
    }
    dueDates.set(context.file, found);
  }
  return found;
}

function dateOf(context: OutcomeContext, field: DateField): string {
  const { due, reads } = dueDatesOf(context).get(field) as DueDate;
  const facts: FactMap = {};
  for (const path of reads) facts[path] = context.fact(path);
  // case.msp.endsOn is required, and every date falls back on it: a date is always given.
  return due(facts) as string;
}

/** The next step: documented, the zone panel until the MSP ends; reached or written to, the documentation; else the letter or the phone. */
function nextStepOf(fired: ReadonlySet<string>): Step {
  if (fired.has(DOCUMENTED)) return fired.has(ENDED) ? 'complete' : 'zone-panel';
  if (fired.has(CONTACT) || fired.has(LETTER_SENT)) return 'add-documentation';
  return fired.has(LETTER_REQUIRED) ? 'write-to-customer' : 'phone-attempts';
}

/**
 * The steps late as of asOf: the phone attempts while neither made nor overtaken (by contact, or the letter sent); the
 * letter while required and not sent; the documentation while not added. Documented, nothing is late.
 */
function overdueOf(fired: ReadonlySet<string>): Step[] {
  if (fired.has(DOCUMENTED)) return [];
  const overdue: Step[] = [];
  if (fired.has(PHONE_LATE) && !fired.has(ATTEMPTS_MADE) && !fired.has(CONTACT) && !fired.has(LETTER_SENT)) overdue.push('phone-attempts');
  if (fired.has(LETTER_REQUIRED) && !fired.has(LETTER_SENT) && fired.has(LETTER_LATE)) overdue.push('write-to-customer');
  if (fired.has(DOCUMENTATION_LATE)) overdue.push('add-documentation');
  return overdue;
}

function build(context: OutcomeContext): Outcome {
  const { fired } = context;
  const letterRequired = fired.has(LETTER_REQUIRED);
  return {
    reviewStartsOn: dateOf(context, 'reviewStartsOn'),
    phoneAttemptsDueBy: dateOf(context, 'phoneAttemptsDueBy'),
    phoneAttemptsMade: Number(context.fact(String(context.file.outcome.attemptsMade))),
    letterRequired,
    letterDueBy: letterRequired ? dateOf(context, 'letterDueBy') : null,
    responseDueOnOrBefore: dateOf(context, 'responseDueOnOrBefore'),
    documentationDueBy: dateOf(context, 'documentationDueBy'),
    zonePanelFrom: dateOf(context, 'zonePanelFrom'),
    zonePanelTo: dateOf(context, 'zonePanelTo'),
    nextStep: nextStepOf(fired),
    overdue: overdueOf(fired),
  };
}

/** The rules that put the review at its next step, then each deadline passed that makes a step overdue. */
function decidedBy({ outcome, fired }: DecidedContext<Outcome>): readonly DecidingRule[] {
  const lines: DecidingRule[] = [];
  const line = (rule: string) => lines.push({ rule, met: fired.has(rule) });
  switch (outcome.nextStep) {
    case 'complete':
    case 'zone-panel':
      line(DOCUMENTED);
      line(ENDED);
      break;
    case 'add-documentation':
      line(fired.has(CONTACT) ? CONTACT : LETTER_SENT);
      line(DOCUMENTED);
      break;
    case 'write-to-customer':
      line(LETTER_REQUIRED);
      line(LETTER_SENT);
      break;
    case 'phone-attempts':
      line(LETTER_REQUIRED);
      break;
  }
  if (outcome.overdue.includes('phone-attempts')) line(PHONE_LATE);
  if (outcome.overdue.includes('write-to-customer')) line(LETTER_LATE);
  if (outcome.overdue.includes('add-documentation')) line(DOCUMENTATION_LATE);
  return lines;
}

/** What build() reads of a version's file beyond parameters: its rules by name, and a daysPast fact for each date. */
function check(file: RuleFile): ModuleProblem[] {
  const problems: ModuleProblem[] = [];
  const names = new Set(file.rules.map((rule) => rule.name));
  for (const rule of RULES) {
    if (!names.has(rule)) problems.push({ pointer: '/rules', message: `rule "${rule}" is missing: the next step and the steps overdue are read from it` });
  }
  const dates = (file.outcome.dates ?? {}) as Record<string, unknown>;
  for (const field of DATES) {
    const name = dates[field];
    const definition = typeof name === 'string' ? file.derivedFacts[name] : undefined;
    if (definition?.kind !== 'daysPast')
      problems.push({
        pointer: `/outcome/dates/${field}`,
        message: `name the derived fact (of kind daysPast) whose due date is ${field}; ${JSON.stringify(name ?? 'nothing')} is not one`,
      });
  }
  const made = file.outcome.attemptsMade;
  if (typeof made !== 'string' || file.derivedFacts[made]?.kind !== 'count')
    problems.push({ pointer: '/outcome/attemptsMade', message: 'name the derived fact (of kind count) that counts the phone attempts made' });
  return problems;
}

export const mspReview = defineRuleSet({
  name: 'msp-review',
  outcomeSchema: MspReviewOutcome,
  build,
  decidedBy,
  verdict: 'nextStep',
  datedFromAsOf: [],
  columns: ['nextStep', 'overdue', 'reviewStartsOn', 'phoneAttemptsDueBy', 'letterDueBy', 'documentationDueBy', 'zonePanelTo'],
  // No dueBy: triage would call a review overdue once its documentation's due date passed, documented or not; the
  // steps overdue are the outcome's own `overdue`.
  example: {
    program: 'centrelink',
    case: { msp: { endsOn: '2025-05-16', phoneAttempts: [{ date: '2025-04-22', contacted: false }] } },
  },
  parameters: [],
  outcome: ['dates', 'attemptsMade'],
  facts: ['case.msp.endsOn', 'case.msp.reviewEmailOn'],
  check,
});
