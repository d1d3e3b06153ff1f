// POST /v1/rulesets/{name}/evaluate-batch: NDJSON in, one answer line per input line out, each what the single evaluate answers.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { bearer, testApp, type TestApp } from '../support/app';
import { RULES_DIR, shippedRules } from '../support';

const registry = shippedRules();
// 15:00 UTC on 1 June is already 2 June in Sydney: the default asOf must be Sydney's date.
const app = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z') });
const batchPath = (name: string) => `/v1/rulesets/${name}/evaluate-batch`;
const NDJSON = 'application/x-ndjson';

const directFacts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } };

interface AnswerLine {
  line: number;
  id: string | number | null;
  decision?: Record<string, unknown>;
  problem?: { status: number; code: string; instance?: string; errors?: { pointer: string }[] };
}

/** Buffers the NDJSON answer as text (superagent has no parser for it). */
function asText(res: request.Response, callback: (error: Error | null, body: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => { text += chunk; });
  res.on('end', () => callback(null, text));
}

const linesOf = (text: string): AnswerLine[] => (text === '' ? [] : text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).map((l) => JSON.parse(l) as AnswerLine));

async function batch(name: string, body: string | Buffer, { query = '', type = NDJSON, headers = {} as Record<string, string>, on = app as TestApp } = {}) {
  const res = await on.as('caseworker').post(`${batchPath(name)}${query}`).set('Content-Type', type).set(headers).buffer(true).parse(asText).send(body);
  return { res, lines: res.status === 200 ? linesOf(res.body as string) : [] };
}

const single = (name: string, body: string, query = '') =>
  app.as('caseworker').post(`/v1/rulesets/${name}/evaluate${query}`).set('Content-Type', 'application/json').send(body);

/** The problem a line carries, as the single evaluate would give it (its instance names the batch route instead). */
const withoutInstance = ({ instance: _instance, ...problem }: Record<string, unknown>) => problem;
/** A decision without its decision id, which is new for every evaluation (each is logged on its own). */
const withoutId = ({ decisionId, ...decision }: Record<string, unknown>) => {
  expect(decisionId).toMatch(/^[0-9a-f-]{36}$/);
  return decision;
};

