// summary.changes: for each different verdict the case's facts could reach by what a caseworker can act on or check,
// the smallest change that reaches it, in plain words and as an RFC 6902 JSON Patch on the request's facts.
//
// A verdict that keeps the answer and only adds to its lists (one more indicator for the same segment) is not given: it
// is a further reason for the same answer, not a path to another (addsOnly).
//
// The search is exact within its bound, not sampled: every single change is tried, then pairs (see MAX_PAIR_SINGLES).
// It is pruned with what the rule set reads, never with a guess: a fact no weighed rule, derived fact or outcome builder
// reads cannot move the verdict, and removing a list entry that no derived fact selects on asOf (outside every window,
// not matching any `where`) changes no derived fact, so neither is tried. No clock, no I/O.
import { addDays } from '../dates/calendar';
import { ACTIONABLE_FACTS, type Actionable } from '../facts/actionable';
import { caseFactsSchema } from '../facts/schema';
import { pointerToken, pointerTokenName } from '../facts/validate';
import type { CompiledRuleSet, RuleSetModule, RuleSubset } from './compile';
import { derivedInputs, selectedEntries } from './derived';
import type { RuleVerdict } from './compiled';
import { conditionFacts } from './conditions';
import { outcomeFrom, outcomeOf, type CaseRun } from './evaluate';
import { sameJson } from './holds-until';
import type { FactMap, RuleDefinition } from './types';

/** One operation of an RFC 6902 JSON Patch; only those summary.changes writes. */
export type JsonPatchOperation = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

export interface Change {
  /**
   * The verdict the changed facts reach: the outcome without the fields the module reckons from asOf (datedFromAsOf),
   * the same verdict summary.holdsUntil compares. Not the whole outcome: a date reckoned from asOf is the same with or
   * without the change, and leaving it out keeps the answer the same whichever day it is read.
   */
  outcome: Record<string, unknown>;
  text: string;
  patch: JsonPatchOperation[];
}

/** What of a rule set's module the search reads: its headline field, the fields reckoned from asOf, the facts its builder reads. */
export type ChangesModule = Pick<RuleSetModule, 'verdict' | 'datedFromAsOf' | 'facts' | 'outcomeSchema'>;

/**
 * Pairs are searched among the first MAX_PAIR_SINGLES single changes (in their stable order) only: at most 28 pairs, so
 * a case with a long history costs at most that many more evaluations (16 singles, 120 pairs, doubled the cost of a case
 * for few more answers), and only while some value of the headline is reached by no single change. A pair is kept only when it reaches a headline
 * value (a segment, ready or not) that no single change reaches: a pair that only moves the lists of indicators or unmet
 * criteria tells a caseworker nothing two single changes do not.
 */
export const MAX_PAIR_SINGLES = 8;

/** The outcome without the fields reckoned from asOf: what two decisions must share to give the same answer. */
export function verdictOf(outcome: Record<string, unknown>, datedFromAsOf: readonly string[]): Record<string, unknown> {
  if (datedFromAsOf.length === 0) return outcome;
  const verdict: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outcome)) if (!datedFromAsOf.includes(key)) verdict[key] = value;
  return verdict;
}

// --- RFC 6902, the three operations written here: add, remove, replace. A few lines, so no dependency; the document is
// never changed, each object or list on an operation's path is copied (what is off the path is shared).

function applyOperation(document: unknown, operation: JsonPatchOperation): unknown {
  const tokens = operation.path.split('/').slice(1).map(pointerTokenName);
  if (tokens.length === 0) {
    if (operation.op === 'remove') throw new Error('a patch cannot remove the whole document');
    return operation.value;
  }
  const step = (node: unknown, depth: number): unknown => {
    const token = tokens[depth] as string;
    const last = depth === tokens.length - 1;
    if (Array.isArray(node)) {
      const copy: unknown[] = [...(node as unknown[])];
      const index = token === '-' && operation.op === 'add' ? copy.length : Number(token);
      if (!/^(0|[1-9][0-9]*|-)$/.test(token) || index > copy.length || (index === copy.length && !(last && operation.op === 'add'))) {
        throw new Error(`patch path ${operation.path} is outside its list`);
      }
      if (!last) copy[index] = step(copy[index], depth + 1);
      else if (operation.op === 'add') copy.splice(index, 0, operation.value);
      else if (operation.op === 'remove') copy.splice(index, 1);
      else copy[index] = operation.value;
      return copy;
    }
    if (node === null || typeof node !== 'object') throw new Error(`patch path ${operation.path} goes through a value that is not an object or list`);
    const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) };
    const present = Object.hasOwn(copy, token);
    if (!last) {
      if (!present) throw new Error(`patch path ${operation.path} goes through a member that is not there`);
      copy[token] = step(copy[token], depth + 1);
    } else if (operation.op === 'add') copy[token] = operation.value;
    else if (!present) throw new Error(`patch path ${operation.path} names a member that is not there`);
    else if (operation.op === 'remove') delete copy[token];
    else copy[token] = operation.value;
    return copy;
  };
  return step(document, 0);
}

/** The document with each operation applied in order (RFC 6902 add, remove, replace); the document itself is not changed. */
export function applyPatch<T>(document: T, patch: readonly JsonPatchOperation[]): T {
  let result: unknown = document;
  for (const operation of patch) result = applyOperation(result, operation);
  return result as T;
}

// --- The changes a case's facts admit.

