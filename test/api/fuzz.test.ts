// Property-based fuzzing of the HTTP API, in process, with the real keys, the real decision log and
// the OpenAPI check of every response (test/support/app.ts). Whatever body, bytes, content type or
// route a client sends, the service answers either a decision or a problem+json that names what is
// wrong: never a 500, never a crash, and no body ever reaches a prototype.
//
// Reproducible by default: a fixed seed (FUZZ_SEED overrides it; a failure names the seed to re-run
// with). FUZZ_RUNS raises the total number of runs for a longer hunt (it never lowers it: the CI
// criterion is at least 10,000 generated bodies without a 500). Each property is its own test, so a
// fault in one area does not hide faults in another. A crash needs no check of its own: Jest fails
// the running test on any uncaught exception or unhandled rejection in this process, and a request
// left unanswered fails at its deadline.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import vm from 'node:vm';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import request from 'supertest';
import type { Role } from '../../src/api/access';
import { BODY_LIMIT_BYTES } from '../../src/api/app';
import { testApp } from '../support/app';
import { contractViolations } from '../support/contract';
import { FIXTURES_DIR, shippedRules } from '../support';
import {
  BASE_FACTS,
  EXTREME_DATES,
  IMPOSSIBLE_DATES,
  JObject,
  KIND_SAMPLES,
  KINDS,
  NOT_ISO_DATES,
  PLACES,
  POLLUTION_ENTRIES,
  POLLUTION_MARKERS,
  VOCABULARY,
  damage,
  damageArb,
  deepText,
  fromPlain,
  fullOf,
  jtree,
  kindOf,
  mutate,
  mutationArb,
  placesIn,
  pointerOf,
  rawSource,
  replacedAt,
  requestBody,
  schemaAt,
  stringOfBytes,
  write,
  type Damage,
  type Fixture,
  type RawSource,
  type JValue,
} from './fuzz-arbitraries';

// ---------------------------------------------------------------------------------------------
// Settings

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20250602;
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer (got ${process.env.FUZZ_SEED})`);

/**
 * Runs per property at the default scale. With the per-field tables (about 4,400 requests) that is
 * some 14,500 request bodies and 3,400 batch lines, in about 45 s on two cores. FUZZ_RUNS stands for
 * the total of these runs: FUZZ_RUNS=100000 makes each property about eight times longer.
 */
const DEFAULT_RUNS = { structured: 6000, raw: 3000, routes: 500, huge: 60, limit: 48, batch: 500, reproduce: 1000 } as const;
const DEFAULT_TOTAL = Object.values(DEFAULT_RUNS).reduce((a, b) => a + b, 0);
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 0) / DEFAULT_TOTAL || 1);
const runsOf = (property: keyof typeof DEFAULT_RUNS): number => Math.ceil(DEFAULT_RUNS[property] * SCALE);
/** Per test: generous, so a slow machine fails on a finding rather than on time; scaled with the runs. */
const TIMEOUT_MS = Math.ceil(300_000 * SCALE);
/** A request unanswered this long is a hang: a finding, like a 500. */
const DEADLINE_MS = 30_000;
const MIN_BODIES = 10_000;
const LIMIT = BODY_LIMIT_BYTES;

const registry = shippedRules();
const NAMES = [...registry.ruleSets.keys()];
// A fixed clock: the same seed gives the same bodies and the same answers on any day (asOf defaults to today in Sydney).
const app = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z') });

/** The shipped fixture cases, by rule set: realistic starting points for mutation, and decisions to reproduce. */
const FIXTURES: (Fixture & { ruleSet: string })[] = NAMES.flatMap((ruleSet) => {
  const dir = path.join(FIXTURES_DIR, ruleSet);
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  return files.map((f) => {
    const { asOf, facts } = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Fixture;
    return { ruleSet, asOf, facts };
  });
});

const counts = { requests: 0, batchLines: 0 };
/** Answers by status, printed at the end: a run that only ever reaches 400s is not testing the engine. */
const statuses = new Map<number, number>();
const startedAt = performance.now();

// ---------------------------------------------------------------------------------------------
// Sending

interface Shot {
  method?: 'POST' | 'GET';
  path: string;
  role: Role | null;
  contentType: string | null;
  /** Content-Encoding and how the body is encoded under it ('label' sends the bytes as they are). */
  encoding?: { header: string; as: 'gzip' | 'deflate' | 'br' | 'label' | 'gzip-truncated' | 'gzip-flipped' };
  /** The body as the service should read it, after any decoding. */
  body: Buffer;
}

interface Reply {
  status: number;
  type: string;
  text: string;
  headers: Record<string, string>;
}

const agents = { caseworker: app.as('caseworker'), policy: app.as('policy'), auditor: app.as('auditor') } satisfies Record<Role, unknown>;
const anonymous = request(app.listener);

/** Buffers any answer as text: superagent would parse JSON itself, and an NDJSON stream not at all. */
function asText(res: request.Response, callback: (error: Error | null, body: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    text += chunk;
  });
  res.on('end', () => callback(null, text));
}
/** superagent would JSON-encode a Buffer sent as JSON; send the bytes as they are (its types expect a string). */
const asIs = ((data: Buffer) => data) as unknown as (data: unknown) => string;

function wireOf(shot: Shot): Buffer {
  switch (shot.encoding?.as) {
    case undefined:
    case 'label':
      return shot.body;
    case 'gzip':
      return gzipSync(shot.body);
    case 'deflate':
      return deflateSync(shot.body);
    case 'br':
      return brotliCompressSync(shot.body);
    case 'gzip-truncated': {
      const zipped = gzipSync(shot.body);
      return zipped.subarray(0, Math.max(1, zipped.length - 7));
    }
    case 'gzip-flipped': {
      const zipped = Buffer.from(gzipSync(shot.body));
      const at = Math.min(12, zipped.length - 1);
      zipped[at] = (zipped[at] as number) ^ 0xff;
      return zipped;
    }
  }
}

let contractSeen = 0;
/** OpenAPI mismatches found by test/support/app.ts, each with the request that caused it (setup.ts lists them without). */
const contractFindings: string[] = [];

async function send(shot: Shot): Promise<Reply> {
  counts.requests += 1;
  const client = shot.role ? agents[shot.role] : anonymous;
  let test = shot.method === 'GET' ? client.get(shot.path) : client.post(shot.path);
  if (shot.contentType !== null) test = test.set('Content-Type', shot.contentType);
  if (shot.encoding) test = test.set('Content-Encoding', shot.encoding.header);
  test = test.timeout({ deadline: DEADLINE_MS }).buffer(true).parse(asText);
  let res: request.Response;
  try {
    res = shot.method === 'GET' ? await test : await test.serialize(asIs).send(wireOf(shot) as unknown as string);
  } catch (error) {
    throw new Error(`${describeShot(shot)}\nno answer: ${(error as Error).message}`, { cause: error });
  }
  // The response is checked against the OpenAPI document as it finishes: attribute what it found to this request.
  if (contractViolations.length > contractSeen) {
    contractFindings.push(`${contractViolations.slice(contractSeen).join('\n  ')}\n  after ${describeShot(shot)}`);
    contractSeen = contractViolations.length;
  }
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  return { status: res.status, type: String(res.headers['content-type'] ?? ''), text: res.body, headers: res.headers };
}

function preview(bytes: Buffer, max = 800): string {
  const text = bytes.toString('utf8');
  const head = Buffer.from(text, 'utf8').equals(bytes) ? JSON.stringify(text.slice(0, max)) : `hex ${bytes.subarray(0, max / 2).toString('hex')}`;
  return `${head}${bytes.length > max ? ' …' : ''}`;
}

function describeShot(shot: Shot): string {
  const encoding = shot.encoding ? `, Content-Encoding ${shot.encoding.header} (${shot.encoding.as})` : '';
  return `${shot.method ?? 'POST'} ${shot.path} as ${shot.role ?? 'no key'}, Content-Type ${shot.contentType ?? '(none)'}${encoding}, body of ${shot.body.length} bytes: ${preview(shot.body)}`;
}

function failure(shot: Shot, reply: Reply, issues: string[]): Error {
  return new Error(
    `${issues.join('\n')}\n${describeShot(shot)}\nanswer ${reply.status} ${reply.type}: ${reply.text.slice(0, 1200)}${reply.text.length > 1200 ? ' …' : ''}\n(base seed ${SEED}: re-run with FUZZ_SEED=${SEED})`,
  );
}

// ---------------------------------------------------------------------------------------------
// What every answer must be

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** RFC 6901: '' or a sequence of /token, where '~' appears only as ~0 or ~1. */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;
const IN_VOCABULARY = new Set(VOCABULARY);
const NOT_PARSED = Symbol('not parsed');
/** The parsed body, or NOT_PARSED when it is not JSON the service would read (unknown already includes the symbol). */
type Parsed = unknown;

/** The body as the service parses it (a leading BOM dropped, UTF-8), when it is JSON; for checking where pointers lead. */
function parsedView(bytes: Buffer, contentType: string | null): Parsed {
  if (contentType && /charset=/i.test(contentType) && !/charset="?utf-?8"?/i.test(contentType)) return NOT_PARSED;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return NOT_PARSED;
  }
}

/**
 * A pointer must be a JSON pointer, and must name a place the request has — or, from where the request
 * stops, only names the vocabulary has (a required fact left out, a field under a value of the wrong
 * type). A key with '/' or '~' in it must be escaped (~1, ~0) to be named at all.
 */
function pointerIssue(pointer: unknown, body: Parsed): string | undefined {
  if (typeof pointer !== 'string') return `an error's pointer is ${JSON.stringify(pointer)}, not a string`;
  if (!JSON_POINTER.test(pointer)) return `an error's pointer ${JSON.stringify(pointer)} is not a JSON pointer (RFC 6901)`;
  if (body === NOT_PARSED || pointer === '') return undefined;
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let here: unknown = body;
  let i = 0;
  for (; i < tokens.length; i += 1) {
    const token = tokens[i] as string;
    if (Array.isArray(here) && /^(0|[1-9]\d*)$/.test(token) && Number(token) < here.length) here = here[Number(token)];
    else if (here !== null && typeof here === 'object' && !Array.isArray(here) && Object.prototype.hasOwnProperty.call(here, token))
      here = (here as Record<string, unknown>)[token];
    else break;
  }
  const unknown = tokens.slice(i).find((t) => !IN_VOCABULARY.has(t));
  return unknown === undefined
    ? undefined
    : `an error's pointer ${JSON.stringify(pointer)} names "${unknown}", which is neither in the request nor in the vocabulary (a key with / or ~ not escaped?)`;
}

