// The shape of a rule file: json-rules-engine rules plus what it has no place for (sources, parameters, derived facts).
import type { TopLevelCondition, Event } from 'json-rules-engine';

/** Where a rule or parameter comes from: seed file, part, table, step, and the words it rests on. */
export interface SourceRef {
  document: string;
  part: string;
  table: string;
  step: string;
  quote?: string;
}

/**
 * A reading of the procedure that its words leave open, marked where the rules apply it (a parameter, a derived fact,
 * a fact default or a rule) so that policy staff can answer the question and confirm, or change, the reading.
 */
export interface Interpretation {
  /** What the procedure leaves open, as a question a policy officer can answer. */
  question: string;
  /** The reading the rules apply. */
  chosen: string;
  /** Who in policy confirmed the reading (with confirmedOn): absent, it is unconfirmed. */
  confirmedBy?: string;
  /** The day they confirmed it (YYYY-MM-DD). */
  confirmedOn?: string;
}

export interface Parameter {
  value: unknown;
  description: string;
  /** The reading of the procedure's words this value encodes, when they leave it open: for policy staff to confirm. */
  interpretation?: Interpretation;
  sources: SourceRef[];
}

/**
 * What a rule file takes a fact to be when a request leaves it out: policy (a customer not recorded as failing their
 * commitments is taken to meet them), so it is declared in the rule file that relies on it, with its sources, shown on
 * the rules page and listed in every decision it was applied to.
 */
export interface FactDefault {
  value: unknown;
  description: string;
  interpretation?: Interpretation;
  sources: SourceRef[];
}

/** A fact default applied to a case: which fact, the value it was taken to be, and the rule file that says so. */
export interface DefaultApplied {
  fact: string;
  value: unknown;
  file: string;
}

export interface ParamRef {
  param: string;
}

/** A fact computed from the raw facts and the as-of date; `kind` picks the computation in derived.ts. */
export interface DerivedFactDefinition {
  kind: 'count' | 'countCurrent' | 'firstCurrent' | 'maxPerGroup' | 'distinctValues' | 'missingValues' | 'daysSince' | 'daysPast';
  description: string;
  interpretation?: Interpretation;
  list?: string;
  /** Field → a constant, a list of them, null (absent), { present: true }, a parameter ({ param }) or another fact of the case ({ fact }). */
  where?: Record<string, unknown>;
  /** A date fact of the case to reckon on instead of the as-of date, when the case gives it (the day information is to be shared). */
  on?: string;
  /** For entries with a period: the field of a date from which an entry is out of force before its `to` (a withdrawal). */
  endedBy?: string;
  withinMonths?: number | ParamRef;
  groupBy?: string;
  field?: string;
  required?: unknown[] | ParamRef;
  date?: string;
  /** daysPast: when `date` is not given, the day `daysBefore` calendar days before this date fact stands for it. */
  otherwise?: { date: string; daysBefore: number | ParamRef };
  /** daysPast: the days from that date to the due date (working days when `workingDays`, the date being day 0). */
  after?: number | ParamRef;
  workingDays?: boolean;
}

export interface RuleDefinition {
  name: string;
  description: string;
  /** The reading of the quoted words this rule encodes, when they leave it open. */
  interpretation?: Interpretation;
  sources: SourceRef[];
  conditions: TopLevelCondition;
  event: Event;
  priority?: number;
  /** Weighed only when each named fact has one of the listed values (e.g. { program: ["centrelink"] }). */
  appliesTo?: Record<string, unknown[]>;
  /** For rule sets with several grounds: the grounds (bases, pathways) this rule is a criterion of. */
  requiredFor?: string[];
}

export interface RuleFile {
  ruleSet: string;
  /** The first day this version decides (YYYY-MM-DD); absent: from the beginning. */
  effectiveFrom?: string;
  /** The last day this version decides; absent: until further notice. */
  effectiveTo?: string;
  title: string;
  description: string;
  documents: Record<string, string>;
  requires: string[];
  /** Fact path → what it is taken to be when a request leaves it out (absent: none). */
  factDefaults?: Record<string, FactDefault>;
  parameters: Record<string, Parameter>;
  derivedFacts: Record<string, DerivedFactDefinition>;
  outcome: Record<string, unknown>;
  rules: RuleDefinition[];
}

/** Facts as json-rules-engine receives them: dotted CaseFacts paths, derived facts, `param:` facts. */
export type FactMap = Record<string, unknown>;

export const PARAM_PREFIX = 'param:';
