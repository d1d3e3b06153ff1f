// Reads rules/, validates every file, and compiles all rule sets at once — or refuses with every problem found.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { closest } from 'fastest-levenshtein';
import { buildCalendar, type HolidayCalendarFile } from '../dates/calendar';
import { compileRuleSet, versionOf, type CompiledRuleSet, type RuleSetModule } from '../engine/compile';
import { derivedInputs, isFactRef, isParamRef, PERIOD_KINDS } from '../engine/derived';
import { interpretationsOf } from '../engine/interpretations';
import { CUSTOM_OPERATORS } from '../engine/operators';
import { PARAM_PREFIX, type RuleFile } from '../engine/types';
import { DecisionError, type Issue } from '../errors';
import { ARCHIVED_VOCABULARY_DEFAULTS, caseFactsSchema, defaultedFactPaths, factPaths } from '../facts/schema';
import { pointerToken, pointerTokenName } from '../facts/validate';
import { vocabularyLists } from '../facts/entries';
import { caseFactTypes, derivedFactType, typeMismatch, type FactType } from './fact-types';
import { interpretationPointer, interpretationProblems, upgradeArchivedInterpretations } from './interpretation-problems';
import { locate, syntaxProblems } from './positions';
import { parameterProblem, type DeclaredParameter } from './parameter-types';
import { conditionSchema, ruleFileSchema } from './rule-file-schema';
import { renderDescriptions } from './templates';

export const CALENDAR_FILE = path.join('calendars', 'au-national-public-holidays.json');

const DEFAULT_OPERATORS = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
];
export const OPERATORS = new Set([...DEFAULT_OPERATORS, ...Object.keys(CUSTOM_OPERATORS)]);
const FACTS = new Set(factPaths());
const DEFAULTED = new Set(defaultedFactPaths());
const FACT_TYPES = caseFactTypes();
/** Each list of the vocabulary with its entries' fields, to check the fields a derived fact names. */
const LISTS = vocabularyLists() as Map<string, Record<string, { type?: string; format?: string }>>;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv, ['date']);
ajv.addSchema(conditionSchema);
const validateRuleFile = ajv.compile(ruleFileSchema);

interface FactSchemaNode {
  properties?: Record<string, FactSchemaNode>;
  default?: unknown;
}

/** A CaseFacts path's own schema (its type, enum, format), to hold a rule file's default for it to what it can be. */
const factValueCheckers = new Map<string, ValidateFunction>();
function factValueChecker(fact: string): ValidateFunction {
  let check = factValueCheckers.get(fact);
  if (!check) {
    let node = caseFactsSchema as unknown as FactSchemaNode;
    for (const key of fact.split('.')) node = node.properties?.[key] as FactSchemaNode;
    check = ajv.compile(node);
    factValueCheckers.set(fact, check);
  }
  return check;
}

/** The default the fact vocabulary itself gives a path (a flag false, a list empty), which a request is filled in with. */
function vocabularyDefault(fact: string): unknown {
  let node = caseFactsSchema as unknown as FactSchemaNode;
  for (const key of fact.split('.')) node = node.properties?.[key] as FactSchemaNode;
  return node.default;
}

/** One rule set's versions, oldest first, each in force from its effectiveFrom to its effectiveTo. */
export class RuleSetVersions {
  constructor(
    readonly name: string,
    readonly versions: readonly CompiledRuleSet[],
  ) {}

  /** The version in force on `asOf`, if any. */
  inForceOn(asOf: string): CompiledRuleSet | undefined {
    return this.versions.find((v) => (v.effectiveFrom === null || v.effectiveFrom <= asOf) && (v.effectiveTo === null || asOf <= v.effectiveTo));
  }

  /** The version in force on `asOf`; a 422 when none is. */
  resolve(asOf: string): CompiledRuleSet {
    const version = this.inForceOn(asOf);
    if (!version) {
      const periods = this.versions.map((v) => `${v.effectiveFrom ?? 'the beginning'} to ${v.effectiveTo ?? 'now'}`).join('; ');
      throw new DecisionError('no-version-in-force', `No version of ${this.name} is in force on ${asOf} (versions cover ${periods}).`, [
        { pointer: '/asOf', message: `no version of ${this.name} is in force on this date` },
      ]);
    }
    return version;
  }

