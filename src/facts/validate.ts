// Checks a request against the fact vocabulary and a rule set's required facts, reporting every problem.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { DecisionError, MAX_LISTED_ISSUES, type Issue } from '../errors';
import { caseFactsSchema, DATES_IN_ORDER, evaluateRequestSchema } from './schema';

export type CaseFacts = Record<string, unknown>;

export interface EvaluateRequest {
  asOf?: string;
  facts: CaseFacts;
}

// Two validators of the same schemas, so that no body within the 1 MiB limit costs more to refuse than a case costs to
// decide (issue 11: with one validator reporting every problem, an invalid 1 MiB body cost 0.56 CPU-s).
//
// Deciding stops at the first problem (allErrors off, as Ajv's security notes advise for a server): a valid body is
// checked as before, in one pass, and an invalid one costs no more than its valid part, which the lists' maxItems bound
// (Ajv checks a list's length before its items).
//
// Explaining finds every problem (allErrors on) and runs only on a body found invalid. With allErrors, Ajv walks every
// item of a list even past its maxItems, and reports each key outside the vocabulary as a problem of its own. So here a
// list's items are checked only under an `if` of its bound (a list over it is one problem, its items never walked), and
// a body with more unknown keys than a problem lists is refused on their count (unknownKeys) before Ajv sees it. What
// is left for Ajv to report is bounded by the lists' bounds: at most some 8,000 problems, a few milliseconds.
const AJV_OPTIONS = { useDefaults: true, strict: true, allowUnionTypes: true } as const;
const decider = new Ajv({ ...AJV_OPTIONS, allErrors: false });
const explainer = new Ajv({ ...AJV_OPTIONS, allErrors: true });
for (const ajv of [decider, explainer]) addFormats(ajv, ['date']);

/** The schema with each bounded list's items checked only when the list is within its bound. */
function itemsWithinBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(itemsWithinBounds);
  if (node === null || typeof node !== 'object') return node;
  const { items, ...rest } = node as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) copy[key] = itemsWithinBounds(value);
  if (items === undefined) return copy;
  if (typeof copy.maxItems !== 'number') return { ...copy, items: itemsWithinBounds(items) };
  return { ...copy, if: { maxItems: copy.maxItems }, then: { items: itemsWithinBounds(items) } };
}

const factsAreValid = decider.compile<CaseFacts>(caseFactsSchema);
const requestIsValid = decider.compile<EvaluateRequest>(evaluateRequestSchema);
// The facts first: the request's $ref finds them by $id, in the explainer the bounded copy.
const explainFacts = explainer.compile<CaseFacts>(itemsWithinBounds(caseFactsSchema) as object);
const explainRequest = explainer.compile<EvaluateRequest>(evaluateRequestSchema);
const asOfIsValid = decider.compile<string>(evaluateRequestSchema.properties.asOf as object);

/** What a date the schema's `format: date` refuses is told: the evaluate body's asOf, a fact's date, a query's asOf. */
export const NOT_A_DATE = 'must be a real calendar date written YYYY-MM-DD';

/**
 * Whether a value is an asOf as an evaluate body's is checked (its schema: a string, format date, a day the calendar
 * has), so that GET /v1/rulesets/{name}?asOf= takes exactly the dates evaluate takes.
 */
export const isAsOf = (value: unknown): value is string => asOfIsValid(value);

/** The schema as the walks below follow it: objects' properties and lists' items. */
interface Shape {
  properties?: Record<string, Shape>;
  items?: Shape;
  maxItems?: number;
}

const FACTS_SHAPE = caseFactsSchema as unknown as Shape;
const REQUEST_SHAPE: Shape = { properties: { ...(evaluateRequestSchema.properties as unknown as Record<string, Shape>), facts: FACTS_SHAPE } };

/** The most JSON values (objects, lists, members and items) a request can hold: every field given, every list at its bound. */
function valuesIn(shape: Shape): number {
  if (shape.properties) return 1 + Object.values(shape.properties).reduce((sum, child) => sum + valuesIn(child), 0);
  if (shape.items) return 1 + (shape.maxItems ?? 0) * valuesIn(shape.items);
  return 1;
}

/** The most values an evaluate body (or batch line, with its id) can hold, by the schema's bounds. */
export const MOST_VALUES_IN_A_REQUEST = valuesIn(REQUEST_SHAPE) + 1;

/**
 * Counts a JSON body's values as its bytes arrive, to refuse one that holds more than any request can before it is
 * parsed, or even read whole: JSON.parse of 1 MiB of tiny values (350,000 empty objects, 96,000 keys, an array nested
 * 500,000 deep) takes 50 to 120 ms, which no validation after it can take back. It counts the objects and lists
 * opened and the commas between values, skipping strings, so a request's count is never more than its number of
 * values and no case is refused; past MOST_VALUES_IN_A_REQUEST the body is not a case. About 1 ms a MiB (3 ms for
 * a MiB of one string). For what reads an evaluate body or a batch line; an impact body holds many cases, and is not
 * one.
 */
