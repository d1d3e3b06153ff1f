// POST /v1/rulesets/{name}/evaluate-batch: NDJSON in, one answer line per input line out, each what the single evaluate answers.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { rawConnection } from '../support/raw';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
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
  res.on('data', (chunk: string) => {
    text += chunk;
  });
  res.on('end', () => callback(null, text));
}

const linesOf = (text: string): AnswerLine[] =>
  text === ''
    ? []
    : text
        .split('\n')
        .filter((l, i, all) => l !== '' || i < all.length - 1)
        .map((l) => JSON.parse(l) as AnswerLine);

async function batch(
  name: string,
  body: string | Buffer,
  { query = '', type = NDJSON, headers = {}, on = app }: { query?: string; type?: string; headers?: Record<string, string>; on?: TestApp } = {},
) {
  const res = await on
    .as('caseworker')
    .post(`${batchPath(name)}${query}`)
    .set('Content-Type', type)
    .set(headers)
    .buffer(true)
    // 5,000 explained segment allocations are some 220 MB of NDJSON, past superagent's default limit of 200 MB.
    .maxResponseSize(512 * 1024 * 1024)
    .parse(asText)
    .send(body);
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
    {
      line: JSON.stringify({ id: 42, facts: { ...directFacts, customer: { zoneCaseManagement: true } } }),
      body: JSON.stringify({ facts: { ...directFacts, customer: { zoneCaseManagement: true } } }),
    },
    { line: '{"facts": {', body: '{"facts": {' },
    { line: '"hello"', body: '"hello"' },
    { line: '[1,2]', body: '[1,2]' },
    {
      line: JSON.stringify({ id: 'schema', facts: { program: 'tax', customer: { zoneCaseManagement: 1 } } }),
      body: JSON.stringify({ facts: { program: 'tax', customer: { zoneCaseManagement: 1 } } }),
    },
    {
      line: JSON.stringify({ id: 'needs-received-on', facts: { program: 'centrelink', referral: { source: 'mats' } } }),
      body: JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats' } } }),
    },
    { line: JSON.stringify({ asOf: '2025-13-01', facts: directFacts }), body: JSON.stringify({ asOf: '2025-13-01', facts: directFacts }) },
    {
      line: JSON.stringify({ id: 'beyond-calendar', asOf: '2041-06-02', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2041-06-03' } } }),
      body: JSON.stringify({ asOf: '2041-06-02', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2041-06-03' } } }),
    },
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
    const bodies = [
      { asOf: '2024-11-12', facts },
      { asOf: '2025-11-12', facts: { ...facts, case: { ...facts.case, exitLetterIssuedOn: '2025-11-01' } } },
    ].map((b) => JSON.stringify(b));
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
      const { lines } = await batch('exit-readiness', `${JSON.stringify({ id: 'early', asOf: '2024-06-01', facts: { program: 'centrelink' } })}\n`, {
        on: gapApp,
      });
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

  /** A whole-request 400 naming the body: nothing to decide. */
  const expectNothingToDecide = (res: request.Response, body: 'empty' | 'blank lines only') => {
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    const problem = JSON.parse(res.body as string) as Record<string, unknown>;
    expect(problem).toEqual(
      expect.objectContaining({
        type: 'urn:ps-decisions:problem:invalid-request',
        status: 400,
        code: 'invalid-request',
        instance: batchPath('direct-referral'),
        errors: [{ pointer: '', detail: 'must hold at least one line that is not blank' }],
      }),
    );
    expect(problem.detail).toBe(`The batch holds no line to decide: its body is ${body}. Send one JSON object { "id"?, "asOf"?, "facts" } a line.`);
  };

  test('an empty body is a 400 problem naming the body, not a 200 with no lines', async () => {
    expectNothingToDecide((await batch('direct-referral', '')).res, 'empty');
  });

  test.each([
    ['one newline', '\n'],
    ['newlines', '\n\n\n'],
    ['CRLFs', '\r\n\r\n'],
    ['spaces and tabs', ' \t \n\t\n  '],
    ['spaces without a newline', '   '],
  ])('a body of blank lines only (%s) is a 400 problem naming the body', async (_what, body) => {
    expectNothingToDecide((await batch('direct-referral', body)).res, 'blank lines only');
  });

  test('a gzip body that inflates to blank lines only is a 400 problem', async () => {
    expectNothingToDecide((await batch('direct-referral', gzipSync('\n \n\n'), { headers: { 'Content-Encoding': 'gzip' } })).res, 'blank lines only');
  });

  test('blank lines before the first line are answered as they are anywhere else, each with its own problem line', async () => {
    const blanks = ['', ' \t', '\r', '   \r'];
    const before = await batch('direct-referral', `${blanks.join('\n')}\n${ok}\n`);
    expect(before.res.status).toBe(200);
    expect(before.lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.code])).toEqual([
      [1, 'invalid-json'],
      [2, 'invalid-json'],
      [3, 'invalid-json'],
      [4, 'invalid-json'],
      [5, 'decision'],
    ]);
    // The same blank lines after a decision: the same problems, line for line.
    const after = await batch('direct-referral', `${ok}\n${blanks.join('\n')}\n`);
    expect(after.lines.slice(1).map((l) => l.problem)).toEqual(before.lines.slice(0, 4).map((l) => l.problem));
    expect(before.lines[0]!.problem).toEqual(expect.objectContaining({ detail: expect.stringMatching(/^The line is empty/) }));
    expect(before.lines[1]!.problem).toEqual(expect.objectContaining({ detail: expect.stringMatching(/^The body is not valid JSON/) }));
  });

  test('a blank line over 1 MiB before the first line is a 413 line, as anywhere else', async () => {
    const { res, lines } = await batch('direct-referral', `${' '.repeat(1024 * 1024 + 1)}\n${ok}\n`);
    expect(res.status).toBe(200);
    expect(lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.code])).toEqual([
      [1, 'payload-too-large'],
      [2, 'decision'],
    ]);
  });

  test('a first line that starts with spaces is decided', async () => {
    const { res, lines } = await batch('direct-referral', `  \t${ok}`);
    expect(res.status).toBe(200);
    expect(lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.code])).toEqual([[1, 'decision']]);
  });

  test('a trailing newline makes no extra line; a last line without one is still answered', async () => {
    expect((await batch('direct-referral', `${ok}\n${ok}\n`)).lines).toHaveLength(2);
    expect((await batch('direct-referral', `${ok}\n${ok}`)).lines).toHaveLength(2);
  });

  test('an empty line in the middle is a 400 line; CRLF line ends are accepted', async () => {
    const { lines } = await batch('direct-referral', `${ok}\r\n\r\n${ok}\r\n`);
    expect(lines.map((l) => (l.decision ? 'decision' : l.problem!.code))).toEqual(['decision', 'invalid-json', 'decision']);
    expect(lines[1]!.problem!.status).toBe(400);
  });

  test('a line over 1 MiB is a 413 line, and the lines around it are decided', async () => {
    const long = JSON.stringify({ id: 'long', facts: directFacts, padding: 'x'.repeat(2 * 1024 * 1024) });
    const { lines } = await batch('direct-referral', `${ok}\n${long}\n${ok}\n`);
    expect(lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.status])).toEqual([
      [1, 'decision'],
      [2, 413],
      [3, 'decision'],
    ]);
    expect(lines[1]!.problem!.code).toBe('payload-too-large');
  });

  test("an id that is not a string or number is reported with the line's other problems", async () => {
    const { lines } = await batch('direct-referral', `${JSON.stringify({ id: { x: 1 }, facts: directFacts })}\n${JSON.stringify({ id: true, facts: {} })}\n`);
    expect(lines[0]!.problem!.errors!.map((e) => e.pointer)).toEqual(['/id']);
    expect(lines[1]!.problem!.errors!.map((e) => e.pointer)).toEqual(expect.arrayContaining(['/id', '/facts/program', '/facts/referral/source']));
    expect(lines.map((l) => l.id)).toEqual([null, null]);
  });

  test('a gzip-compressed batch is inflated', async () => {
    const { lines } = await batch('direct-referral', gzipSync(`${ok}\n${ok}\n`), { headers: { 'Content-Encoding': 'gzip' } });
    expect(lines.map((l) => l.line)).toEqual([1, 2]);
    expect(lines.every((l) => l.decision)).toBe(true);
  });

  test('5,000 lines stream through, each answered in order', async () => {
    const facts = (i: number) => ({
      program: 'child-support',
      referral: { source: i % 2 ? 'ombudsman' : 'proactive' },
      customer: { psHistory: i % 3 ? 'never' : 'previously' },
    });
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

  // A client that accepts gzip gets the stream as it is: compression would hold the lines back (app.ts).
  test.each([[''], ['gzip, deflate, br']])('the first answer arrives before the request has ended (Accept-Encoding: %s)', async (acceptEncoding) => {
    const line = (id: number) => `${JSON.stringify({ id, asOf: '2025-06-02', facts: directFacts })}\n`;
    const req = http.request({
      port,
      method: 'POST',
      path: batchPath('direct-referral'),
      headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker'), 'Accept-Encoding': acceptEncoding },
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.write(line(1));
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
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
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    await new Promise((resolve) => res.once('end', resolve));
    expect(linesOf(text).map((l) => [l.line, l.id, l.decision !== undefined])).toEqual([
      [1, 1, true],
      [2, 2, true],
    ]);
  });

  test('the 200 waits for the first line that is not blank: blank lines alone are not yet a batch', async () => {
    const req = http.request({
      port,
      method: 'POST',
      path: batchPath('direct-referral'),
      headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker') },
    });
    let answered = false;
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', (res) => {
        answered = true;
        resolve(res);
      });
      req.once('error', reject);
    });
    req.write('\n \n');
    req.flushHeaders();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing answered yet: the body so far may yet turn out empty, a 400.
    expect(answered).toBe(false);
    req.write(`${JSON.stringify({ id: 3, asOf: '2025-06-02', facts: directFacts })}\n`);
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(req.writableEnded).toBe(false);
    res.setEncoding('utf8');
    let text = '';
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    req.end();
    await new Promise((resolve) => res.once('end', resolve));
    expect(linesOf(text).map((l) => [l.line, l.id, l.decision ? 'decision' : l.problem!.code])).toEqual([
      [1, null, 'invalid-json'],
      [2, null, 'invalid-json'],
      [3, 3, 'decision'],
    ]);
  });

  test('a client that disconnects mid-batch does not take the server down', async () => {
    const req = http.request({
      port,
      method: 'POST',
      path: batchPath('direct-referral'),
      headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker') },
    });
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

describe('a batch stops at its first bound: one final problem line, then the connection closes', () => {
  const ok = (id: number) => JSON.stringify({ id, asOf: '2025-06-02', facts: directFacts });
  const queue = (count: number) => `${Array.from({ length: count }, (_, i) => ok(i + 1)).join('\n')}\n`;
  const bounded = (batchLimits: Parameters<typeof testApp>[0]['batch']) =>
    testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z'), batch: batchLimits });

  interface Exchange {
    status: number;
    type: string | undefined;
    text: string;
    lines: AnswerLine[];
    /** The server ended the connection after its answer (the client did not). */
    closedByServer: boolean;
  }

  /**
   * One batch on a keep-alive connection of its own. `send` writes the body (and may keep writing); the
   * exchange resolves once the answer has ended and the server has closed the connection, or 500 ms after
   * the answer if it has not.
   */
  async function exchange(
    server: http.Server,
    send: (req: http.ClientRequest) => void,
    headers: Record<string, string> = {},
    path = batchPath('direct-referral'),
  ): Promise<Exchange> {
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      return await new Promise<Exchange>((resolve, reject) => {
        const req = http.request({ port, method: 'POST', path, agent, headers: { 'Content-Type': NDJSON, Authorization: bearer('caseworker'), ...headers } });
        let closed = false;
        req.on('socket', (socket) =>
          socket.once('end', () => {
            closed = true;
          }),
        );
        // The client may still be writing when the server closes: that write fails, and is not the test's concern.
        req.on('error', () => {});
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('error', reject);
          res.on('end', () => {
            const settle = () =>
              resolve({
                status: res.statusCode ?? 0,
                type: res.headers['content-type'],
                text,
                lines: res.statusCode === 200 ? linesOf(text) : [],
                closedByServer: closed,
              });
            if (closed) settle();
            else {
              const timer = setTimeout(settle, 500);
              req.socket?.once('end', () => {
                closed = true;
                clearTimeout(timer);
                settle();
              });
            }
          });
        });
        send(req);
      });
    } finally {
      agent.destroy();
    }
  }

  const withServer = async (app: TestApp, run: (server: http.Server) => Promise<void>) => {
    const server = await app.listen();
    try {
      await run(server);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  };

  const summary = (lines: AnswerLine[]) => lines.map((l) => [l.line, l.decision ? 'decision' : l.problem!.code]);

  test('past the line cap: the lines within it decided and logged, then one 413 too-many-lines line naming the first line not read', async () => {
    const app = bounded({ maxLines: 3 });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(queue(5)));
      expect(answer.status).toBe(200);
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'decision'],
        [4, 'too-many-lines'],
      ]);
      const last = answer.lines[3]!;
      expect(last.id).toBeNull();
      expect(last.problem).toEqual(expect.objectContaining({ status: 413, code: 'too-many-lines', instance: batchPath('direct-referral') }));
      expect((last.problem as { detail?: string }).detail).toBe(
        'A batch may carry at most 3 lines. This line and every line after it were not decided; send them in another request.',
      );
      expect(answer.closedByServer).toBe(true);
      for (const line of answer.lines.slice(0, 3)) {
        const id = line.decision!.decisionId as string;
        expect(await app.log.find(id)).toEqual(expect.objectContaining({ decisionId: id, ruleSet: 'direct-referral' }));
      }
    });
  });

  test('exactly the cap is no stop: every line decided, no problem line, and the connection stays open', async () => {
    const app = bounded({ maxLines: 3 });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(queue(3)));
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'decision'],
      ]);
      expect(answer.closedByServer).toBe(false);
    });
  });

  test('a line begun past the cap stops the batch though it has no newline, and a client still sending is not read on', async () => {
    const app = bounded({ maxLines: 2 });
    await withServer(app, async (server) => {
      // The client sends two lines and the start of a third, then keeps the request open: the stop must not wait for it.
      const answer = await exchange(server, (req) => req.write(`${queue(2)}{"id": 3, "fa`));
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'too-many-lines'],
      ]);
      expect(answer.closedByServer).toBe(true);
    });
  });

  test('past the size bound: the lines that end within it are decided, then one 413 payload-too-large line names the line it cut', async () => {
    const body = queue(4);
    const firstTwo = Buffer.byteLength(queue(2));
    // The bound falls inside line 3.
    const app = bounded({ maxBytes: firstTwo + 10 });
    await withServer(app, async (server) => {
      // Chunked, with no Content-Length: the bound is met as the body is read, not refused from the header.
      const answer = await exchange(server, (req) => {
        req.write(body);
        req.end();
      });
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'payload-too-large'],
      ]);
      expect(answer.lines[2]!.problem!.status).toBe(413);
      expect((answer.lines[2]!.problem as { detail?: string }).detail).toBe(
        `The batch passes the limit of ${firstTwo + 10} bytes (counted inflated, when compressed). This line and every line after it were not decided; send them in another request.`,
      );
      expect(answer.closedByServer).toBe(true);
    });
  });

  test('a body that ends exactly at the size bound is answered whole', async () => {
    const body = queue(3);
    const app = bounded({ maxBytes: Buffer.byteLength(body) });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(body));
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'decision'],
      ]);
      expect(answer.closedByServer).toBe(false);
    });
  });

  test.each([
    // Quality 4: the bomb is as small at a fraction of the default's time to make.
    ['br', (data: Buffer) => brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } })],
    ['gzip', (data: Buffer) => gzipSync(data)],
  ])('a %s bomb is counted as it inflates: 64 MiB of spaces after one line stops at a 1 MiB bound', async (encoding, compress) => {
    const bomb = compress(Buffer.concat([Buffer.from(`${ok(1)}\n`), Buffer.alloc(64 * 1024 * 1024, 0x20)]));
    expect(bomb.length).toBeLessThan(256 * 1024);
    const app = bounded({ maxBytes: 1024 * 1024 });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(bomb), { 'Content-Encoding': encoding });
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'payload-too-large'],
      ]);
      expect(answer.closedByServer).toBe(true);
    });
  });

  test('a Content-Length past the size bound is refused from the header: a 413 problem before any of the body is sent, and the connection closed', async () => {
    const app = bounded({ maxBytes: 1000 });
    await withServer(app, async (server) => {
      // A raw connection: the headers only, so an answer at all shows the service did not wait for the body.
      const raw = rawConnection(
        server,
        `POST ${batchPath('direct-referral')} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer('caseworker')}\r\nContent-Type: ${NDJSON}\r\nContent-Length: 99999999999\r\n\r\n`,
      );
      // The server ends the connection after its answer.
      expect(await raw.ended).not.toBeNaN();
      raw.socket.destroy();
      const [head = '', text = ''] = raw.received().split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      expect(head).toMatch(/\r\nConnection: close\r\n/i);
      expect(head).toMatch(/\r\nContent-Type: application\/problem\+json/i);
      expect(JSON.parse(text)).toEqual(
        expect.objectContaining({
          code: 'payload-too-large',
          detail:
            "The body's Content-Length (99999999999) passes the limit of 1000 bytes a batch may hold; it was not read. Send the lines in smaller batches.",
        }),
      );
    });
  });

  test('past the time bound, even while waiting for a slow client: the lines answered so far, then one 503 timeout line, then the close', async () => {
    const app = bounded({ maxMs: 300 });
    await withServer(app, async (server) => {
      const started = performance.now();
      // Two lines, then nothing more: the request stays open.
      const answer = await exchange(server, (req) => req.write(queue(2)));
      const took = performance.now() - started;
      expect(summary(answer.lines)).toEqual([
        [1, 'decision'],
        [2, 'decision'],
        [3, 'timeout'],
      ]);
      expect(answer.lines[2]!.problem!.status).toBe(503);
      expect(answer.closedByServer).toBe(true);
      expect(took).toBeGreaterThanOrEqual(290);
    });
  });

  test('blank lines alone up to the line cap are no empty batch: a 200, each answered, then the stop line', async () => {
    const app = bounded({ maxLines: 2 });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(`\n\n\n${ok(1)}\n`));
      expect(answer.status).toBe(200);
      expect(summary(answer.lines)).toEqual([
        [1, 'invalid-json'],
        [2, 'invalid-json'],
        [3, 'too-many-lines'],
      ]);
      expect(answer.closedByServer).toBe(true);
    });
  });

  test('the time bound passing while only blank lines have come: a 200 with the one 503 timeout line, then the close', async () => {
    const app = bounded({ maxMs: 300 });
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.write('\n\n'));
      expect(answer.status).toBe(200);
      expect(summary(answer.lines)).toEqual([[1, 'timeout']]);
      expect(answer.closedByServer).toBe(true);
    });
  });

  test('a corrupt compressed body: the lines before the break answered, one line saying it could not be read on, then the close', async () => {
    const whole = gzipSync(queue(50));
    const broken = Buffer.concat([whole.subarray(0, Math.floor(whole.length / 2)), Buffer.from('this is not gzip at all')]);
    await withServer(app, async (server) => {
      const answer = await exchange(server, (req) => req.end(broken), { 'Content-Encoding': 'gzip' });
      const last = answer.lines[answer.lines.length - 1]!;
      expect(last.problem!.code).toBe('invalid-json');
      expect(last.line).toBe(answer.lines.length);
      expect(answer.lines.slice(0, -1).every((l, i) => l.line === i + 1 && l.decision !== undefined)).toBe(true);
      expect(answer.closedByServer).toBe(true);
    });
  });
});