interface ProblemDoc {
  status?: unknown;
  code?: unknown;
  detail?: unknown;
  errors?: { pointer?: unknown }[];
}

/** A problem document's own fields: its status is the answer's, it has a code and a detail, and a 400 names where. */
function problemFieldIssues(doc: ProblemDoc, status: number, body: Parsed): string[] {
  const issues: string[] = [];
  if (status >= 500 || doc.code === 'internal') issues.push(`a ${status} (${String(doc.code)}): the service failed on this request`);
  if (doc.status !== status) issues.push(`the problem's status ${JSON.stringify(doc.status)} is not the answer's ${status}`);
  if (typeof doc.code !== 'string' || doc.code.length === 0) issues.push('the problem has no code');
  if (typeof doc.detail !== 'string' || doc.detail.length === 0) issues.push('the problem has no detail');
  if (status === 400) {
    if (!Array.isArray(doc.errors) || doc.errors.length === 0) issues.push('a 400 problem with no errors[] naming what is wrong');
    else
      for (const e of doc.errors) {
        const issue = pointerIssue(e?.pointer, body);
        if (issue) {
          issues.push(issue);
          break;
        }
      }
  }
  return issues;
}

function problemIssues(reply: Reply, body: Parsed): string[] {
  const issues: string[] = [];
  if (!/^application\/problem\+json\s*(;|$)/i.test(reply.type))
    issues.push(`a ${reply.status} answered as ${reply.type || 'no content type'}, not application/problem+json`);
  let doc: ProblemDoc;
  try {
    doc = JSON.parse(reply.text) as ProblemDoc;
  } catch {
    return [...issues, `a ${reply.status} whose body is not JSON`];
  }
  if (doc === null || typeof doc !== 'object') return [...issues, `a ${reply.status} whose body is not an object`];
  return [...issues, ...problemFieldIssues(doc, reply.status, body)];
}

interface DecisionDoc {
  decisionId?: unknown;
  ruleSet?: unknown;
  version?: unknown;
  asOf?: unknown;
  outcome?: unknown;
  explanation?: unknown;
}

function decisionFieldIssues(doc: DecisionDoc, name: string): string[] {
  const issues: string[] = [];
  if (typeof doc.decisionId !== 'string' || !UUID.test(doc.decisionId))
    issues.push(`the decision's decisionId ${JSON.stringify(doc.decisionId)} is not a UUID`);
  if (doc.ruleSet !== name) issues.push(`the decision's ruleSet ${JSON.stringify(doc.ruleSet)} is not ${name}`);
  if (typeof doc.version !== 'string' || doc.version.length === 0) issues.push('the decision has no version');
  if (typeof doc.asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(doc.asOf)) issues.push(`the decision's asOf ${JSON.stringify(doc.asOf)} is not a date`);
  if (doc.outcome === null || typeof doc.outcome !== 'object' || Array.isArray(doc.outcome)) issues.push('the decision has no outcome object');
  if (!Array.isArray(doc.explanation)) issues.push('the decision has no explanation list');
  else issues.push(...outcomeDateIssues(doc.outcome));
  return issues;
}

