// The published OpenAPI document: valid OpenAPI 3.1, complete (roles, problems) and exact — checked against real decisions.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { impactOf } from '../../src/authoring/impact';
import { loadFixtures } from '../../src/authoring/fixtures';
import { decisionJson } from '../../src/api/decision-json';
import { decideRequest } from '../../src/api/decide-request';
import { PROBLEM_JSON, openApiDocument, outcomeSchemaName } from '../../src/api/openapi';
import { problemOf } from '../../src/api/problem';
import type { Decided } from '../../src/decisions/recorder';
import type { Decision, Evaluator } from '../../src/engine/evaluate';
import { DecisionError, ERROR_CATALOGUE, type ErrorCode } from '../../src/errors';
import { CALENDAR_FILE, loadRuleTexts, versionsByFile, type RuleRegistry } from '../../src/loader/load';
import { typedValues } from '../../src/loader/templates';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { forAjv, responseChecker } from '../support/openapi';
import { FIXTURES_DIR, ROOT, RULES_DIR, shippedRules } from '../support';
import { ruleSetDetail as detailOf } from '../../src/api/app';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document read as the JSON a client receives, deep paths asserted on: a type per step would add casts, not safety
type Node = Record<string, any>;

const doc = openApiDocument() as unknown as Node;
const registry = shippedRules();
const checker = responseChecker();
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const PROBLEM_HEADERS = { 'content-type': `${PROBLEM_JSON}; charset=utf-8` };
const PUBLIC = ['/health', '/ready', '/metrics', '/openapi.json', '/rules'];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

const operations = Object.entries(doc.paths as Node).flatMap(([template, item]) =>
  Object.entries(item as Node)
    .filter(([method]) => HTTP_METHODS.includes(method))
    .map(([method, operation]) => ({ template, method, operation: operation as Node, name: `${method.toUpperCase()} ${template}` })),
);
const operationNamed = (name: string) => operations.find((o) => o.name === name)!.operation;

describe('the document', () => {
  test('is valid OpenAPI 3.1 by @seriousme/openapi-schema-validator', () => {
    // The validator is ESM only and reads its schemas through import.meta.url, which Jest's CommonJS
    // runtime cannot load; so it runs in a Node process of its own, with the document on stdin.
    const script = `
      import { Validator } from '@seriousme/openapi-schema-validator';
      let text = '';
      for await (const chunk of process.stdin) text += chunk;
      const validator = new Validator();
      const result = await validator.validate(JSON.parse(text));
      process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      input: JSON.stringify(openApiDocument()),
      encoding: 'utf8',
    });
    const result = JSON.parse(output) as { valid: boolean; version: string; errors: unknown };
    expect(result.errors).toBeNull();
    expect(result).toEqual({ valid: true, version: '3.1', errors: null });
  });

  test('is OpenAPI 3.1.0 in the JSON Schema 2020-12 dialect, versioned as the package', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.info.version).toBe(pkg.version);
  });

  test("every schema compiles in Ajv 2020-12 in strict mode, OpenAPI's own keywords apart", () => {
    // Strict mode refuses unknown keywords: a misspelt "requried" would otherwise check nothing, silently.
    // strictTypes apart: it wants "type" beside every "properties", which an allOf or if/then adding to a typed schema need not repeat.
    const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: true, discriminator: true });
    addFormats(ajv);
    // components and paths hold schemas but are none: named so that strict mode passes over them.
    ajv.addVocabulary(['example', 'xml', 'externalDocs', 'components', 'paths']);
    ajv.addSchema(forAjv({ $id: 'openapi', components: doc.components, paths: doc.paths }));
    const compiled: string[] = [];
    for (const name of Object.keys(doc.components.schemas)) {
      ajv.compile({ $ref: `openapi#/components/schemas/${name}` });
      compiled.push(name);
    }
    // And every schema in the paths: parameters, request bodies, responses, NDJSON lines, headers.
    const walk = (node: unknown, pointer: string[]): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'schema' && value && typeof value === 'object') {
          const fragment = [...pointer, key].map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
          ajv.compile({ $ref: `openapi#/${fragment}` });
          compiled.push(fragment);
        } else walk(value, [...pointer, key]);
      }
    };
    walk(doc.paths, ['paths']);
    expect(compiled.length).toBeGreaterThan(60);
  });

  test('the ErrorCode enum is the error catalogue, and each problem response lists only codes of its status', () => {
    expect(doc.components.schemas.ErrorCode.enum).toEqual(Object.keys(ERROR_CATALOGUE));
    for (const { name, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses as Node)) {
        if (Number(status) < 400) continue;
        const codes = (response as Node).content[PROBLEM_JSON].schema.properties.code.enum as ErrorCode[];
        for (const code of codes) expect(`${name} ${status} ${code}: ${ERROR_CATALOGUE[code].status}`).toBe(`${name} ${status} ${code}: ${status}`);
      }
    }
  });

  test('every rule set has its outcome documented', () => {
    const documented = Object.keys(doc.components.schemas.Decision.discriminator.mapping as Node);
    for (const name of documented)
      expect(doc.components.schemas[`${outcomeSchemaName(name).replace(/Outcome$/, '')}Answer`].properties.ruleSet.const).toBe(name);
    expect(documented.sort()).toEqual(Object.keys(RULE_SET_MODULES).sort());
  });
});

