// The triage queue's order, as policy writes it: rules/triage/priority.json, checked like a rule file (file:line:column).
//
// Which cases a team works first is policy, not code: the tiers (segment 3 and overdue first, say) and the rule sets a
// backlog runs through by default live in this file, beside the rule files, where policy staff can read and change them.
// It sits in a folder of its own, as the holiday calendar does, so the loader never takes it for a rule file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { closest } from 'fastest-levenshtein';
import type { RuleSetModule } from '../engine/compile';
import { DecisionError, type Issue } from '../errors';
import { caseFactsSchema } from '../facts/schema';
import { pointerToken } from '../facts/validate';
import { locate, syntaxProblems } from './positions';

/** Where the file lives, relative to the rules folder. */
export const TRIAGE_PRIORITY_FILE = path.join('triage', 'priority.json');

/**
 * The most tiers a file may declare: a record's rank key holds its tier beside its due day (triage/priority.ts), and 16
 * tiers keep that key, packed with the record's input index, inside a double's exact integers.
 */
export const MAX_TIERS = 16;

/** A condition's key: "overdue", "program", or "<rule set>.<outcome field>". */
const OVERDUE = 'overdue';
const PROGRAM = 'program';
const PROGRAMS = (caseFactsSchema.properties.program as { enum: readonly string[] }).enum;
const OUTCOME_KEY = /^([a-z][a-z0-9-]*)\.([A-Za-z][A-Za-z0-9]*)$/;

/** One condition on a rule set's outcome: its field equals the value. */
export interface OutcomeCondition {
  ruleSet: string;
  field: string;
  value: string | number | boolean | null;
}

/** What a record must be for a tier or an action to be its own: every condition given holds. */
export interface Conditions {
  /** When given: the case is (true) or is not (false) overdue; a case no due date applies to is neither. */
  overdue?: boolean;
  /** When given: the program managing the customer (the fact `program`). */
  program?: string;
  outcomes: OutcomeCondition[];
}

/** A tier: a record is in the first tier whose every condition holds. */
export interface Tier extends Conditions {
  name: string;
}

/**
 * The next action a queue line recommends: the first whose conditions hold. Its text is a template: {due} (the due
 * date in words, or that it is overdue, or that no due date applies), {approver} (who must approve what), and
 * {<rule set>.<outcome field>} for a rule set its conditions name.
 */
export interface NextAction extends Conditions {
  text: string;
}

/** The file as triage reads it (plain data: it is handed to the worker threads as it is). */
export interface TriagePriority {
  /** The rule sets triage runs when none are named (ps-rules triage --rule-sets). */
  ruleSets: string[];
  /** In order: tier 1 first. The last holds every record the others do not. */
  tiers: Tier[];
  /** In order: the first that holds is the record's next action. The last holds for every record. */
  actions: NextAction[];
}

/** The placeholders an action's text may use besides {<rule set>.<outcome field>}. */
export const ACTION_PLACEHOLDERS = ['due', 'approver'] as const;
const PLACEHOLDER = /\{([^{}]*)\}/g;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['description', 'ruleSets', 'tiers', 'actions'],
  properties: {
    $schema: { type: 'string' },
    description: { type: 'string', minLength: 1 },
    ruleSets: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
    tiers: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_TIERS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'when'],
        properties: {
          name: { type: 'string', minLength: 1 },
          description: { type: 'string', minLength: 1 },
          when: { type: 'object' },
        },
      },
    },
    actions: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['when', 'text'],
        properties: {
          when: { type: 'object' },
          text: { type: 'string', minLength: 1 },
          sources: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv, ['date']);
const validateFile = ajv.compile(schema);

interface PriorityFile {
  ruleSets: string[];
  tiers: { name: string; when: Record<string, unknown> }[];
  actions: { when: Record<string, unknown>; text: string }[];
}

const suggestion = (name: string, candidates: readonly string[]): string => {
  const best = candidates.length > 0 ? closest(name, [...candidates]) : undefined;
  return best && best !== name ? `; did you mean "${best}"?` : '';
};