/** Something written as a date, in any year: what a date past 9999 or before 0000 would come out as. */
const DATE_LIKE = /^[+-]?\d{4,}-\d{2}-\d{2}$/;
const isCalendarDate = (text: string): boolean => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(2000, m - 1, d));
  day.setUTCFullYear(y);
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
};

/** docs/api.md: every date the service returns is YYYY-MM-DD (a caseworker tool parses it so), and a real day. */
function outcomeDateIssues(outcome: unknown): string[] {
  const issues: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (typeof value === 'string' && DATE_LIKE.test(value) && !isCalendarDate(value))
      issues.push(`the outcome's ${at} is ${JSON.stringify(value)}, not a YYYY-MM-DD date`);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, at ? `${at}.${k}` : k);
  };
  walk(outcome, '');
  return issues;
}

/** The answer to an evaluate: a 200 decision of the rule set asked for, or a problem. */
function evaluateIssues(reply: Reply, name: string, body: Parsed): string[] {
  if (reply.status !== 200) return problemIssues(reply, body);
  if (!/^application\/json\s*(;|$)/i.test(reply.type)) return [`a 200 answered as ${reply.type}`];
  let doc: DecisionDoc;
  try {
    doc = JSON.parse(reply.text) as DecisionDoc;
  } catch {
    return ['a 200 whose body is not JSON'];
  }
  const issues = decisionFieldIssues(doc, name);
  if (reply.headers['x-decision-id'] !== doc.decisionId) issues.push(`X-Decision-Id ${reply.headers['x-decision-id']} is not the decisionId`);
  return issues;
}

/** Each input line's bytes, as the batch splits them (on 0x0A; a trailing empty segment is no line). */
function batchLines(body: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = body.indexOf(0x0a); nl !== -1; nl = body.indexOf(0x0a, start)) {
    lines.push(body.subarray(start, nl));
    start = nl + 1;
  }
  if (start < body.length) lines.push(body.subarray(start));
  return lines;
}

/** The answer to a batch: a problem for the whole request, or exactly one decision-or-problem line per input line, in order. */
function batchIssues(reply: Reply, name: string, shot: Shot): string[] {
  if (reply.status !== 200) return problemIssues(reply, NOT_PARSED);
  if (!/^application\/x-ndjson\s*(;|$)/i.test(reply.type)) return [`a batch answered 200 as ${reply.type}`];
  const inputs = batchLines(shot.body);
  const texts = reply.text.split('\n');
  if (texts.pop() !== '') return ['the batch answer does not end with a newline'];
  // A compressed body that breaks part way is answered up to the break, then one line saying so (batch.ts).
  const corrupt = shot.encoding !== undefined && shot.encoding.header !== 'identity' && ['label', 'gzip-truncated', 'gzip-flipped'].includes(shot.encoding.as);
  // A body with nothing to decide (no bytes, or blank lines alone) is a 400 before any line, never a 200 (batch.ts).
  if (!corrupt && shot.body.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a))
    return ['a body of blank lines alone answered 200, not 400'];
  if (corrupt) {
    const last = texts.length > 0 ? (JSON.parse(texts[texts.length - 1] as string) as { problem?: { code?: string } }) : undefined;
    if (texts.length !== inputs.length && last?.problem?.code !== 'invalid-json')
      return [`a corrupt ${shot.encoding?.header} body: ${inputs.length} lines sent, ${texts.length} answered, the last not saying the body could not be read`];
  } else if (texts.length !== inputs.length) return [`${inputs.length} input lines but ${texts.length} answer lines`];
  const issues: string[] = [];
  texts.forEach((text, i) => {
    if (issues.length > 0) return;
    let answer: { line?: unknown; decision?: DecisionDoc; problem?: ProblemDoc };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      issues.push(`answer line ${i + 1} is not JSON`);
      return;
    }
    // What the service read of a corrupt body is not what was sent: its pointers cannot be followed here.
    const input = corrupt ? Buffer.alloc(0) : (inputs[i] as Buffer);
    const at = `line ${i + 1} (${preview(input, 300)})`;
    if (answer.line !== i + 1) issues.push(`answer line ${i + 1} says line ${JSON.stringify(answer.line)}`);
    else if (answer.decision) issues.push(...decisionFieldIssues(answer.decision, name).map((m) => `${at}: ${m}`));
    else if (answer.problem && typeof answer.problem === 'object') {
      const line = input.length > 0 && input[input.length - 1] === 0x0d ? input.subarray(0, -1) : input;
      const status = typeof answer.problem.status === 'number' ? answer.problem.status : -1;
      issues.push(...problemFieldIssues(answer.problem, status, corrupt ? NOT_PARSED : parsedView(line, null)).map((m) => `${at}: ${m}`));
    } else issues.push(`${at}: answered with neither a decision nor a problem`);
  });
  return issues;
}

/** The answer to a reproduce: the reproduction of the recorded decision, or a problem. */
function reproduceIssues(reply: Reply, body: Parsed): string[] {
  if (reply.status !== 200) return problemIssues(reply, body);
  let doc: { decisionId?: unknown; version?: unknown; factsMatch?: unknown; reproduced?: unknown; decision?: DecisionDoc };
  try {
    doc = JSON.parse(reply.text) as typeof doc;
  } catch {
    return ['a 200 whose body is not JSON'];
  }
  const issues: string[] = [];
  if (typeof doc.decisionId !== 'string' || !UUID.test(doc.decisionId)) issues.push('the reproduction has no decisionId');
  if (doc.factsMatch !== true) issues.push('a 200 reproduction whose facts do not match');
  if (typeof doc.reproduced !== 'boolean') issues.push('the reproduction does not say whether it reproduced');
  if (!doc.decision || typeof doc.decision !== 'object') issues.push('the reproduction has no decision');
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Prototypes: in this test's realm (where the app's modules run under Jest) and in Node's own (Buffer, http)

const PROTOTYPES: { name: string; object: object }[] = [
  { name: 'Object.prototype', object: Object.prototype },
  { name: 'Array.prototype', object: Array.prototype },
  { name: 'Function.prototype', object: Function.prototype },
  ...(vm.runInThisContext('[Object.prototype, Array.prototype, Function.prototype]') as object[]).map((object, i) => ({
    name: `Node's ${['Object', 'Array', 'Function'][i]}.prototype`,
    object,
  })),
];

