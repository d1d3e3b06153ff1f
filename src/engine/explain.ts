// Turns json-rules-engine's recorded condition results into the explanation a caseworker reads.
import { longDate, skippedDays, type HolidayCalendar, type SkippedDay } from '../dates/calendar';
import { OPERATOR_PHRASES } from './operators';
import { PARAM_PREFIX, type Interpretation, type RuleDefinition, type SourceRef } from './types';

export type ConditionExplanation =
  | { all: ConditionExplanation[]; result: boolean | null }
  | { any: ConditionExplanation[]; result: boolean | null }
  | { not: ConditionExplanation; result: boolean | null }
  | ConditionLine;

const VERDICTS = { met: ': met.', notMet: ': not met.', notEvaluated: ': not evaluated.' } as const;

/**
 * One condition of the explanation: the fact, the operator, the expected value, the customer's
 * actual value and the result, all recorded during evaluation; and the sentence a caseworker reads.
 *
 * Hot path: the sentence follows from the recorded values, so it is written when it is read or
 * serialised, not during evaluation (writing it for every condition of every case was a third of
 * a segment allocation's time; `npm run bench`). JSON carries it as an ordinary `text` field.
 */
export class ConditionLine {
  readonly fact: string;
  readonly label: string;
  readonly operator: string;
  readonly expected: unknown;
  readonly actual: unknown;
  /** null when json-rules-engine did not need to evaluate this condition. */
  result: boolean | null;
  /** The parameter (or fact) the expected value comes from, when the rule names one. */
  declare readonly expectedFrom?: string;
  /** The sentence up to the actual value, shared by every case of a compiled condition. */
  readonly #head: string;

  constructor(fact: string, label: string, operator: string, expected: unknown, actual: unknown, result: boolean | null, head: string, expectedFrom?: string) {
    this.fact = fact;
    this.label = label;
    this.operator = operator;
    this.expected = expected;
    this.actual = actual ?? null;
    this.result = result;
    this.#head = head;
    if (expectedFrom !== undefined) (this as { expectedFrom?: string }).expectedFrom = expectedFrom;
  }

  /** "<label> [<fact>] must <phrase> <expected>; it is <actual>: met." */
  get text(): string {
    const verdict = this.result === null ? VERDICTS.notEvaluated : this.result ? VERDICTS.met : VERDICTS.notMet;
    return this.#head + show(this.actual) + verdict;
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      fact: this.fact,
      label: this.label,
      operator: this.operator,
      expected: this.expected,
      actual: this.actual,
      result: this.result,
      text: this.text,
    };
    if (this.expectedFrom !== undefined) json.expectedFrom = this.expectedFrom;
    return json;
  }
}

export interface RuleExplanation {
  rule: string;
  fired: boolean;
  description: string;
  sources: SourceRef[];
  citation: string;
  requiredFor?: string[];
  /** The rule's reading of the procedure's words, when it is marked as an interpretation: the question, the reading chosen, who confirmed it. */
  interpretation?: Interpretation;
  conditions: ConditionExplanation;
  /** The dates of the outcome this rule decided (a due date), each with how it was reckoned: set by the rule set's module. */
  computed?: ComputedDate[];
}

/**
 * How a date of the outcome was reckoned, in the explanation entry of the rule that decided it: which outcome field,
 * the date (null when none can be given, `text` saying why), and for a count of working days, from which day, how
 * many, by which parameter, and each day not counted with why (a weekend, or a public holiday by its name).
 */
export interface ComputedDate {
  readonly field: string;
  readonly date: string | null;
  readonly text: string;
}

/** A date the rule decides cannot be given: the outcome field is null, and `text` says why. */
export function noDate(field: string, text: string): ComputedDate {
  return Object.freeze({ field, date: null, text });
}

/**
 * A due date N working days after a fact's date (day 0), as addWorkingDays counted it.
 *
 * Hot path: a decision records only what it already has (the dates, the count, the parameter); the days skipped and
 * the sentence follow from them and the version's calendar, so they are worked out when read or serialised, as a
 * ConditionLine's sentence is (batch triage without --explain never asks).
 */
export class WorkingDaysDate implements ComputedDate {
  readonly field: string;
  readonly date: string;
  /** Day 0: the date counted from. */
  readonly from: string;
  /** The fact `from` is the value of. */
  readonly fromFact: string;
  readonly add: number;
  readonly unit = 'working days';
  /** The parameter the number of working days comes from. */
  readonly parameter: string;
  readonly #fromLabel: string;
  readonly #calendar: HolidayCalendar;

  constructor(field: string, date: string, from: string, fromFact: string, fromLabel: string, add: number, parameter: string, calendar: HolidayCalendar) {
    this.field = field;
    this.date = date;
    this.from = from;
    this.fromFact = fromFact;
    this.add = add;
    this.parameter = parameter;
    this.#fromLabel = fromLabel;
    this.#calendar = calendar;
  }

  /** Each day between day 0 and the date that was not counted, in order, with why. */
  get skipped(): SkippedDay[] {
    return skippedDays(this.from, this.add, this.#calendar);
  }

  /** "<field> is <date>: <n> working days (parameter <p>) after <from>, <label> [<fact>], which is day 0. Not counted: …" */
  get text(): string {
    return this.#sentence(this.skipped);
  }

  #sentence(skipped: readonly SkippedDay[]): string {
    const days = skipped.map(
      (d) =>
        `${longDate(d.date)} (${d.reason === 'weekend' ? `weekend${d.holiday ? `; also ${d.holiday}` : ''}` : `${d.holiday ?? 'public holiday'}, a public holiday`})`,
    );
    const passed = days.length === 0 ? 'No weekend or public holiday fell in between.' : `Not counted: ${days.join('; ')}.`;
    return `${this.field} is ${longDate(this.date)}: ${this.add} ${this.add === 1 ? 'working day' : 'working days'} (parameter ${this.parameter}) after ${longDate(this.from)}, ${this.#fromLabel} [${this.fromFact}], which is day 0. ${passed}`;
  }