/** What a schema cannot check: names that must exist, values a field can hold, tiers and actions every record reaches. */
function checkMeaning(
  file: PriorityFile,
  modules: Readonly<Record<string, RuleSetModule>>,
  at: (pointer: string, message: string) => void,
): { tiers: Tier[]; actions: NextAction[] } {
  const known = Object.keys(modules);
  file.ruleSets.forEach((name, i) => {
    if (!modules[name]) at(`/ruleSets/${i}`, `no rule set "${name}" is registered${suggestion(name, known)} (rule sets: ${known.join(', ')})`);
  });
  const names = new Set<string>();
  const tiers = file.tiers.map((tier, t): Tier => {
    const where = `/tiers/${t}`;
    if (names.has(tier.name)) at(`${where}/name`, `tier name "${tier.name}" is used twice: each tier's name says which it is`);
    names.add(tier.name);
    lastTakesTheRest(Object.keys(tier.when).length, t, file.tiers.length, 'tier', where, at);
    return { name: tier.name, ...conditionsOf(tier.when, `${where}/when`, modules, at) };
  });
  const actions = file.actions.map((action, a): NextAction => {
    const where = `/actions/${a}`;
    lastTakesTheRest(Object.keys(action.when).length, a, file.actions.length, 'action', where, at);
    const conditions = conditionsOf(action.when, `${where}/when`, modules, at);
    for (const [, name] of action.text.matchAll(PLACEHOLDER)) {
      const key = name as string;
      if ((ACTION_PLACEHOLDERS as readonly string[]).includes(key)) continue;
      const match = OUTCOME_KEY.exec(key);
      const named = match ? conditions.outcomes.some((c) => c.ruleSet === match[1]) : false;
      const field = match ? modules[match[1] as string]?.outcomeSchema.properties[match[2] as string] : undefined;
      if (!match || !field)
        at(
          `${where}/text`,
          `{${key}} is not a placeholder: use {due}, {approver} or {<rule set>.<outcome field>} (e.g. {${known[0] ?? 'rule-set'}.${known[0] ? modules[known[0]]?.verdict : 'field'}})`,
        );
      else if (!named)
        at(
          `${where}/text`,
          `{${key}} reads the ${match[1]} outcome, which this action's "when" does not name: a run without that rule set would have no value for it (add a condition on ${match[1]})`,
        );
    }
    return { text: action.text, ...conditions };
  });
  return { tiers, actions };
}

/** Only the last of a list takes every record, and it must: so every record has a tier and a next action. */
function lastTakesTheRest(conditions: number, index: number, count: number, what: string, where: string, at: (pointer: string, message: string) => void): void {
  const last = index === count - 1;
  if (conditions === 0 && !last)
    at(
      `${where}/when`,
      `${what} ${index + 1} has no conditions, so it takes every record and the ${what}s after it are never reached: give it conditions, or make it the last`,
    );
  if (conditions > 0 && last)
    at(
      `${where}/when`,
      `the last ${what} takes every record the ${what}s before it do not, so it has no conditions: write "when": {} (add a ${what} after this one for the rest)`,
    );
}