describe('every operation', () => {
  test.each(operations.map((o) => o.name))('%s has an id, a summary, tags and a description', (name) => {
    const operation = operationNamed(name);
    expect(operation.operationId).toMatch(/^[a-zA-Z]+$/);
    expect(operation.summary.length).toBeGreaterThan(5);
    expect(operation.description.length).toBeGreaterThan(20);
    expect(operation.tags.length).toBeGreaterThan(0);
  });

  test('operation ids are unique', () => {
    const ids = operations.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test.each(operations.map((o) => o.name))('%s asks for the bearer key unless it is public, and names who may call it', (name) => {
    const { template, operation } = operations.find((o) => o.name === name)!;
    if (PUBLIC.includes(template)) {
      expect(operation.security).toEqual([]);
      expect(operation.description).toMatch(/Public/);
      return;
    }
    expect(template.startsWith('/v1/')).toBe(true);
    expect(operation.security).toEqual([{ apiKey: [] }]);
    expect(doc.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    for (const role of operation['x-roles']) expect(operation.description).toContain(role);
    for (const status of ['401', '403', '429']) expect(Object.keys(operation.responses)).toContain(status);
  });

  test('the roles are the access policy: caseworkers evaluate and read rules; policy also reloads, weighs impact, proposes and approves; auditors read rules, proposals and the log', () => {
    const roles = Object.fromEntries(operations.filter((o) => o.template.startsWith('/v1/')).map((o) => [o.name, o.operation['x-roles']]));
    expect(roles).toEqual({
      'GET /v1/rulesets': ['caseworker', 'policy', 'auditor'],
      'GET /v1/rulesets/{name}': ['caseworker', 'policy', 'auditor'],
      'POST /v1/rulesets/{name}/evaluate': ['caseworker', 'policy'],
      'POST /v1/rulesets/{name}/evaluate-batch': ['caseworker', 'policy'],
      'POST /v1/admin/reload': ['policy'],
      'POST /v1/admin/impact': ['policy'],
      'POST /v1/rulesets/{name}/draft-impact': ['policy'],
      'GET /v1/decisions/{id}': ['auditor'],
      'POST /v1/decisions/{id}/reproduce': ['auditor'],
      'GET /v1/rulesets/{name}/history': ['caseworker', 'policy', 'auditor'],
      'POST /v1/proposals': ['policy'],
      'GET /v1/proposals': ['policy', 'auditor'],
      'GET /v1/proposals/{id}': ['policy', 'auditor'],
      'POST /v1/proposals/{id}/approve': ['policy'],
      'POST /v1/proposals/{id}/reject': ['policy'],
    });
  });

  test.each(operations.map((o) => o.name))('%s documents its problems as application/problem+json, a 500 among them', (name) => {
    const operation = operationNamed(name);
    const statuses = Object.keys(operation.responses);
    expect(statuses).toContain('500');
    for (const status of statuses) {
      const content = Object.keys(operation.responses[status].content ?? {});
      if (Number(status) >= 400) expect(content).toEqual([PROBLEM_JSON]);
      else expect(content).not.toContain(PROBLEM_JSON);
    }
    if (operation.requestBody?.content?.['application/json']) {
      for (const status of ['400', '413', '415']) expect(statuses).toContain(status);
    }
  });

  // Redocly's operation-4xx-response is off (redocly.yaml) for the four reads that take nothing: this holds the rest to it.
  test.each(operations.map((o) => o.name))('%s documents a 4xx answer unless it takes no input and no key', (name) => {
    const operation = operationNamed(name);
    const takesInput =
      (operation.parameters ?? []).length > 0 ||
      operation.requestBody !== undefined ||
      (operation.security ?? [{}]).some((s: object) => Object.keys(s).length > 0);
    const refusals = Object.keys(operation.responses).filter((status) => /^4/.test(status));
    if (refusals.length > 0) return;
    expect(takesInput).toBe(false);
    expect(['GET /health', 'GET /ready', 'GET /openapi.json', 'GET /rules']).toContain(name);
  });

  test('every operation shows a real exchange (scripts/openapi-examples.ts), each example holding to its schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
    addFormats(ajv);
    ajv.addSchema(forAjv({ $id: 'examples', components: doc.components, paths: doc.paths }));
    const pointer = (...tokens: string[]) => tokens.map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
    const faults: string[] = [];
    const check = (where: string[], media: Node, mediaType: string) => {
      // A named example may be a $ref to components.examples.
      const named = (e: Node): unknown => (typeof e.$ref === 'string' ? doc.components.examples[e.$ref.split('/').pop() as string].value : e.value);
      const values = media.example !== undefined ? [media.example] : Object.values((media.examples ?? {}) as Node).map(named);
      for (const value of values) {
        // An NDJSON example is checked line by line, as an answer is (test/support/openapi.ts).
        const ndjson = media.schema?.contentMediaType === 'application/x-ndjson';
        const validate = ajv.compile({ $ref: `examples#/${pointer(...where, 'schema', ...(ndjson ? ['contentSchema', 'items'] : []))}` });
        const items: unknown[] = ndjson
          ? (value as string)
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as unknown)
          : [value];
        for (const item of items) if (!validate(item)) faults.push(`${where.join(' ')} (${mediaType}): ${ajv.errorsText(validate.errors)}`);
      }
      return values.length;
    };
    for (const { template, method, operation, name } of operations) {
      let shown = 0;
      for (const [mediaType, media] of Object.entries((operation.requestBody?.content ?? {}) as Node)) {
        shown += check(['paths', template, method, 'requestBody', 'content', mediaType], media as Node, mediaType);
      }
      for (const [status, response] of Object.entries(operation.responses as Node)) {
        for (const [mediaType, media] of Object.entries(((response as Node).content ?? {}) as Node)) {
          shown += check(['paths', template, method, 'responses', status, 'content', mediaType], media as Node, mediaType);
        }
      }
      if (shown === 0) faults.push(`${name} shows no example`);
    }
    expect(faults).toEqual([]);
  });

  test('the routes are the ones the service serves', () => {
    expect(operations.map((o) => o.name).sort()).toEqual([
      'GET /health',
      'GET /metrics',
      'GET /openapi.json',
      'GET /ready',
      'GET /rules',
      'GET /v1/decisions/{id}',
      'GET /v1/proposals',
      'GET /v1/proposals/{id}',
      'GET /v1/rulesets',
      'GET /v1/rulesets/{name}',
      'GET /v1/rulesets/{name}/history',
      'POST /v1/admin/impact',
      'POST /v1/admin/reload',
      'POST /v1/decisions/{id}/reproduce',
      'POST /v1/proposals',
      'POST /v1/proposals/{id}/approve',
      'POST /v1/proposals/{id}/reject',
      'POST /v1/rulesets/{name}/draft-impact',
      'POST /v1/rulesets/{name}/evaluate',
      'POST /v1/rulesets/{name}/evaluate-batch',
    ]);
  });
});

// ——— Real-shaped bodies, made by the engine itself ———

interface Sample {
  ruleSet: string;
  file: string;
  evaluator: Evaluator;
  decision?: Decision;
  problem?: DecisionError;
}

/** Every fixture of every rule set, decided by both evaluators (or refused, for the fixtures that expect a problem). */
async function samples(): Promise<Sample[]> {
  const all: Sample[] = [];
  for (const [name, versions] of registry.ruleSets) {
    for (const fixture of loadFixtures(FIXTURES_DIR, name)) {
      for (const evaluator of ['compiled', 'reference'] as const) {
        try {
          // As the route decides it (its summary included), on a copy: the route fills defaults into the body it parsed.
          const body = JSON.parse(JSON.stringify({ asOf: fixture.asOf, facts: fixture.facts })) as unknown;
          const made = decideRequest(versions, body, evaluator, () => fixture.asOf);
          const decision = (made instanceof Promise ? await made : made).decision as Decision;
          all.push({ ruleSet: name, file: fixture.file, evaluator, decision });
        } catch (error) {
          if (!(error instanceof DecisionError)) throw error;
          all.push({ ruleSet: name, file: fixture.file, evaluator, problem: error });
        }
      }
    }
  }
  return all;
}

const evaluateUrl = (name: string, evaluator: Evaluator = 'compiled') => `/v1/rulesets/${name}/evaluate${evaluator === 'reference' ? '?engine=reference' : ''}`;
const problemJson = (error: DecisionError, instance: string) => JSON.stringify(problemOf(error, instance));
const statusOf = (code: ErrorCode) => ERROR_CATALOGUE[code].status;

/** The rule set as GET /v1/rulesets/{name} shows it. */
function ruleSetDetail(name: string, asOf: string) {
  const versions = registry.ruleSets.get(name)!;
  return detailOf(versions, asOf);
}

/** The rules on disk with one change: direct referral's action period one working day longer. */
function editedRules(): RuleRegistry {
  const files = readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      let text = readFileSync(path.join(RULES_DIR, file), 'utf8');
      if (file === 'direct-referral.json') text = text.replace(/("actionWorkingDays":\s*\{\s*"value":\s*)5/, '$16');
      return { file, text };
    });
  return loadRuleTexts(readFileSync(path.join(RULES_DIR, CALENDAR_FILE), 'utf8'), files, { modules: RULE_SET_MODULES });
}