  toJSON(): Record<string, unknown> {
    const skipped = this.skipped;
    return {
      field: this.field,
      date: this.date,
      from: this.from,
      fromFact: this.fromFact,
      add: this.add,
      unit: this.unit,
      parameter: this.parameter,
      skipped,
      text: this.#sentence(skipped),
    };
  }
}

interface RecordedCondition {
  all?: RecordedCondition[];
  any?: RecordedCondition[];
  not?: RecordedCondition;
  fact?: string;
  operator?: string;
  value?: unknown;
  factResult?: unknown;
  valueResult?: unknown;
  result?: boolean;
}

/** A value as the explanation's sentence shows it. */
export const show = (value: unknown): string => (value === undefined || value === null ? 'nothing' : JSON.stringify(value));

/** The sentence's opening, up to the actual value: "<label> [<fact>] must <phrase> <expected>; it is ". */
export function leafTextHead(fact: string, label: string, operator: string, expected: unknown): string {
  return `${label.replace(/\.$/, '')} [${fact}] must ${OPERATOR_PHRASES[operator] ?? operator} ${show(expected)}; it is `;
}

/** Where an expected value that refers to a fact comes from, as the explanation names it. */
export const expectedFromOf = (reference: string): string =>
  reference.startsWith(PARAM_PREFIX) ? `parameter ${reference.slice(PARAM_PREFIX.length)}` : reference;

export function citation(sources: readonly SourceRef[]): string {
  return sources.map((s) => `${s.document}, ${s.part}, ${s.table}, ${stepOf(s.step)}`).join('; ');
}

/**
 * A source's step as a reader finds it: a numbered step ("2", "3a") as "Step 2"; a place named in words ("sentence 5",
 * for a document with no tables or steps) as written. The rules page writes it the same way.
 */
export const stepOf = (step: string): string => (/^[0-9]/.test(step) ? `Step ${step}` : step);

function explainCondition(condition: RecordedCondition, labels: Readonly<Record<string, string>>): ConditionExplanation {
  // json-rules-engine's toJSON drops the result of all/any/not groups; it follows from the children's.
  if (condition.all) {
    const all = condition.all.map((c) => explainCondition(c, labels));
    return { all, result: all.some((c) => c.result === false) ? false : all.every((c) => c.result === true) ? true : null };
  }
  if (condition.any) {
    const any = condition.any.map((c) => explainCondition(c, labels));
    return { any, result: any.some((c) => c.result === true) ? true : any.every((c) => c.result === false) ? false : null };
  }
  if (condition.not) {
    const not = explainCondition(condition.not, labels);
    return { not, result: not.result === null ? null : !not.result };
  }
  const result = condition.result === undefined ? null : condition.result;
  const fact = condition.fact as string;
  const reference =
    condition.value !== null && typeof condition.value === 'object' && 'fact' in condition.value
      ? String((condition.value as { fact: string }).fact)
      : undefined;
  const expected = reference !== undefined ? condition.valueResult : condition.value;
  return explainLeaf(fact, labels[fact] ?? fact, condition.operator as string, expected, reference, condition.factResult, result);
}

/** One condition's line of the explanation; shared by the reference and the compiled evaluator. */
export function explainLeaf(
  fact: string,
  label: string,
  operator: string,
  expected: unknown,
  reference: string | undefined,
  actual: unknown,
  result: boolean | null,
): ConditionExplanation {
  const expectedFrom = reference === undefined ? undefined : expectedFromOf(reference);
  return new ConditionLine(fact, label, operator, expected, actual, result, leafTextHead(fact, label, operator, expected), expectedFrom);
}

export function explainRule(rule: RuleDefinition, fired: boolean, recorded: RecordedCondition, labels: Readonly<Record<string, string>>): RuleExplanation {
  return ruleExplanation(rule, fired, explainCondition(recorded, labels));
}

/** A rule's entry in the explanation, from its explained conditions. */
export function ruleExplanation(rule: RuleDefinition, fired: boolean, conditions: ConditionExplanation): RuleExplanation {
  const explanation: RuleExplanation = {
    rule: rule.name,
    fired,
    description: rule.description,
    sources: rule.sources,
    citation: citation(rule.sources),
    conditions,
  };
  // A group json-rules-engine did not need to finish has no result of its own; the rule's decides.
  if (explanation.conditions.result === null) explanation.conditions.result = fired;
  if (rule.requiredFor) explanation.requiredFor = rule.requiredFor;
  if (rule.interpretation) explanation.interpretation = rule.interpretation;
  return explanation;
}

/** Every condition's sentence, in order: what two evaluators must agree on beyond the recorded values. */
export function sentencesOf(explanation: readonly RuleExplanation[]): string[] {
  const sentences: string[] = [];
  const walk = (condition: ConditionExplanation): void => {
    if (condition instanceof ConditionLine) sentences.push(condition.text);
    else if ('all' in condition) condition.all.forEach(walk);
    else if ('any' in condition) condition.any.forEach(walk);
    else walk(condition.not);
  };
  for (const rule of explanation) walk(rule.conditions);
  return sentences;
}
