// Generators for test/api/fuzz.test.ts: request bodies of every shape, kept as a tree of entries and
// written as text by hand, because what matters most cannot be made with JSON.stringify: a repeated
// key, a "__proto__" key (an object literal sets the prototype instead, and JSON.stringify of the
// result drops it), NaN, 1e400, or a 10,000-deep nesting (JSON.stringify of it may overflow the stack).
import fc from 'fast-check';
import { caseFactsSchema, DATES_IN_ORDER } from '../../src/facts/schema';

/** An object as written: entries in order, so a key may repeat and "__proto__" stays an ordinary key. */
export class JObject {
  constructor(readonly entries: readonly (readonly [string, JValue])[]) {}
  // fast-check prints counterexamples with this: the JSON as sent, not the tree.
  [fc.toStringMethod](): string {
    return write(this);
  }
}

/** Text written as it is: the literals JSON has no word for (NaN, Infinity, 1e400, -0, 'single'). */
export class JRaw {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    return this.text;
  }
}

export type JValue = null | boolean | number | string | JValue[] | JObject | JRaw;

export function write(value: JValue): string {
  if (value instanceof JRaw) return value.text;
  if (value instanceof JObject) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  return JSON.stringify(value);
}

/** A parsed JSON value as a tree (generated values are shallow: recursion is safe here). */
export function fromPlain(value: unknown): JValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(fromPlain);
  if (typeof value === 'object') return new JObject(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromPlain(v)] as const));
  return null;
}

export type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';
export const KINDS: readonly Kind[] = ['null', 'boolean', 'number', 'string', 'array', 'object'];

export function kindOf(value: JValue): Kind {
  if (value === null) return 'null';
  if (value instanceof JObject) return 'object';
  if (value instanceof JRaw) return 'number';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

// ---------------------------------------------------------------------------------------------
// Keys and leaves

/** The keys a hostile client would try for prototype pollution. */
export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Properties that, if a payload ever reached a prototype, would show on every object. */
export const POLLUTION_MARKERS = ['polluted', 'isAdmin', 'fuzzPolluted'] as const;

const polluter = new JObject([
  ['polluted', 'yes'],
  ['isAdmin', true],
  ['fuzzPolluted', 1],
  // Names the service reads from bodies: inherited, they would change decisions silently.
  ['asOf', '1999-01-01'],
  ['program', 'centrelink'],
  ['urgent', true],
]);

/** Entries that try to reach a prototype, in every spelling the parsers and copiers might honour. */
export const POLLUTION_ENTRIES: readonly (readonly [string, JValue])[] = [
  ['__proto__', polluter],
  ['__proto__', new JObject([['__proto__', polluter]])],
  ['__proto__', new JObject([['constructor', new JObject([['prototype', polluter]])]])],
  ['__proto__', null],
  ['__proto__', []],
  ['__proto__', 'polluted'],
  ['constructor', new JObject([['prototype', polluter]])],
  ['constructor', polluter],
  ['constructor', null],
  ['prototype', polluter],
  // Shadowing what code may call on a parsed object (obj.hasOwnProperty(k), String(obj), …).
  ['hasOwnProperty', 'polluted'],
  ['toString', 1],
  ['valueOf', new JObject([])],
  ['toJSON', 'polluted'],
  ['__defineGetter__', 'polluted'],
  ['isPrototypeOf', null],
];

/** Every property name in CaseFacts and the request, so generated keys often hit a real field. */
export const VOCABULARY: readonly string[] = (() => {
  const names = new Set<string>(['asOf', 'facts', 'id']);
  const walk = (node: SchemaNode) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      names.add(key);
      walk(child);
    }
    if (node.items) walk(node.items);
  };
  walk(caseFactsSchema);
  return [...names];
})();