export class ValueCount {
  private values = 0;
  private inString = false;
  private escaped = false;

  constructor(readonly most = MOST_VALUES_IN_A_REQUEST) {}

  /** Counts a chunk of the body's UTF-8 bytes (a multi-byte character's bytes are never ASCII); false once over the most. */
  add(bytes: Uint8Array): boolean {
    let { values, inString, escaped } = this;
    for (let i = 0; i < bytes.length; i += 1) {
      const c = bytes[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b || c === 0x2c) values += 1;
    }
    this.values = values;
    this.inString = inString;
    this.escaped = escaped;
    return values <= this.most;
  }

  /** The refusal of a body found to hold more values than any case. */
  refusal(): DecisionError {
    const most = this.most.toLocaleString('en-AU');
    return new DecisionError(
      'invalid-request',
      `The request holds more values than any case can (at most ${most}, with every list at its bound), so it was not read.`,
      [{ pointer: '', message: `holds more than ${most} values` }],
    );
  }
}

/** A property name as one JSON pointer token (RFC 6901): `~` and `/` escaped, as Ajv's instancePath already is. */
export const pointerToken = (name: string): string => name.replace(/~/g, '~0').replace(/\//g, '~1');

/** A JSON pointer token read back as the property name it escapes (RFC 6901): pointerToken undone. */
export const pointerTokenName = (token: string): string => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** What requireFacts says of a fact a rule set requires and the case left out; REQUIRED_BY reads it back (fact, rule set). */
const requiredBy = (path: string, ruleSet: string): string => `${path} is required by the ${ruleSet} rule set`;
export const REQUIRED_BY = /^(\S+) is required by the (.+) rule set$/;

/**
 * A copy to fill defaults into, for a caller whose body is not its own to change. Ajv fills defaults only into the
 * objects and lists the schema describes, so only those are copied; every other value (a leaf, a key outside the
 * vocabulary, a list over its bound) is shared, as Ajv never walks into it. So a copy costs what the case holds, not
 * what the body holds (structuredClone took 157 ms over a 1 MiB list of empty objects), and a value nested thousands
 * deep is reported where it is, like any other misplaced value.
 */
function copied(value: unknown, shape: Shape): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const { items, maxItems = Infinity } = shape;
    return items && value.length <= maxItems ? value.map((item: unknown) => copied(item, items)) : value;
  }
  const { properties } = shape;
  if (!properties) return value;
  // fromEntries defines each key as the object's own, so a key named __proto__ stays a key (and a problem) and sets no prototype.
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, Object.hasOwn(properties, key) ? copied(child, properties[key] as Shape) : child]),
  );
}

const unknownKeyMessage = (key: string): string => `${key} is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)`;

function describe(error: ErrorObject): Issue {
  const at = error.instancePath;
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { pointer: `${at}/${pointerToken(missing)}`, message: `${missing} is required` };
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return { pointer: `${at}/${pointerToken(extra)}`, message: unknownKeyMessage(extra) };
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return { pointer: at, message: `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
    }
    case 'format':
      return { pointer: at, message: NOT_A_DATE };
    case 'type':
      return { pointer: at, message: `must be of type ${(error.params as { type: string }).type}` };
    case 'maxItems': {
      const limit = (error.params as { limit: number }).limit;
      return {
        pointer: at,
        message: `must have at most ${limit.toLocaleString('en-AU')} items, the most a real case holds (see CaseFacts); the items of a longer list are not checked`,
      };
    }
    default:
      return { pointer: at, message: error.message ?? 'is invalid' };
  }
}

/** Problems found: the first MAX_LISTED_ISSUES described, every one counted. */
interface Found {
  issues: Issue[];
  count: number;
}

function issuesOf(errors: ErrorObject[] | null | undefined): Found {
  const seen = new Set<string>();
  const found: Found = { issues: [], count: 0 };
  for (const error of errors ?? []) {
    // A bounded list's `if` (itemsWithinBounds) says only that its items failed; each item's own problems say where.
    if (error.keyword === 'if') continue;
    // Ajv reports each keyword at each place once, so past the cap problems are counted without being described.
    if (found.issues.length >= MAX_LISTED_ISSUES) {
      found.count += 1;
      continue;
    }
    const issue = describe(error);
    const key = `${issue.pointer} ${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      found.issues.push(issue);
      found.count += 1;
    }
  }
  return found;
}