type Item = Record<string, unknown>;

/** One change to the facts, independent of which copy of them it is written against (the request's, or the filled-in one). */
type Mutation =
  | { kind: 'set'; path: string; value: unknown }
  | { kind: 'remove'; path: string; index: number }
  | { kind: 'set-field'; path: string; index: number; field: string; value: unknown }
  | { kind: 'append'; path: string; value: Item }
  | { kind: 'remove-field'; path: string; index: number; field: string };

interface Candidate {
  mutation: Mutation;
  /** What the change is, in words: the clause after "If" (written only for a change given). */
  words: () => string;
  /** Changes to one target (a flag, an entry) do not pair with one another. */
  target: string;
}

const pointers = new Map<string, string>();
/** A dotted fact path as a JSON Pointer (the vocabulary's paths: a few dozen, so remembered). */
function pointer(path: string): string {
  let found = pointers.get(path);
  if (found === undefined) pointers.set(path, (found = `/${path.split('.').map(escape).join('/')}`));
  return found;
}

/** The patch operations of a mutation, written against `facts` (the request's as sent, or the filled-in copy). */
function operationsOn(facts: unknown, mutation: Mutation): JsonPatchOperation[] {
  const at = pointer(mutation.path);
  if (mutation.kind === 'remove') return [{ op: 'remove', path: `${at}/${mutation.index}` }];
  if (mutation.kind === 'remove-field') return [{ op: 'remove', path: `${at}/${mutation.index}/${pointerToken(mutation.field)}` }];
  if (mutation.kind === 'set-field') {
    const entry = valueAt(facts, mutation.path) as Item[];
    const op = Object.hasOwn(entry[mutation.index] as Item, mutation.field) ? 'replace' : 'add';
    return [{ op, path: `${at}/${mutation.index}/${pointerToken(mutation.field)}`, value: mutation.value }];
  }
  if (mutation.kind === 'append') {
    if (Array.isArray(valueAt(facts, mutation.path))) return [{ op: 'add', path: `${at}/-`, value: mutation.value }];
    return setOperations(facts, mutation.path, [mutation.value]);
  }
  return setOperations(facts, mutation.path, mutation.value);
}

/** The operations that set the fact at `path`: a fact in an object the facts leave out ("case.msp") is added with the objects it lies in. */
function setOperations(facts: unknown, path: string, value: unknown): JsonPatchOperation[] {
  const keys = path.split('.');
  let parent = facts as Item;
  for (let i = 0; i < keys.length - 1; i += 1) {
    const next = parent[keys[i] as string];
    if (next === null || typeof next !== 'object') {
      let nested = value;
      for (let j = keys.length - 1; j > i; j -= 1) nested = { [keys[j] as string]: nested };
      return [{ op: 'add', path: pointer(keys.slice(0, i + 1).join('.')), value: nested }];
    }
    parent = next as Item;
  }
  return [{ op: Object.hasOwn(parent, keys[keys.length - 1] as string) ? 'replace' : 'add', path: pointer(path), value }];
}

function valueAt(facts: unknown, path: string): unknown {
  let node = facts;
  for (const key of path.split('.')) node = node !== null && typeof node === 'object' ? (node as Item)[key] : undefined;
  return node;
}

/**
 * A patch of several mutations, each naming an entry by its index in the facts as they are: every other change first,
 * then the removals, last index first, so that each index still names its entry when its operation is applied.
 */
function patchOf(facts: unknown, mutations: readonly Mutation[]): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = [];
  for (const mutation of inPatchOrder(mutations)) patch.push(...operationsOn(facts, mutation));
  return patch;
}

/** Mutations in the order a patch applies them: every other change first, then the removals, last index first. */
function inPatchOrder(mutations: readonly Mutation[]): readonly Mutation[] {
  if (mutations.length < 2) return mutations;
  const others: Mutation[] = [];
  const removals: Mutation[] = [];
  for (const mutation of mutations) (mutation.kind === 'remove' ? removals : others).push(mutation);
  removals.sort((a, b) => (b as { index: number }).index - (a as { index: number }).index);
  return [...others, ...removals];
}

/** What a version's weighed rules read: CaseFacts paths read directly, and the derived facts read (by name). */
interface Reads {
  direct: Set<string>;
  derived: Set<string>;
}

const readsCache = new WeakMap<readonly RuleDefinition[], Reads>();

function readsOf(ruleSet: CompiledRuleSet, module: ChangesModule, rules: readonly RuleDefinition[]): Reads {
  let reads = readsCache.get(rules);
  if (reads) return reads;
  reads = { direct: new Set(module.facts), derived: new Set() };
  const { direct, derived } = reads;
  const read = new Set<string>();
  for (const rule of rules) conditionFacts(rule.conditions, read);
  for (const fact of read) (Object.hasOwn(ruleSet.file.derivedFacts, fact) ? derived : direct).add(fact);
  // An outcome builder may read a derived fact the rule file's outcome section names (a fact's name as its value).
  for (const value of Object.values(ruleSet.file.outcome)) if (typeof value === 'string' && Object.hasOwn(ruleSet.file.derivedFacts, value)) derived.add(value);
  readsCache.set(rules, reads);
  return reads;
}

const selectorsCache = new WeakMap<CompiledRuleSet, Map<string, ReturnType<typeof selectedEntries>>>();