  /** Each version's hash, period and file, for listings. */
  periods(): { version: string; effectiveFrom: string | null; effectiveTo: string | null; file: string }[] {
    return this.versions.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom, effectiveTo: v.effectiveTo, file: v.sourceFile }));
  }

  /** The newest version. */
  get latest(): CompiledRuleSet {
    return this.versions[this.versions.length - 1] as CompiledRuleSet;
  }
}

/** The rule sets in force: swapped whole, never edited in place. */
export interface RuleRegistry {
  ruleSets: ReadonlyMap<string, RuleSetVersions>;
  calendarVersion: string;
  /** The texts it was loaded from: what a cluster's primary hands a new worker, so it serves the same rules (server.ts). */
  texts?: RuleTexts;
  /** What is allowed but should be fixed (a parameter's value typed into a description), by file:line:column. */
  warnings?: Issue[];
}

/** A registry just loaded from rule texts: it always holds them (a registry built another way, in a test, may not). */
export type LoadedRegistry = RuleRegistry & { texts: RuleTexts };

/** Rule file → version (a rule set with several versions has several files): what a registry decides with. */
export function versionsByFile(registry: RuleRegistry): Record<string, string> {
  return Object.fromEntries([...registry.ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [v.sourceFile, v.version])));
}

interface Located extends Issue {
  file: string;
}

function parseJson(file: string, text: string, issues: Located[]): unknown {
  const problems = syntaxProblems(text);
  if (problems.length === 0) {
    try {
      return JSON.parse(text);
    } catch (error) {
      problems.push({ line: 1, column: 1, message: `is not valid JSON: ${(error as Error).message}` });
    }
  }
  for (const problem of problems) issues.push({ file, pointer: '', ...problem });
  return undefined;
}

/** The value at a JSON pointer in parsed JSON (undefined where there is none). */
function valueAt(json: unknown, pointer: string): unknown {
  let node = json;
  for (const token of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[pointerTokenName(token)];
  }
  return node;
}

/** " (did you mean x?)" when a close name exists. */
function suggestion(name: string, candidates: Iterable<string>): string {
  const list = [...candidates];
  if (list.length === 0) return '';
  const best = closest(name, list);
  return best && best !== name ? `; did you mean "${best}"?` : '';
}