describe('each line is answered as the single evaluate answers its body', () => {
  // Each entry: the line as sent, and the evaluate body it stands for (the line without its id).
  const cases: { line: string; body: string }[] = [
    { line: JSON.stringify({ id: 'a-1', asOf: '2025-06-02', facts: directFacts }), body: JSON.stringify({ asOf: '2025-06-02', facts: directFacts }) },
    { line: JSON.stringify({ id: 42, facts: { ...directFacts, customer: { zoneCaseManagement: true } } }), body: JSON.stringify({ facts: { ...directFacts, customer: { zoneCaseManagement: true } } }) },
    { line: '{"facts": {', body: '{"facts": {' },
    { line: '"hello"', body: '"hello"' },
    { line: '[1,2]', body: '[1,2]' },
    { line: JSON.stringify({ id: 'schema', facts: { program: 'tax', customer: { zoneCaseManagement: 1 } } }), body: JSON.stringify({ facts: { program: 'tax', customer: { zoneCaseManagement: 1 } } }) },
    { line: JSON.stringify({ id: 'needs-received-on', facts: { program: 'centrelink', referral: { source: 'mats' } } }), body: JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats' } } }) },
    { line: JSON.stringify({ asOf: '2025-13-01', facts: directFacts }), body: JSON.stringify({ asOf: '2025-13-01', facts: directFacts }) },
    { line: JSON.stringify({ id: 'beyond-calendar', asOf: '2041-06-02', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2041-06-03' } } }), body: JSON.stringify({ asOf: '2041-06-02', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2041-06-03' } } }) },
  ];

  test('decisions and problems, line by line, in input order, with line numbers and ids', async () => {
    const { res, lines } = await batch('direct-referral', `${cases.map((c) => c.line).join('\n')}\n`);
    expect(res.status).toBe(200);
    expect(res.type).toBe(NDJSON);
    expect(lines.map((l) => l.line)).toEqual(cases.map((_, i) => i + 1));
    expect(lines.map((l) => l.id)).toEqual(['a-1', 42, null, null, null, 'schema', 'needs-received-on', null, 'beyond-calendar']);
    expect(lines.map((l) => l.problem?.status ?? 200)).toEqual([200, 200, 400, 400, 400, 400, 400, 400, 422]);
    for (const [i, { body }] of cases.entries()) {
      const expected = await single('direct-referral', body);
      const answer = lines[i]!;
      if (expected.status === 200) {
        expect(answer.problem).toBeUndefined();
        expect(withoutId(answer.decision!)).toEqual(withoutId(expected.body));
      } else {
        expect(answer.decision).toBeUndefined();
        expect(withoutInstance(answer.problem!)).toEqual(withoutInstance(expected.body));
        expect(answer.problem!.instance).toBe(batchPath('direct-referral'));
      }
    }
    // The default asOf is today in Sydney from the app's clock, as on evaluate.
    expect(lines[1]!.decision!.asOf).toBe('2025-06-02');
  });

  test('?engine=reference decides each line with json-rules-engine, identically', async () => {
    const body = `${cases[0]!.line}\n${cases[1]!.line}\n${cases[6]!.line}\n`;
    const compiled = await batch('direct-referral', body);
    const reference = await batch('direct-referral', body, { query: '?engine=reference' });
    expect(reference.lines.map((l) => l.decision?.evaluator ?? l.problem?.code)).toEqual(['reference', 'reference', 'invalid-request']);
    for (const [i, line] of reference.lines.entries()) {
      expect(line.decision?.outcome).toEqual(compiled.lines[i]!.decision?.outcome);
      expect(line.decision?.explanation).toEqual(compiled.lines[i]!.decision?.explanation);
    }
  });

  test('each line is decided by the version in force on its own asOf', async () => {
    const facts = { program: 'child-support', case: { customerContactableByPhone: false, exitLetterIssuedOn: '2024-11-01' } };
    const bodies = [{ asOf: '2024-11-12', facts }, { asOf: '2025-11-12', facts: { ...facts, case: { ...facts.case, exitLetterIssuedOn: '2025-11-01' } } }].map((b) => JSON.stringify(b));
    const { lines } = await batch('exit-readiness', bodies.join('\n'));
    expect(lines[0]!.decision!.effective).toEqual({ from: null, to: '2025-01-13' });
    expect(lines[1]!.decision!.effective).toEqual({ from: '2025-01-14', to: null });
    for (const [i, body] of bodies.entries()) expect(withoutId(lines[i]!.decision!)).toEqual(withoutId((await single('exit-readiness', body)).body));
  });

  test('an asOf before the first version in force is a 422 line, as on evaluate', async () => {
    // The shipped exit-readiness reaches back indefinitely, so a copy without its older version has a gap before 2025-01-14.
    const dir = mkdtempSync(path.join(tmpdir(), 'batch-rules-'));
    try {
      cpSync(RULES_DIR, dir, { recursive: true });
      rmSync(path.join(dir, 'exit-readiness.before-2025-01-14.json'));
      const current = shippedRules(dir);
      const gapApp = testApp({ rules: () => current, clock: () => new Date('2025-06-01T15:00:00Z') });
      const body = JSON.stringify({ asOf: '2024-06-01', facts: { program: 'centrelink' } });
      const { lines } = await batch('exit-readiness', `${JSON.stringify({ id: 'early', asOf: '2024-06-01', facts: { program: 'centrelink' } })}\n`, { on: gapApp });
      const expected = await gapApp.as('caseworker').post('/v1/rulesets/exit-readiness/evaluate').send(body).set('Content-Type', 'application/json');
      expect(expected.status).toBe(422);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toEqual(expect.objectContaining({ line: 1, id: 'early' }));
      expect(withoutInstance(lines[0]!.problem!)).toEqual(withoutInstance(expected.body));
      expect(lines[0]!.problem!.code).toBe('no-version-in-force');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lines', () => {
  const ok = JSON.stringify({ asOf: '2025-06-02', facts: directFacts });

  test('an empty body answers 200 with no lines', async () => {
    const { res, lines } = await batch('direct-referral', '');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(lines).toEqual([]);
  });

  test('a trailing newline makes no extra line; a last line without one is still answered', async () => {
    expect((await batch('direct-referral', `${ok}\n${ok}\n`)).lines).toHaveLength(2);
    expect((await batch('direct-referral', `${ok}\n${ok}`)).lines).toHaveLength(2);
  });

  test('an empty line in the middle is a 400 line; CRLF line ends are accepted', async () => {
    const { lines } = await batch('direct-referral', `${ok}\r\n\r\n${ok}\r\n`);
    expect(lines.map((l) => l.decision ? 'decision' : l.problem!.code)).toEqual(['decision', 'invalid-json', 'decision']);
    expect(lines[1]!.problem!.status).toBe(400);
  });

  test('a line over 1 MiB is a 413 line, and the lines around it are decided', async () => {
    const long = JSON.stringify({ id: 'long', facts: directFacts, padding: 'x'.repeat(2 * 1024 * 1024) });
    const { lines } = await batch('direct-referral', `${ok}\n${long}\n${ok}\n`);
    expect(lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.status])).toEqual([[1, 'decision'], [2, 413], [3, 'decision']]);
    expect(lines[1]!.problem!.code).toBe('payload-too-large');
  });

  test('an id that is not a string or number is reported with the line\'s other problems', async () => {
    const { lines } = await batch('direct-referral', `${JSON.stringify({ id: { x: 1 }, facts: directFacts })}\n${JSON.stringify({ id: true, facts: {} })}\n`);
    expect(lines[0]!.problem!.errors!.map((e) => e.pointer)).toEqual(['/id']);
    expect(lines[1]!.problem!.errors!.map((e) => e.pointer)).toEqual(expect.arrayContaining(['/id', '/facts/program', '/facts/referral/source']));
    expect(lines.map((l) => l.id)).toEqual([null, null]);
  });

  test('lines past the configured cap are each answered with a 413 too-many-lines line, not decided', async () => {
    const capped = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z'), maxBatchLines: 3 });
    const { lines } = await batch('direct-referral', `${Array.from({ length: 5 }, () => ok).join('\n')}\n`, { on: capped });
    expect(lines.map((l) => l.decision ? 'decision' : l.problem!.code)).toEqual(['decision', 'decision', 'decision', 'too-many-lines', 'too-many-lines']);
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
  });

  test('a gzip-compressed batch is inflated', async () => {
    const { lines } = await batch('direct-referral', gzipSync(`${ok}\n${ok}\n`), { headers: { 'Content-Encoding': 'gzip' } });
    expect(lines.map((l) => l.line)).toEqual([1, 2]);
    expect(lines.every((l) => l.decision)).toBe(true);
  });

  test('5,000 lines stream through, each answered in order', async () => {
    const facts = (i: number) => ({ program: 'child-support', referral: { source: i % 2 ? 'ombudsman' : 'proactive' }, customer: { psHistory: i % 3 ? 'never' : 'previously' } });
    const body = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, asOf: '2025-06-02', facts: facts(i) })).join('\n');
    const { res, lines } = await batch('segment-allocation', body);
    expect(res.status).toBe(200);
    expect(lines).toHaveLength(5000);
    expect(lines.every((l, i) => l.line === i + 1 && l.id === i && l.decision !== undefined)).toBe(true);
  });
});

