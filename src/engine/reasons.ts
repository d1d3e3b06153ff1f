// A decision's reasons in a few plain lines, and the facts it assumed: what a caseworker reads before the trace.
//
// Which rules decided is each rule set's own reading of its outcome (its module's decidedBy); the words are the rule
// file's: a rule's description (its first sentence), "Not met: " before it for an unmet criterion, and the customer's
// evidence after it: the list entries a derived fact selected, phrased as the fact vocabulary phrases them
// (facts/entries.ts), or a plain fact's value. Nothing here names a rule set.
//
// Hot path: it runs after decide() on every summary answer, so everything that follows from a rule or a version alone
// (the sentence, the citation, how each fact is shown) is worked out once per rule definition and version.
import { entryPhrase, type EntryPhrase } from '../facts/entries';
import type { CaseFacts } from '../facts/validate';
import type { CompiledRuleSet, DecidingRule } from './compile';
import { selectedEntries } from './derived';
import type { CaseRun, Decision } from './evaluate';
import { citation, ConditionLine, type ConditionExplanation, type RuleExplanation } from './explain';
import { PARAM_PREFIX, type FactMap, type RuleDefinition, type RuleFile } from './types';

/** One line of summary.reasons: the sentence, the rule it comes from (several, comma-separated, for a line summing them up) and its citation. */
export interface Reason {
  text: string;
  rule: string;
  citation: string;
}

/** One entry of summary.assumed: a fact the request left out, the value the decision took it to be, and where that is declared. */
export interface Assumed {
  fact: string;
  value: unknown;
  source: string;
}

/** How many list entries a line quotes before it says how many more there are. */
const QUOTED_ENTRIES = 3;

/** How a fact a condition reads is shown as evidence, worked out once per fact and version. */
type Shown =
  | { kind: 'skip' }
  | { kind: 'plain'; path: readonly string[]; label: string; flag: boolean }
  | {
      kind: 'entries';
      list: string;
      path: readonly string[];
      select: (facts: FactMap, asOf: string) => readonly Record<string, unknown>[];
      phrase: EntryPhrase;
    }
  | { kind: 'value'; label: string }
  | { kind: 'since'; path: readonly string[]; label: string };

interface Version {
  rules: Map<string, RuleDefinition>;
  summaries: Map<string, Reason>;
  shown: Map<string, Shown>;
}

interface RuleWords {
  sentence: string;
  notMet: string;
  citation: string;
  /** Conditions in the rule: a flag is shown only where it is one of several (a lone one, the sentence already says). */
  leaves: number;
}

const versions = new WeakMap<CompiledRuleSet, Version>();
const words = new WeakMap<RuleDefinition, RuleWords>();

/** "The customer …" as it reads inside a sentence: "the customer …" (an initialism such as "SCS" is left as it is). */
const inSentence = (text: string): string => (/^[A-Z][a-z ]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text).replace(/\.$/, '');