/** Each own property's descriptor: a copy, taken now (getOwnPropertyDescriptor returns a new object each time). */
type Snapshot = Map<PropertyKey, PropertyDescriptor>;
function snapshotOf(object: object): Snapshot {
  const snapshot: Snapshot = new Map();
  for (const key of Reflect.ownKeys(object)) snapshot.set(key, Object.getOwnPropertyDescriptor(object, key) as PropertyDescriptor);
  return snapshot;
}
const BEFORE = PROTOTYPES.map((p) => ({ ...p, names: Object.getOwnPropertyNames(p.object), snapshot: snapshotOf(p.object) }));

function prototypeIssues(): string[] {
  const issues: string[] = [];
  for (const { name, object, names, snapshot } of BEFORE) {
    const now = Object.getOwnPropertyNames(object);
    const added = now.filter((n) => !names.includes(n));
    if (added.length > 0 || now.length !== names.length) issues.push(`${name} has new own properties: ${added.join(', ')}`);
    for (const [key, before] of snapshot) {
      const d = Object.getOwnPropertyDescriptor(object, key);
      if (!d || d.value !== before.value || d.get !== before.get || d.set !== before.set) issues.push(`${name}.${String(key)} was changed`);
    }
    for (const marker of POLLUTION_MARKERS) if (marker in object) issues.push(`${name} has "${marker}"`);
  }
  const probe = {} as Record<string, unknown>;
  const list = [] as unknown as Record<string, unknown>;
  for (const marker of POLLUTION_MARKERS) {
    if (probe[marker] !== undefined) issues.push(`({}).${marker} is ${inspect(probe[marker])}`);
    if (list[marker] !== undefined) issues.push(`[].${marker} is ${inspect(list[marker])}`);
  }
  return issues;
}

/** Sends one request and fails the property with everything needed to reproduce it if the answer breaks the contract. */
async function expectSound(shot: Shot, judge: (reply: Reply) => string[]): Promise<Reply> {
  const reply = await send(shot);
  let judged: string[];
  try {
    judged = judge(reply);
  } catch (error) {
    judged = [`the answer could not be read: ${(error as Error).message}`];
  }
  const issues = [...judged, ...prototypeIssues()];
  if (issues.length > 0) throw failure(shot, reply, issues);
  return reply;
}

/** fast-check with this file's seed (offset per property, so properties do not draw the same values) and the seed named on failure. */
async function check<T>(
  property: string,
  offset: number,
  arbitrary: fc.Arbitrary<T>,
  runs: number,
  predicate: (value: T) => Promise<void>,
  shrink = true,
): Promise<void> {
  try {
    await fc.assert(fc.asyncProperty(arbitrary, predicate), { seed: SEED + offset, numRuns: runs, endOnFailure: !shrink });
  } catch (error) {
    const name = (expect.getState().currentTestName ?? property).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    (error as Error).message = `${property}: re-run with FUZZ_SEED=${SEED} npx jest test/api/fuzz.test.ts -t '${name}'\n${(error as Error).message}`;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

const evaluatePath = (name: string, query = '') => `/v1/rulesets/${name}/evaluate${query}`;
const batchPath = (name: string, query = '') => `/v1/rulesets/${name}/evaluate-batch${query}`;
const reproducePath = (id: string) => `/v1/decisions/${id}/reproduce`;
const JSON_TYPE = 'application/json';
const NDJSON = 'application/x-ndjson';

const nameArb = fc.constantFrom(...NAMES);
/** The reference engine (json-rules-engine itself) sometimes: its code paths differ from the compiled engine's. */
const engineQuery = fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('?engine=reference') });

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset="utf-8"',
  'application/json; charset=utf8',
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'application/json; charset=utf-16le',
  'application/json; charset=bogus',
  'application/problem+json',
  'application/vnd.api+json',
  'APPLICATION/JSON',
  'application/json; foo=bar',
  'application/json;',
  'application/jsonx',
  'application/json, text/plain',
  'application/x-ndjson',
  'text/json',
  'text/plain',
  'text/html',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '*/*',
  'application/*',
  'json',
  '',
];
const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 16, arbitrary: fc.constant(JSON_TYPE) },
  { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const ENCODINGS: NonNullable<Shot['encoding']>[] = [
  { header: 'identity', as: 'label' },
  { header: 'gzip', as: 'gzip' },
  { header: 'x-gzip', as: 'gzip' },
  { header: 'deflate', as: 'deflate' },
  { header: 'br', as: 'br' },
  { header: 'GZIP', as: 'gzip' },
  { header: 'gzip', as: 'label' },
  { header: 'gzip', as: 'gzip-truncated' },
  { header: 'gzip', as: 'gzip-flipped' },
  { header: 'deflate', as: 'label' },
  { header: 'br', as: 'label' },
  { header: 'compress', as: 'label' },
  { header: 'zstd', as: 'label' },
  { header: 'gzip, identity', as: 'gzip' },
  { header: 'identity, gzip', as: 'gzip' },
];
const encodingArb: fc.Arbitrary<Shot['encoding']> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom(...ENCODINGS) },
);

// ---------------------------------------------------------------------------------------------

afterAll(() => {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  // One line for CI logs: how much was fuzzed, and with which seed.
  console.log(
    `fuzz: ${counts.requests} request bodies and ${counts.batchLines} batch lines in ${seconds} s (FUZZ_SEED=${SEED}, scale ${SCALE}); answers ${[...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ')}`,
  );
});

describe('evaluate: any body is a decision or a problem, never a 500', () => {
  test(
    'structured bodies: valid facts, wrong types, hostile dates, unknown and polluting keys, duplicates, any JSON',
    async () => {
      const arbitrary = fc.record({ name: nameArb, query: engineQuery, text: requestBody(FIXTURES) });
      await check('structured bodies', 1, arbitrary, runsOf('structured'), async ({ name, query, text }) => {
        const body = Buffer.from(text, 'utf8');
        await expectSound({ path: evaluatePath(name, query), role: 'caseworker', contentType: JSON_TYPE, body }, (r) =>
          evaluateIssues(r, name, parsedView(body, JSON_TYPE)),
        );
      });
    },
    TIMEOUT_MS,
  );

  test(
    'raw text and bytes: truncated, BOMs, invalid UTF-8, NaN and friends, wrong content types and encodings',
    async () => {
      const source = fc.oneof({ weight: 3, arbitrary: requestBody(FIXTURES).map((text): RawSource => ({ text })) }, { weight: 2, arbitrary: rawSource });
      const arbitrary = fc.record({
        name: nameArb,
        query: engineQuery,
        source,
        damages: fc.array(damageArb, { maxLength: 3 }),
        contentType: contentTypeArb,
        encoding: encodingArb,
      });
      await check('raw bodies', 2, arbitrary, runsOf('raw'), async ({ name, query, source: s, damages, contentType, encoding }) => {
        const start = s.bytes ? Buffer.from(s.bytes) : Buffer.from(s.text ?? '', 'utf8');
        const body = damages.reduce((bytes: Buffer, d: Damage) => damage(bytes, d), start);
        const shot: Shot = { path: evaluatePath(name, query), role: 'caseworker', contentType, encoding, body };
        await expectSound(shot, (r) => evaluateIssues(r, name, parsedView(body, contentType)));
      });
    },
    TIMEOUT_MS,
  );
});