/** What a schema cannot check: names that must exist, and policy that must be sourced. */
function checkMeaning(file: string, ruleFile: RuleFile, modules: Readonly<Record<string, RuleSetModule>>, issues: Located[]): ReadonlySet<string> {
  const at = (pointer: string, message: string) => issues.push({ file, pointer, message });
  const module = modules[ruleFile.ruleSet];
  if (!module) at('/ruleSet', `no outcome module is registered for rule set "${ruleFile.ruleSet}" (src/rulesets/index.ts)`);
  for (const name of module?.parameters ?? [])
    if (!(name in ruleFile.parameters)) at('/parameters', `parameter "${name}" is missing: the ${ruleFile.ruleSet} outcome needs it`);
  for (const name of module?.outcome ?? [])
    if (!(name in ruleFile.outcome)) at('/outcome', `outcome setting "${name}" is missing: the ${ruleFile.ruleSet} outcome needs it`);
  const stem = path.basename(file, '.json');
  if (stem !== ruleFile.ruleSet && !stem.startsWith(`${ruleFile.ruleSet}.`))
    at('/ruleSet', `the file must be named ${ruleFile.ruleSet}.json, or ${ruleFile.ruleSet}.<label>.json for another version`);
  if (ruleFile.effectiveFrom && ruleFile.effectiveTo && ruleFile.effectiveTo < ruleFile.effectiveFrom)
    at('/effectiveTo', `effectiveTo ${ruleFile.effectiveTo} is before effectiveFrom ${ruleFile.effectiveFrom}`);
  // What the schema cannot say of an interpretation: confirmedBy and confirmedOn go together.
  for (const { pointer, interpretation } of interpretationsOf(ruleFile))
    for (const { at, message } of interpretationProblems(interpretation)) issues.push({ file, pointer: `${pointer}${at}`, message });
  const derived = new Set(Object.keys(ruleFile.derivedFacts));
  const defaults = ruleFile.factDefaults ?? {};
  const defaulted = (fact: string) => DEFAULTED.has(fact) || Object.hasOwn(defaults, fact);
  /** The CaseFacts paths this file (or its outcome module) reads: a default is declared only for one of them. */
  const read = new Set<string>(module?.facts ?? []);
  const knownFact = (name: string) =>
    FACTS.has(name) || derived.has(name) || (name.startsWith(PARAM_PREFIX) && name.slice(PARAM_PREFIX.length) in ruleFile.parameters);
  ruleFile.requires.forEach((fact, i) => {
    if (!FACTS.has(fact)) at(`/requires/${i}`, `"${fact}" is not a fact in the CaseFacts vocabulary`);
  });
  const checkParamRefs = (value: unknown, pointer: string) => {
    if (isParamRef(value) && !(value.param in ruleFile.parameters))
      at(pointer, `parameter "${value.param}" is not defined under "parameters"${suggestion(value.param, Object.keys(ruleFile.parameters))}`);
  };
  // A list of values is compared with the fact it names in "of": values of another fact would never match (or always would).
  const comparedWith = (value: unknown, fact: string, pointer: string) => {
    const name = isParamRef(value)
      ? value.param
      : typeof (value as { fact?: unknown } | null)?.fact === 'string' && (value as { fact: string }).fact.startsWith(PARAM_PREFIX)
        ? (value as { fact: string }).fact.slice(PARAM_PREFIX.length)
        : undefined;
    const parameter = name === undefined ? undefined : (ruleFile.parameters[name] as { type?: string; of?: string } | undefined);
    if (parameter?.type === 'values' && parameter.of !== fact)
      at(
        pointer,
        `parameter "${name}" lists values of ${parameter.of}, but is compared here with ${fact}: change its "of", or compare it with ${parameter.of}`,
      );
  };
  for (const [name, definition] of Object.entries(ruleFile.derivedFacts)) {
    if (FACTS.has(name)) at(`/derivedFacts/${name}`, `derived fact "${name}" hides a CaseFacts fact of the same name`);
    for (const fact of derivedInputs(definition)) read.add(fact);
    if (definition.list !== undefined) {
      for (const [field, value] of Object.entries(definition.where ?? {}))
        comparedWith(value, `${definition.list}[].${field}`, `/derivedFacts/${name}/where/${field}`);
      if (definition.field !== undefined) comparedWith(definition.required, `${definition.list}[].${definition.field}`, `/derivedFacts/${name}/required`);
    }
    for (const [fact, key] of [
      [definition.list, 'list'],
      [definition.date, 'date'],
      [definition.otherwise?.date, 'otherwise/date'],
    ] as const) {
      if (fact !== undefined && !FACTS.has(fact)) at(`/derivedFacts/${name}/${key}`, `"${fact}" is not a fact in the CaseFacts vocabulary`);
    }
    if (definition.kind === 'daysPast' && definition.date === undefined)
      at(`/derivedFacts/${name}`, 'a daysPast fact names the "date" its due date is reckoned from');
    checkParamRefs(definition.withinMonths, `/derivedFacts/${name}/withinMonths`);
    checkParamRefs(definition.after, `/derivedFacts/${name}/after`);
    checkParamRefs(definition.otherwise?.daysBefore, `/derivedFacts/${name}/otherwise/daysBefore`);
    checkParamRefs(definition.required, `/derivedFacts/${name}/required`);
    for (const [field, value] of Object.entries(definition.where ?? {})) {
      checkParamRefs(value, `/derivedFacts/${name}/where/${pointerToken(field)}`);
      // An entry compared with another fact of the case: a fact of the vocabulary, which the request gives (not a derived
      // fact, computed after the entries are chosen, nor a parameter, written { "param": name }).
      if (!isFactRef(value)) continue;
      read.add(value.fact);
      if (!FACTS.has(value.fact))
        at(
          `/derivedFacts/${name}/where/${pointerToken(field)}/fact`,
          `"${value.fact}" is not a fact in the CaseFacts vocabulary${value.fact.startsWith(PARAM_PREFIX) ? ` (a parameter is written { "param": "${value.fact.slice(PARAM_PREFIX.length)}" })` : ''}${suggestion(value.fact, FACTS)}`,
        );
    }
    if (definition.on !== undefined) {
      read.add(definition.on);
      if (FACT_TYPES.get(definition.on)?.kind !== 'date')
        at(
          `/derivedFacts/${name}/on`,
          `"${definition.on}" is not a date fact in the CaseFacts vocabulary: "on" names the date the derived fact is reckoned on${suggestion(
            definition.on,
            [...FACTS].filter((f) => FACT_TYPES.get(f)?.kind === 'date'),
          )}`,
        );
    }
    const fields = definition.list === undefined ? undefined : LISTS.get(definition.list);
    if (definition.endedBy !== undefined) {
      if (!PERIOD_KINDS.has(definition.kind))
        at(`/derivedFacts/${name}/endedBy`, `"endedBy" ends an entry's period early: only ${[...PERIOD_KINDS].join(' and ')} read periods`);
      else if (fields && fields[definition.endedBy]?.format !== 'date')
        at(
          `/derivedFacts/${name}/endedBy`,
          `"${definition.endedBy}" is not a date field of the entries of ${String(definition.list)}${suggestion(definition.endedBy, Object.keys(fields))}`,
        );
    }
    if (definition.kind === 'firstCurrent') {
      if (definition.list === undefined) at(`/derivedFacts/${name}`, `a firstCurrent derived fact names the list it reads ("list")`);
      if (definition.field === undefined)
        at(`/derivedFacts/${name}`, `a firstCurrent derived fact names the field it gives of the first entry in force ("field")`);
      else if (fields && !Object.hasOwn(fields, definition.field))
        at(
          `/derivedFacts/${name}/field`,
          `"${definition.field}" is not a field of the entries of ${String(definition.list)}${suggestion(definition.field, Object.keys(fields))}`,
        );
    }
  }
  const bases = new Set(((ruleFile.outcome.bases ?? []) as { id: string }[]).map((b) => b.id));
  const names = new Set<string>();
  ruleFile.rules.forEach((rule, r) => {
    if (names.has(rule.name)) at(`/rules/${r}/name`, `rule name "${rule.name}" is used twice; rule names are the stable criterion ids and must be unique`);
    names.add(rule.name);
    rule.sources.forEach((source, s) => {
      if (!(source.document in ruleFile.documents)) at(`/rules/${r}/sources/${s}/document`, `document "${source.document}" is not listed under "documents"`);
    });
    for (const ground of rule.requiredFor ?? []) if (!bases.has(ground)) at(`/rules/${r}/requiredFor`, `"${ground}" is not one of outcome.bases`);
    for (const fact of Object.keys(rule.appliesTo ?? {})) {
      read.add(fact);
      if (!FACTS.has(fact)) at(`/rules/${r}/appliesTo/${fact}`, `"${fact}" is not a fact in the CaseFacts vocabulary`);
    }
    const walk = (condition: Record<string, unknown>, pointer: string) => {
      for (const key of ['all', 'any'] as const) {
        const children = condition[key];
        if (Array.isArray(children)) children.forEach((c, i) => walk(c as Record<string, unknown>, `${pointer}/${key}/${i}`));
      }
      if (condition.not) walk(condition.not as Record<string, unknown>, `${pointer}/not`);
      if (typeof condition.fact === 'string') {
        read.add(condition.fact);
        if (FACTS.has(condition.fact)) comparedWith(condition.value, condition.fact, `${pointer}/value/fact`);
        if (!knownFact(condition.fact))
          at(
            `${pointer}/fact`,
            `fact "${condition.fact}" does not exist: it is neither in the CaseFacts vocabulary nor a derived fact of this file${suggestion(condition.fact, [...FACTS, ...derived])}`,
          );
        // No default may decide: a fact that can be absent must be required, or the condition must test for its absence.
        const testsAbsence = condition.value === null && (condition.operator === 'equal' || condition.operator === 'notEqual');
        if (FACTS.has(condition.fact) && !defaulted(condition.fact) && !ruleFile.requires.includes(condition.fact) && !testsAbsence) {
          at(
            `${pointer}/fact`,
            `fact "${condition.fact}" may be left out of a request and has no default: add it to "requires", declare what it is taken to be under "factDefaults", or test it with notEqual null first`,
          );
        }
        const vocabularyType = FACT_TYPES.get(condition.fact);
        // A fact this file defaults is never empty when its rules read it.
        const ownType = vocabularyType && Object.hasOwn(defaults, condition.fact) ? ({ ...vocabularyType, nullable: false } as FactType) : vocabularyType;
        const type: FactType | undefined =
          ownType ?? (ruleFile.derivedFacts[condition.fact] ? derivedFactType(ruleFile.derivedFacts[condition.fact] as never) : undefined);
        const mismatch =
          type && OPERATORS.has(String(condition.operator))
            ? typeMismatch(condition.fact, type, String(condition.operator), condition.value, ruleFile.parameters)
            : undefined;
        if (mismatch) at(`${pointer}/value`, mismatch);
        if (!OPERATORS.has(String(condition.operator)))
          at(
            `${pointer}/operator`,
            `operator "${String(condition.operator)}" is unknown${suggestion(String(condition.operator), OPERATORS)} (operators: ${[...OPERATORS].join(', ')})`,
          );
        const value = condition.value as { fact?: unknown } | null;
        if (value && typeof value === 'object' && typeof value.fact === 'string' && !knownFact(value.fact)) {
          const parameters = Object.keys(ruleFile.parameters).map((p) => PARAM_PREFIX + p);
          at(
            `${pointer}/value/fact`,
            `"${value.fact}" is neither a fact nor a parameter (write parameters as "${PARAM_PREFIX}<name>")${suggestion(value.fact, [...parameters, ...FACTS, ...derived])}`,
          );
        }
      }
    };
    walk(rule.conditions, `/rules/${r}/conditions`);
  });
  for (const [fact, declared] of Object.entries(defaults)) {
    const pointer = `/factDefaults/${pointerToken(fact)}`;
    if (!FACTS.has(fact)) {
      at(pointer, `"${fact}" is not a fact in the CaseFacts vocabulary${suggestion(fact, FACTS)}`);
      continue;
    }
    if (DEFAULTED.has(fact)) {
      at(
        pointer,
        `"${fact}" has a default in the fact vocabulary already (${JSON.stringify(vocabularyDefault(fact))}), which a request is filled in with before any rule set reads it: remove this one`,
      );
      continue;
    }
    if (!read.has(fact)) at(pointer, `no rule of this file reads "${fact}", nor does its outcome module: declare a default only for a fact the rule set uses`);
    (declared.sources ?? []).forEach((source, s) => {
      if (!(source.document in ruleFile.documents)) at(`${pointer}/sources/${s}/document`, `document "${source.document}" is not listed under "documents"`);
    });
    const check = factValueChecker(fact);
    if (!check(declared.value))
      at(`${pointer}/value`, `${JSON.stringify(declared.value)} is not a value "${fact}" can hold: ${ajv.errorsText(check.errors, { dataVar: fact })}`);
  }
  return read;
}