/** Keys a JSON pointer must escape ('/' and '~'), or that are odd in other ways. */
const ODD_KEYS = ['a/b', '~', '~0', '~1', '/', 'facts/program', 'a~b', '', ' ', '\u0000', 'é', '💥', '\ud800', '$ref', '..', '0', '-1', 'length'];

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...VOCABULARY) },
  { weight: 1, arbitrary: fc.constantFrom(...POLLUTION_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

// ---------------------------------------------------------------------------------------------
// Dates

const isoDay = (d: Date): string => d.toISOString().split('T')[0] as string;

export const realisticDate: fc.Arbitrary<string> = fc
  .date({ min: new Date('2019-01-01T00:00:00Z'), max: new Date('2026-12-31T00:00:00Z'), noInvalidDate: true })
  .map(isoDay);

/** Real calendar dates at the edges: the start of the era, the end of four-digit years, leap days, the version boundary. */
export const EXTREME_DATES = [
  '0001-01-01',
  '0000-01-01',
  '1000-01-01',
  '1900-01-01',
  '1970-01-01',
  '2000-02-29',
  '2024-02-29',
  '2025-01-13',
  '2025-01-14',
  '2099-12-31',
  '2100-01-01',
  '9999-12-31',
] as const;

/** Written YYYY-MM-DD, but no such day. */
export const IMPOSSIBLE_DATES = [
  '2025-02-29',
  '2025-02-30',
  '2023-02-29',
  '1900-02-29',
  '2100-02-29',
  '2025-04-31',
  '2025-13-01',
  '2025-00-10',
  '2025-06-00',
  '2025-06-32',
  '0000-00-00',
  '9999-99-99',
] as const;

/** Not YYYY-MM-DD at all. */
export const NOT_ISO_DATES = [
  '',
  ' ',
  '2025-6-1',
  '2025-06-1',
  '20250601',
  '2025/06/01',
  '01/06/2025',
  '2025-06-01T00:00:00Z',
  '2025-06-01T10:00:00+10:00',
  '2025-06-01 ',
  ' 2025-06-01',
  '2025-06-01\n',
  '+002025-06-01',
  '-000001-01-01',
  '10000-01-01',
  '２０２５-０６-０１',
  '2025‐06‐01',
  '٢٠٢٥-٠٦-٠١',
  'today',
  'now',
  'null',
  '2025-06',
  '2025',
  'June 1 2025',
  '2025-W23-1',
  '2025-152',
  '2025-06-01\u0000',
] as const;

/** Digits in the YYYY-MM-DD shape, any values: impossible months and days, year 0000. */
const shapedDate = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
  .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

/** Any day Date can hold (years -271821 to 275760), as toISOString writes it. */
const anyDay = fc.date({ noInvalidDate: true }).map(isoDay);

/** Dates for a field or asOf that should be refused, or that are real but at the edge of what the rules and calendar cover. */
export const hostileDate: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...EXTREME_DATES),
  fc.constantFrom(...IMPOSSIBLE_DATES),
  fc.constantFrom(...NOT_ISO_DATES),
  shapedDate,
  anyDay,
);

/** Mostly realistic dates, sometimes an edge, so valid facts reach the date arithmetic at its limits. */
const factDate: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: realisticDate },
  { weight: 1, arbitrary: fc.constantFrom(...EXTREME_DATES) },
  { weight: 1, arbitrary: anyDay.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)) },
);

// ---------------------------------------------------------------------------------------------
// Valid facts, from the schema itself, so a field added to the vocabulary is fuzzed without editing this file

interface SchemaNode {
  type?: string;
  enum?: readonly unknown[];
  format?: string;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  items?: SchemaNode;
  uniqueItems?: boolean;
  minLength?: number;
  maxLength?: number;
}

export const FACTS_SCHEMA = caseFactsSchema as unknown as SchemaNode;

// Short strings: a grapheme may be several code points and the schema's maxLength counts code points.
const textOf = (min: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: Math.max(min, 0), maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ minLength: Math.max(min, 0), maxLength: 12, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.string({ minLength: Math.max(min, 0), maxLength: 12, unit: 'binary' }) },
  );

export function validOf(node: SchemaNode, date: fc.Arbitrary<string> = factDate): fc.Arbitrary<unknown> {
  if (node.enum) return fc.constantFrom(...node.enum);
  switch (node.type) {
    case 'boolean':
      return fc.boolean();
    case 'string':
      return node.format === 'date' ? date : textOf(node.minLength ?? 0);
    case 'array':
      // A list of values each given once (the customer's needs) holds no value twice.
      return node.uniqueItems
        ? fc.uniqueArray(validOf(node.items as SchemaNode, date), { maxLength: 3, selector: (value) => JSON.stringify(value) })
        : fc.array(validOf(node.items as SchemaNode, date), { maxLength: 3 });
    case 'object': {
      const model = Object.fromEntries(Object.entries(node.properties ?? {}).map(([k, v]) => [k, validOf(v, date)]));
      return fc.record(model, { requiredKeys: [...(node.required ?? [])] });
    }
    default:
      throw new Error(`fuzz-arbitraries: no generator for the schema node ${JSON.stringify(node)}; teach validOf this type`);
  }
}