/** A tier's or an action's "when", checked: each key overdue, program or "<rule set>.<outcome field>", with a value it can have. */
function conditionsOf(
  when: Record<string, unknown>,
  where: string,
  modules: Readonly<Record<string, RuleSetModule>>,
  at: (pointer: string, message: string) => void,
): Conditions {
  const known = Object.keys(modules);
  const result: Conditions = { outcomes: [] };
  for (const [key, value] of Object.entries(when)) {
    const pointer = `${where}/${pointerToken(key)}`;
    if (key === OVERDUE) {
      if (typeof value === 'boolean') result.overdue = value;
      else at(pointer, `"overdue" is true or false (the case's earliest due date is, or is not, before the as-of date), not ${JSON.stringify(value)}`);
      continue;
    }
    if (key === PROGRAM) {
      if (typeof value === 'string' && PROGRAMS.includes(value)) result.program = value;
      else at(pointer, `"program" is one of ${PROGRAMS.map((p) => `"${p}"`).join(', ')} (the fact program), not ${JSON.stringify(value)}`);
      continue;
    }
    const match = OUTCOME_KEY.exec(key);
    if (!match) {
      at(
        pointer,
        `"${key}" is neither "overdue", "program" nor "<rule set>.<outcome field>" (e.g. "${known[0] ?? 'rule-set'}.${known[0] ? modules[known[0]]?.verdict : 'field'}")`,
      );
      continue;
    }
    const [, ruleSet, field] = match as unknown as [string, string, string];
    const module = modules[ruleSet];
    if (!module) {
      at(pointer, `no rule set "${ruleSet}" is registered${suggestion(ruleSet, known)} (rule sets: ${known.join(', ')})`);
      continue;
    }
    const fields = Object.keys(module.outcomeSchema.properties);
    const fieldSchema = module.outcomeSchema.properties[field];
    if (!fieldSchema) {
      at(pointer, `the ${ruleSet} outcome has no field "${field}"${suggestion(field, fields)} (its fields: ${fields.join(', ')})`);
      continue;
    }
    if (value !== null && typeof value === 'object') {
      at(pointer, `a condition compares an outcome field with one value (a text, number, true, false or null), not ${JSON.stringify(value)}`);
      continue;
    }
    // The value must be one the field can hold, or the condition could never be met.
    if (!ajv.validate(fieldSchema, value)) {
      at(pointer, `${JSON.stringify(value)} is never the ${ruleSet} outcome's ${field}: ${ajv.errorsText(ajv.errors, { dataVar: field })}`);
      continue;
    }
    result.outcomes.push({ ruleSet, field, value: value as OutcomeCondition['value'] });
  }
  return result;
}

/** The file's text checked and read; throws `rule-file-invalid` naming each problem by file, line and column. */
export function parseTriagePriority(text: string, modules: Readonly<Record<string, RuleSetModule>>, file = TRIAGE_PRIORITY_FILE): TriagePriority {
  const issues: Issue[] = [];
  const at = (pointer: string, message: string) => issues.push({ file, ...locate(text, pointer), pointer: `${file}#${pointer}`, message });
  const refused = () => new DecisionError('rule-file-invalid', `The triage priority (${file}) is refused: ${issues.length} problem(s).`, issues);
  const syntax = syntaxProblems(text);
  for (const problem of syntax) issues.push({ file, line: problem.line, column: problem.column, pointer: `${file}#`, message: problem.message });
  if (issues.length > 0) throw refused();
  const json = JSON.parse(text) as unknown;
  if (!validateFile(json)) {
    for (const error of validateFile.errors ?? []) {
      const params = error.params as { additionalProperty?: string; missingProperty?: string };
      if (error.keyword === 'additionalProperties')
        at(
          `${error.instancePath}/${pointerToken(params.additionalProperty ?? '')}`,
          `"${params.additionalProperty}" is not a member this file may have here (check its spelling)`,
        );
      else if (error.keyword === 'required') at(error.instancePath, `"${params.missingProperty}" is required here`);
      else if (error.keyword === 'maxItems' && error.instancePath === '/tiers')
        at(error.instancePath, `at most ${MAX_TIERS} tiers: a record's rank key holds its tier beside its due date`);
      else at(error.instancePath, error.message ?? 'is invalid');
    }
    throw refused();
  }
  const parsed = json as unknown as PriorityFile;
  const { tiers, actions } = checkMeaning(parsed, modules, at);
  if (issues.length > 0) throw refused();
  return { ruleSets: [...parsed.ruleSets], tiers, actions };
}

/** Reads and checks `<rules folder>/triage/priority.json`; a file that cannot be read is a refusal naming it. */
export function loadTriagePriority(rulesDirectory: string, modules: Readonly<Record<string, RuleSetModule>>): TriagePriority {
  let text: string;
  try {
    text = readFileSync(path.join(rulesDirectory, TRIAGE_PRIORITY_FILE), 'utf8');
  } catch (error) {
    throw new DecisionError('rule-file-invalid', `The triage priority (${TRIAGE_PRIORITY_FILE}) could not be read: ${(error as Error).message}`, [
      {
        file: TRIAGE_PRIORITY_FILE,
        line: 1,
        column: 1,
        pointer: `${TRIAGE_PRIORITY_FILE}#`,
        message: `could not be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      },
    ]);
  }
  return parseTriagePriority(text, modules);
}