describe('whole-request problems are ordinary problem+json responses', () => {
  const ok = `${JSON.stringify({ facts: directFacts })}\n`;
  const expectProblem = (res: request.Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(JSON.parse(res.body as string)).toEqual(expect.objectContaining({ status, code }));
  };

  test('an unknown rule set is a 404', async () => expectProblem((await batch('nope', ok)).res, 404, 'unknown-rule-set'));
  test('application/json is a 415 that names application/x-ndjson', async () => {
    const { res } = await batch('direct-referral', ok, { type: 'application/json' });
    expectProblem(res, 415, 'unsupported-media-type');
    expect(JSON.parse(res.body as string).detail).toContain('application/x-ndjson');
  });
  test('text/plain is a 415', async () => expectProblem((await batch('direct-referral', ok, { type: 'text/plain' })).res, 415, 'unsupported-media-type'));
  test('an unknown engine is a 400', async () => expectProblem((await batch('direct-referral', ok, { query: '?engine=fast' })).res, 400, 'invalid-request'));
});

describe('streaming', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = await app.listen();
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('the first answer arrives before the request has ended', async () => {
    const line = (id: number) => `${JSON.stringify({ id, asOf: '2025-06-02', facts: directFacts })}\n`;
    const req = http.request({ port, method: 'POST', path: batchPath('direct-referral'), headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker') } });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.write(line(1));
    const res = await response;
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    let text = '';
    // The request is still open here: only line 1 has been sent.
    await new Promise<void>((resolve) => {
      const onData = (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) {
          res.off('data', onData);
          res.pause();
          resolve();
        }
      };
      res.on('data', onData);
    });
    expect(JSON.parse(text.slice(0, text.indexOf('\n')))).toEqual(expect.objectContaining({ line: 1, id: 1 }));
    expect(req.writableEnded).toBe(false);
    req.end(line(2));
    res.resume();
    res.on('data', (chunk: string) => { text += chunk; });
    await new Promise((resolve) => res.once('end', resolve));
    expect(linesOf(text).map((l) => [l.line, l.id, l.decision !== undefined])).toEqual([[1, 1, true], [2, 2, true]]);
  });

  test('a client that disconnects mid-batch does not take the server down', async () => {
    const req = http.request({ port, method: 'POST', path: batchPath('direct-referral'), headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker') } });
    req.on('error', () => {});
    const response = new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    req.write(`${JSON.stringify({ facts: directFacts })}\n`);
    const res = await response;
    await new Promise((resolve) => res.once('data', resolve));
    req.destroy();
    const health = await request(server).get('/health');
    expect(health.status).toBe(200);
  });
});