/** Adds problems to those found, described while there is room under the cap. */
function add(found: Found, issues: readonly Issue[]): void {
  for (const issue of issues) {
    if (found.issues.length < MAX_LISTED_ISSUES) found.issues.push(issue);
    found.count += 1;
  }
}

/** A place in the request as a walk reaches it: its keys, made into a pointer only for a problem that is listed. */
type Path = (string | number)[];
const pointerOf = (path: Path, key: string): string =>
  `${path.map((token) => `/${typeof token === 'number' ? token : pointerToken(token)}`).join('')}/${pointerToken(key)}`;

/**
 * Counts the keys outside the vocabulary everywhere the schema describes (but in a list over its bound: that is
 * refused whole), and describes the first MAX_LISTED_ISSUES as Ajv would. Ajv reports each such key as a problem of
 * its own, so it is their number that makes a body costly to explain: 1 MiB of them is 96,000 problems. This costs a
 * key count per object and a look-up per known property; only the keys listed are looked at one by one.
 */
function unknownKeys(value: unknown, shape: Shape, path: Path, found: Found): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const { items, maxItems = Infinity } = shape;
    if (!items || value.length > maxItems) return;
    for (let i = 0; i < value.length; i += 1) {
      path.push(i);
      unknownKeys(value[i], items, path, found);
      path.pop();
    }
    return;
  }
  const { properties } = shape;
  if (!properties) return;
  let known = 0;
  for (const name in properties) {
    if (!Object.hasOwn(value, name)) continue;
    known += 1;
    path.push(name);
    unknownKeys((value as Record<string, unknown>)[name], properties[name] as Shape, path, found);
    path.pop();
  }
  const keys = Object.keys(value);
  if (keys.length === known) return;
  found.count += keys.length - known;
  for (let i = 0; i < keys.length && found.issues.length < MAX_LISTED_ISSUES; i += 1) {
    const key = keys[i] as string;
    if (!Object.hasOwn(properties, key)) found.issues.push({ pointer: pointerOf(path, key), message: unknownKeyMessage(key) });
  }
}

/** The refusal of a body with more unknown keys than a problem lists, or undefined: the only check that walks a body before Ajv. */
function tooManyUnknownKeys(body: unknown, shape: Shape, what: string): DecisionError | undefined {
  const unknown: Found = { issues: [], count: 0 };
  unknownKeys(body, shape, [], unknown);
  if (unknown.count <= MAX_LISTED_ISSUES) return undefined;
  return new DecisionError(
    'invalid-request',
    `${what} It has more keys outside the fact vocabulary than a problem lists, so nothing else in it was checked.`,
    unknown.issues,
    unknown.count,
  );
}

/** Every problem with a body the deciding validator refused, found at a cost the lists' bounds keep small. */
function explain(body: unknown, shape: Shape, everyProblem: ValidateFunction, what: string): Found {
  const flood = tooManyUnknownKeys(body, shape, what);
  if (flood) throw flood;
  everyProblem(body);
  return issuesOf(everyProblem.errors);
}

