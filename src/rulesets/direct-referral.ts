// direct-referral outcome: eligible when every criterion fires; the due date from the timeframe rule that fires.
//
// Two kinds of rule share the file. Criterion rules (event "criterion-met") decide eligibility and are the checklist
// in `unmet`. Timeframe rules (event "timeframe") decide how many working days the referral has: the first that fires
// names, in its event's `workingDays`, the parameter holding the number (null: no timeframe can be given, and
// actionDueBy is null). Which timeframe applies is policy (Centrelink's or Child Support's, by version, by urgency,
// by intray), so it lives in the rule file with its sources; the explanation entry of the rule that decided the date
// says how it was reckoned.
//
// A timeframe rule that gives a date has a condition on referral.receivedOn ("notEqual null": the date counts from
// it). Besides saying so in the explanation, that makes the receipt day one of the values its explanation entry is
// known by: the API's JSON writer (api/decision-json.ts) reuses a rule's entry for the same rule, result and
// condition values, and the entry now carries the due date, which is fixed by the version and the receipt day.
import { Type, type Static } from '@sinclair/typebox';
import { defineRuleSet, type DecidedContext, type DecidingRule, type ModuleProblem, type OutcomeContext } from '../engine/compile';
import { noDate, WorkingDaysDate, type ComputedDate } from '../engine/explain';
import type { RuleDefinition, RuleFile } from '../engine/types';
import { addWorkingDays } from '../dates/calendar';
import { REFERRAL_INTRAYS } from '../facts/schema';
import { allMet, MAX_REASONS, unmetLines } from './grounds';
import { dateOrNull, oneOf, outcome, stringOrNull, strings } from './schema';

// The numbers (how many working days, for which program) are the deciding version's parameters and rules, shown by
// GET /v1/rulesets/{name}: a description here that repeated them would go on saying them after they changed.
export const DirectReferralOutcome = outcome({
  eligible: Type.Boolean({ description: 'Every criterion is met: the referral may take the direct route' }),
  route: oneOf(['direct', 'standard'], 'direct when eligible, otherwise standard'),
  unmet: strings('Ids of the criteria (rules) not met, in file order: a caseworker checklist'),
  actionDueBy: dateOrNull(
    'The day the referral must be actioned by: the day PS received it (day 0) plus the working days of the first timeframe rule that fired, whose explanation entry says how, in `computed`. ' +
      "null when the timeframe rule that fired gives no date, its entry saying why. Which timeframe applies (by program, urgency and, in some versions, intray) and how many working days it gives are the deciding version's rules and parameters",
  ),
  refusalApprovedBy: stringOrNull(
    'Who must approve refusing this referral (the parameter refusalApprover), when every rule the rule file names in outcome.refusalNeedsApprovalWhen fired; null when no refusal needs approval',
  ),
});
type Outcome = Static<typeof DirectReferralOutcome>;

export const TIMEFRAME = 'timeframe';
const FIELD = 'actionDueBy';
const RECEIVED = 'referral.receivedOn';

const isTimeframe = (rule: { event?: { type?: unknown } }): boolean => rule.event?.type === TIMEFRAME;
const isCriterion = (rule: RuleDefinition): boolean => !isTimeframe(rule);

const timeframed = new WeakMap<RuleFile, boolean>();
/** Whether a version's file has timeframe rules (every file since they were introduced does), remembered per file. */
function hasTimeframes(file: RuleFile): boolean {
  let has = timeframed.get(file);
  if (has === undefined) {
    has = file.rules.some(isTimeframe);
    timeframed.set(file, has);
  }
  return has;
}

/** A timeframe rule's explanation when it gives no date: its own description says why; one per rule definition. */
const undecided = new WeakMap<RuleDefinition, ComputedDate>();
function noDateFor(rule: RuleDefinition): ComputedDate {
  let entry = undecided.get(rule);
  if (!entry) {
    entry = noDate(FIELD, `${FIELD} is not given: ${rule.description}`);
    undecided.set(rule, entry);
  }
  return entry;
}