function recordView(decision: Decision, decisionId: string) {
  return {
    decisionId,
    decidedAt: '2025-06-02T01:02:03.456Z',
    keyId: 'cw1',
    ruleSet: decision.ruleSet,
    version: decision.version,
    asOf: decision.asOf,
    evaluator: decision.evaluator,
    outcome: decision.outcome,
    fired: decision.explanation.filter((r) => r.fired).map((r) => r.rule),
    factsDigest: `sha256:${'ab'.repeat(16)}:${'cd'.repeat(32)}`,
    factsKept: false,
    summary: decision.summary === undefined ? null : { holdsUntil: decision.summary.holdsUntil },
  };
}

describe('the checker accepts what the service sends', () => {
  let all: Sample[];
  beforeAll(async () => {
    all = await samples();
  });

  test("every fixture's decision by both evaluators, as POST …/evaluate answers it", () => {
    const decided = all.filter((s) => s.decision);
    expect(decided.length).toBeGreaterThan(100);
    // Every registered rule set has decided fixtures, so a rule set added is checked here without naming it.
    expect(new Set(decided.map((s) => s.ruleSet)).size).toBe(Object.keys(RULE_SET_MODULES).length);
    const problems = decided.flatMap(({ ruleSet, file, evaluator, decision }) => {
      const id = randomUUID();
      return checker
        .check('POST', evaluateUrl(ruleSet, evaluator), 200, { ...JSON_HEADERS, 'x-decision-id': id }, decisionJson(decision!, id))
        .map((p) => `${ruleSet}/${file} (${evaluator}): ${p}`);
    });
    expect(problems).toEqual([]);
  });

  test('the problems fixtures expect, and every problem code where the route documents it', () => {
    const refused = all.filter((s) => s.problem);
    expect(refused.length).toBeGreaterThan(5);
    for (const { ruleSet, problem } of refused) {
      const url = evaluateUrl(ruleSet);
      expect(checker.check('POST', url, statusOf(problem!.code), PROBLEM_HEADERS, problemJson(problem!, url))).toEqual([]);
    }
    const url = '/v1/rulesets/segment-allocation/evaluate';
    for (const code of [
      'invalid-json',
      'invalid-request',
      'unknown-rule-set',
      'no-version-in-force',
      'payload-too-large',
      'unsupported-media-type',
      'date-outside-calendar',
      'unauthorized',
      'forbidden',
      'rate-limited',
      'timeout',
      'log-unavailable',
      'internal',
    ] as const) {
      // authorize() challenges with WWW-Authenticate on a 401 and a 403 (access.ts).
      const headers =
        statusOf(code) === 401 || statusOf(code) === 403
          ? { ...PROBLEM_HEADERS, 'www-authenticate': 'Bearer realm="ps-decisions", error="invalid_token"' }
          : PROBLEM_HEADERS;
      expect([code, checker.check('POST', url, statusOf(code), headers, problemJson(new DecisionError(code, 'Something.'), url))]).toEqual([code, []]);
    }
    // A rule-file problem names the file, line and column.
    const refusal = new DecisionError('rules-refused', 'Refused.', [
      { file: 'direct-referral.json', pointer: 'direct-referral.json#/rules/0', message: 'is wrong', line: 3, column: 5 },
    ]);
    expect(checker.check('POST', '/v1/admin/reload', 422, PROBLEM_HEADERS, problemJson(refusal, '/v1/admin/reload'))).toEqual([]);
    // A body sent as a type the route does not take names Content-Type (media-type.ts), on each route that takes a body.
    const wrongType = (type: string) =>
      new DecisionError('unsupported-media-type', `Send the body as ${type}.`, [{ pointer: '', message: `header Content-Type must be ${type}` }]);
    for (const [route, type] of [
      ['/v1/rulesets/segment-allocation/evaluate', 'application/json'],
      ['/v1/rulesets/segment-allocation/evaluate-batch', 'application/x-ndjson'],
      ['/v1/admin/impact', 'application/json'],
      [`/v1/decisions/${randomUUID()}/reproduce`, 'application/json'],
    ] as const)
      expect(checker.check('POST', route, 415, PROBLEM_HEADERS, problemJson(wrongType(type), route))).toEqual([]);
    // Reload reads no body, and refuses one naming it (app.ts).
    const withBody = new DecisionError('invalid-request', 'No body.', [{ pointer: '', message: 'must be empty: this route reads no body' }]);
    expect(checker.check('POST', '/v1/admin/reload', 400, PROBLEM_HEADERS, problemJson(withBody, '/v1/admin/reload'))).toEqual([]);
  });

  test('an evaluate-batch answer: decision lines and problem lines', () => {
    const decided = all.filter((s) => s.decision && s.ruleSet === 'segment-allocation' && s.evaluator === 'compiled');
    const lines = decided.map(({ decision }, i) => `{"line":${i + 1},"id":${i % 2 ? `"case-${i}"` : i},"decision":${decisionJson(decision!, randomUUID())}}`);
    const url = '/v1/rulesets/segment-allocation/evaluate-batch';
    for (const code of ['invalid-json', 'invalid-request', 'too-many-lines', 'payload-too-large', 'log-unavailable', 'internal'] as const) {
      lines.push(
        `{"line":${lines.length + 1},"id":null,"problem":${problemJson(new DecisionError(code, 'Something.', code === 'invalid-json' ? [{ pointer: '', message: 'is empty' }] : []), url)}}`,
      );
    }
    const body = `${lines.join('\n')}\n`;
    expect(checker.check('POST', url, 200, { 'content-type': 'application/x-ndjson' }, body)).toEqual([]);
    expect(checker.check('POST', url, 200, { 'content-type': 'application/x-ndjson' }, '')).toEqual([]);
    // A body with no line to decide is refused as a whole, before any line (batch.ts).
    const empty = new DecisionError('invalid-request', 'The batch holds no line to decide.', [
      { pointer: '', message: 'must hold at least one line that is not blank' },
    ]);
    expect(checker.check('POST', url, 400, PROBLEM_HEADERS, problemJson(empty, url))).toEqual([]);
  });

  test('the rule sets, as listed and as described', () => {
    const list = {
      ruleSets: [...registry.ruleSets.values()].map((rs) => ({
        name: rs.name,
        version: rs.latest.version,
        title: rs.latest.file.title,
        rules: rs.latest.file.rules.length,
        versions: rs.periods(),
        href: `/v1/rulesets/${rs.name}`,
      })),
    };
    expect(checker.check('GET', '/v1/rulesets', 200, JSON_HEADERS, JSON.stringify(list))).toEqual([]);
    for (const [name, versions] of registry.ruleSets) {
      for (const version of versions.versions) {
        const asOf = version.effectiveFrom ?? '2024-01-01';
        expect(checker.check('GET', `/v1/rulesets/${name}?asOf=${asOf}`, 200, JSON_HEADERS, JSON.stringify(ruleSetDetail(name, asOf)))).toEqual([]);
      }
    }
    // An asOf that is no date is refused, naming it (app.ts).
    const refused = '/v1/rulesets/segment-allocation?asOf=2025-02-30';
    const notADate = new DecisionError('invalid-request', 'No.', [
      { pointer: '', message: 'query parameter asOf must be a real calendar date written YYYY-MM-DD' },
    ]);
    expect(checker.check('GET', refused, 400, PROBLEM_HEADERS, problemJson(notADate, refused))).toEqual([]);
  });

  test('health, readiness, metrics, the document and the page', () => {
    expect(checker.check('GET', '/health', 200, JSON_HEADERS, '{"status":"ok"}')).toEqual([]);
    const ready = { status: 'ready', decisionLog: 'sqlite', versions: versionsByFile(registry) };
    expect(checker.check('GET', '/ready', 200, JSON_HEADERS, JSON.stringify(ready))).toEqual([]);
    expect(checker.check('GET', '/ready', 503, PROBLEM_HEADERS, problemJson(new DecisionError('not-ready', 'Not ready: no log.'), '/ready'))).toEqual([]);
    expect(checker.check('GET', '/metrics', 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, '# HELP x y\nx 1\n')).toEqual([]);
    expect(checker.check('GET', '/openapi.json', 200, JSON_HEADERS, JSON.stringify(openApiDocument()))).toEqual([]);
    expect(checker.check('GET', '/rules', 200, { 'content-type': 'text/html; charset=utf-8' }, '<!doctype html><title>Rules</title>')).toEqual([]);
  });

  test('a reload and an impact report with real changes', async () => {
    const reload = { reloaded: true, versions: versionsByFile(registry), changed: [] };
    expect(checker.check('POST', '/v1/admin/reload', 200, JSON_HEADERS, JSON.stringify(reload))).toEqual([]);
    const candidate = editedRules();
    const cases = loadFixtures(FIXTURES_DIR, 'direct-referral').map((f) => ({ id: f.file, ruleSet: 'direct-referral', asOf: f.asOf, facts: f.facts }));
    cases.push({ id: 'nothing', ruleSet: 'no-such-rule-set', asOf: '2025-06-02', facts: {} });
    const report = await impactOf(registry, candidate, cases);
    expect(report.changed.length).toBeGreaterThan(0);
    expect(report.refused.length).toBeGreaterThan(0);
    const body = { current: versionsByFile(registry), candidate: versionsByFile(candidate), report };
    expect(checker.check('POST', '/v1/admin/impact', 200, JSON_HEADERS, JSON.stringify(body))).toEqual([]);
  });

  test('a decision record, with and without its reproduction, and a reproduction', () => {
    const { decision } = all.find((s) => s.decision && s.ruleSet === 'exit-readiness')!;
    const id = randomUUID();
    const view = recordView(decision!, id);
    expect(view.summary).not.toBeNull();
    expect(checker.check('GET', `/v1/decisions/${id}`, 200, JSON_HEADERS, JSON.stringify(view))).toEqual([]);
    // An answer given without a summary (?explain=none), or recorded before the log kept it; a verdict that always holds.
    for (const summary of [null, { holdsUntil: null }, { holdsUntil: '2026-03-01' }])
      expect(checker.check('GET', `/v1/decisions/${id}`, 200, JSON_HEADERS, JSON.stringify({ ...view, summary }))).toEqual([]);
    expect(
      checker.check('GET', `/v1/decisions/${id}`, 200, JSON_HEADERS, JSON.stringify({ ...view, summary: { holdsUntil: '2026-03-01', reasons: [] } })),
    ).not.toEqual([]);
    const { explanation: _explanation, ...rest } = decision!;
    void _explanation;
    const reproduction = {
      decisionId: id,
      version: decision!.version,
      factsMatch: true,
      reproduced: false,
      differences: [
        { field: 'fired', recorded: [], now: view.fired },
        { field: 'outcome.ready', recorded: null, now: rest.outcome.ready },
        { field: 'summary.holdsUntil', recorded: '2026-02-01', now: null },
      ],
      firedNow: view.fired,
    };
    // As decisions.ts writes it: the reproduction's decision through decisionJson, without an id.
    const reproductionJson = `${JSON.stringify(reproduction).slice(0, -1)},"decision":${decisionJson(decision!)}}`;
    expect(checker.check('POST', `/v1/decisions/${id}/reproduce`, 200, JSON_HEADERS, reproductionJson)).toEqual([]);
    const withReproduction = `${JSON.stringify({ ...view, factsKept: true }).slice(0, -1)},"reproduction":${reproductionJson}}`;
    expect(checker.check('GET', `/v1/decisions/${id}`, 200, JSON_HEADERS, withReproduction)).toEqual([]);
    for (const code of ['not-found', 'facts-differ', 'version-unavailable'] as const) {
      const url = `/v1/decisions/${id}/reproduce`;
      expect(checker.check('POST', url, statusOf(code), PROBLEM_HEADERS, problemJson(new DecisionError(code, 'No.'), url))).toEqual([]);
    }
  });

  test("an undocumented path or method answered 404 not-found, as the app's fallback answers it", () => {
    for (const [method, url] of [
      ['GET', '/v2/nothing'],
      ['GET', '/v1/rulesets/direct-referral/evaluate'],
      ['DELETE', '/health'],
      // Routing is strict: a trailing slash makes a path the document does not list.
      ['POST', '/v1/rulesets/direct-referral/evaluate/'],
      ['GET', '/health/'],
    ]) {
      expect(
        checker.check(method!, url!, 404, PROBLEM_HEADERS, problemJson(new DecisionError('not-found', `Nothing is served at ${method} ${url}.`), url!)),
      ).toEqual([]);
    }
  });

  test('checking is fast once compiled', () => {
    const { decision } = all.find((s) => s.decision && s.ruleSet === 'segment-allocation')!;
    const id = randomUUID();
    const body = decisionJson(decision!, id);
    const headers = { ...JSON_HEADERS, 'x-decision-id': id };
    checker.check('POST', evaluateUrl('segment-allocation'), 200, headers, body);
    const started = performance.now();
    for (let i = 0; i < 500; i += 1) checker.check('POST', evaluateUrl('segment-allocation'), 200, headers, body);
    expect((performance.now() - started) / 500).toBeLessThan(5);
  });
});

