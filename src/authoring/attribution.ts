// Why one case decides differently under two sets of rules: the parameters and rules that changed (old → new), the
// conditions whose result moved, and the customer's own entries that a derived fact now counts or no longer counts.
//
// This is what tells a policy change from a typo: "aggressionWindowMonths: 12 → 24; incident on 2024-03-02
// (verbal-abuse, face-to-face): inside the window now that aggressionWindowMonths is 24 months (was 12)". Used by
// `ps-rules diff` (every case that changes) and `ps-rules test` (every fixture that fails).
import { isDeepStrictEqual } from 'node:util';
import type { CompiledRuleSet } from '../engine/compile';
import { isParamRef, selectedEntries } from '../engine/derived';
import { referenceFactMap, type Decision } from '../engine/evaluate';
import { show, type ConditionExplanation, type RuleExplanation } from '../engine/explain';
import { OPERATOR_PHRASES } from '../engine/operators';
import type { DerivedFactDefinition, RuleDefinition } from '../engine/types';
import type { CaseFacts } from '../facts/validate';

/** One side of the comparison: the version that decided, the facts it read (defaults filled in) and its decision. */
export interface Side {
  ruleSet: CompiledRuleSet;
  facts: CaseFacts;
  decision: Decision;
}

type Entry = Record<string, unknown>;

export interface EntryChange {
  /** "incident on 2024-03-02 (verbal-abuse, face-to-face)". */
  entry: string;
  /** Whether the derived fact counts the entry under the changed rules and not the base ones, or the reverse. */
  counted: 'now' | 'no longer';
  /** What made the difference: "inside the window now that aggressionWindowMonths is 24 months (was 12)". */
  because: string;
}

export interface ConditionChange {
  fact: string;
  label: string;
  operator: string;
  expectedFrom?: string;
  expected: { base: unknown; changed: unknown };
  actual: { base: unknown; changed: unknown };
  result: { base: boolean | null; changed: boolean | null };
  entries: EntryChange[];
}

export interface RuleChange {
  rule: string;
  /** Fired (true), did not fire (false), or not weighed in that version (null). */
  base: boolean | null;
  changed: boolean | null;
  /** The rule's own conditions, event or applicability were edited (not only a parameter it reads). */
  edited: boolean;
  conditions: ConditionChange[];
}

export interface Attribution {
  /** Present when a different rule file decides the case (a dated version took over). */
  files?: { base: string; changed: string };
  /** The holiday calendar differs (a holiday added or removed moves working-day dates). */
  calendar?: true;
  /** Parameters whose value differs between the two deciding versions. */
  parameters: { name: string; base: unknown; changed: unknown }[];
  /** Rules whose result differs, or that one version weighs and the other does not. */
  rules: RuleChange[];
}

interface Leaf {
  fact: string;
  label: string;
  operator: string;
  expected: unknown;
  actual: unknown;
  result: boolean | null;
  expectedFrom?: string;
}

function leaves(condition: ConditionExplanation, into: Leaf[] = []): Leaf[] {
  if ('all' in condition) condition.all.forEach((c) => leaves(c, into));
  else if ('any' in condition) condition.any.forEach((c) => leaves(c, into));
  else if ('not' in condition) leaves(condition.not, into);
  else into.push(condition);
  return into;
}

/** What of a rule decides: not its description or sources, which only explain. */
const decidingPart = (rule: RuleDefinition | undefined) =>
  rule && { conditions: rule.conditions, event: rule.event, appliesTo: rule.appliesTo, priority: rule.priority, requiredFor: rule.requiredFor };

const singular = (word: string) => (word.endsWith('ies') ? `${word.slice(0, -3)}y` : word.endsWith('s') ? word.slice(0, -1) : word);

/** An entry of a list as a person reads it: "incident on 2024-03-02 (verbal-abuse, face-to-face)". */
export function describeEntry(list: string, entry: Entry): string {
  const noun = singular(list.split('.').pop() ?? list)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const when =
    typeof entry.date === 'string'
      ? ` on ${entry.date}`
      : typeof entry.from === 'string'
        ? ` from ${entry.from}${typeof entry.to === 'string' ? ` to ${entry.to}` : ''}`
        : '';
  const rest = Object.entries(entry)
    .filter(([key, value]) => !['date', 'from', 'to', 'id'].includes(key) && value !== null && value !== false && typeof value !== 'object')
    .map(([key, value]) => (value === true ? key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() : String(value)));
  return `${noun}${when}${rest.length > 0 ? ` (${rest.join(', ')})` : ''}`;
}