function selector(ruleSet: CompiledRuleSet, name: string): ReturnType<typeof selectedEntries> {
  let selectors = selectorsCache.get(ruleSet);
  if (!selectors) selectorsCache.set(ruleSet, (selectors = new Map<string, ReturnType<typeof selectedEntries>>()));
  let select = selectors.get(name);
  if (!select) selectors.set(name, (select = selectedEntries(ruleSet.file.derivedFacts[name] as never, ruleSet.file.parameters)));
  return select;
}

/**
 * The entries of a list some read derived fact selects on asOf (a non-empty list); undefined (every entry) when a rule or
 * the builder reads the list itself.
 */
function entriesThatCount(plan: ActionablePlan, factMap: FactMap, asOf: string): ReadonlySet<Item> | undefined {
  if (plan.selectors === undefined) return undefined;
  const counted = new Set<Item>();
  // The case's whole fact map: a selection may compare entries with another of its facts, or reckon on a date it gives.
  for (const select of plan.selectors) for (const item of select(factMap, asOf)) counted.add(item);
  return counted;
}

/** An actionable fact the weighed rules read (directly, or through a derived fact): what candidatesFor goes through. */
interface ActionablePlan {
  path: string;
  actionable: Actionable;
  /** For a list no rule reads itself: the selections of the derived facts read that count its entries. */
  selectors: ReturnType<typeof selectedEntries>[] | undefined;
}

const plans = new WeakMap<Reads, readonly ActionablePlan[]>();

/** The actionable facts a version's weighed rules read, in the vocabulary's order: worked out once per rule subset. */
function plansOf(ruleSet: CompiledRuleSet, reads: Reads): readonly ActionablePlan[] {
  let found = plans.get(reads);
  if (found) return found;
  const read = new Set(reads.direct);
  for (const name of reads.derived) {
    const definition = ruleSet.file.derivedFacts[name];
    if (definition) for (const fact of derivedInputs(definition)) read.add(fact);
  }
  found = Object.entries<Actionable>(ACTIONABLE_FACTS)
    .filter(([path]) => read.has(path))
    .map(([path, actionable]) => ({
      path,
      actionable,
      selectors: reads.direct.has(path)
        ? undefined
        : [...reads.derived].filter((name) => ruleSet.file.derivedFacts[name]?.list === path).map((name) => selector(ruleSet, name)),
    }));
  plans.set(reads, found);
  return found;
}

const LABELS: Record<string, string> = (() => {
  const labels: Record<string, string> = {};
  const walk = (node: { properties?: Record<string, unknown> }, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const c = child as { properties?: Record<string, unknown>; description?: string };
      if (c.properties) walk(c, path);
      else labels[path] = c.description ?? path;
    }
  };
  walk(caseFactsSchema, '');
  return labels;
})();

/**
 * Every single change the case admits to a fact the weighed rules read, in a stable order: the vocabulary's, then the
 * list's. Read from the case's fact map (the request's values, its defaults filled in).
 */
function candidatesFor(ruleSet: CompiledRuleSet, reads: Reads, factMap: FactMap, asOf: string): Candidate[] {
  const candidates: Candidate[] = [];
  for (const plan of plansOf(ruleSet, reads)) {
    const { path, actionable } = plan;
    const value = factMap[path];
    switch (actionable.how) {
      case 'remove-entry':
      case 'end-restriction': {
        if (!Array.isArray(value) || value.length === 0) break;
        const list = value as Item[];
        const counted = entriesThatCount(plan, factMap, asOf);
        const seen = list.length > 1 ? new Set<string>() : undefined;
        list.forEach((item, index) => {
          if (counted && !counted.has(item)) return;
          // Two identical entries: removing either gives the same facts, so only the first is tried.
          if (seen) {
            const key = JSON.stringify(item);
            if (seen.has(key)) return;
            seen.add(key);
          }
          const target = `${path}/${index}`;
          if (actionable.how === 'remove-entry') {
            candidates.push({ mutation: { kind: 'remove', path, index }, words: () => `${actionable.describe(item)} were not on the record`, target });
            const inError = actionable.fieldInError;
            if (inError !== undefined && item[inError.field] !== undefined && item[inError.field] !== null) {
              candidates.push({
                mutation: { kind: 'remove-field', path, index, field: inError.field },
                words: () => `${inError.describe(item)} were not on the record`,
                target,
              });
            }
          } else if (typeof item.from === 'string' && item.from < asOf && (typeof item.to !== 'string' || item.to >= asOf)) {
            const end = addDays(asOf, -1);
            candidates.push({
              mutation: { kind: 'set-field', path, index, field: 'to', value: end },
              words: () => `${actionable.describe(item)} ended on ${end}`,
              target,
            });
          } else {
            candidates.push({ mutation: { kind: 'remove', path, index }, words: () => `${actionable.describe(item)} were withdrawn`, target });
          }
        });
        break;
      }
      case 'advance': {
        const list = (Array.isArray(value) ? value : []) as Item[];
        list.forEach((item, index) => {
          const at = actionable.steps.indexOf(item[actionable.field] as string);
          if (at < 0) return;
          for (const next of actionable.steps.slice(at + 1)) {
            candidates.push({
              mutation: { kind: 'set-field', path, index, field: actionable.field, value: next },
              words: () => `${actionable.describe(item)} were ${next}`,
              target: `${path}/${index}`,
            });
          }
        });
        break;
      }
      case 'do':
      case 'check': {
        const current = value;
        for (const next of actionable.how === 'do' ? [true] : [true, false]) {
          if (current === next) continue;
          candidates.push({ mutation: { kind: 'set', path, value: next }, words: () => `"${LABELS[path] ?? path}" were ${String(next)}`, target: path });
        }
        break;
      }
      case 'advance-value': {
        const at = actionable.steps.indexOf(value as string);
        if (at < 0) break;
        for (const next of actionable.steps.slice(at + 1)) {
          candidates.push({ mutation: { kind: 'set', path, value: next }, words: () => `"${LABELS[path] ?? path}" were ${next}`, target: path });
        }
        break;
      }
      case 'add-entry':
        for (const fields of actionable.entries) {
          const entry = { date: asOf, ...fields };
          candidates.push({
            mutation: { kind: 'append', path, value: entry },
            words: () => `${actionable.describe(entry)} were made on ${asOf}`,
            target: `${path}/-`,
          });
        }
        break;
      case 'act-today':
        if (value === undefined || value === null) {
          candidates.push({ mutation: { kind: 'set', path, value: asOf }, words: () => `${actionable.act} on ${asOf}`, target: path });
        }
        break;
    }
  }
  return candidates;
}