function valueAt(facts: CaseFacts, path: string): unknown {
  let value: unknown = facts;
  for (const key of keysOf(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A path's keys, split once: batch triage checks the same few required paths for every record. */
const splitPaths = new Map<string, readonly string[]>();
function keysOf(path: string): readonly string[] {
  let keys = splitPaths.get(path);
  if (!keys) {
    keys = path.split('.');
    if (splitPaths.size < 1000) splitPaths.set(path, keys);
  }
  return keys;
}

function missingRequired(facts: CaseFacts, requires: readonly string[], ruleSet: string, prefix: string): Issue[] {
  const issues: Issue[] = [];
  for (const path of requires) {
    if (valueAt(facts, path) === undefined) issues.push({ pointer: `${prefix}/${keysOf(path).join('/')}`, message: requiredBy(path, ruleSet) });
  }
  return issues;
}

/** The dates-in-order lists (schema.ts), each with its path's keys and its two fields: read once. */
const ORDERED = Object.entries(DATES_IN_ORDER).map(([path, [first, second]]) => ({ keys: path.split('.'), first, second }));

/**
 * Each entry of a list whose second date (a consent's `to`) is before its first (`from`), named by the later field: what
 * JSON Schema cannot say. Read only where both are dates (a field of another type is the schema's problem, told as such).
 */
function datesOutOfOrder(facts: unknown, prefix: string): Issue[] {
  const issues: Issue[] = [];
  for (const { keys, first, second } of ORDERED) {
    let list: unknown = facts;
    for (const key of keys) list = list !== null && typeof list === 'object' ? (list as Record<string, unknown>)[key] : undefined;
    if (!Array.isArray(list)) continue;
    list.forEach((entry: unknown, i) => {
      if (entry === null || typeof entry !== 'object') return;
      const from = (entry as Record<string, unknown>)[first];
      const to = (entry as Record<string, unknown>)[second];
      if (typeof from === 'string' && typeof to === 'string' && to < from)
        issues.push({
          pointer: `${prefix}/${keys.map(pointerToken).join('/')}/${i}/${pointerToken(second)}`,
          message: `must be on or after ${first} (${from})`,
        });
    });
  }
  return issues;
}

/**
 * The body to check, or its copy. A body that is not the caller's own (`copy`) is copied only once it is known not to be
 * a flood of unknown keys: copying those would cost as much as reporting each of them.
 */
function ownBody(body: object, shape: Shape, copy: boolean, what: string): unknown {
  if (!copy) return body;
  const flood = tooManyUnknownKeys(body, shape, what);
  if (flood) throw flood;
  return copied(body, shape);
}

const REQUEST_REFUSED = 'The request does not match the contract.';
const FACTS_REFUSED = 'The facts do not match the vocabulary.';

/**
 * Validates an evaluate request body, fills in the vocabulary's defaults (docs/facts.md: lists empty, flags false) and
 * checks the facts the rule set needs are present. The body is copied, never mutated, unless the
 * caller owns a freshly parsed body (`copy: false`: the API's routes) and the copy would be waste.
 */
export function parseEvaluateRequest(body: unknown, ruleSet: string, requires: readonly string[], { copy = true }: { copy?: boolean } = {}): EvaluateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DecisionError('invalid-request', 'The request body must be a JSON object { "asOf"?, "facts" }.', [
      { pointer: '', message: 'must be a JSON object with a facts member' },
    ]);
  }
  const request = ownBody(body, REQUEST_SHAPE, copy, REQUEST_REFUSED) as EvaluateRequest;
  if (!requestIsValid(request)) {
    const found = explain(request, REQUEST_SHAPE, explainRequest, REQUEST_REFUSED);
    const facts = (request as unknown as { facts?: unknown }).facts;
    if (facts !== null && typeof facts === 'object' && !Array.isArray(facts)) {
      const reported = new Set(found.issues.map((i) => i.pointer));
      add(
        found,
        [...missingRequired(facts as CaseFacts, requires, ruleSet, '/facts'), ...datesOutOfOrder(facts, '/facts')].filter((i) => !reported.has(i.pointer)),
      );
    }
    throw new DecisionError('invalid-request', REQUEST_REFUSED, found.issues, found.count);
  }
  const outOfOrder = datesOutOfOrder(request.facts, '/facts');
  if (outOfOrder.length > 0) throw new DecisionError('invalid-request', FACTS_REFUSED, outOfOrder);
  const missing = missingRequired(request.facts, requires, ruleSet, '/facts');
  if (missing.length > 0) {
    throw new DecisionError('invalid-request', `The ${ruleSet} rule set needs facts that were not given.`, missing);
  }
  return request;
}

/**
 * Validates bare CaseFacts against the vocabulary and fills in its defaults, with pointers relative
 * to the facts object. `copy: false` fills the defaults into `facts` itself: for callers that own
 * a freshly parsed object (batch triage), where a deep copy per record is measurable.
 */
export function checkCaseFacts(facts: unknown, { copy = true }: { copy?: boolean } = {}): CaseFacts {
  if (facts === null || typeof facts !== 'object' || Array.isArray(facts)) {
    throw new DecisionError('invalid-request', 'Facts must be a JSON object.', [{ pointer: '', message: 'must be an object' }]);
  }
  const checked = ownBody(facts, FACTS_SHAPE, copy, FACTS_REFUSED) as CaseFacts;
  if (!factsAreValid(checked)) {
    const found = explain(checked, FACTS_SHAPE, explainFacts, FACTS_REFUSED);
    const reported = new Set(found.issues.map((i) => i.pointer));
    add(
      found,
      datesOutOfOrder(checked, '').filter((i) => !reported.has(i.pointer)),
    );
    throw new DecisionError('invalid-request', FACTS_REFUSED, found.issues, found.count);
  }
  const outOfOrder = datesOutOfOrder(checked, '');
  if (outOfOrder.length > 0) throw new DecisionError('invalid-request', FACTS_REFUSED, outOfOrder);
  return checked;
}

/** Refuses checked facts that lack a fact the rule set requires. */
export function requireFacts(facts: CaseFacts, ruleSet: string, requires: readonly string[]): void {
  const missing = missingRequired(facts, requires, ruleSet, '');
  if (missing.length > 0) throw new DecisionError('invalid-request', `The ${ruleSet} rule set needs facts that were not given.`, missing);
}