/** A timeframe rule as build() reads it: its name, and its parameter and that parameter's value (null: no date). */
interface Timeframe {
  rule: RuleDefinition;
  parameter: string | null;
  days: number;
}

/** What build() reads of the rules weighed for a case: the criteria (the checklist) and the timeframe rules, in file order. */
interface Plan {
  criteria: readonly string[];
  timeframes: readonly Timeframe[];
}

/**
 * Hot path: the rules weighed are one array per rule subset of a version (compile.ts), fixed with its parameters, so
 * which are criteria and what each timeframe rule reads is worked out once per subset, not once per case.
 */
const plans = new WeakMap<readonly RuleDefinition[], Plan>();
function planFor(context: OutcomeContext): Plan {
  let plan = plans.get(context.weighed);
  if (!plan) {
    plan = {
      criteria: context.weighed.filter(isCriterion).map((rule) => rule.name),
      timeframes: context.weighed.filter(isTimeframe).map((rule) => {
        const parameter = (rule.event.params?.workingDays ?? null) as string | null;
        return { rule, parameter, days: parameter === null ? 0 : context.param<number>(parameter) };
      }),
    };
    plans.set(context.weighed, plan);
  }
  return plan;
}

/**
 * The due date by the first timeframe rule that fired (in file order), explained in that rule's entry. A rule file
 * written before timeframe rules (an archived version a logged decision is reproduced under) has none: its due date
 * is, as it was then, actionWorkingDays after receipt (urgentActionWorkingDays when urgent), whatever the program.
 */
function dueDate(context: OutcomeContext, timeframes: readonly Timeframe[]): string | null {
  if (!hasTimeframes(context.file)) {
    const days = context.param<number>(context.fact('referral.urgent') === true ? 'urgentActionWorkingDays' : 'actionWorkingDays');
    return addWorkingDays(String(context.fact(RECEIVED)), days, context.calendar);
  }
  for (const { rule, parameter, days } of timeframes) {
    if (!context.fired.has(rule.name)) continue;
    if (parameter === null) {
      context.explainDate(rule.name, noDateFor(rule));
      return null;
    }
    const receivedOn = context.fact(RECEIVED) as string;
    const due = addWorkingDays(receivedOn, days, context.calendar);
    context.explainDate(
      rule.name,
      new WorkingDaysDate(FIELD, due, receivedOn, RECEIVED, 'the day PS received the referral', days, parameter, context.calendar),
    );
    return due;
  }
  return null;
}

function build(context: OutcomeContext): Outcome {
  const plan = planFor(context);
  const unmet: string[] = [];
  for (const name of plan.criteria) if (!context.fired.has(name)) unmet.push(name);
  const eligible = unmet.length === 0;
  // A referral the direct route would take but a criterion fails is a refusal, which the SSM approves: only where every
  // rule named in refusalNeedsApprovalWhen fired (a Centrelink referral from a direct-referral area).
  const when = context.file.outcome.refusalNeedsApprovalWhen as string | string[];
  const refusal = !eligible && (typeof when === 'string' ? context.fired.has(when) : when.every((rule) => context.fired.has(rule)));
  return {
    eligible,
    route: eligible ? 'direct' : 'standard',
    unmet,
    actionDueBy: dueDate(context, plan.timeframes),
    refusalApprovedBy: refusal ? context.param<string>('refusalApprover') : null,
  };
}

/**
 * What decided: eligible, the criteria (summed up in one line when they and the timeframe would be more than
 * MAX_REASONS lines); not eligible, each unmet criterion. Then the timeframe rule that gave the due date, if one fired.
 */
function decidedBy({ outcome, weighed, fired }: DecidedContext<Outcome>): readonly DecidingRule[] {
  const criteria = criteriaOf(weighed);
  const lines = outcome.eligible
    ? [...allMet(criteria, (count) => `All ${count} criteria for the direct route are met`, MAX_REASONS - 1)]
    : unmetLines(outcome.unmet);
  const timeframe = weighed.find((rule) => isTimeframe(rule) && fired.has(rule.name));
  if (timeframe) lines.push({ rule: timeframe.name, met: true });
  return lines;
}