/** Each issue with the line and column its pointer lands on in its file's text. */
function located(issues: Located[], texts: ReadonlyMap<string, string>): Issue[] {
  return issues.map((i) => {
    const { line, column } = i.line !== undefined ? { line: i.line, column: i.column as number } : locate(texts.get(i.file) ?? '', i.pointer);
    return { file: i.file, line, column, pointer: `${i.file}#${i.pointer}`, message: i.message };
  });
}

function refusal(issues: Located[], texts: ReadonlyMap<string, string>): DecisionError {
  return new DecisionError('rule-file-invalid', `Rule files refused: ${issues.length} problem(s).`, located(issues, texts));
}

export interface LoadOptions {
  modules: Readonly<Record<string, RuleSetModule>>;
  /**
   * The texts are of an earlier day (a version archived in the decision log, or the rules at a git ref): a file
   * written before rule files declared their fact defaults is read with the defaults the vocabulary applied then
   * (ARCHIVED_VOCABULARY_DEFAULTS), so it loads, and decides, as it did.
   */
  archived?: boolean;
}

/**
 * Which names in the rules folder are rule files. A rule file is named `<rule set>.json` or
 * `<rule set>.<label>.json` (checkMeaning() holds it to that); everything else an editor, a copy or a
 * backup leaves beside it is not read:
 * - hidden names, starting with "." (for a rule file `x.json`: Emacs's lock file `.#x.json`, a dangling symbolic
 *   link by design; vim's `.x.json.swp`; macOS's `._x.json`);
 * - names starting with "#" (Emacs's auto-save `#x.json#`) or "~";
 * - names not ending in `.json` (backups `x.json~`, `.bak`, `.orig`, `.tmp`);
 * - folders, whatever their name (`calendars/` holds the holiday calendar, `triage/` the triage queue's tiers; a
 *   `drafts.json/` folder is not a file).
 * A name that passes but cannot be read (a dangling link, no permission) is a problem with that file:
 * the rules are refused, naming it, rather than loaded without it.
 */