describe('bodies at the extremes', () => {
  const routeArb = fc.constantFrom('evaluate', 'evaluate', 'batch', 'reproduce');

  test(
    'deep nesting (to 100,000 levels), huge arrays (100,000+ elements) and objects with 50,000 keys, anywhere in the request',
    async () => {
      const place = fc.constantFrom(...Object.keys(PLACES));
      const shape = fc.oneof(
        fc.record({
          kind: fc.constant('deep' as const),
          shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
          depth: fc.constantFrom(1_000, 10_000, 100_000),
          closed: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        }),
        fc.record({
          kind: fc.constant('array' as const),
          length: fc.constantFrom(100_000, 150_000, 600_000),
          element: fc.constantFrom('0', 'null', 'true', '"x"', '[]', '{}', '{"date":"2025-01-01"}', '{"__proto__":{"polluted":1}}'),
        }),
        fc.record({ kind: fc.constant('keys' as const), count: fc.constantFrom(10_000, 50_000), pollute: fc.boolean() }),
      );
      const arbitrary = fc.record({ name: nameArb, route: routeArb, place, shape });
      await check(
        'deep and huge bodies',
        3,
        arbitrary,
        runsOf('huge'),
        async ({ name, route, place: where, shape: s }) => {
          let value: string;
          if (s.kind === 'deep') value = deepText(s.shape, s.depth, '1', s.closed);
          else if (s.kind === 'array') value = `[${new Array<string>(s.length).fill(s.element).join(',')}]`;
          else value = `{${Array.from({ length: s.count }, (_, i) => `"${s.pollute && i % 1000 === 0 ? '__proto__' : `k${i}`}":${i}`).join(',')}}`;
          const text = (PLACES[where] as (v: string) => string)(value);
          await sendAt(route, name, text);
        },
        false,
      );
    },
    TIMEOUT_MS,
  );

  test(
    'bodies and batch lines just under, at and over the 1 MiB limit (multi-byte characters and escapes included)',
    async () => {
      const templates: Record<string, (hole: string) => string> = {
        topic: (h) =>
          `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"customer":{"psHistory":"never","complaints":[{"date":"2025-01-01","stage":"escalated","topic":${h}}]}}}`,
        extra: (h) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},"extra":${h}}}`,
        key: (h) => `{"asOf":"2025-06-02","facts":{${BASE_FACTS},${h}:1}}`,
        asOf: (h) => `{"asOf":${h},"facts":{${BASE_FACTS}}}`,
        source: (h) => `{"asOf":"2025-06-02","facts":{"program":"centrelink","referral":{"source":${h},"receivedOn":"2025-06-02"}}}`,
      };
      const arbitrary = fc.record({
        name: nameArb,
        route: fc.constantFrom('evaluate' as const, 'evaluate' as const, 'batch' as const, 'reproduce' as const),
        where: fc.constantFrom(...Object.keys(templates)),
        size: fc.constantFrom(LIMIT - 4096, LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 4096, 2 * LIMIT),
        unit: fc.constantFrom('a', 'é', '€', '😀', '\\u0000', '\\"', '\\ud800'),
        gzip: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      });
      await check(
        'bodies at the limit',
        4,
        arbitrary,
        runsOf('limit'),
        async ({ name, route, where, size, unit, gzip }) => {
          const template = templates[where] as (h: string) => string;
          const shell = route === 'reproduce' ? (h: string) => template(h).replace('"asOf":"2025-06-02",', '') : template;
          const hole = stringOfBytes(size - Buffer.byteLength(shell('')), unit);
          const text = shell(hole);
          const body = Buffer.from(text, 'utf8');
          expect(body.length).toBe(size);
          const over = size > LIMIT;
          const encoding: Shot['encoding'] = gzip ? { header: 'gzip', as: 'gzip' } : undefined;
          if (route === 'batch') {
            const shot: Shot = {
              path: batchPath(name),
              role: 'caseworker',
              contentType: NDJSON,
              encoding,
              body: Buffer.concat([body, Buffer.from(`\n${validLine}\n`)]),
            };
            counts.batchLines += 2;
            await expectSound(shot, (r) => {
              const issues = batchIssues(r, name, shot);
              const first = r.status === 200 ? (JSON.parse(r.text.split('\n')[0] as string) as { problem?: { code?: string } }) : undefined;
              if (first && over !== (first.problem?.code === 'payload-too-large'))
                issues.push(`a line of ${size} bytes (limit ${LIMIT}) answered ${JSON.stringify(first.problem?.code ?? 'a decision')}`);
              return issues;
            });
            return;
          }
          const shot: Shot =
            route === 'reproduce'
              ? { path: reproducePath(decisions()[0]!.id), role: 'auditor', contentType: JSON_TYPE, encoding, body }
              : { path: evaluatePath(name), role: 'caseworker', contentType: JSON_TYPE, encoding, body };
          await expectSound(shot, (r) => {
            const issues = route === 'reproduce' ? reproduceIssues(r, parsedView(body, JSON_TYPE)) : evaluateIssues(r, name, parsedView(body, JSON_TYPE));
            if (over !== (r.status === 413)) issues.push(`a body of ${size} bytes (limit ${LIMIT}) answered ${r.status}`);
            return issues;
          });
        },
        false,
      );
    },
    TIMEOUT_MS,
  );
});

const validLine = JSON.stringify({
  asOf: '2025-06-02',
  facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' }, customer: { psHistory: 'never' } },
});

/** Sends a generated body to evaluate, as a batch line (before a valid one), or as the facts of a reproduce. */
async function sendAt(route: string, name: string, text: string): Promise<void> {
  const body = Buffer.from(text, 'utf8');
  if (route === 'batch') {
    const shot: Shot = { path: batchPath(name), role: 'caseworker', contentType: NDJSON, body: Buffer.concat([body, Buffer.from(`\n${validLine}\n`)]) };
    counts.batchLines += batchLines(shot.body).length;
    await expectSound(shot, (r) => batchIssues(r, name, shot));
  } else if (route === 'reproduce') {
    const facts = Buffer.from(text.replace('"asOf":"2025-06-02",', ''), 'utf8');
    await expectSound({ path: reproducePath(decisions()[0]!.id), role: 'auditor', contentType: JSON_TYPE, body: facts }, (r) =>
      reproduceIssues(r, parsedView(facts, JSON_TYPE)),
    );
  } else {
    await expectSound({ path: evaluatePath(name), role: 'caseworker', contentType: JSON_TYPE, body }, (r) =>
      evaluateIssues(r, name, parsedView(body, JSON_TYPE)),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Decisions made up front, for reproduce

interface Made {
  id: string;
  ruleSet: string;
  facts: unknown;
}
const made: Made[] = [];
const decisions = (): Made[] => {
  if (made.length === 0) throw new Error('no decision was made to reproduce: the evaluate route refused every fixture');
  return made;
};

beforeAll(async () => {
  // A few of each rule set's fixtures, decided once: real ids with the facts they were made on.
  for (const name of NAMES) {
    for (const fixture of FIXTURES.filter((f) => f.ruleSet === name).slice(0, 3)) {
      const body = Buffer.from(JSON.stringify({ asOf: fixture.asOf, facts: fixture.facts }));
      const reply = await expectSound({ path: evaluatePath(name), role: 'caseworker', contentType: JSON_TYPE, body }, (r) =>
        evaluateIssues(r, name, parsedView(body, JSON_TYPE)),
      );
      if (reply.status === 200) made.push({ id: (JSON.parse(reply.text) as { decisionId: string }).decisionId, ruleSet: name, facts: fixture.facts });
    }
  }
}, TIMEOUT_MS);

describe('evaluate-batch and reproduce', () => {
  test(
    'evaluate-batch: every NDJSON line answered, in order, each a decision or a problem, never an internal one',
    async () => {
      const idText = fc.oneof(
        fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
        fc.integer().map(String),
        fc.constantFrom('null', 'true', '{}', '[]', '1.5', '-0', '1e400', 'NaN', '"__proto__"', '{"__proto__":{"polluted":1}}'),
      );
      const line = fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .tuple(requestBody(FIXTURES), fc.option(idText, { nil: undefined }))
            .map(([text, id]) =>
              Buffer.from(id === undefined || !text.startsWith('{') ? text : `{"id":${id}${text === '{}' ? '' : ','}${text.slice(1)}`, 'utf8'),
            ),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              fc.oneof(
                requestBody(FIXTURES).map((text): RawSource => ({ text })),
                rawSource,
              ),
              fc.array(damageArb, { minLength: 1, maxLength: 2 }),
            )
            .map(([s, ds]) => ds.reduce((b: Buffer, d) => damage(b, d), s.bytes ? Buffer.from(s.bytes) : Buffer.from(s.text ?? '', 'utf8'))),
        },
        { weight: 1, arbitrary: fc.constantFrom('', ' ', '\r', '{}', '[]', 'null', '\ufeff{}', '{"facts":{}}').map((t) => Buffer.from(t, 'utf8')) },
      );
      const arbitrary = fc.record({
        name: nameArb,
        query: engineQuery,
        lines: fc.array(line, { minLength: 1, maxLength: 16 }),
        eol: fc.constantFrom('\n', '\r\n'),
        trailing: fc.boolean(),
        contentType: fc.oneof(
          { weight: 12, arbitrary: fc.constant<string | null>(NDJSON) },
          {
            weight: 1,
            arbitrary: fc.constantFrom<string | null>(
              'application/x-ndjson; charset=utf-8',
              'application/x-ndjson; charset=latin1',
              'APPLICATION/X-NDJSON',
              JSON_TYPE,
              'text/plain',
              'application/jsonl',
              null,
            ),
          },
        ),
        encoding: fc.oneof(
          { weight: 10, arbitrary: fc.constant<Shot['encoding']>(undefined) },
          {
            weight: 2,
            arbitrary: fc.constantFrom<Shot['encoding']>(
              { header: 'gzip', as: 'gzip' },
              { header: 'deflate', as: 'deflate' },
              { header: 'br', as: 'br' },
              { header: 'gzip', as: 'gzip-truncated' },
              { header: 'gzip', as: 'gzip-flipped' },
              { header: 'compress', as: 'label' },
            ),
          },
        ),
      });
      await check('evaluate-batch', 5, arbitrary, runsOf('batch'), async ({ name, query, lines, eol, trailing, contentType, encoding }) => {
        const parts: Buffer[] = [];
        lines.forEach((l, i) => parts.push(l, ...(i < lines.length - 1 || trailing ? [Buffer.from(eol)] : [])));
        const shot: Shot = { path: batchPath(name, query), role: 'caseworker', contentType, encoding, body: Buffer.concat(parts) };
        counts.batchLines += batchLines(shot.body).length;
        await expectSound(shot, (r) => batchIssues(r, name, shot));
      });
    },
    TIMEOUT_MS,
  );

  test(
    'reproduce: any id and body, as the auditor (and others), is a reproduction or a problem',
    async () => {
      const pick = fc.nat();
      const id = fc.oneof(
        { weight: 8, arbitrary: fc.constant('real') },
        { weight: 1, arbitrary: fc.constant('REAL') },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('0', 'null', '00000000-0000-0000-0000-000000000000', '__proto__', 'constructor', '..', '%2e%2e', 'real%00', 'real '),
        },
      );
      const body = fc.oneof(
        { weight: 4, arbitrary: fc.constant({ kind: 'exact' as const }) },
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('mutated' as const), ops: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }) },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('any' as const),
            value: fc.oneof(
              jtree,
              jtree.map((facts) => new JObject([['facts', facts]])),
              fc.jsonValue().map(fromPlain),
            ),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('deep' as const),
            shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
            depth: fc.constantFrom(1_000, 10_000, 100_000),
            inFacts: fc.boolean(),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('damaged' as const), damages: fc.array(damageArb, { minLength: 1, maxLength: 2 }) }) },
      );
      const arbitrary = fc.record({
        pick,
        id,
        body,
        role: fc.oneof(
          { weight: 12, arbitrary: fc.constant<Role | null>('auditor') },
          { weight: 1, arbitrary: fc.constantFrom<Role | null>('caseworker', 'policy', null) },
        ),
        contentType: fc.oneof(
          { weight: 12, arbitrary: fc.constant<string | null>(JSON_TYPE) },
          { weight: 1, arbitrary: fc.constantFrom<string | null>(...CONTENT_TYPES, null) },
        ),
      });
      await check('reproduce', 6, arbitrary, runsOf('reproduce'), async ({ pick: n, id: given, body: b, role, contentType }) => {
        const decision = decisions()[n % decisions().length] as Made;
        const idText = given === 'real' ? decision.id : given === 'REAL' ? decision.id.toUpperCase() : given.replace('real', decision.id);
        const exact = write(new JObject([['facts', fromPlain(decision.facts)]]));
        let text: string;
        if (b.kind === 'exact') text = exact;
        else if (b.kind === 'mutated') text = write(b.ops.reduce(mutate, fromPlain({ facts: decision.facts })));
        else if (b.kind === 'any') text = write(b.value);
        else if (b.kind === 'deep')
          text = b.inFacts
            ? `{"facts":${deepText(b.shape, b.depth, '1', true)}}`
            : `{"facts":{${BASE_FACTS},"extra":${deepText(b.shape, b.depth, '1', true)}}}`;
        else text = b.damages.reduce((bytes: Buffer, d) => damage(bytes, d), Buffer.from(exact, 'utf8')).toString('latin1');
        const bytes = b.kind === 'damaged' ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
        const shot: Shot = { path: reproducePath(idText), role, contentType, body: bytes };
        await expectSound(shot, (r) => {
          const issues = reproduceIssues(r, parsedView(bytes, contentType));
          // The facts a decision was made on, sent back by an auditor, must reproduce it.
          const mustReproduce = b.kind === 'exact' && (given === 'real' || given === 'REAL') && role === 'auditor' && contentType === JSON_TYPE;
          if (mustReproduce && (r.status !== 200 || (JSON.parse(r.text) as { reproduced?: unknown }).reproduced !== true))
            issues.push('the recorded facts, sent back, did not reproduce the decision');
          return issues;
        });
      });
    },
    TIMEOUT_MS,
  );
});

describe('routes: rule-set names, decision ids and query strings', () => {
  test(
    'unknown and malformed names, ids and engine parameters are problems, not 500s',
    async () => {
      const name = fc.oneof(
        { weight: 3, arbitrary: nameArb },
        { weight: 2, arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent) },
        { weight: 1, arbitrary: fc.string({ maxLength: 10, unit: 'grapheme' }).map(encodeURIComponent) },
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            'DIRECT-REFERRAL',
            '__proto__',
            'constructor',
            'toString',
            'hasOwnProperty',
            'prototype',
            '..',
            '.',
            '%2e%2e',
            'direct-referral%00',
            'direct-referral%20',
            'direct-referral.json',
            'exit-readiness.before-2025-01-14',
            '%',
            '%zz',
            '%E0%A4%A',
            '%C0%AF',
            '%ff',
            'a%2Fb',
            '%2F',
            'segment-allocation%2Fevaluate',
          ),
        },
      );
      const query = fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        {
          weight: 4,
          arbitrary: fc.constantFrom(
            '?engine=reference',
            '?engine=compiled',
            '?engine=REFERENCE',
            '?engine=',
            '?engine',
            '?engine=reference&engine=compiled',
            '?engine[]=reference',
            '?engine[__proto__]=x',
            '?__proto__[engine]=reference',
            '?__proto__=x',
            '?constructor[prototype][polluted]=1',
            '?engine=%zz',
            '?engine=%00',
            '?engine=reference%00',
            '?asOf=2025-06-02',
            '?engine=ref%65rence',
          ),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`) },
      );
      const arbitrary = fc.record({
        route: fc.constantFrom('evaluate', 'batch', 'reproduce', 'get-decision', 'get-rule-set'),
        name,
        query,
        pick: fc.nat(),
        role: fc.oneof(
          { weight: 8, arbitrary: fc.constant('right' as const) },
          { weight: 1, arbitrary: fc.constantFrom<Role | null>('caseworker', 'policy', 'auditor', null) },
        ),
      });
      await check('routes', 7, arbitrary, runsOf('routes'), async ({ route, name: n, query, pick: p, role: r }) => {
        const decision = decisions()[p % decisions().length] as Made;
        // For the decision routes the generated name stands in for the id; a shipped name stands for a real id.
        const id = NAMES.includes(n) ? decision.id : n;
        const facts = Buffer.from(JSON.stringify({ facts: decision.facts }));
        const line = Buffer.from(`${validLine}\n`);
        let shot: Shot;
        let judge: (reply: Reply) => string[];
        switch (route) {
          case 'evaluate':
            shot = { path: evaluatePath(n, query), role: r === 'right' ? 'caseworker' : r, contentType: JSON_TYPE, body: Buffer.from(validLine) };
            judge = (reply) => evaluateIssues(reply, decodeSafely(n), NOT_PARSED);
            break;
          case 'batch':
            shot = { path: batchPath(n, query), role: r === 'right' ? 'caseworker' : r, contentType: NDJSON, body: line };
            counts.batchLines += 1;
            judge = (reply) => batchIssues(reply, decodeSafely(n), shot);
            break;
          case 'reproduce':
            shot = { path: `${reproducePath(id)}${query}`, role: r === 'right' ? 'auditor' : r, contentType: JSON_TYPE, body: facts };
            judge = (reply) => reproduceIssues(reply, NOT_PARSED);
            break;
          case 'get-decision':
            shot = { method: 'GET', path: `/v1/decisions/${id}${query}`, role: r === 'right' ? 'auditor' : r, contentType: null, body: Buffer.alloc(0) };
            judge = (reply) => (reply.status === 200 ? jsonIssues(reply) : problemIssues(reply, NOT_PARSED));
            break;
          default:
            shot = { method: 'GET', path: `/v1/rulesets/${n}${query}`, role: r === 'right' ? 'caseworker' : r, contentType: null, body: Buffer.alloc(0) };
            judge = (reply) => (reply.status === 200 ? jsonIssues(reply) : problemIssues(reply, NOT_PARSED));
        }
        await expectSound(shot, judge);
      });
    },
    TIMEOUT_MS,
  );
});