/** A derived fact's inputs that decide which entries it selects, with parameters resolved. */
function selection(definition: DerivedFactDefinition | undefined, side: Side) {
  if (!definition) return undefined;
  const parameters = side.ruleSet.file.parameters;
  const resolved = (value: unknown) => (isParamRef(value) ? parameters[value.param]?.value : value);
  return {
    withinMonths: resolved(definition.withinMonths),
    where: Object.fromEntries(Object.entries(definition.where ?? {}).map(([field, value]) => [field, resolved(value)])),
    /** The parameters the definition reads, by where they are read. */
    params: [
      ...(isParamRef(definition.withinMonths) ? [['withinMonths', definition.withinMonths.param] as const] : []),
      ...Object.entries(definition.where ?? {}).flatMap(([field, value]) => (isParamRef(value) ? [[`where.${field}`, value.param] as const] : [])),
    ],
  };
}

/** Why an entry is counted under one set of rules and not the other. */
function entryReason(fact: string, counted: EntryChange['counted'], base: Side, changed: Side): string {
  const before = selection(base.ruleSet.file.derivedFacts[fact], base);
  const after = selection(changed.ruleSet.file.derivedFacts[fact], changed);
  if (!before || !after) return `the derived fact ${fact} exists only in the ${before ? 'base' : 'changed'} rules`;
  const reasons: string[] = [];
  if (before.withinMonths !== after.withinMonths) {
    const param = after.params.find(([at]) => at === 'withinMonths')?.[1] ?? before.params.find(([at]) => at === 'withinMonths')?.[1];
    const what = param ? `${param} is ${String(after.withinMonths)} months` : `the window is ${String(after.withinMonths)} months`;
    reasons.push(`${counted === 'now' ? 'inside' : 'outside'} the window now that ${what} (was ${String(before.withinMonths)})`);
  }
  for (const field of new Set([...Object.keys(before.where), ...Object.keys(after.where)])) {
    if (isDeepStrictEqual(before.where[field], after.where[field])) continue;
    const param = after.params.find(([at]) => at === `where.${field}`)?.[1];
    reasons.push(
      `its ${field} ${counted === 'now' ? 'qualifies' : 'no longer qualifies'} now that ${param ?? field} is ${show(after.where[field])} (was ${show(before.where[field])})`,
    );
  }
  return reasons.length > 0 ? reasons.join('; ') : `the derived fact ${fact} was edited`;
}

function entryChanges(fact: string, base: Side, changed: Side): EntryChange[] {
  const before = base.ruleSet.file.derivedFacts[fact];
  const after = changed.ruleSet.file.derivedFacts[fact];
  const list = after?.list ?? before?.list;
  if (!list) return [];
  const select = (definition: DerivedFactDefinition | undefined, side: Side): readonly Entry[] =>
    definition
      ? selectedEntries(definition, side.ruleSet.file.parameters)(referenceFactMap(side.ruleSet, side.facts, side.decision.asOf), side.decision.asOf)
      : [];
  const key = (entry: Entry) => JSON.stringify(entry);
  const [beforeEntries, afterEntries] = [select(before, base), select(after, changed)];
  const [beforeKeys, afterKeys] = [new Set(beforeEntries.map(key)), new Set(afterEntries.map(key))];
  const changes: EntryChange[] = [];
  const now = afterEntries.filter((entry) => !beforeKeys.has(key(entry)));
  const noLonger = beforeEntries.filter((entry) => !afterKeys.has(key(entry)));
  // One reason for every entry a direction moved: it comes from the two definitions, not from the entry.
  if (now.length > 0) {
    const because = entryReason(fact, 'now', base, changed);
    for (const entry of now) changes.push({ entry: describeEntry(list, entry), counted: 'now', because });
  }
  if (noLonger.length > 0) {
    const because = entryReason(fact, 'no longer', base, changed);
    for (const entry of noLonger) changes.push({ entry: describeEntry(list, entry), counted: 'no longer', because });
  }
  return changes;
}