export function isRuleFileName(name: string): boolean {
  return name.endsWith('.json') && !/^[.#~]/.test(name);
}

/** A rules folder's contents as read: the holiday calendar and each rule file, by name. */
export interface RuleTexts {
  calendarText: string;
  files: { file: string; text: string }[];
}

/** The reason a file could not be read, in the operator's terms (the error code and what it means). */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const meaning: Record<string, string> = {
    ENOENT: 'it does not exist (a symbolic link to nothing, or removed while the folder was read)',
    EACCES: 'the service may not read it (permissions)',
    EISDIR: 'it is a folder',
    ELOOP: 'it is a loop of symbolic links',
  };
  return `could not be read: ${(code && meaning[code]) ?? (error as Error)?.message ?? String(error)}${code ? ` (${code})` : ''}`;
}

/** Reads the rule files and the calendar; every file that cannot be read is an issue naming it, never a throw. */
export function readRuleTexts(directory: string): RuleTexts {
  const issues: Located[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(directory).filter(isRuleFileName).sort();
  } catch (error) {
    issues.push({ file: directory, pointer: '', message: `the rules folder ${unreadable(error)}` });
  }
  let calendarText = '';
  try {
    calendarText = readFileSync(path.join(directory, CALENDAR_FILE), 'utf8');
  } catch (error) {
    issues.push({ file: CALENDAR_FILE, pointer: '', message: `the holiday calendar ${unreadable(error)}` });
  }
  const files: { file: string; text: string }[] = [];
  for (const file of names) {
    const full = path.join(directory, file);
    try {
      // Following links: a link to a rule file is one; a folder (or a link to one) is not a file at all.
      if (statSync(full).isDirectory()) continue;
      files.push({ file, text: readFileSync(full, 'utf8') });
    } catch (error) {
      issues.push({ file, pointer: '', message: unreadable(error) });
    }
  }
  if (issues.length > 0) throw refusal(issues, new Map());
  return { calendarText, files };
}