function decodeSafely(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function jsonIssues(reply: Reply): string[] {
  if (!/^application\/json\s*(;|$)/i.test(reply.type)) return [`a 200 answered as ${reply.type}`];
  try {
    JSON.parse(reply.text);
    return [];
  } catch {
    return ['a 200 whose body is not JSON'];
  }
}

// ---------------------------------------------------------------------------------------------
// Tables: every field of CaseFacts, not just the ones the dice pick

describe('every CaseFacts field', () => {
  const full = fullOf() as Record<string, unknown>;
  const evaluateBody = (facts: unknown, asOf: unknown = '2025-06-02') => ({ asOf, facts });
  const places = placesIn(full);
  let row = 0;
  const nextName = () => NAMES[row++ % NAMES.length] as string;

  /** What the table's rows found: a table goes on past a failing row, so one fix is not followed by the next finding. */
  const findings: string[] = [];
  beforeEach(() => {
    findings.length = 0;
  });
  afterEach(() => {
    expect({ rowsThatFailed: findings.length, first: findings.slice(0, 20) }).toEqual({ rowsThatFailed: 0, first: [] });
  });

  /** Sends the request to a rule set in turn; a refused field must be named by its pointer. */
  async function refused(body: Buffer, pointer: string | undefined): Promise<void> {
    const name = nextName();
    try {
      await expectSound({ path: evaluatePath(name), role: 'caseworker', contentType: JSON_TYPE, body }, (r) => {
        const issues = evaluateIssues(r, name, parsedView(body, JSON_TYPE));
        if (pointer === undefined) return issues;
        if (r.status !== 400) return [...issues, `expected a 400 naming ${pointer}, got ${r.status}`];
        const errors = (JSON.parse(r.text) as { errors?: { pointer?: string }[] }).errors ?? [];
        if (!errors.some((e) => e.pointer === pointer)) issues.push(`the 400 does not name ${pointer} (it names ${errors.map((e) => e.pointer).join(', ')})`);
        return issues;
      });
    } catch (error) {
      findings.push(
        (error as Error).message
          .split('\n')
          .filter((l) => !l.startsWith('answer ') && !l.startsWith('(base seed'))
          .join('\n'),
      );
    }
  }

  test('the fullest valid facts (every field, one item in every list) are decided by every rule set', async () => {
    for (const name of NAMES) {
      const body = Buffer.from(JSON.stringify(evaluateBody(full)));
      await expectSound({ path: evaluatePath(name), role: 'caseworker', contentType: JSON_TYPE, body }, (r) => [
        ...evaluateIssues(r, name, parsedView(body, JSON_TYPE)),
        ...(r.status === 200 ? [] : [`the fullest valid facts were refused: ${r.status}`]),
      ]);
    }
  });

  test(
    'each field (and asOf, and facts itself) given a value of every other JSON type is a 400 naming it',
    async () => {
      const targets: { place: (string | number)[]; inFacts: boolean }[] = [
        { place: ['asOf'], inFacts: false },
        { place: ['facts'], inFacts: false },
        ...places.map((place) => ({ place, inFacts: true })),
      ];
      for (const { place, inFacts } of targets) {
        const current = inFacts ? kindOf(fromPlain(placesValue(full, place))) : place[0] === 'asOf' ? 'string' : 'object';
        for (const kind of KINDS.filter((k) => k !== current)) {
          for (const sample of KIND_SAMPLES[kind].slice(0, 2)) {
            // Written as text: a JRaw sample (1e400) has no JavaScript value that JSON.stringify would write so.
            const marker = 'fuzz-sample-placeholder';
            const plain = inFacts ? evaluateBody(replacedAt(full, place, marker)) : { ...evaluateBody(full), [place[0] as string]: marker };
            const text = JSON.stringify(plain).replace(JSON.stringify(marker), () => write(sample));
            expect(text).not.toContain(marker);
            await refused(Buffer.from(text, 'utf8'), inFacts ? `/facts${pointerOf(place)}` : `/${String(place[0])}`);
          }
        }
      }
    },
    TIMEOUT_MS,
  );

  test(
    'each date (and asOf) given far-past, far-future, impossible and non-ISO dates, in every rule set',
    async () => {
      const dated = places.filter((place) => schemaAt(place)?.format === 'date');
      expect(dated.length).toBeGreaterThanOrEqual(10);
      // A customer who cannot be reached by phone: only then does the exit letter's date count (exit-readiness).
      const centrelink = replacedAt(full, ['case', 'customerContactableByPhone'], false);
      // Child Support has date rules of its own (the exit letter's response period); refused dates are refused whatever the program.
      const childSupport = replacedAt(centrelink, ['program'], 'child-support');
      const targets: ((string | number)[] | null)[] = [null, ...dated];
      for (const [base, dates] of [
        [centrelink, [...EXTREME_DATES, ...IMPOSSIBLE_DATES, ...NOT_ISO_DATES]],
        [childSupport, EXTREME_DATES],
      ] as const) {
        for (const place of targets) {
          for (const date of dates) {
            const body = Buffer.from(JSON.stringify(place ? evaluateBody(replacedAt(base, place, date)) : evaluateBody(base, date)));
            const bad = !(EXTREME_DATES as readonly string[]).includes(date);
            // Every rule set: each does its own arithmetic with dates (review by, earliest submission, working days).
            for (let i = 0; i < NAMES.length; i += 1) await refused(body, bad ? (place ? `/facts${pointerOf(place)}` : '/asOf') : undefined);
          }
        }
      }
    },
    TIMEOUT_MS,
  );

  test(
    'prototype-pollution keys at the top, in facts, in nested fact objects and in list items: refused as unknown keys, prototypes untouched',
    async () => {
      const objectPlaces: (string | number)[][] = [
        [],
        ['facts'],
        ...places
          .filter((p) => {
            const v = placesValue(full, p);
            return v !== null && typeof v === 'object' && !Array.isArray(v);
          })
          .map((p) => ['facts', ...p]),
      ];
      const base = fromPlain(evaluateBody(full));
      for (const place of objectPlaces) {
        for (const [key, value] of POLLUTION_ENTRIES) {
          // A key no CaseFacts object has: written into the text, where JSON.parse must keep it an ordinary (and refused) key.
          const text = write(insertAt(base, place, [key, value]));
          await refused(Buffer.from(text, 'utf8'), `${pointerOf(place)}/${key}`);
        }
      }
      // The same bodies as batch lines, one request.
      const lines = objectPlaces.flatMap((place) => POLLUTION_ENTRIES.map((entry) => write(insertAt(base, place, entry))));
      const name = nextName();
      const shot: Shot = { path: batchPath(name), role: 'caseworker', contentType: NDJSON, body: Buffer.from(`${lines.join('\n')}\n`, 'utf8') };
      counts.batchLines += lines.length;
      await expectSound(shot, (r) => batchIssues(r, name, shot));
    },
    TIMEOUT_MS,
  );
});

function placesValue(value: unknown, place: readonly (string | number)[]): unknown {
  let here = value;
  for (const step of place) here = (here as Record<string | number, unknown>)[step];
  return here;
}

/** The tree with an entry added to the object at a place given by keys (not entry indices). */
function insertAt(root: JValue, place: readonly (string | number)[], entry: readonly [string, JValue]): JValue {
  if (place.length === 0) return root instanceof JObject ? new JObject([...root.entries, entry]) : root;
  const [step, ...rest] = place;
  if (root instanceof JObject) return new JObject(root.entries.map(([k, v]) => (k === step ? [k, insertAt(v, rest, entry)] : [k, v])));
  if (Array.isArray(root)) return root.map((v, i) => (i === step ? insertAt(v, rest, entry) : v));
  return root;
}

// ---------------------------------------------------------------------------------------------

describe('the run as a whole', () => {
  test(`at least ${MIN_BODIES} generated bodies were sent, none answered 500`, () => {
    // Fewer means a property stopped early on a finding (see its failure above) or the runs were cut.
    expect(counts.requests).toBeGreaterThanOrEqual(MIN_BODIES);
  });

  test('every fuzzed response matched the OpenAPI document (the first findings, with the request that caused each)', () => {
    expect(contractFindings.slice(0, 10)).toEqual([]);
  });

  test('no prototype was touched by anything sent', () => {
    expect(prototypeIssues()).toEqual([]);
  });
});