type Plain = Record<string, unknown>;

/**
 * Valid CaseFacts, most of them with what every rule set requires (program, referral.source and
 * receivedOn, customer.psHistory), so they reach the engine rather than stopping at "required".
 */
export const validFacts: fc.Arbitrary<Plain> = fc
  .tuple(
    validOf(FACTS_SCHEMA) as fc.Arbitrary<Plain>,
    fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    validOf(FACTS_SCHEMA.properties?.program as SchemaNode),
    validOf(FACTS_SCHEMA.properties?.referral?.properties?.source as SchemaNode),
    realisticDate,
    validOf(FACTS_SCHEMA.properties?.customer?.properties?.psHistory as SchemaNode),
  )
  .map(([facts, complete, program, source, receivedOn, psHistory]) => {
    if (!complete) return datesInOrder(facts);
    const referral = (facts.referral ?? {}) as Plain;
    const customer = (facts.customer ?? {}) as Plain;
    return datesInOrder({
      ...facts,
      program: facts.program ?? program,
      referral: { ...referral, source: referral.source ?? source, receivedOn: referral.receivedOn ?? receivedOn },
      customer: { ...customer, psHistory: customer.psHistory ?? psHistory },
    });
  });

/**
 * The facts with each entry of a list whose two dates must be in order (DATES_IN_ORDER: a consent's from and to) put in
 * order, the two swapped where drawn the other way round: JSON Schema cannot say it, so the schema's values may not.
 */
function datesInOrder(facts: Plain): Plain {
  for (const [path, [first, second]] of Object.entries(DATES_IN_ORDER)) {
    const [group, key] = path.split('.') as [string, string];
    const list = (facts[group] as Plain | undefined)?.[key];
    if (!Array.isArray(list)) continue;
    for (const entry of list as Plain[]) {
      const [a, b] = [entry[first], entry[second]];
      if (typeof a === 'string' && typeof b === 'string' && b < a) [entry[first], entry[second]] = [b, a];
    }
  }
  return facts;
}

export interface Fixture {
  asOf: string;
  facts: Plain;
}

/** A request a caseworker tool would send: a shipped fixture case, or valid facts from the schema. */
export function validRequest(fixtures: readonly Fixture[]): fc.Arbitrary<JValue> {
  const fromSchema = fc.record({ asOf: realisticDate, facts: validFacts }, { requiredKeys: ['facts'] });
  const arbs: fc.Arbitrary<JValue>[] = [fromSchema.map(fromPlain)];
  if (fixtures.length > 0) arbs.push(fc.constantFrom(...fixtures).map((f) => fromPlain({ asOf: f.asOf, facts: f.facts })));
  return fc.oneof(...arbs);
}

/** The fullest valid facts: every field present, each list with one item of every field. For the per-field tables. */
export function fullOf(node: SchemaNode = FACTS_SCHEMA): unknown {
  if (node.enum) return node.enum[0];
  switch (node.type) {
    case 'boolean':
      return true;
    case 'string':
      return node.format === 'date' ? '2025-03-03' : 'x';
    case 'array':
      return [fullOf(node.items)];
    case 'object':
      return Object.fromEntries(Object.entries(node.properties ?? {}).map(([k, v]) => [k, fullOf(v)]));
    default:
      throw new Error(`fuzz-arbitraries: no full value for ${JSON.stringify(node)}`);
  }
}