describe('the checker refuses what the document does not say', () => {
  let decision: Decision;
  const id = randomUUID();
  const url = evaluateUrl('direct-referral');
  const headers = { ...JSON_HEADERS, 'x-decision-id': id };
  beforeAll(() => {
    const body = { facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } };
    decision = (decideRequest(registry.ruleSets.get('direct-referral')!, body, 'compiled', () => '2025-06-02') as Decided).decision as Decision;
  });
  const body = () => JSON.parse(decisionJson(decision, id)) as Node;
  /** The checker found something, and said what. */
  const refused = (problems: string[], saying: string | RegExp) => {
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(saying);
  };

  test('a missing field', () => {
    const { asOf: _asOf, ...rest } = body();
    void _asOf;
    refused(checker.check('POST', url, 200, headers, JSON.stringify(rest)), "must have required property 'asOf'");
    const { decisionId: _id, ...anonymous } = body();
    void _id;
    refused(checker.check('POST', url, 200, headers, JSON.stringify(anonymous)), 'decisionId');
  });

  test('an extra field, at the top or deep in a condition line', () => {
    refused(checker.check('POST', url, 200, headers, JSON.stringify({ ...body(), score: 1 })), '(score)');
    const deep = body();
    deep.explanation[0].conditions.all[0].weight = 2;
    refused(checker.check('POST', url, 200, headers, JSON.stringify(deep)), '/explanation/0/conditions');
    const outcome = body();
    outcome.outcome.confidence = 0.9;
    refused(checker.check('POST', url, 200, headers, JSON.stringify(outcome)), '(confidence)');
  });

  test("a wrong value: an outcome field of the wrong type, a problem whose title is not the catalogue's", () => {
    const wrong = body();
    wrong.outcome.eligible = 'yes';
    refused(checker.check('POST', url, 200, headers, JSON.stringify(wrong)), '/outcome/eligible must be boolean');
    const problem = { ...problemOf(new DecisionError('unknown-rule-set', 'No.'), url), title: 'Oops' };
    refused(checker.check('POST', url, 404, PROBLEM_HEADERS, JSON.stringify(problem)), '/title must be equal to constant');
    // A code the route does not document at that status.
    refused(checker.check('POST', url, 409, PROBLEM_HEADERS, problemJson(new DecisionError('facts-differ', 'No.'), url)), 'does not document status 409');
    refused(
      checker.check('POST', url, 404, PROBLEM_HEADERS, problemJson(new DecisionError('no-version-in-force', 'No.'), url)),
      '/code must be equal to one of the allowed values',
    );
  });

  test('an undocumented route, method or status', () => {
    refused(checker.check('GET', '/v1/secrets', 200, JSON_HEADERS, '{}'), 'no such path');
    refused(checker.check('GET', '/health/', 200, JSON_HEADERS, '{"status":"ok"}'), 'no such path');
    refused(checker.check('PUT', '/v1/rulesets', 200, JSON_HEADERS, '{}'), 'lists no PUT');
    refused(checker.check('GET', '/v2/nothing', 404, JSON_HEADERS, '{}'), 'problem+json');
    refused(
      checker.check('GET', '/v2/nothing', 404, PROBLEM_HEADERS, problemJson(new DecisionError('unknown-rule-set', 'No.'), '/v2/nothing')),
      'not "not-found"',
    );
    refused(checker.check('GET', '/health', 418, JSON_HEADERS, '{}'), 'does not document status 418');
  });

  test('a wrong or missing content type, a body that is not JSON, a missing header', () => {
    const text = decisionJson(decision, id);
    refused(checker.check('POST', url, 200, { ...headers, 'content-type': 'text/plain' }, text), 'content type text/plain is not documented');
    refused(checker.check('POST', url, 200, { 'x-decision-id': id }, text), 'is not documented');
    refused(
      checker.check('POST', url, 400, JSON_HEADERS, problemJson(new DecisionError('invalid-request', 'No.'), url)),
      'content type application/json; charset=utf-8 is not documented for 400',
    );
    refused(checker.check('POST', url, 200, headers, text.slice(0, -1)), 'not JSON');
    refused(checker.check('POST', url, 200, JSON_HEADERS, text), 'X-Decision-Id');
    refused(checker.check('POST', url, 401, PROBLEM_HEADERS, problemJson(new DecisionError('unauthorized', 'No key.'), url)), 'WWW-Authenticate');
    // A key with "~" or "/" must be escaped in an error's pointer, or a client cannot find the field.
    refused(
      checker.check(
        'POST',
        url,
        400,
        PROBLEM_HEADERS,
        problemJson(new DecisionError('invalid-request', 'No.', [{ pointer: '/facts/a~b', message: 'is not allowed' }]), url),
      ),
      '/errors/0/pointer must match format "json-pointer"',
    );
    refused(checker.check('POST', url, 200, { ...headers, 'x-decision-id': 'not-a-uuid' }, text), 'header X-Decision-Id');
  });

  test('an NDJSON line that is not JSON or not a result line, numbered', () => {
    const batch = '/v1/rulesets/direct-referral/evaluate-batch';
    const good = `{"line":1,"id":null,"decision":${decisionJson(decision, id)}}`;
    expect(checker.check('POST', batch, 200, { 'content-type': 'application/x-ndjson' }, `${good}\n{"line":2\n`)).toEqual(['line 2 is not JSON']);
    refused(
      checker.check('POST', batch, 200, { 'content-type': 'application/x-ndjson' }, `${good}\n{"line":2,"id":null}\n`),
      /^line 2: \/ must have required property 'decision'/m,
    );
    refused(checker.check('POST', batch, 200, JSON_HEADERS, good), 'is not documented');
  });

  test('odd input is reported, never thrown', () => {
    const odd = checker as unknown as { check: (...args: unknown[]) => string[] };
    expect(() => odd.check('POST', url, 200, null, undefined)).not.toThrow();
    refused(odd.check('POST', url, 200, null, undefined), 'is not documented');
    refused(checker.check('GET', '', 200, {}, ''), 'no such path');
    refused(checker.check('POST', url, 200, { 'content-type': ['application/json'], 'x-decision-id': [id] }, '\u0000'), 'not JSON');
  });
});