/**
 * Loads every rule file in `directory` (see isRuleFileName()); throws `rule-file-invalid` listing each
 * problem by file and pointer, a file that cannot be read included. It throws nothing else.
 */
export function loadRules(directory: string, options: LoadOptions): LoadedRegistry {
  const { calendarText, files } = readRuleTexts(directory);
  return loadRuleTexts(calendarText, files, options);
}

/**
 * The same checks and compilation from texts in memory: what loadRules does once it has read the
 * folder, and what re-runs a version archived in the decision log (its rule file and calendar texts).
 */
export function loadRuleTexts(
  calendarText: string,
  files: readonly { file: string; text: string }[],
  { modules, archived = false }: LoadOptions,
): LoadedRegistry {
  const issues: Located[] = [];
  const warnings: Located[] = [];
  const calendarFile = parseJson(CALENDAR_FILE, calendarText, issues) as HolidayCalendarFile | undefined;
  const parsed: { file: string; text: string; ruleFile: RuleFile }[] = [];
  const texts = new Map<string, string>([[CALENDAR_FILE, calendarText]]);
  for (const { file, text } of files) {
    texts.set(file, text);
    const json = parseJson(file, text, issues);
    if (json === undefined) continue;
    if (archived) upgradeArchivedInterpretations(json);
    if (!validateRuleFile(json)) {
      // A parameter whose value does not fit its type is said once, in words (parameter-types.ts), not as the schema's keyword errors.
      const parameters = (json as { parameters?: Record<string, DeclaredParameter> }).parameters ?? {};
      const said = new Set<string>();
      /** Whether a problem other than an interpretation's was found. */
      let otherwise = false;
      for (const error of [...(validateRuleFile.errors ?? [])]) {
        // An interpretation's problems are said once each, in words, at the member to fix (interpretation-problems.ts).
        const interpretation = interpretationPointer(error.instancePath);
        if (interpretation !== undefined) {
          if (said.has(interpretation)) continue;
          said.add(interpretation);
          const problems = interpretationProblems(valueAt(json, interpretation));
          for (const { at, message } of problems) issues.push({ file, pointer: `${interpretation}${at}`, message });
          if (problems.length > 0) continue;
          said.delete(interpretation);
        }
        const name = /^\/parameters\/([^/]+)(\/(value|type|of)(\/.*)?)?$/.exec(error.instancePath)?.[1]?.replace(/~1/g, '/').replace(/~0/g, '~');
        const problem = name !== undefined && parameters[name] ? parameterProblem(name, parameters[name]) : undefined;
        if (name !== undefined && problem) {
          if (!said.has(name))
            issues.push({
              file,
              pointer: `/parameters/${pointerToken(name)}${parameters[name]![problem.at] === undefined ? '' : `/${problem.at}`}`,
              message: problem.message,
            });
          said.add(name);
          otherwise = true;
          continue;
        }
        const params = error.params as { additionalProperty?: string; missingProperty?: string };
        if (error.keyword === 'additionalProperties')
          issues.push({
            file,
            pointer: `${error.instancePath}/${params.additionalProperty}`,
            message: `"${params.additionalProperty}" is not a member a rule file may have here (check its spelling)`,
          });
        else if (error.keyword === 'required') issues.push({ file, pointer: error.instancePath, message: `"${params.missingProperty}" is required here` });
        else issues.push({ file, pointer: error.instancePath, message: error.message ?? 'is invalid' });
        otherwise = true;
      }
      // A file whose only fault is interpretations in the old string form is read on, each string as the reading
      // chosen, so that its author hears of every other problem now rather than after rewriting them.
      if (otherwise) continue;
      upgradeArchivedInterpretations(json);
      if (!validateRuleFile(json)) continue;
    }
    const ruleFile = json as unknown as RuleFile;
    if (archived && ruleFile.factDefaults === undefined) {
      // Only the facts the file reads: a first look, its issues set aside, says which those are.
      const read = checkMeaning(file, { ...ruleFile, factDefaults: {} }, modules, []);
      const then = Object.entries(ARCHIVED_VOCABULARY_DEFAULTS).filter(([fact]) => read.has(fact));
      const description =
        'The fact vocabulary took this to be so when a request left it out, for every rule set, until rule files declared their own defaults (December 2026); this file was written before then.';
      if (then.length > 0) ruleFile.factDefaults = Object.fromEntries(then.map(([fact, value]) => [fact, { value, description, sources: [] }]));
    }
    checkMeaning(file, ruleFile, modules, issues);
    // Compiled, explained and shown with its descriptions filled in from its parameters (templates.ts).
    parsed.push({ file, text, ruleFile: renderDescriptions(file, ruleFile, issues, warnings) });
  }
  if (issues.length > 0 || !calendarFile) throw refusal(issues, texts);
  const calendar = buildCalendar(calendarFile);
  const byName = new Map<string, CompiledRuleSet[]>();
  for (const { file, text, ruleFile } of parsed) {
    const module = modules[ruleFile.ruleSet] as RuleSetModule;
    // The exact bytes the version hash names are kept, so the decision log can archive them.
    const compiled = compileRuleSet(ruleFile, file, versionOf(text, calendarText), calendar, module, { rule: text, calendar: calendarText });
    byName.set(ruleFile.ruleSet, [...(byName.get(ruleFile.ruleSet) ?? []), compiled]);
  }
  const ruleSets = new Map<string, RuleSetVersions>();
  for (const [name, versions] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    versions.sort((a, b) => (a.effectiveFrom ?? '').localeCompare(b.effectiveFrom ?? ''));
    versions.forEach((later, i) => {
      const earlier = versions[i - 1];
      if (!earlier) return;
      // Versions must not overlap: the earlier must end before the later begins.
      if (later.effectiveFrom === null || earlier.effectiveTo === null || earlier.effectiveTo >= later.effectiveFrom) {
        issues.push({
          file: later.sourceFile,
          pointer: '/effectiveFrom',
          message: `${later.sourceFile} (from ${later.effectiveFrom ?? 'the beginning'}) overlaps ${earlier.sourceFile} (to ${earlier.effectiveTo ?? 'no end'}): give ${earlier.sourceFile} an effectiveTo before this effectiveFrom`,
        });
      }
    });
    ruleSets.set(name, new RuleSetVersions(name, versions));
  }
  if (issues.length > 0) throw refusal(issues, texts);
  return {
    ruleSets,
    calendarVersion: versionOf('', calendarText),
    texts: { calendarText, files: files.map(({ file, text }) => ({ file, text })) },
    warnings: located(warnings, texts),
  };
}

/** The project's own rules/ folder, found from this file whether it runs from src/ or dist/src/. */
export function defaultRulesDirectory(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i += 1) {
    const candidate = path.join(dir, 'rules');
    try {
      readdirSync(candidate);
      return candidate;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new Error('rules/ folder not found above ' + __dirname);
}