/** Every place in a plain JSON value, as the keys that reach it (not the root). */
export function placesIn(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push([...at, i], ...placesIn(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push([...at, k], ...placesIn(v, [...at, k]));
  return out;
}

/** The schema node a place in the facts names (list indices step into items). */
export function schemaAt(place: readonly (string | number)[], node: SchemaNode = FACTS_SCHEMA): SchemaNode | undefined {
  let here: SchemaNode | undefined = node;
  for (const step of place) here = typeof step === 'number' ? here?.items : here?.properties?.[step];
  return here;
}

export const pointerOf = (place: readonly (string | number)[]): string => place.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** A copy of a plain value with the value at `place` replaced (place must exist). */
export function replacedAt(value: unknown, place: readonly (string | number)[], by: unknown): unknown {
  if (place.length === 0) return by;
  const [step, ...rest] = place;
  if (Array.isArray(value)) return value.map((v, i) => (i === step ? replacedAt(v, rest, by) : v));
  const object = value as Plain;
  return { ...object, [step as string]: replacedAt(object[step as string], rest, by) };
}

// ---------------------------------------------------------------------------------------------
// Values of each JSON type, for swapping a field's value for one of another type

const numberArb: fc.Arbitrary<JValue> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom<JValue>(
    0,
    1,
    -1,
    2025,
    20250602,
    1.5,
    new JRaw('-0'),
    new JRaw('1e308'),
    new JRaw('1e400'),
    new JRaw('-1e400'),
    new JRaw('5e-324'),
    new JRaw('123456789012345678901234567890'),
  ),
);

const stringArb: fc.Arbitrary<JValue> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', 'true', 'false', 'null', '0', '1', '2025-06-02', 'centrelink', 'child-support', 'never', 'mats', '[]', '{}', '__proto__'),
  hostileDate,
);

const smallLeaf: fc.Arbitrary<JValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(new JObject([])),
  fc.constant<JValue>([]),
);

/** One value of each JSON type, in KINDS order; a swap picks one whose type differs from the field's. */
export const oneOfEachKind: fc.Arbitrary<JValue[]> = fc.tuple(
  fc.constant(null),
  fc.boolean(),
  numberArb,
  stringArb,
  fc.array(smallLeaf, { maxLength: 3 }),
  fc.array(fc.tuple(keyArb, smallLeaf), { maxLength: 3 }).map((entries) => new JObject(entries)),
);

/** Deterministic samples of each type, for the per-field tables. */
export const KIND_SAMPLES: Record<Kind, JValue[]> = {
  null: [null],
  boolean: [true, false],
  number: [0, -1, 1.5, 20250602, new JRaw('1e400')],
  string: ['', 'x', 'true', '2025-06-02'],
  array: [[], [null], [new JObject([])]],
  object: [new JObject([]), new JObject([['a', 1]])],
};

// ---------------------------------------------------------------------------------------------
// Any JSON, with keys that matter

/** JSON of any shape whose keys are often vocabulary, pollution or pointer-hostile keys, written as text (repeats and "__proto__" kept). */
export const jtree: fc.Arbitrary<JValue> = fc.letrec<{ value: JValue; array: JValue[]; object: JObject }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.oneof(fc.constant(null), fc.boolean(), numberArb, stringArb), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 6 }).map((entries) => new JObject(entries)),
})).value;

/** fc.anything() as JSON.stringify writes it: Maps, Sets, boxed values, sparse arrays, typed arrays, dates and all. */
export const anythingJson: fc.Arbitrary<string> = fc
  .anything({
    maxDepth: 4,
    key: keyArb,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withObjectString: true,
    withNullPrototype: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
  })
  .map((value) => {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch {
      return 'null';
    }
  });

// ---------------------------------------------------------------------------------------------
// Mutations of a valid request

type Path = readonly number[];

const childrenOf = (v: JValue): readonly JValue[] => (v instanceof JObject ? v.entries.map((e) => e[1]) : Array.isArray(v) ? v : []);

function pathsIn(root: JValue): Path[] {
  const out: Path[] = [];
  const walk = (v: JValue, p: Path) => {
    out.push(p);
    childrenOf(v).forEach((c, i) => walk(c, [...p, i]));
  };
  walk(root, []);
  return out;
}

function valueAt(root: JValue, path: Path): JValue {
  let here = root;
  for (const i of path) here = childrenOf(here)[i] as JValue;
  return here;
}

function updateAt(root: JValue, path: Path, f: (v: JValue) => JValue): JValue {
  if (path.length === 0) return f(root);
  const [i, ...rest] = path;
  if (root instanceof JObject) return new JObject(root.entries.map((e, k) => (k === i ? [e[0], updateAt(e[1], rest, f)] : e)));
  if (Array.isArray(root)) return root.map((v, k) => (k === i ? updateAt(v, rest, f) : v));
  return root;
}