// --- Changes tried on a fact map.

/**
 * The fact-map slots the mutations change, as path, new value, path, new value …: a list changed once, as patchOf's
 * patch changes it (each index naming an entry of the list as it is; the removals last, last index first).
 */
function changedSlots(factMap: FactMap, mutations: readonly Mutation[]): unknown[] {
  const changed: unknown[] = [];
  for (const mutation of inPatchOrder(mutations)) {
    const { path } = mutation;
    if (mutation.kind === 'set') {
      changed.push(path, mutation.value);
      continue;
    }
    let at = 0;
    while (at < changed.length && changed[at] !== path) at += 2;
    if (at === changed.length) changed.push(path, [...(factMap[path] as Item[])]);
    const list = changed[at + 1] as Item[];
    if (mutation.kind === 'remove') list.splice(mutation.index, 1);
    else if (mutation.kind === 'append') list.push(mutation.value);
    else {
      const entry = { ...(list[mutation.index] as Item) };
      if (mutation.kind === 'remove-field') delete entry[mutation.field];
      else entry[mutation.field] = mutation.value;
      list[mutation.index] = entry;
    }
  }
  return changed;
}

/** Whether a builder's reads (path, value, path, value …) name none of `moved`. */
function readsNone(read: readonly unknown[], moved: readonly string[]): boolean {
  for (let i = 0; i < read.length; i += 2) if (moved.includes(read[i] as string)) return false;
  return true;
}

/** Sets each slot of `state` (path, value, path, value …) in the fact map, adding what it held to `saved`. */
function set(factMap: FactMap, state: readonly unknown[], saved: unknown[]): void {
  for (let i = 0; i < state.length; i += 2) {
    const path = state[i] as string;
    saved.push(path, factMap[path]);
    factMap[path] = state[i + 1];
  }
}

/** Whether a change moves a fact some rule's appliesTo names: another subset of rules is weighed. */
function weighsOthers(change: State, applies: ReadonlySet<string>): boolean {
  for (const fact of change.moved) if (applies.has(fact)) return true;
  return false;
}

/**
 * Rules run again for a change: stamps[i] === the change's stamp marks rule i as run, so a rule reading two facts that
 * moved runs once. One array for every search (a typed array costs more to make than a search's rules cost to run).
 */
let stamps = new Int32Array(64);
let stamped = 0;
function nextStamp(rules: number): number {
  if (stamps.length < rules) stamps = new Int32Array(rules * 2);
  stamped += 1;
  if (stamped === 0x7fffffff) {
    stamps.fill(0);
    stamped = 1;
  }
  return stamped;
}

/**
 * Which weighed rules fire, as a key: a number (one bit a rule) for a subset of up to 30 rules, else a string of 0s and
 * 1s. A number is hashed for nothing; a string built afresh is flattened and hashed on every lookup.
 */
function firingKey(firing: readonly boolean[]): number | string {
  if (firing.length <= 30) {
    let key = 0;
    for (let i = 0; i < firing.length; i += 1) if (firing[i]) key |= 1 << i;
    return key;
  }
  let key = '';
  for (const fires of firing) key += fires ? '1' : '0';
  return key;
}

/** A change tried: the fact-map slots it sets (path, value, path, value …) and the facts among them that moved. */
interface State {
  state: unknown[];
  moved: string[];
  /** Once tried alone: the rules run again (those reading a fact that moved), those among them that fired otherwise, whether a fact the outcome builder read moved, and whether another subset of rules would be weighed. */
  ran?: number[];
  flips?: number[];
  builderMoved?: boolean;
  whole?: boolean;
  /** The verdict it reached alone, with what the builder read to give it. */
  built?: Built;
}

/** A verdict the module built, with what its builder read (path, value, path, value …): the same again while those hold. */
interface Built {
  read: readonly unknown[];
  reached: Reached;
}

/** Ways of firing remembered per rule subset before its memory starts again. */
const MAX_OUTCOMES = 4096;
/** Verdicts remembered for one way of firing (each for other values the builder read). */
const MAX_READINGS = 4;
const outcomesCache = new WeakMap<RuleSubset, Map<number | string, Built[]>>();