function conditionChanges(before: RuleExplanation | undefined, after: RuleExplanation | undefined, base: Side, changed: Side): ConditionChange[] {
  if (!before || !after) return [];
  const a = leaves(before.conditions);
  const b = leaves(after.conditions);
  if (a.length !== b.length) return [];
  const changes: ConditionChange[] = [];
  a.forEach((leaf, i) => {
    const other = b[i] as Leaf;
    if (leaf.result === other.result && isDeepStrictEqual(leaf.expected, other.expected) && isDeepStrictEqual(leaf.actual, other.actual)) return;
    const change: ConditionChange = {
      fact: other.fact,
      label: other.label,
      operator: other.operator,
      expected: { base: leaf.expected, changed: other.expected },
      actual: { base: leaf.actual, changed: other.actual },
      result: { base: leaf.result, changed: other.result },
      entries: isDeepStrictEqual(leaf.actual, other.actual) ? [] : entryChanges(other.fact, base, changed),
    };
    if (other.expectedFrom !== undefined) change.expectedFrom = other.expectedFrom;
    changes.push(change);
  });
  return changes;
}

/** Why `changed` decides the case differently from `base`. */
export function attribute(base: Side, changed: Side): Attribution {
  const attribution: Attribution = { parameters: [], rules: [] };
  if (base.ruleSet.sourceFile !== changed.ruleSet.sourceFile) attribution.files = { base: base.ruleSet.sourceFile, changed: changed.ruleSet.sourceFile };
  if (base.ruleSet.texts && changed.ruleSet.texts && base.ruleSet.texts.calendar !== changed.ruleSet.texts.calendar) attribution.calendar = true;
  const baseParameters = base.ruleSet.file.parameters;
  const changedParameters = changed.ruleSet.file.parameters;
  for (const name of new Set([...Object.keys(baseParameters), ...Object.keys(changedParameters)])) {
    const [before, after] = [baseParameters[name]?.value ?? null, changedParameters[name]?.value ?? null];
    if (!isDeepStrictEqual(before, after)) attribution.parameters.push({ name, base: before, changed: after });
  }
  const beforeRules = new Map(base.decision.explanation.map((r) => [r.rule, r]));
  const afterRules = new Map(changed.decision.explanation.map((r) => [r.rule, r]));
  const definitions = (side: Side) => new Map(side.ruleSet.file.rules.map((r) => [r.name, r]));
  const [beforeDefinitions, afterDefinitions] = [definitions(base), definitions(changed)];
  for (const rule of new Set([...beforeRules.keys(), ...afterRules.keys()])) {
    const [before, after] = [beforeRules.get(rule), afterRules.get(rule)];
    if (before?.fired === after?.fired) continue;
    attribution.rules.push({
      rule,
      base: before ? before.fired : null,
      changed: after ? after.fired : null,
      edited: !isDeepStrictEqual(decidingPart(beforeDefinitions.get(rule)), decidingPart(afterDefinitions.get(rule))),
      conditions: conditionChanges(before, after, base, changed),
    });
  }
  return attribution;
}

const fired = (value: boolean | null) => (value === null ? 'not weighed' : value ? 'fired' : 'did not fire');
const met = (value: boolean | null) => (value === null ? 'not evaluated' : value ? 'met' : 'not met');

/** The attribution as indented lines of text, for the terminal. */
export function attributionLines(attribution: Attribution): string[] {
  const lines: string[] = [];
  if (attribution.files) lines.push(`decided by ${attribution.files.changed} instead of ${attribution.files.base}`);
  if (attribution.calendar) lines.push('the holiday calendar changed');
  for (const p of attribution.parameters) lines.push(`parameter ${p.name}: ${show(p.base)} → ${show(p.changed)}`);
  for (const r of attribution.rules) {
    lines.push(`rule ${r.rule}: ${fired(r.base)} → ${fired(r.changed)}${r.edited ? ' (the rule itself was edited)' : ''}`);
    for (const c of r.conditions) {
      const expected = isDeepStrictEqual(c.expected.base, c.expected.changed)
        ? show(c.expected.changed)
        : `${show(c.expected.base)} → ${show(c.expected.changed)}`;
      const actual = isDeepStrictEqual(c.actual.base, c.actual.changed) ? show(c.actual.changed) : `${show(c.actual.base)} → ${show(c.actual.changed)}`;
      lines.push(
        `  ${c.label.replace(/\.$/, '')} [${c.fact}] must ${OPERATOR_PHRASES[c.operator] ?? c.operator} ${expected}${c.expectedFrom ? ` (${c.expectedFrom})` : ''}; it is ${actual}: ${met(c.result.base)} → ${met(c.result.changed)}`,
      );
      for (const e of c.entries) lines.push(`    ${e.entry}: ${e.counted === 'now' ? 'counted now' : 'no longer counted'}, ${e.because}`);
    }
  }
  if (lines.length === 0) lines.push('no parameter, rule result or calendar differs');
  return lines;
}