const keyOf = (root: JValue, path: Path): string | undefined => {
  if (path.length === 0) return undefined;
  const parent = valueAt(root, path.slice(0, -1));
  return parent instanceof JObject ? parent.entries[path[path.length - 1] as number]?.[0] : undefined;
};

const insertEntry = (object: JValue, position: number, entry: readonly [string, JValue]): JValue => {
  if (!(object instanceof JObject)) return object;
  const at = position % (object.entries.length + 1);
  return new JObject([...object.entries.slice(0, at), entry, ...object.entries.slice(at)]);
};

const DATE_KEYS = new Set(['asOf', 'date', 'from', 'to', 'receivedOn', 'exitLetterIssuedOn']);

export type Mutation =
  | { kind: 'wrong-type'; pick: number; choice: number; values: JValue[] }
  | { kind: 'date'; pick: number; date: string }
  | { kind: 'delete'; pick: number }
  | { kind: 'add'; pick: number; position: number; key: string; value: JValue }
  | { kind: 'duplicate'; pick: number; value: JValue; after: boolean }
  | { kind: 'pollute'; pick: number; position: number; entry: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('wrong-type' as const), pick: fc.nat(), choice: fc.nat(), values: oneOfEachKind }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('date' as const), pick: fc.nat(), date: hostileDate }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), position: fc.nat(), key: keyArb, value: jtree }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat(), value: jtree, after: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pollute' as const), pick: fc.nat(), position: fc.nat(), entry: fc.nat() }) },
);

export function mutate(root: JValue, m: Mutation): JValue {
  const paths = pathsIn(root);
  const objects = paths.filter((p) => valueAt(root, p) instanceof JObject);
  const entries = paths.filter((p) => keyOf(root, p) !== undefined);
  const nth = <T>(list: readonly T[], n: number): T | undefined => list[n % Math.max(list.length, 1)];
  switch (m.kind) {
    case 'wrong-type': {
      const path = nth(paths.slice(1), m.pick) ?? [];
      const current = kindOf(valueAt(root, path));
      const others = m.values.filter((v) => kindOf(v) !== current);
      return updateAt(root, path, () => nth(others, m.choice) ?? null);
    }
    case 'date': {
      const dated = entries.filter(
        (p) => DATE_KEYS.has(keyOf(root, p) as string) || (typeof valueAt(root, p) === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(valueAt(root, p) as string)),
      );
      const path = nth(dated, m.pick);
      if (path) return updateAt(root, path, () => m.date);
      // No date in the body: the request's own asOf.
      return root instanceof JObject ? new JObject([...root.entries.filter(([k]) => k !== 'asOf'), ['asOf', m.date]]) : root;
    }
    case 'delete': {
      const path = nth(entries, m.pick);
      if (!path) return root;
      const index = path[path.length - 1] as number;
      return updateAt(root, path.slice(0, -1), (o) => (o instanceof JObject ? new JObject(o.entries.filter((_, k) => k !== index)) : o));
    }
    case 'add':
      return updateAt(root, nth(objects, m.pick) ?? [], (o) => insertEntry(o, m.position, [m.key, m.value]));
    case 'duplicate': {
      const path = nth(entries, m.pick);
      if (!path) return root;
      const key = keyOf(root, path) as string;
      const index = path[path.length - 1] as number;
      return updateAt(root, path.slice(0, -1), (o) => insertEntry(o, m.after ? index + 1 : index, [key, m.value]));
    }
    case 'pollute':
      return updateAt(root, nth(objects, m.pick) ?? [], (o) =>
        insertEntry(o, m.position, POLLUTION_ENTRIES[m.entry % POLLUTION_ENTRIES.length] as readonly [string, JValue]),
      );
  }
}