const criteriaNames = new WeakMap<readonly RuleDefinition[], readonly string[]>();
/** The criteria among the rules weighed, once per rule subset (build's plan needs the version's parameters, these do not). */
function criteriaOf(weighed: readonly RuleDefinition[]): readonly string[] {
  let names = criteriaNames.get(weighed);
  if (!names) {
    names = weighed.filter(isCriterion).map((rule) => rule.name);
    criteriaNames.set(weighed, names);
  }
  return names;
}

/** What build() needs of a version's file beyond what the loader checks: timeframe rules it can read. */
function check(file: RuleFile): ModuleProblem[] {
  const problems: ModuleProblem[] = [];
  const names = new Set(file.rules.map((rule) => rule.name));
  const when = file.outcome.refusalNeedsApprovalWhen;
  for (const rule of Array.isArray(when) ? when : [when]) {
    if (typeof rule !== 'string' || !names.has(rule))
      problems.push({
        pointer: '/outcome/refusalNeedsApprovalWhen',
        message: `${JSON.stringify(rule)} is not a rule of this file: name the rules (criterion ids) that together make a refusal need approval`,
      });
  }
  if (!file.rules.some(isTimeframe)) {
    // The form before timeframe rules, kept readable so that decisions logged under it can still be reproduced.
    for (const name of ['actionWorkingDays', 'urgentActionWorkingDays']) {
      if (!(name in file.parameters))
        problems.push({
          pointer: '/parameters',
          message: `parameter "${name}" is missing: with no rule of event type "${TIMEFRAME}", the due date (${FIELD}) is reckoned from it`,
        });
    }
  }
  file.rules.forEach((rule, r) => {
    if (!isTimeframe(rule)) return;
    const parameter: unknown = rule.event.params?.workingDays;
    const declared = typeof parameter === 'string' ? (file.parameters[parameter] as { type?: string } | undefined) : undefined;
    if (parameter !== null && declared?.type !== 'working-days') {
      problems.push({
        pointer: `/rules/${r}/event/params`,
        message: `a timeframe rule's event names in "workingDays" a parameter of type working-days (or null when no date can be given); ${JSON.stringify(parameter ?? 'nothing')} is not one`,
      });
    }
    if (parameter !== null && !JSON.stringify(rule.conditions).includes(`"fact":${JSON.stringify(RECEIVED)}`)) {
      problems.push({
        pointer: `/rules/${r}/conditions`,
        message: `a timeframe rule that gives a date needs a condition on ${RECEIVED} (write { "fact": "${RECEIVED}", "operator": "notEqual", "value": null }): the date counts from it, and its explanation is known by it`,
      });
    }
    (rule.appliesTo?.['referral.intray'] ?? []).forEach((value, i) => {
      if (value !== null && !(REFERRAL_INTRAYS as readonly unknown[]).includes(value)) {
        problems.push({
          pointer: `/rules/${r}/appliesTo/referral.intray/${i}`,
          message: `${JSON.stringify(value)} is not an intray (referral.intray is one of ${REFERRAL_INTRAYS.join(', ')}, or null when not given)`,
        });
      }
    });
  });
  return problems;
}

export const directReferral = defineRuleSet({
  name: 'direct-referral',
  outcomeSchema: DirectReferralOutcome,
  build,
  decidedBy,
  verdict: 'route',
  datedFromAsOf: [],
  columns: ['eligible', 'route', 'unmet', 'actionDueBy', 'refusalApprovedBy'],
  dueBy: 'actionDueBy',
  approval: { field: 'refusalApprovedBy', what: 'refusing the direct referral' },
  example: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } },
  parameters: ['refusalApprover'],
  outcome: ['refusalNeedsApprovalWhen'],
  facts: ['referral.receivedOn', 'referral.urgent'],
  check,
});
