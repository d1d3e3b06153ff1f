// Sentences that follow the values: a rule file's descriptions name parameters as `{name}`, filled in from their values.
//
// A description with the number typed in ("within the aggression window (12 months)") went on saying 12 after the
// parameter became 24, in every answer and on the rules page. Written `{aggressionWindowMonths} months`, it says what
// the rules decide by. A number typed in beside its unit, where a parameter holds that value, draws a warning.
import type { Issue } from '../errors';
import type { Interpretation, Parameter, RuleFile } from '../engine/types';
import { NUMBER_TYPES } from './parameter-types';

const TEMPLATE = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The words that follow a number of each kind in a sentence ("12 months", "5 working days"). */
const UNITS: Partial<Record<keyof typeof NUMBER_TYPES, string>> = { months: 'months?', 'working-days': 'working days?', days: '(?:calendar )?days?' };

/** A parameter's value as a sentence says it: a list as "a, b and c". */
function spoken(value: unknown): string {
  if (Array.isArray(value)) return value.length <= 1 ? value.join('') : `${value.slice(0, -1).join(', ')} and ${value[value.length - 1]}`;
  if (value !== null && typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('; ');
  return String(value);
}

interface Located extends Issue {
  file: string;
}

/** Every description of a rule file, with the JSON pointer where it stands. */
function descriptions(ruleFile: RuleFile): { pointer: string; text: string; set: (text: string) => void }[] {
  const found: { pointer: string; text: string; set: (text: string) => void }[] = [];
  const at = (pointer: string, holder: { description: string; interpretation?: Interpretation }) => {
    found.push({ pointer: `${pointer}/description`, text: holder.description, set: (text) => (holder.description = text) });
    const interpretation = holder.interpretation;
    if (interpretation === undefined) return;
    // Both the question and the reading name parameters as {name}: "in the last {aggressionWindowMonths} months".
    found.push({ pointer: `${pointer}/interpretation/question`, text: interpretation.question, set: (text) => (interpretation.question = text) });
    found.push({ pointer: `${pointer}/interpretation/chosen`, text: interpretation.chosen, set: (text) => (interpretation.chosen = text) });
  };
  at('', ruleFile);
  for (const [name, parameter] of Object.entries(ruleFile.parameters)) at(`/parameters/${name}`, parameter);
  for (const [name, derived] of Object.entries(ruleFile.derivedFacts)) at(`/derivedFacts/${name}`, derived);
  for (const [fact, declared] of Object.entries(ruleFile.factDefaults ?? {})) at(`/factDefaults/${fact}`, declared);
  ruleFile.rules.forEach((rule, i) => at(`/rules/${i}`, rule));
  return found;
}

/**
 * The rule file with its descriptions filled in from its parameters (a copy; the file's own text, which the version
 * hash names, is untouched). A `{name}` that is not a parameter is a problem; a number typed in beside its unit where
 * a parameter of that kind holds the same value is a warning.
 */
export function renderDescriptions(file: string, ruleFile: RuleFile, issues: Located[], warnings: Located[]): RuleFile {
  // A JSON copy, not structuredClone: a rule file is JSON, and structuredClone's objects come from Node's own realm,
  // which a caller in another (a test's vm context) sees as foreign: its deep equality then fails on equal arrays.
  const rendered = JSON.parse(JSON.stringify(ruleFile)) as RuleFile;
  for (const place of descriptions(rendered)) {
    for (const { name, typed, unit } of typedValues(place.text, ruleFile.parameters)) {
      warnings.push({
        file,
        pointer: place.pointer,
        message: `"${typed}" repeats the value of parameter "${name}": write "{${name}} ${unit}" so that the sentence follows the value when it changes`,
      });
    }
    place.set(
      fillTemplates(place.text, ruleFile.parameters, (whole) =>
        issues.push({
          file,
          pointer: place.pointer,
          message: `${whole} is not a parameter of this file; a description names parameters as {name} (parameters: ${Object.keys(ruleFile.parameters).join(', ')})`,
        }),
      ),
    );
  }
  return rendered;
}

/**
 * The numbers typed into a sentence beside their unit ("12 months", "5 working days") where a parameter of that kind
 * holds the same value: the sentence repeats the parameter instead of naming it. Templates (`{name}`) are not counted.
 */
export function typedValues(text: string, parameters: Readonly<Record<string, Parameter>>): { name: string; typed: string; unit: string }[] {
  const found: { name: string; typed: string; unit: string }[] = [];
  const plain = text.replace(TEMPLATE, '');
  for (const [name, parameter] of Object.entries(parameters)) {
    const unit = UNITS[(parameter as { type?: string }).type as keyof typeof UNITS];
    if (unit === undefined || typeof parameter.value !== 'number') continue;
    const typed = new RegExp(`(?<![\\d{])${parameter.value}\\s+${unit}\\b`).exec(plain);
    if (typed) found.push({ name, typed: typed[0], unit: typed[0].replace(/^\d+\s+/, '') });
  }
  return found;
}

/** A sentence with each `{name}` filled in from the parameter's value; `unknown` hears of each name that is no parameter. */
export function fillTemplates(text: string, parameters: Readonly<Record<string, Parameter>>, unknown: (whole: string) => void): string {
  return text.replace(TEMPLATE, (whole, name: string) => {
    const parameter = parameters[name];
    if (!parameter) {
      unknown(whole);
      return whole;
    }
    return spoken(parameter.value);
  });
}