/** Request bodies as a client might get them wrong, or as an attacker would write them. */
export function requestBody(fixtures: readonly Fixture[]): fc.Arbitrary<string> {
  const valid = validRequest(fixtures);
  const mutated = fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([base, ms]) => ms.reduce(mutate, base));
  return fc.oneof(
    { weight: 6, arbitrary: valid.map(write) },
    { weight: 10, arbitrary: mutated.map(write) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => `{"facts":${JSON.stringify(v)}}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.jsonValue(), valid)
        .map(([asOf, base]) => write(mutate(base, { kind: 'add', pick: 0, position: 0, key: 'asOf', value: fromPlain(asOf) }))),
    },
    { weight: 2, arbitrary: jtree.map(write) },
    { weight: 1, arbitrary: jtree.map((facts) => write(new JObject([['facts', facts]]))) },
    { weight: 1, arbitrary: anythingJson },
    { weight: 1, arbitrary: anythingJson.map((facts) => `{"asOf":"2025-06-02","facts":${facts}}`) },
  );
}

// ---------------------------------------------------------------------------------------------
// Damage to the bytes

const BAD_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xef, 0xbf, 0xbe],
];

const LITERALS = [
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  "'single'",
  '0x1F',
  '1e400',
  '-0',
  '.5',
  '+1',
  '01',
  'True',
  'NULL',
  'nul',
  '"\\x41"',
  '"\\u12"',
  '"\\ud800"',
  '"\\u0000"',
  '"\\udfff\\ud800"',
  '1.',
  '--1',
  '1e',
  '"\t"',
  '""""',
];

const INSERTS = [',', '}', ']', '{', '[', ':', '"', '\\', '/* c */', '// c\n', '\u00a0', '\u2028', '\u0000', '\ufeff', '\r', '\n', ' , ', ',,', '{}', 'null'];

export type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'bom'; variant: number }
  | { kind: 'bad-utf8'; at: number; bytes: number }
  | { kind: 'literal'; at: number; literal: number }
  | { kind: 'trailing-comma'; at: number }
  | { kind: 'insert'; at: number; text: number }
  | { kind: 'control'; at: number; code: number }
  | { kind: 'utf16'; bom: boolean; bigEndian: boolean };

export const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bom' as const), variant: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bad-utf8' as const), at: fc.nat(), bytes: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('literal' as const), at: fc.nat(), literal: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trailing-comma' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const), at: fc.nat(), code: fc.integer({ min: 0, max: 31 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('utf16' as const), bom: fc.boolean(), bigEndian: fc.boolean() }) },
);

const splice = (bytes: Buffer, at: number, remove: number, insert: Buffer): Buffer =>
  Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at + remove)]);

/** Where scalar values start in JSON text: after a ':' or '[' or ','. */
function scalarSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const re = /([:[,]\s*)(true|false|null|-?\d[\d.eE+-]*|"(?:[^"\\]|\\.)*")/g;
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push([m.index + (m[1] as string).length, (m[2] as string).length]);
  return spans;
}

export function damage(bytes: Buffer, d: Damage): Buffer {
  const at = (n: number) => (bytes.length === 0 ? 0 : n % (bytes.length + 1));
  switch (d.kind) {
    case 'truncate':
      return bytes.subarray(0, bytes.length === 0 ? 0 : d.at % bytes.length);
    case 'bom': {
      const boms = [
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]),
        Buffer.from(' \ufeff'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from([0xfe, 0xff]),
        Buffer.from([0xef, 0xbb]),
      ];
      const bom = boms[d.variant % boms.length] as Buffer;
      // Mostly in front, where a BOM belongs; sometimes inside, where it does not.
      return d.variant % 3 === 0 ? Buffer.concat([bom, bytes]) : splice(bytes, at(d.variant), 0, bom);
    }
    case 'bad-utf8':
      return splice(bytes, at(d.at), 0, Buffer.from(BAD_UTF8[d.bytes % BAD_UTF8.length] as number[]));
    case 'literal': {
      const text = bytes.toString('utf8');
      const spans = scalarSpans(text);
      const literal = LITERALS[d.literal % LITERALS.length] as string;
      const span = spans[d.at % Math.max(spans.length, 1)];
      if (!span) return Buffer.concat([bytes, Buffer.from(literal)]);
      return Buffer.from(text.slice(0, span[0]) + literal + text.slice(span[0] + span[1]), 'utf8');
    }
    case 'trailing-comma': {
      const text = bytes.toString('utf8');
      const closers = [...text.matchAll(/[}\]]/g)].map((m) => m.index);
      const where = closers[d.at % Math.max(closers.length, 1)] ?? text.length;
      return Buffer.from(`${text.slice(0, where)},${text.slice(where)}`, 'utf8');
    }
    case 'insert':
      return splice(bytes, at(d.at), 0, Buffer.from(INSERTS[d.text % INSERTS.length] as string, 'utf8'));
    case 'control': {
      // Raw control characters are not allowed inside JSON strings: put one just after an opening quote.
      const quotes = [...bytes.toString('latin1').matchAll(/"/g)].map((m) => m.index + 1);
      return splice(bytes, quotes[d.at % Math.max(quotes.length, 1)] ?? 0, 0, Buffer.from([d.code]));
    }
    case 'utf16': {
      const le = Buffer.from(bytes.toString('utf8'), 'utf16le');
      const body = d.bigEndian ? Buffer.from(le).swap16() : le;
      return d.bom ? Buffer.concat([Buffer.from(d.bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), body]) : body;
    }
  }
}

/** Text and bytes that were never JSON: the generated body's source, before any damage. */
export type RawSource = { text?: string; bytes?: Uint8Array };
export const rawSource: fc.Arbitrary<RawSource> = fc.oneof(
  fc.record<RawSource>({ text: fc.string({ unit: 'binary', maxLength: 60 }) }),
  fc.record<RawSource>({ text: fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE+-truefalsnl \t\n\\u'.split('')), maxLength: 60 }) }),
  fc.record<RawSource>({ bytes: fc.uint8Array({ maxLength: 60 }) }),
  fc.record<RawSource>({
    text: fc.constantFrom(
      '',
      ' ',
      '\n',
      '{',
      '[',
      '{}',
      '[]',
      'null',
      'true',
      '0',
      '""',
      '"facts"',
      '{"facts"}',
      '{"facts":}',
      '{"facts":{}',
      '{"facts":{}}}',
      '{,}',
      '{"a":1,}',
      '[1,]',
      '{"facts":{},"facts":[]}',
      '<xml/>',
      'facts=1&asOf=2025-06-02',
      '\ufeff',
      '\ufeff{}',
      '\ufeff\ufeff{}',
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// Deep and huge bodies, built as text

export const BASE_FACTS = '"program":"centrelink","referral":{"source":"mats","receivedOn":"2025-06-02"}';

/** A nesting `depth` deep around `inner`, or left open (truncated) when not closed. */
export function deepText(shape: 'array' | 'object' | 'mixed', depth: number, inner: string, closed: boolean): string {
  const open = shape === 'array' ? '[' : shape === 'object' ? '{"a":' : '[{"a":';
  const close = shape === 'array' ? ']' : shape === 'object' ? '}' : '}]';
  const levels = shape === 'mixed' ? Math.ceil(depth / 2) : depth;
  return open.repeat(levels) + inner + (closed ? close.repeat(levels) : close.repeat(Math.floor(levels / 2)));
}

/** Where in a request a generated value goes: each a template with one hole. */
export const PLACES: Record<string, (value: string) => string> = {
  body: (v) => v,
  asOf: (v) => `{"asOf":${v},"facts":{${BASE_FACTS}}}`,
  facts: (v) => `{"asOf":"2025-06-02","facts":${v}}`,
  'facts.extra': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"extra":${v}}}`,
  'facts.__proto__': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"__proto__":${v}}}`,
  __proto__: (v) => `{"__proto__":${v},"asOf":"2025-06-02","facts":{${BASE_FACTS}}}`,
  'facts.referral.source': (v) => `{"asOf":"2025-06-02","facts":{"program":"centrelink","referral":{"source":${v},"receivedOn":"2025-06-02"}}}`,
  'facts.customer.incidents': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"customer":{"psHistory":"never","incidents":${v}}}}`,
  'facts.customer.scsActivity': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"customer":{"psHistory":"previously","scsActivity":${v}}}}`,
  'facts.case.issues': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"case":{"issues":${v}}}}`,
  'facts.case.issues.0': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"case":{"issues":[${v}]}}}`,
  'facts.case.issues.0.id': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"case":{"issues":[{"id":${v},"kind":"k","status":"recorded"}]}}}`,
  'facts.case.warnings': (v) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"case":{"warnings":${v}}}}`,
};

/** A string value of exactly `bytes` bytes of JSON text (quotes included), from one repeated character or escape. */
export function stringOfBytes(bytes: number, unit: string): string {
  const inner = bytes - 2;
  const size = Buffer.byteLength(unit);
  const count = Math.max(0, Math.floor(inner / size));
  return `"${unit.repeat(count)}${'a'.repeat(Math.max(0, inner - count * size))}"`;
}