/** A rule description's first sentence, without its full stop: the rest qualifies it, which the explanation keeps. */
export function firstSentence(description: string): string {
  const end = /[.!?](?=\s+[A-Z(])/.exec(description);
  return (end ? description.slice(0, end.index) : description).replace(/[.!?]\s*$/, '');
}

const pathOf = (fact: string): readonly string[] => fact.split('.');
function at(facts: CaseFacts, path: readonly string[]): unknown {
  let value: unknown = facts;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function versionOf(ruleSet: CompiledRuleSet): Version {
  let version = versions.get(ruleSet);
  if (version) return version;
  const { file } = ruleSet;
  const shown = new Map<string, Shown>();
  for (const [name, definition] of Object.entries(file.derivedFacts)) {
    if (definition.kind === 'daysSince' && definition.date !== undefined) {
      shown.set(name, { kind: 'since', path: pathOf(definition.date), label: inSentence(ruleSet.labels[definition.date] ?? definition.date) });
    } else if (definition.kind === 'missingValues' || definition.list === undefined) {
      shown.set(name, { kind: 'value', label: inSentence(definition.description) });
    } else {
      shown.set(name, {
        kind: 'entries',
        list: definition.list,
        path: pathOf(definition.list),
        select: selectedEntries(definition, file.parameters),
        phrase: entryPhrase(definition.list),
      });
    }
  }
  version = {
    rules: new Map(file.rules.map((rule) => [rule.name, rule])),
    summaries: new Map(),
    shown,
  };
  versions.set(ruleSet, version);
  return version;
}

function shownFor(ruleSet: CompiledRuleSet, version: Version, fact: string): Shown {
  let how = version.shown.get(fact);
  if (!how) {
    how = fact.startsWith(PARAM_PREFIX)
      ? { kind: 'skip' }
      : // A label that lists the values after a colon ("Managed in PS: never, previously, or currently") is said up to it.
        { kind: 'plain', path: pathOf(fact), label: inSentence((ruleSet.labels[fact] ?? fact).replace(/:.*$/, '')), flag: false };
    version.shown.set(fact, how);
  }
  return how;
}

function countLeaves(condition: unknown): number {
  const c = condition as { all?: unknown[]; any?: unknown[]; not?: unknown };
  if (c.all) return c.all.reduce<number>((n, child) => n + countLeaves(child), 0);
  if (c.any) return c.any.reduce<number>((n, child) => n + countLeaves(child), 0);
  if (c.not) return countLeaves(c.not);
  return 1;
}

function wordsOf(rule: RuleDefinition): RuleWords {
  let found = words.get(rule);
  if (!found) {
    const sentence = firstSentence(rule.description);
    found = { sentence, notMet: `Not met: ${sentence}`, citation: citation(rule.sources), leaves: countLeaves(rule.conditions) };
    words.set(rule, found);
  }
  return found;
}

const said = (value: unknown): string => {
  if (value === null || value === undefined) return 'not given';
  if (value === true) return 'yes';
  if (value === false) return 'no';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(said).join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
};

/** The customer's evidence for one condition, or '' when there is none worth a word. */
function evidence(how: Shown, line: ConditionLine, met: boolean, lone: boolean, facts: CaseFacts, factMap: FactMap, asOf: string): string {
  switch (how.kind) {
    case 'skip':
      return '';
    case 'plain':
      // A flag says what the sentence says, unless it is one of several conditions and this one decided.
      if (typeof line.actual === 'boolean' && (met || lone)) return '';
      return `${how.label}: ${said(line.actual)}`;
    case 'value':
      return `${how.label}: ${said(line.actual)}`;
    case 'since': {
      const date = at(facts, how.path);
      return typeof date === 'string' ? `${how.label}: ${date}, ${String(line.actual)} days before ${asOf}` : `${how.label}: not given`;
    }
    case 'entries': {
      const list = at(facts, how.path);
      // Selected from the case's whole fact map: a selection may compare entries with another of its facts.
      if (!Array.isArray(list) || list.length === 0) return met ? '' : 'none recorded';
      const entries = how.select(factMap, asOf);
      if (entries.length > 0) return phrased(how, entries);
      // Entries are recorded, but none is one the rule counts (another agency's consent, a warning after asOf, an
      // incident outside the window): saying "none recorded" would tell the caseworker the record is empty.
      return met ? '' : `none of the ${list.length} on the record: ${phrased(how, list)}`;
    }
  }
}

/** The first few entries in words, and how many more. */
function phrased(how: Extract<Shown, { kind: 'entries' }>, entries: readonly unknown[]): string {
  let text = how.phrase(entries[0] as Record<string, unknown>);
  const quoted = Math.min(entries.length, QUOTED_ENTRIES);
  for (let i = 1; i < quoted; i += 1) text += `; ${how.phrase(entries[i] as Record<string, unknown>)}`;
  if (entries.length > quoted) text += `; and ${entries.length - quoted} more`;
  return text;
}

/** The condition lines that back a line: every one for a rule met, the failing ones for a rule not met. */
function backing(condition: ConditionExplanation, met: boolean, into: ConditionLine[]): void {
  if (condition instanceof ConditionLine) {
    if (condition.result === met) into.push(condition);
  } else if ('all' in condition) for (const child of condition.all) backing(child, met, into);
  else if ('any' in condition) for (const child of condition.any) backing(child, met, into);
  else backing(condition.not, !met, into);
}

function ruleReason(
  ruleSet: CompiledRuleSet,
  version: Version,
  rule: RuleDefinition,
  entry: RuleExplanation | undefined,
  met: boolean,
  facts: CaseFacts,
  factMap: FactMap,
  asOf: string,
  above: { evidence: string },
): Reason {
  const ruleWords = wordsOf(rule);
  let text = met ? ruleWords.sentence : ruleWords.notMet;
  if (entry) {
    const lines: ConditionLine[] = [];
    backing(entry.conditions, met, lines);
    let shown = '';
    for (const line of lines) {
      const said = evidence(shownFor(ruleSet, version, line.fact), line, met, ruleWords.leaves === 1, facts, factMap, asOf);
      // Two conditions on one fact (a date given, and how long ago) say it once.
      if (said !== '' && !shown.includes(said)) shown += shown === '' ? said : `; ${said}`;
    }
    // The same evidence as the line before (five checks each passed by one consent) is quoted once.
    if (shown !== '') text += shown === above.evidence ? ' (as above)' : ` (${shown})`;
    above.evidence = shown;
  } else above.evidence = '';
  return { text: `${text}.`, rule: rule.name, citation: ruleWords.citation };
}

/**
 * summary.reasons: the few rules that decided the case's outcome, as its rule set's module reads it, each in plain
 * English with the customer's values and dates. `facts` are the validated facts the case was decided from; each
 * deciding rule's explanation is read from the run (the decision's own, or worked out for that rule alone). `limit`:
 * the first so many lines only (triage writes the first).
 */
export function summaryReasons(run: CaseRun, facts: CaseFacts, limit = Infinity): Reason[] {
  const { ruleSet } = run;
  const version = versionOf(ruleSet);
  const deciding: readonly DecidingRule[] = ruleSet.decidedBy({ outcome: run.outcome, file: ruleSet.file, weighed: run.subset.rules, fired: run.fired });
  const reasons: Reason[] = [];
  const above = { evidence: '' };
  for (const line of deciding) {
    if (reasons.length >= limit) break;
    if ('rule' in line) {
      const rule = version.rules.get(line.rule);
      if (!rule) throw new Error(`the ${ruleSet.name} module names rule ${line.rule} as deciding, which its rule file does not have`);
      reasons.push(ruleReason(ruleSet, version, rule, run.explained(line.rule), line.met, facts, run.factMap, run.asOf, above));
    } else {
      reasons.push(summedUp(version, line));
      above.evidence = '';
    }
  }
  return reasons;
}

/** A line summing up several rules: the module's words, and every rule's citation once. Made once per words and rules, per version. */
function summedUp(version: Version, line: { rules: readonly string[]; met: boolean; text: string }): Reason {
  const key = `${line.text}\n${line.rules.join(' ')}`;
  const made = version.summaries.get(key);
  if (made) return made;
  const seen = new Set<string>();
  const cited: string[] = [];
  for (const name of line.rules) {
    for (const source of version.rules.get(name)?.sources ?? []) {
      const one = citation([source]);
      if (!seen.has(one)) cited.push(one);
      seen.add(one);
    }
  }
  const reason = { text: `${line.text}.`, rule: line.rules.join(', '), citation: cited.join('; ') };
  version.summaries.set(key, reason);
  return reason;
}

const assumedSources = new WeakMap<RuleFile, Map<string, string>>();

/**
 * summary.assumed: each fact the decision used that the request left out, with the value taken, and where the rule file
 * declares it (its factDefaults entry's words and sources). The decision's defaultsApplied already lists them.
 */
export function summaryAssumed(ruleSet: CompiledRuleSet, decision: Pick<Decision, 'defaultsApplied'>): Assumed[] {
  if (decision.defaultsApplied.length === 0) return [];
  let sources = assumedSources.get(ruleSet.file);
  if (!sources) {
    sources = new Map();
    for (const [fact, declared] of Object.entries(ruleSet.file.factDefaults ?? {})) {
      const cited = citation(declared.sources);
      sources.set(fact, `The rule file ${ruleSet.sourceFile} (factDefaults): ${declared.description}${cited ? ` Sources: ${cited}.` : ''}`);
    }
    assumedSources.set(ruleSet.file, sources);
  }
  return decision.defaultsApplied.map(({ fact, value, file }) => ({ fact, value, source: sources.get(fact) ?? `The rule file ${file} (factDefaults).` }));
}