describe('the descriptions say what a value is, never the value: the rules say that, and change', () => {
  /** Every description in the document, with where it stands. */
  const descriptions: { at: string; text: string }[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${at}/${i}`));
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'description' && typeof value === 'string') descriptions.push({ at, text: value });
        // An example is an answer the service gave (its rules' own words, parameters and all), not the document's words.
        else if (key !== 'example' && key !== 'examples') walk(value, `${at}/${key}`);
      }
    }
  };
  walk(doc, '');

  test('no description repeats a parameter\'s number beside its unit ("5 working days", "6 months"), in any version', () => {
    expect(descriptions.length).toBeGreaterThan(200);
    const repeated = [...registry.ruleSets.values()].flatMap((versions) =>
      versions.versions.flatMap((version) =>
        descriptions.flatMap(({ at, text }) =>
          typedValues(text, version.file.parameters).map(({ name, typed }) => `${at}: "${typed}" is ${version.sourceFile}'s ${name}`),
        ),
      ),
    );
    expect(repeated).toEqual([]);
  });

  test('no description names who a parameter says approves or decides (a role), in any version', () => {
    const roles = new Set<string>();
    for (const versions of registry.ruleSets.values()) {
      for (const version of versions.versions) {
        for (const parameter of Object.values(version.file.parameters) as { type?: string; value: unknown }[]) {
          if (parameter.type === 'role') roles.add(parameter.value as string);
          if (parameter.type === 'roles') for (const role of parameter.value as string[]) roles.add(role);
          if (parameter.type === 'role-by-program') for (const role of Object.values(parameter.value as Record<string, string>)) roles.add(role);
        }
      }
    }
    expect(roles.size).toBeGreaterThan(3);
    const named = descriptions.flatMap(({ at, text }) => [...roles].filter((role) => text.includes(role)).map((role) => `${at}: names ${role}`));
    expect(named).toEqual([]);
  });

  test('the phrases that did are gone, and each outcome says where the values are', () => {
    const text = descriptions.map((d) => d.text).join('\n');
    for (const phrase of ['5 working days', '2 if urgent', '3 to 6 months', 'PSSO → SSM', 'the SSM; before', 'PS Team Leader for Child Support'])
      expect(text).not.toContain(phrase);
    expect(text).toContain('the parameter segment3ReviewMonths');
  });
});
