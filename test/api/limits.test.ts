// The rate per API key and the time per request: what a caller is told when past either, and that nothing breaks after.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { authorize, keysFromEnvironment } from '../../src/api/access';
import {
  DEFAULT_SERVER_TIMEOUTS,
  limitsFromEnvironment,
  rateLimitPerKey,
  workerShare,
  requestTimeout,
  serverTimeouts,
} from '../../src/api/limits';
import { problemOf, sendProblem } from '../../src/api/problem';
import { DecisionError } from '../../src/errors';

const CW = 'caseworker-secret-abcdefghijklmnop';
const POL = 'policy-secret-abcdefghijklmnopqrstu';
const { ring } = keysFromEnvironment({ API_KEYS: `cw1:caseworker:${CW},pol1:policy:${POL}` });

/** The service's error rendering, as app.ts does it: nothing once a response has begun. */
function problems(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  sendProblem(res, problemOf(error instanceof DecisionError ? error : new DecisionError('internal', 'failed'), req.originalUrl));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rateLimitPerKey', () => {
  function limitedApp(perMinute: number, clock?: () => number) {
    const app = express();
    app.get('/evaluate', authorize(ring, 'evaluate'), rateLimitPerKey({ perMinute, clock }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(problems);
    return app;
  }

  test('the (limit + 1)th request in a minute for a key is a 429 problem with Retry-After; another key is unaffected', async () => {
    const app = limitedApp(3);
    for (let i = 0; i < 3; i += 1) {
      const ok = await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit']).toMatch(new RegExp(`r=${2 - i}; t=\\d+`));
      expect(ok.headers['ratelimit-policy']).toMatch(/q=3; w=60/);
      expect(ok.headers['x-ratelimit-limit']).toBeUndefined();
    }
    const limited = await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.body).toMatchObject({ status: 429, code: 'rate-limited', type: 'urn:ps-decisions:problem:rate-limited', instance: '/evaluate' });
    expect(limited.body.detail).toMatch(/^Key "cw1" has made more than its 3 requests a minute; try again in \d+ s\.$/);
    expect(limited.text).not.toContain(CW);

    const other = await request(app).get('/evaluate').set('Authorization', `Bearer ${POL}`);
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit']).toMatch(/r=2;/);
  });

  test('a key\'s window is 60 s from its first request; then its allowance is whole again', async () => {
    let now = 1_000_000;
    const app = limitedApp(2, () => now);
    const get = () => request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
    expect((await get()).headers['ratelimit']).toBe('"2-in-1min"; r=1; t=60');
    now += 45_500;
    expect((await get()).headers['ratelimit']).toBe('"2-in-1min"; r=0; t=15');
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('15');
    now += 14_499; // 1 ms before the window ends
    expect((await get()).status).toBe(429);
    now += 1;
    const again = await get();
    expect(again.status).toBe(200);
    expect(again.headers['ratelimit']).toBe('"2-in-1min"; r=1; t=60');
    expect(again.headers['ratelimit-policy']).toMatch(/^"2-in-1min"; q=2; w=60; pk=:[A-Za-z0-9+/=]+:$/);
  });

  test('a request without a key is refused before it is counted', async () => {
    const app = limitedApp(1);
    for (let i = 0; i < 3; i += 1) expect((await request(app).get('/evaluate')).status).toBe(401);
    expect((await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`)).status).toBe(200);
  });

  test('0 is no limit', async () => {
    const app = limitedApp(0);
    for (let i = 0; i < 20; i += 1) {
      const res = await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit']).toBeUndefined();
    }
  });

  test('mounted before authorize(), it fails loudly rather than counting everyone as one', async () => {
    const app = express();
    app.get('/evaluate', rateLimitPerKey({ perMinute: 5 }), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(problems);
    expect((await request(app).get('/evaluate')).status).toBe(500);
  });

  test('refuses a limit that is not a whole number', () => {
    expect(() => rateLimitPerKey({ perMinute: -1 })).toThrow(/0 or more/);
    expect(() => rateLimitPerKey({ perMinute: 1.5 })).toThrow(/whole number/);
  });

  test('workerShare: each worker allows its share, so the cluster never exceeds the limit', () => {
    expect(workerShare(6000, 2)).toBe(3000);
    expect(workerShare(5, 2)).toBe(3);
    expect(workerShare(1, 4)).toBe(1);
    expect(workerShare(0, 2)).toBe(0);
    expect(workerShare(100, 1)).toBe(100);
  });
});

describe('requestTimeout', () => {
  const TIMEOUT_MS = 100;
  const LATE_MS = 250;
  /** Errors the routes met answering late; none is expected. */
  const lateErrors: unknown[] = [];
  const timedOutSeen: unknown[] = [];
  const lateDone: Promise<void>[] = [];

  const app = express();
  app.use(requestTimeout(TIMEOUT_MS));
  app.get('/quick', (_req, res) => {
    res.json({ ok: true });
  });
  // Answers from a timer: a throw here would be uncaught and end the process.
  app.get('/late-json', (_req, res) => {
    lateDone.push(new Promise((resolve) => {
      setTimeout(() => {
        timedOutSeen.push(res.locals.timedOut);
        try {
          res.status(200).json({ late: true });
        } catch (error) {
          lateErrors.push(error);
        }
        resolve();
      }, LATE_MS);
    }));
  });
  // Answers the way the evaluate hot path does: writeHead, then end.
  app.get('/late-raw', (_req, res) => {
    lateDone.push(new Promise((resolve) => {
      setTimeout(() => {
        try {
          res.setHeader('X-Decision-Id', 'late');
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"late":');
          res.end('true}', () => resolve());
        } catch (error) {
          lateErrors.push(error);
          resolve();
        }
      }, LATE_MS);
    }));
  });
  // An async route that fails late: the error reaches the error handler after the 503 has gone.
  app.get('/late-error', async () => {
    await sleep(LATE_MS);
    throw new DecisionError('invalid-request', 'too late to say so');
  });
  app.use(problems);

  let server: Server;
  let port: number;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await new Promise((resolve) => server.close(resolve));
  });

  /** Everything the server sends on one keep-alive connection for one request, read until well after the route's late answer. */
  async function rawExchange(path: string): Promise<string> {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
    await sleep(LATE_MS + 200);
    socket.destroy();
    return received;
  }

  test('a route that answers in time is not disturbed, and no 503 follows', async () => {
    const raw = await rawExchange('/quick');
    expect(raw.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200']);
  });

  test.each(['/late-json', '/late-raw', '/late-error'])('%s: exactly one 503 timeout problem, and the late answer is harmless', async (path) => {
    lateErrors.length = 0;
    const res = await request(server).get(path);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'timeout', type: 'urn:ps-decisions:problem:timeout', instance: path });
    expect(res.body.detail).toBe(`No answer was ready within ${TIMEOUT_MS} ms, so the request was abandoned; it may be sent again.`);

    // On a raw keep-alive connection: one status line, no second response after the route's own.
    const raw = await rawExchange(path);
    expect(raw.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 503']);
    expect(raw).not.toContain('{"late"');
    expect(raw).not.toContain('X-Decision-Id');
    await Promise.all(lateDone);
    expect(lateErrors).toEqual([]);
    expect(uncaught).toEqual([]);
  });

  test('the route can see it has timed out', async () => {
    timedOutSeen.length = 0;
    await request(server).get('/late-json');
    await Promise.all(lateDone);
    expect(timedOutSeen).toEqual([true]);
  });

  test('the connection stays usable after a timeout', async () => {
    const agent = request.agent(server);
    expect((await agent.get('/late-raw')).status).toBe(503);
    expect((await agent.get('/quick')).status).toBe(200);
    await Promise.all(lateDone);
  });

  test('refuses a time that is not a positive whole number', () => {
    expect(() => requestTimeout(0)).toThrow(/more than 0/);
    expect(() => requestTimeout(Number.NaN)).toThrow(/whole number/);
  });
});

describe('serverTimeouts', () => {
  test('sets the given timeouts, and defaults for the rest', () => {
    const server = createServer();
    serverTimeouts(server, { requestMs: 60_000, headersMs: 5_000, keepAliveMs: 75_000 });
    expect([server.requestTimeout, server.headersTimeout, server.keepAliveTimeout]).toEqual([60_000, 5_000, 75_000]);
    serverTimeouts(server);
    expect([server.requestTimeout, server.headersTimeout, server.keepAliveTimeout]).toEqual([DEFAULT_SERVER_TIMEOUTS.requestMs, DEFAULT_SERVER_TIMEOUTS.headersMs, DEFAULT_SERVER_TIMEOUTS.keepAliveMs]);
    // Keep-alive outlasts a 60 s balancer idle timeout; headers come well within the request's time.
    expect(DEFAULT_SERVER_TIMEOUTS.keepAliveMs).toBeGreaterThan(60_000);
    expect(DEFAULT_SERVER_TIMEOUTS.headersMs).toBeLessThan(DEFAULT_SERVER_TIMEOUTS.requestMs);
  });

  test('refuses headers allowed as long as the whole request, or a time that is not positive', () => {
    const server = createServer();
    expect(() => serverTimeouts(server, { requestMs: 10_000, headersMs: 10_000 })).toThrow('serverTimeouts: headersMs (10000) must be less than requestMs (10000).');
    expect(() => serverTimeouts(server, { keepAliveMs: 0 })).toThrow(/keepAliveMs must be a whole number/);
  });
});

describe('limitsFromEnvironment', () => {
  test('defaults', () => {
    expect(limitsFromEnvironment({})).toEqual({ ratePerMinute: 6000, requestTimeoutMs: 10_000 });
    expect(limitsFromEnvironment({ RATE_LIMIT_PER_MINUTE: ' ', REQUEST_TIMEOUT_MS: '' })).toEqual({ ratePerMinute: 6000, requestTimeoutMs: 10_000 });
  });

  test('values', () => {
    expect(limitsFromEnvironment({ RATE_LIMIT_PER_MINUTE: '120', REQUEST_TIMEOUT_MS: '2500' })).toEqual({ ratePerMinute: 120, requestTimeoutMs: 2500 });
    expect(limitsFromEnvironment({ RATE_LIMIT_PER_MINUTE: '0' }).ratePerMinute).toBe(0);
  });

  test.each([
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['RATE_LIMIT_PER_MINUTE', 'lots'],
    ['RATE_LIMIT_PER_MINUTE', '1.5'],
    ['RATE_LIMIT_PER_MINUTE', '1e3'],
    ['REQUEST_TIMEOUT_MS', '0'],
    ['REQUEST_TIMEOUT_MS', '10s'],
  ])('%s=%s is refused, naming the variable', (name, value) => {
    expect(() => limitsFromEnvironment({ [name]: value })).toThrow(new RegExp(`^${name} must be .* \\(got "${value.replace('.', '\\.')}"\\)\\.$`));
  });
});