/**
 * The verdicts a subset's outcome builder has given, by which of its rules fired ('1' or '0' each, in order): the
 * builder is a function of the rules fired, the facts it reads and the version's parameters (and asOf, for the fields
 * reckoned from it, which a verdict leaves out), so a verdict is given again, across cases, when the same rules fire
 * and every fact it read holds the same value. Shared, so frozen.
 */
function outcomesOf(subset: RuleSubset): Map<number | string, Built[]> {
  let found = outcomesCache.get(subset);
  if (!found) outcomesCache.set(subset, (found = new Map<number | string, Built[]>()));
  return found;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Of the verdicts remembered for one way of firing, the one whose builder read every fact as the fact map holds it now. */
function readingAsNow(known: readonly Built[] | undefined, factMap: FactMap): Built | undefined {
  if (known) for (const entry of known) if (sameReads(factMap, entry.read)) return entry;
  return undefined;
}

/**
 * The verdict a run gave, with what its builder read (not remembered: a builder that reads the case's own values would
 * fill the memory with verdicts no other case meets); undefined when the run did not keep what its builder read.
 */
function fromRun(run: CaseRun, module: ChangesModule): Built | undefined {
  if (run.read === undefined) return undefined;
  const verdict = verdictOf(run.outcome, module.datedFromAsOf);
  // Its key is left unwritten: the verdict given is compared with those reached, not looked up (a JSON text for it, on
  // every case, cost as much as the rest of a short search).
  return { read: run.read, reached: { key: undefined, verdict, headline: JSON.stringify(verdict[module.verdict]), shared: false } };
}

/** Whether each fact read (path, value, path, value …) holds the same value in the fact map now. */
function sameReads(factMap: FactMap, read: readonly unknown[]): boolean {
  for (let i = 0; i < read.length; i += 2) if (!sameValue(factMap[read[i] as string], read[i + 1])) return false;
  return true;
}

/** A derived fact's value: a number, null, or a sorted list of values. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

const dependentsCache = new WeakMap<CompiledRuleSet, Map<string, CompiledRuleSet['derived']>>();

/** The derived facts of a version that read a fact (a list, the date a count of days runs from, a fact compared with). */
function dependentsOf(ruleSet: CompiledRuleSet, path: string): CompiledRuleSet['derived'] {
  let byPath = dependentsCache.get(ruleSet);
  if (!byPath) dependentsCache.set(ruleSet, (byPath = new Map<string, CompiledRuleSet['derived']>()));
  let found = byPath.get(path);
  if (!found) {
    found = ruleSet.derived.filter(([name]) => {
      const definition = ruleSet.file.derivedFacts[name];
      return definition !== undefined && derivedInputs(definition).includes(path);
    });
    byPath.set(path, found);
  }
  return found;
}

const appliesCache = new WeakMap<CompiledRuleSet, ReadonlySet<string>>();

/** The facts rules' appliesTo name: a change to one may weigh other rules. */
function appliesFactsOf(ruleSet: CompiledRuleSet): ReadonlySet<string> {
  let found = appliesCache.get(ruleSet);
  if (!found) appliesCache.set(ruleSet, (found = new Set(ruleSet.file.rules.flatMap((rule) => Object.keys(rule.appliesTo ?? {})))));
  return found;
}

// --- Words for what a change reaches.

const isRecord = (value: unknown): value is Item => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A value in words: a list by its entries; a record (a suggestion with its reasons) by its first field, the rest in
 * brackets ("payment-options-review (because: payment-options-crisis-payments)"), not as JSON a caseworker must read.
 */
function shown(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(shown).join(value.some(isRecord) ? '; ' : ', ');
  if (isRecord(value)) {
    const fields = Object.entries(value);
    const [, first] = fields[0] ?? [];
    const rest = (typeof first === 'string' ? fields.slice(1) : fields).map(([key, field]) => `${key}: ${shown(field)}`).join('; ');
    if (typeof first !== 'string') return rest;
    return rest === '' ? first : `${first} (${rest})`;
  }
  return String(value);
}

/** Each field (nested objects walked) whose value differs: a list by what it would gain and lose, any other value by what it would be. */
function differences(now: unknown, then: unknown, path: string, into: string[]): void {
  if (isRecord(now) && isRecord(then)) {
    const keys = new Set([...Object.keys(now), ...Object.keys(then)]);
    for (const key of keys) differences(now[key], then[key], path ? `${path}.${key}` : key, into);
  } else if (Array.isArray(now) && Array.isArray(then)) {
    // Entries compared by value, so that a list of records (suggestions, each with its reasons) says only what moved.
    const nowValues = new Set(now.map((v) => JSON.stringify(v)));
    const thenValues = new Set(then.map((v) => JSON.stringify(v)));
    const gained = then.filter((v) => !nowValues.has(JSON.stringify(v)));
    const lost = now.filter((v) => !thenValues.has(JSON.stringify(v)));
    const words = [gained.length > 0 ? `gain ${shown(gained)}` : '', lost.length > 0 ? `lose ${shown(lost)}` : ''].filter(Boolean);
    if (words.length > 0) into.push(`${path} would ${words.join(' and ')}`);
  } else if (JSON.stringify(now) !== JSON.stringify(then)) {
    into.push(`${path} would be ${shown(then)} (now ${shown(now)})`);
  }
}

/**
 * What the change reaches, in words: the headline field first, then each other field that differs. A field holding an
 * object (the unmet criteria of every ground) is named only when no plain field differs: it repeats what they say.
 */
function consequence(headline: string, now: Reached, then: Reached): string {
  // Remembered with the two verdicts remembered (a verdict read from the case's own run is met by no other case).
  if (!now.shared || !then.shared) return consequenceOf(headline, now.verdict, then.verdict);
  let byThen = consequences.get(now);
  if (!byThen) consequences.set(now, (byThen = new Map<Reached, string>()));
  let text = byThen.get(then);
  if (text === undefined) byThen.set(then, (text = consequenceOf(headline, now.verdict, then.verdict)));
  return text;
}

/** The words for what a change reaches, by the two verdicts remembered: a batch meets the same few again and again. */
const consequences = new WeakMap<Reached, Map<Reached, string>>();

function consequenceOf(headline: string, now: Record<string, unknown>, then: Record<string, unknown>): string {
  const parts: string[] = [];
  differences(now[headline], then[headline], headline, parts);
  if (parts.length === 0) parts.push(`${headline} would still be ${shown(now[headline])}`);
  const plain: string[] = [];
  const nested: string[] = [];
  for (const key of Object.keys({ ...now, ...then })) {
    if (key === headline) continue;
    const value = then[key] ?? now[key];
    differences(now[key], then[key], key, value !== null && typeof value === 'object' && !Array.isArray(value) ? nested : plain);
  }
  return [...parts, ...(plain.length > 0 ? plain : nested)].join('; ');
}

/**
 * Whether a verdict reached keeps the answer given and only adds to it: the same headline and every other plain value,
 * and lists that gain entries but lose none (one more segment 2 indicator for a customer in segment 2, one more unmet
 * criterion for a customer not ready). Such a change moves nothing a caseworker tells the customer or acts on: it is a
 * further reason for the same answer, not a path to another, so summary.changes does not give it. (A change that loses
 * an entry is given: it is a step towards another answer, as a pair of such steps may reach it.) Memoised with the two
 * verdicts when both are remembered, as the words about them are.
 */
function addsOnly(then: Reached, now: Reached): boolean {
  if (then.headline !== now.headline) return false;
  if (!then.shared || !now.shared) return gainsOnly(now.verdict, then.verdict) === 'gains';
  let byNow = addsOnlyMemo.get(then);
  if (!byNow) addsOnlyMemo.set(then, (byNow = new Map<Reached, boolean>()));
  let adds = byNow.get(now);
  if (adds === undefined) byNow.set(now, (adds = gainsOnly(now.verdict, then.verdict) === 'gains'));
  return adds;
}

const addsOnlyMemo = new WeakMap<Reached, Map<Reached, boolean>>();

/** How `then` differs from `now`: 'same', 'gains' (lists gain entries and nothing else moves), or 'other'. */
function gainsOnly(now: unknown, then: unknown): 'same' | 'gains' | 'other' {
  if (isRecord(now) && isRecord(then)) {
    let result: 'same' | 'gains' = 'same';
    for (const key of new Set([...Object.keys(now), ...Object.keys(then)])) {
      const field = gainsOnly(now[key], then[key]);
      if (field === 'other') return 'other';
      if (field === 'gains') result = 'gains';
    }
    return result;
  }
  if (Array.isArray(now) && Array.isArray(then)) {
    for (const value of now) if (!then.some((v) => sameJson(v, value))) return 'other';
    return then.length > now.length || then.some((v) => !now.some((n) => sameJson(n, v))) ? 'gains' : 'same';
  }
  return sameJson(now, then) ? 'same' : 'other';
}

// --- The search.

/**
 * Every value the headline field can take, as JSON, when its schema says (a boolean, literals, null); undefined when it
 * does not. Once single changes reach them all, no pair can reach a new one, and pairs are not searched.
 */
const keyOf = (reached: Reached): string => (reached.key ??= JSON.stringify(reached.verdict));

function headlineValues(schema: unknown): string[] | undefined {
  const node = schema as { type?: unknown; const?: unknown; anyOf?: unknown[] } | undefined;
  if (node === undefined) return undefined;
  if ('const' in node) return [JSON.stringify(node.const)];
  if (node.type === 'boolean') return ['true', 'false'];
  if (node.type === 'null') return ['null'];
  if (!Array.isArray(node.anyOf)) return undefined;
  const values: string[] = [];
  for (const option of node.anyOf) {
    const some = headlineValues(option);
    if (!some) return undefined;
    values.push(...some);
  }
  return values;
}

const domains = new WeakMap<object, string[] | undefined>();

function headlineDomain(module: ChangesModule): string[] | undefined {
  if (!domains.has(module)) domains.set(module, headlineValues(module.outcomeSchema.properties[module.verdict]));
  return domains.get(module);
}

interface Reached {
  /**
   * The verdict as JSON, what tells two verdicts reached apart: written when first asked for (keyOf), as most verdicts
   * reached are only compared with the one given (a JSON text of each cost a fifth of a search).
   */
  key: string | undefined;
  /** Whether it is remembered for other cases (a verdict built), and words about it with it. */
  shared: boolean;
  verdict: Record<string, unknown>;
  headline: string;
}

/**
 * The changes of summary.changes for a case `run` decided (by the version in force on its asOf). `requestFacts` are the
 * facts as the caller sent them, before any default was filled in (the patches are written against them: a caller that
 * parsed the body in place keeps a copy first). For each
 * verdict a single change reaches, the first such change in a stable order (the vocabulary's order of facts, then each
 * list's), unless the verdict only adds to the answer given (addsOnly); then, for each headline value no single change
 * reaches, the first pair of changes that reaches it.
 *
 * Each change is tried on the run's own fact map, read once: its slot changed, the derived facts reading that slot
 * computed again, then only the rules reading a fact that moved are run again (the subset's `readers`); when none of
 * them fires otherwise and no fact the outcome builder read moved, the verdict is the one given, and otherwise the
 * outcome is built from the rules as they now fire (once per way of firing and values read). The fact map is put back
 * as it was after each. `changes.test.ts` decides every change it gives again from the patched request, in full.
 */
export function summaryChanges(run: CaseRun, module: ChangesModule, requestFacts: unknown): Change[] {
  const { ruleSet, asOf, factMap, subset, results } = run;
  const headlineKey = (verdict: Record<string, unknown>) => JSON.stringify(verdict[module.verdict]);
  const { rules, verdicts, readers } = subset;
  const reads = readsOf(ruleSet, module, rules);
  const candidates = candidatesFor(ruleSet, reads, factMap, asOf);
  if (candidates.length === 0) return [];
  const applies = appliesFactsOf(ruleSet);
  const outcomes = outcomesOf(subset);
  const firing = results.slice();

  // The verdict of the case with the weighed rules firing as `firing` says, built by the module (and remembered).
  const decideAgain = (): Built => {
    const key = firingKey(firing);
    const known = outcomes.get(key);
    return readingAsNow(known, factMap) ?? build(key, known);
  };
  // A verdict remembered for `firing` whose builder read none of the `moved` facts (the fact map does not hold their
  // changed values) and read every other as it is; undefined when none is remembered.
  const remembered = (moved: readonly string[], andMoved: readonly string[]): Built | undefined => {
    const known = outcomes.get(firingKey(firing));
    if (known) for (const entry of known) if (readsNone(entry.read, moved) && readsNone(entry.read, andMoved) && sameReads(factMap, entry.read)) return entry;
    return undefined;
  };
  const build = (key: number | string, known: Built[] | undefined): Built => {
    const fired = new Set<string>();
    for (let i = 0; i < firing.length; i += 1) if (firing[i]) fired.add((rules[i] as RuleDefinition).name);
    const read: unknown[] = [];
    const verdict = deepFreeze(verdictOf(outcomeOf(ruleSet, factMap, asOf, rules, fired, read), module.datedFromAsOf));
    const entry: Built = { read, reached: { key: undefined, verdict, headline: headlineKey(verdict), shared: true } };
    if (outcomes.size >= MAX_OUTCOMES) outcomes.clear();
    if (!known) outcomes.set(key, [entry]);
    else {
      // The newest first, and only a few: a builder that reads a case's own list (equal only to itself) would
      // otherwise leave one entry a case under its key, each searched by every case after it.
      known.unshift(entry);
      if (known.length > MAX_READINGS) known.length = MAX_READINGS;
    }
    return entry;
  };

  // The verdict given, and what the outcome builder read to give it: while none of that moves and the rules fire as
  // they did, the verdict is the one given. Remembered, or read from the run (which kept what its builder read), or
  // built again.
  const givenKey = firingKey(firing);
  const givenKnown = outcomes.get(givenKey);
  const base = readingAsNow(givenKnown, factMap) ?? fromRun(run, module) ?? build(givenKey, givenKnown);
  const givenReached = base.reached;
  const isGiven = (reached: Reached): boolean =>
    reached === givenReached ||
    (reached.key !== undefined && givenReached.key !== undefined ? reached.key === givenReached.key : sameJson(reached.verdict, givenReached.verdict));
  const builderFacts = new Set<unknown>();
  for (let i = 0; i < base.read.length; i += 2) builderFacts.add(base.read[i]);

  // A change's state: the fact-map slots it sets (its list or fact, and each derived fact reading it), as path, value,
  // path, value …, and the facts among them whose value moved.
  const stateOf = (mutations: readonly Mutation[]): State => {
    const changed = changedSlots(factMap, mutations);
    const state: unknown[] = [];
    const moved: string[] = [];
    const saved: unknown[] = [];
    for (let i = 0; i < changed.length; i += 2) {
      const path = changed[i] as string;
      saved.push(path, factMap[path]);
      factMap[path] = changed[i + 1];
      state.push(path, changed[i + 1]);
      moved.push(path);
      for (const [name, compute] of dependentsOf(ruleSet, path)) {
        const before = factMap[name];
        const after = compute(factMap, asOf);
        saved.push(name, before);
        factMap[name] = after;
        state.push(name, after);
        if (!sameValue(before, after)) moved.push(name);
      }
    }
    for (let i = saved.length - 2; i >= 0; i -= 2) factMap[saved[i] as string] = saved[i + 1];
    return { state, moved };
  };

  // The verdict in a changed state: the rules reading a fact that moved run again, and the outcome is built again only
  // when one of them fires otherwise or a fact the builder read moved. The fact map is put back as it was.
  const reach = (change: State, and?: State): Reached => {
    const saved: unknown[] = [];
    set(factMap, change.state, saved);
    if (and) set(factMap, and.state, saved);
    let reached = givenReached;
    if (weighsOthers(change, applies) || (and !== undefined && weighsOthers(and, applies))) {
      // Another subset of rules is weighed: decided again in full.
      const verdict = verdictOf(outcomeFrom(ruleSet, factMap, asOf), module.datedFromAsOf);
      reached = { key: undefined, verdict, headline: headlineKey(verdict), shared: false };
      if (!and) change.whole = true;
    } else {
      const stamp = nextStamp(rules.length);
      const flips: number[] = [];
      const ran: number[] = [];
      let builderMoved = false;
      for (let c = 0; c < 2; c += 1) {
        const moved = c === 0 ? change.moved : and?.moved;
        if (moved === undefined) break;
        for (const fact of moved) {
          if (builderFacts.has(fact)) builderMoved = true;
          const indices = readers.get(fact);
          if (indices === undefined) continue;
          for (const index of indices) {
            if (stamps[index] === stamp) continue;
            stamps[index] = stamp;
            ran.push(index);
            const fires = (verdicts[index] as RuleVerdict)(factMap);
            if (fires !== results[index]) {
              firing[index] = fires;
              flips.push(index);
            }
          }
        }
      }
      let built = base;
      if (flips.length > 0 || builderMoved) {
        built = decideAgain();
        reached = built.reached;
        for (const index of flips) firing[index] = results[index] as boolean;
      }
      if (!and) {
        change.ran = ran;
        change.flips = flips;
        change.builderMoved = builderMoved;
        change.whole = false;
        change.built = built;
      }
    }
    for (let i = saved.length - 2; i >= 0; i -= 2) factMap[saved[i] as string] = saved[i + 1];
    return reached;
  };

  // Two changes to two slots, from what each did alone, without trying them: when no rule reads a fact both moved and
  // the builder read none that either moved, each rule fires in the pair as it did under the one change that moved what
  // it reads, so the verdict is the one remembered for the rules firing so (when one is); undefined otherwise.
  const together = (a: State, b: State): Reached | undefined => {
    if (a.whole !== false || b.whole !== false || a.builderMoved || b.builderMoved) return undefined;
    for (const index of a.ran as number[]) if ((b.ran as number[]).includes(index)) return undefined;
    // One of them moves no rule: the pair reaches what the other reaches alone, unless its builder read what the first moved.
    const alone = (one: State, other: State): Built | undefined =>
      (one.flips as number[]).length === 0 && readsNone((other.built as Built).read, one.moved) ? other.built : undefined;
    const same = alone(a, b) ?? alone(b, a);
    if (same) return same.reached;
    const flips = [...(a.flips as number[]), ...(b.flips as number[])];
    for (const index of flips) firing[index] = !results[index];
    const entry = remembered(a.moved, b.moved);
    for (const index of flips) firing[index] = results[index] as boolean;
    return entry?.reached;
  };

  // Verdict → the first change (in the stable order) that reaches it; none for a verdict that only adds to the answer
  // given (addsOnly).
  const found = new Map<string, { reached: Reached; way: Candidate[] } | null>();
  const headlines = new Set<string>([givenReached.headline]);
  const states: State[] = [];
  for (const candidate of candidates) {
    const state = stateOf([candidate.mutation]);
    if (states.length < MAX_PAIR_SINGLES) states.push(state);
    const reached = reach(state);
    if (isGiven(reached)) continue;
    headlines.add(reached.headline);
    const key = keyOf(reached);
    if (!found.has(key)) found.set(key, addsOnly(reached, givenReached) ? null : { reached, way: [candidate] });
  }
  const domain = headlineDomain(module);
  const pairable = domain?.every((value) => headlines.has(value)) ? [] : candidates.slice(0, MAX_PAIR_SINGLES);
  // Headline value → the first pair that reaches it (a headline no single change reaches: a verdict of its own).
  const byPairs = new Map<string, { reached: Reached; way: Candidate[] }>();
  for (let i = 0; i < pairable.length; i += 1) {
    for (let j = i + 1; j < pairable.length; j += 1) {
      const a = pairable[i] as Candidate;
      const b = pairable[j] as Candidate;
      if (a.target === b.target) continue;
      // Changes to two slots set what each sets alone (a derived fact reads one list or date); two to one list are
      // worked out together.
      const sa = states[i] as State;
      const sb = states[j] as State;
      const reached = a.mutation.path === b.mutation.path ? reach(stateOf([a.mutation, b.mutation])) : (together(sa, sb) ?? reach(sa, sb));
      if (headlines.has(reached.headline) || isGiven(reached)) continue;
      if (!byPairs.has(reached.headline)) byPairs.set(reached.headline, { reached, way: [a, b] });
    }
  }

  // Each patch is written on the request's facts as sent. It is valid by construction, so it is not validated again
  // here (a full copy of the request through the schema, for each change given, cost more than the whole search): it
  // removes a list entry, or sets a fact or an entry's field to a value of its own type (the vocabulary's next step, a
  // flag, a date), and what it reaches is what the search decided on the same facts. test/engine/changes.test.ts
  // applies every patch to the request, validates it and decides it again, over 10,000 generated cases a version.
  const changes: Change[] = [];
  for (const given of [...found.values(), ...byPairs.values()]) {
    if (given === null) continue;
    const { reached, way } = given;
    const patch = patchOf(
      requestFacts,
      way.map((c) => c.mutation),
    );
    changes.push({
      outcome: reached.verdict,
      text: `If ${way.map((c) => c.words()).join(' and ')}, ${consequence(module.verdict, givenReached, reached)}.`,
      patch,
    });
  }
  return changes;
}
