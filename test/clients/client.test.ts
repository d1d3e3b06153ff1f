// The TypeScript client (clients/typescript) against the service itself: a real HTTP server on a free port, called
// with Node's own fetch through openapi-fetch. Where a test needs an answer the service gives only after a minute (a
// 429 that lifts), a small real server in front of the app gives that answer once, then hands over to the app.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createPsClient,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  ProblemError,
  RateLimitedError,
  retryAfterSeconds,
  UnauthorizedError,
  type BatchRequestLine,
  type PsClientOptions,
} from '../../clients/typescript/src';
import { segmentAllocation } from '../../src/rulesets/segment-allocation';
import { TEST_SECRETS, testApp } from '../support/app';
import { ROOT, shippedRules } from '../support';

const registry = shippedRules();
const clock = () => new Date('2025-06-01T15:00:00Z');
const app = testApp({ rules: () => registry, clock });
const facts = segmentAllocation.example;

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listening(listener: RequestListener): Promise<string> {
  const server = createServer(listener).listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let baseUrl: string;
beforeAll(async () => {
  const server = await app.listen();
  servers.push(server);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const client = (options: Partial<PsClientOptions> = {}) => createPsClient({ baseUrl, apiKey: TEST_SECRETS.caseworker, ...options });

/** Collects an async iterable's items. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The body of a request, as text. */
async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

test('the package asks for the openapi-fetch the repository installs and tests with', () => {
  const version = (file: string, field: 'dependencies' | 'devDependencies') =>
    (JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, Record<string, string>>)[field]?.['openapi-fetch'];
  expect(version('clients/typescript/package.json', 'dependencies')).toBe(version('package.json', 'devDependencies'));
});

test('the client loads as CommonJS: openapi-fetch is required through its "require" export (dist/index.cjs)', () => {
  expect(require.resolve('openapi-fetch')).toMatch(/openapi-fetch[/\\]dist[/\\]index\.cjs$/);
});

describe('evaluate', () => {
  test('one segment allocation: a decision whose outcome.segment is 1, 2 or 3', async () => {
    const decision = await client().evaluate('segment-allocation', { facts });
    expect(decision.ruleSet).toBe('segment-allocation');
    expect([1, 2, 3]).toContain(decision.outcome.segment);
    expect(decision.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(decision.summary.reasons.length).toBeGreaterThan(0);
  });

  test('explain: none answers the short decision', async () => {
    const decision = await client().evaluate('segment-allocation', { asOf: '2025-06-02', facts }, { explain: 'none' });
    expect(Object.keys(decision).sort()).toEqual(['asOf', 'decisionId', 'defaultsApplied', 'fired', 'outcome', 'ruleSet', 'version']);
    expect(decision.asOf).toBe('2025-06-02');
  });

  test('facts the contract refuses: an InvalidRequestError naming each place', async () => {
    const error = await client()
      .evaluate('segment-allocation', { facts: { program: 42 } } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    const problem = error as InvalidRequestError;
    expect(problem).toMatchObject({ status: 400, code: 'invalid-request', name: 'InvalidRequestError' });
    expect(problem.errors.map((e) => e.pointer)).toContain('/facts/program');
    expect(problem.problem).toMatchObject({ type: 'urn:ps-decisions:problem:invalid-request', status: 400 });
  });

  test('a rule set the service does not have: a NotFoundError', async () => {
    const error = await client()
      // As a tool built against an older document might send it: once RuleSetName is an enum, the compiler refuses it.
      .evaluate('no-such-rule-set' as never, { facts })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'unknown-rule-set' });
  });
});

describe('problems as typed errors', () => {
  test('a wrong key: an UnauthorizedError (401) with its challenge', async () => {
    const wrong = client({ apiKey: 'not-a-key-the-service-knows-0123456789' });
    const error = await wrong.evaluate('segment-allocation', { facts }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toBeInstanceOf(ProblemError);
    const problem = error as UnauthorizedError;
    expect(problem).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(problem.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=/);
    await expect(wrong.ruleSets()).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(collect(wrong.evaluateBatch('segment-allocation', [{ facts }]))).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('a key whose role may not decide: a ForbiddenError (403); it may still read the rules', async () => {
    const auditor = client({ apiKey: TEST_SECRETS.auditor });
    await expect(auditor.evaluate('segment-allocation', { facts })).rejects.toMatchObject({ name: 'ForbiddenError', status: 403, code: 'forbidden' });
    await expect(auditor.evaluate('segment-allocation', { facts })).rejects.toBeInstanceOf(ForbiddenError);
    expect((await auditor.ruleSets()).map((r) => r.name)).toContain('segment-allocation');
  });

  test('past the rate: a RateLimitedError (429) with retryAfter, thrown at once with maxRetries: 0', async () => {
    const limited = testApp({ rules: () => registry, clock, ratePerMinute: 2 });
    const server = await limited.listen();
    servers.push(server);
    const once = createPsClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: TEST_SECRETS.caseworker, maxRetries: 0 });
    await once.evaluate('segment-allocation', { facts });
    await once.evaluate('segment-allocation', { facts });
    const started = Date.now();
    const error = await once.evaluate('segment-allocation', { facts }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(RateLimitedError);
    const limitedError = error as RateLimitedError;
    expect(limitedError).toMatchObject({ status: 429, code: 'rate-limited' });
    expect(limitedError.retryAfter).toBeGreaterThan(0);
    expect(limitedError.retryAfter).toBeLessThanOrEqual(60);
  });
  test("an answer that is not a problem (a proxy's page): still a ProblemError, with the text it sent", async () => {
    const url = await listening((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
    });
    const error = await createPsClient({ baseUrl: url, apiKey: 'k' })
      .ruleSets()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).toMatchObject({ status: 502, problem: undefined, code: undefined, text: '<h1>Bad gateway</h1>' });
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2025-06-02T00:00:00Z');
    expect(retryAfterSeconds('7', now)).toBe(7);
    expect(retryAfterSeconds('Mon, 02 Jun 2025 00:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds('Sun, 01 Jun 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });
});

describe('ruleSets and ruleSet', () => {
  test('the list, and one rule set as of a date', async () => {
    const all = await client().ruleSets();
    expect(all.map((r) => r.name)).toEqual(expect.arrayContaining(['direct-referral', 'segment-allocation']));
    const detail = await client().ruleSet('segment-allocation', { asOf: '2025-06-02' });
    expect(detail.name).toBe('segment-allocation');
    expect(detail.rules.length).toBeGreaterThan(0);
    await expect(client().ruleSet('segment-allocation', { asOf: '2025-02-30' })).rejects.toMatchObject({ status: 400, code: 'invalid-request' });
  });
});

describe('evaluateBatch', () => {
  test('1,000 lines, 10 of them bad: 990 typed decisions and 10 typed problems, in order, lines 1 to 1000', async () => {
    // Every 100th line is bad: facts of the wrong type, or (every other one) a line that is not JSON, sent as raw text.
    const bad = (i: number) => i % 100 === 0;
    function* lines(): Generator<BatchRequestLine | string> {
      for (let i = 1; i <= 1000; i += 1) {
        if (!bad(i)) yield { id: i, asOf: '2025-06-02', facts };
        else if (i % 200 === 0) yield `{"id": ${i}, "facts": not json`;
        else yield { id: i, facts: { program: 42 } } as never;
      }
    }
    const answers = await collect(client().evaluateBatch('segment-allocation', lines(), { explain: 'none' }));
    expect(answers.map((a) => a.line)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const decisions = answers.flatMap((a) => ('decision' in a ? [a] : []));
    const problems = answers.flatMap((a) => ('problem' in a ? [a] : []));
    expect(decisions).toHaveLength(990);
    expect(problems).toHaveLength(10);
    for (const a of decisions) {
      expect(a.id).toBe(a.line);
      expect(a.decision.ruleSet).toBe('segment-allocation');
      expect([1, 2, 3]).toContain(a.decision.outcome.segment);
    }
    expect(problems.map((p) => [p.line, p.problem.code])).toEqual(
      Array.from({ length: 10 }, (_, k) => (k + 1) * 100).map((line) => [line, line % 200 === 0 ? 'invalid-json' : 'invalid-request']),
    );
    expect(problems.filter((p) => p.problem.code === 'invalid-request').every((p) => p.id === p.line)).toBe(true);
    expect(problems.filter((p) => p.problem.code === 'invalid-json').every((p) => p.id === null)).toBe(true);
  });

  test('streams both ways: the second line is sent only after the first answer line has arrived', async () => {
    // Were the request body buffered before sending, or the answer before yielding, this would wait forever.
    let firstAnswer!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
    async function* lines(): AsyncGenerator<BatchRequestLine> {
      yield { id: 'first', facts };
      await answered;
      yield { id: 'second', facts };
    }
    const seen: (string | number | null)[] = [];
    for await (const answer of client().evaluateBatch('segment-allocation', lines(), { explain: 'summary' })) {
      seen.push(answer.id);
      if (answer.id === 'first') firstAnswer();
    }
    expect(seen).toEqual(['first', 'second']);
  });

  test('what goes on the wire is NDJSON, streamed: one JSON object a line, not a JSON-quoted string', async () => {
    const received: { type?: string; length?: string; encoding?: string; body: string }[] = [];
    const url = await listening((req, res) => {
      void bodyOf(req).then((body) => {
        received.push({ type: req.headers['content-type'], length: req.headers['content-length'], encoding: req.headers['transfer-encoding'], body });
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        res.end(
          body
            .split('\n')
            .filter(Boolean)
            .map((line, i) => `${JSON.stringify({ line: i + 1, id: null, decision: JSON.parse(line) as unknown })}\n`)
            .join(''),
        );
      });
    });
    const lines = [{ id: 1, facts }, '{"id":2,"facts":{}}', { id: 'three', asOf: '2025-06-02', facts: { program: 'centrelink' as const } }];
    const answers = await collect(createPsClient({ baseUrl: url, apiKey: 'k' }).evaluateBatch('segment-allocation', lines));
    expect(received).toEqual([
      {
        type: 'application/x-ndjson',
        length: undefined,
        encoding: 'chunked',
        body: `${JSON.stringify(lines[0])}\n{"id":2,"facts":{}}\n${JSON.stringify(lines[2])}\n`,
      },
    ]);
    expect(answers.map((a) => a.line)).toEqual([1, 2, 3]);
  });

  test('a raw line holding a line break is refused before it is sent as two', async () => {
    await expect(collect(client().evaluateBatch('segment-allocation', [{ facts }, '{"facts":{}}\n{"facts":{}}']))).rejects.toThrow(/must be one line/);
  });

  test('leaving the loop early ends the request, and the generator feeding it is closed', async () => {
    let closed = false;
    // Endless, as a source read from a queue is, at the pace of one: a source that floods the service as fast as it can
    // yield (a hundred thousand lines before the answer's first arrives, on a loaded machine) meets the batch's limits,
    // which are not what this test is about.
    async function* lines(): AsyncGenerator<BatchRequestLine> {
      try {
        for (let i = 1; ; i += 1) {
          if (i > 20) await new Promise((resolve) => setTimeout(resolve, 5));
          yield { id: i, facts };
        }
      } finally {
        closed = true;
      }
    }
    let count = 0;
    for await (const answer of client().evaluateBatch('segment-allocation', lines(), { explain: 'none' })) {
      count += 1;
      if (answer.line === 5) break;
    }
    expect(count).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(true);
  });
});

describe('retries on 429', () => {
  /** A real server in front of the app: its first `refusals` requests are answered 429 with Retry-After: 1, the rest by the app. */
  async function refusingFirst(refusals: number): Promise<{ url: string; requests: () => number }> {
    let requests = 0;
    const url = await listening((req, res) => {
      requests += 1;
      if (requests > refusals) {
        app.listener(req, res);
        return;
      }
      // Read what was sent first, as the service's limiter does not need to: the client is then sure to get the answer.
      void bodyOf(req).then(() => {
        res.writeHead(429, { 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
        res.end(
          JSON.stringify({
            type: 'urn:ps-decisions:problem:rate-limited',
            title: 'Too many requests',
            status: 429,
            detail: 'Key "cw1" has made more than its 2 requests a minute; try again in 1 s.',
            code: 'rate-limited',
          }),
        );
      });
    });
    return { url, requests: () => requests };
  }

  test('evaluate answered 429 once is sent again after Retry-After and succeeds', async () => {
    const gate = await refusingFirst(1);
    const started = Date.now();
    const decision = await createPsClient({ baseUrl: gate.url, apiKey: TEST_SECRETS.caseworker }).evaluate('segment-allocation', { facts });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect([1, 2, 3]).toContain(decision.outcome.segment);
    expect(gate.requests()).toBe(2);
  });

  test('retries are bounded: past maxRetries the 429 is thrown', async () => {
    const gate = await refusingFirst(3);
    const error = await createPsClient({ baseUrl: gate.url, apiKey: TEST_SECRETS.caseworker, maxRetries: 1 })
      .evaluate('segment-allocation', { facts })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBe(1);
    expect(gate.requests()).toBe(2);
  });

  test('a Retry-After longer than maxRetryAfter is not waited out: the 429 is thrown at once', async () => {
    const gate = await refusingFirst(1);
    const started = Date.now();
    const error = await createPsClient({ baseUrl: gate.url, apiKey: TEST_SECRETS.caseworker, maxRetryAfter: 0 })
      .evaluate('segment-allocation', { facts })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(gate.requests()).toBe(1);
  });

  test('a batch given as an array is sent again in full', async () => {
    const gate = await refusingFirst(1);
    const lines = [1, 2, 3].map((id) => ({ id, facts }));
    const answers = await collect(createPsClient({ baseUrl: gate.url, apiKey: TEST_SECRETS.caseworker }).evaluateBatch('segment-allocation', lines));
    expect(answers.map((a) => [a.line, a.id, 'decision' in a])).toEqual([
      [1, 1, true],
      [2, 2, true],
      [3, 3, true],
    ]);
    expect(gate.requests()).toBe(2);
  });

  test('a batch streamed from a generator is never sent again: its lines were consumed by the first request', async () => {
    const gate = await refusingFirst(1);
    function* lines(): Generator<BatchRequestLine> {
      for (let id = 1; id <= 3; id += 1) yield { id, facts };
    }
    const batch = createPsClient({ baseUrl: gate.url, apiKey: TEST_SECRETS.caseworker, maxRetries: 3 }).evaluateBatch('segment-allocation', lines());
    await expect(collect(batch)).rejects.toBeInstanceOf(RateLimitedError);
    expect(gate.requests()).toBe(1);
  });
});
