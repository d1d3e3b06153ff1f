// The rate per API key and the time per request: what a caller is told when past either, and that nothing breaks after.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { rawConnection } from '../support/raw';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { authorize, keysFromEnvironment } from '../../src/api/access';
import { DEFAULT_BATCH_LIMITS, DEFAULT_SERVER_LIMITS, limitedServer, rateLimitPerKey, workerShare, requestTimeout } from '../../src/api/limits';
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
  function limitedApp(perMinute: number) {
    const app = express();
    app.get('/evaluate', authorize(ring, 'evaluate'), rateLimitPerKey({ perMinute }), (_req, res) => {
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

  test("a key's window is 60 s from its first request; then its allowance is whole again", async () => {
    // express-rate-limit reads Date.now(): only the date is faked, so sockets and timers run as ever.
    jest.useFakeTimers({
      now: 1_000_000,
      doNotFake: [
        'nextTick',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });
    try {
      const app = limitedApp(2);
      const get = () => request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
      expect((await get()).headers['ratelimit']).toBe('"2-in-1min"; r=1; t=60');
      jest.setSystemTime(1_000_000 + 45_500);
      expect((await get()).headers['ratelimit']).toBe('"2-in-1min"; r=0; t=15');
      const refused = await get();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('15');
      jest.setSystemTime(1_000_000 + 59_999); // 1 ms before the window ends
      expect((await get()).status).toBe(429);
      jest.setSystemTime(1_000_000 + 60_000);
      const again = await get();
      expect(again.status).toBe(200);
      expect(again.headers['ratelimit']).toBe('"2-in-1min"; r=1; t=60');
      expect(again.headers['ratelimit-policy']).toMatch(/^"2-in-1min"; q=2; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    } finally {
      jest.useRealTimers();
    }
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
    expect(() => rateLimitPerKey({ perMinute: 5, workers: 0 })).toThrow(/workers must be a whole number, 1 or more/);
  });

  test('workerShare: each worker allows its share, rounded down, so the cluster never exceeds the limit', () => {
    expect(workerShare(6000, 2)).toBe(3000);
    expect(workerShare(5, 2)).toBe(2);
    expect(workerShare(100, 3)).toBe(33);
    expect(workerShare(0, 2)).toBe(0);
    expect(workerShare(100, 1)).toBe(100);
    // A limit below the number of workers cannot be split: each allows one.
    expect(workerShare(1, 4)).toBe(1);
  });

  test.each([
    [60, 2, 30],
    [5, 2, 2],
    [7, 3, 2],
    [3, 1, 3],
  ])(
    'with a limit of %i over %i workers, a worker allows %i; its headers state the limit, and r reaches 0 with the last it allows',
    async (perMinute, workers, allowed) => {
      const app = express();
      app.get('/evaluate', authorize(ring, 'evaluate'), rateLimitPerKey({ perMinute, workers }), (_req, res) => {
        res.json({ ok: true });
      });
      app.use(problems);
      const remaining: number[] = [];
      for (let i = 0; i < allowed; i += 1) {
        const ok = await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`);
        expect(ok.status).toBe(200);
        expect(ok.headers['ratelimit-policy']).toMatch(new RegExp(`^"${perMinute}-in-1min"; q=${perMinute}; w=60;`));
        remaining.push(Number(/r=(\d+)/.exec(ok.headers['ratelimit'] as string)?.[1]));
      }
      expect(remaining[remaining.length - 1]).toBe(0);
      expect(remaining.slice(0, -1).every((r) => r > 0)).toBe(true);
      expect((await request(app).get('/evaluate').set('Authorization', `Bearer ${CW}`)).status).toBe(429);
    },
  );
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
    lateDone.push(
      new Promise((resolve) => {
        setTimeout(() => {
          timedOutSeen.push(res.locals.timedOut);
          try {
            res.status(200).json({ late: true });
          } catch (error) {
            lateErrors.push(error);
          }
          resolve();
        }, LATE_MS);
      }),
    );
  });
  // Answers the way the evaluate hot path does: writeHead, then end.
  app.get('/late-raw', (_req, res) => {
    lateDone.push(
      new Promise((resolve) => {
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
      }),
    );
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

describe('a request timed out while its body is still arriving', () => {
  const app = express();
  app.use(requestTimeout(200));
  // Reads the body as evaluate does: nothing is answered before all of it has come.
  app.post('/body', express.json(), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(problems);

  test('is answered 503 with Connection: close, and the server ends the connection after it', async () => {
    const server = limitedServer(app);
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const started = performance.now();
      // When the server ended the connection; NaN if it had not within 5 s (it would have read on, dumping the body).
      const { socket, received, ended } = rawConnection(
        server,
        'POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
        5_000,
      );
      // A byte every 50 ms: the body would take 50 s to arrive.
      const drip = setInterval(() => socket.write(' '), 50);
      const endedAt = await ended;
      clearInterval(drip);
      socket.destroy();
      expect(received()).toMatch(/^HTTP\/1\.1 503 /);
      expect(received()).toMatch(/\r\nConnection: close\r\n/i);
      expect(received()).toContain('"code":"timeout"');
      expect(endedAt - started).toBeLessThan(5_000);
      expect(endedAt - started).toBeGreaterThanOrEqual(190);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('limitedServer', () => {
  test('applies the given limits, and defaults for the rest', () => {
    const server = limitedServer(() => {}, { requestMs: 60_000, headersMs: 5_000, idleMs: 20_000, keepAliveMs: 75_000 });
    expect([server.requestTimeout, server.headersTimeout, server.timeout, server.keepAliveTimeout]).toEqual([60_000, 5_000, 20_000, 75_000]);
    const defaults = limitedServer(() => {});
    expect([defaults.requestTimeout, defaults.headersTimeout, defaults.timeout, defaults.keepAliveTimeout]).toEqual([
      DEFAULT_SERVER_LIMITS.requestMs,
      DEFAULT_SERVER_LIMITS.headersMs,
      DEFAULT_SERVER_LIMITS.idleMs,
      DEFAULT_SERVER_LIMITS.keepAliveMs,
    ]);
    // Keep-alive outlasts a 60 s balancer idle timeout; headers come well within the request's time; Node's own request
    // timeout outlasts a batch's, so a batch ends with its own final line.
    expect(DEFAULT_SERVER_LIMITS.keepAliveMs).toBeGreaterThan(60_000);
    expect(DEFAULT_SERVER_LIMITS.headersMs).toBeLessThan(DEFAULT_SERVER_LIMITS.requestMs);
    expect(DEFAULT_SERVER_LIMITS.requestMs).toBeGreaterThan(DEFAULT_BATCH_LIMITS.maxMs + DEFAULT_SERVER_LIMITS.headersMs);
  });

  test('refuses headers allowed as long as the whole request, or a limit that is not positive', () => {
    expect(() => limitedServer(() => {}, { requestMs: 10_000, headersMs: 10_000 })).toThrow(
      'limitedServer: headersMs (10000) must be less than requestMs (10000).',
    );
    expect(() => limitedServer(() => {}, { keepAliveMs: 0 })).toThrow(/keepAliveMs must be a whole number/);
    expect(() => limitedServer(() => {}, { maxConnections: 1.5 })).toThrow(/maxConnections must be a whole number/);
  });

  describe('against a listening server', () => {
    let server: Server;
    let port: number;
    const listen = async (limits: Parameters<typeof limitedServer>[1]) => {
      // Answers once the whole body has come, as a route that reads its body does.
      server = limitedServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.setHeader('Content-Type', 'text/plain');
          res.end('ok');
        });
      }, limits);
      server.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      port = (server.address() as AddressInfo).port;
    };
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    /** A raw connection: what the server sent, and when it closed the connection (ms after open; undefined while open). */
    function rawConnection() {
      const socket = connect(port, '127.0.0.1');
      const opened = performance.now();
      const state = { received: '', closedAfterMs: undefined as number | undefined, socket };
      socket.on('data', (chunk) => {
        state.received += chunk.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        state.closedAfterMs = performance.now() - opened;
      });
      return state;
    }
    const until = async (done: () => boolean, ms: number) => {
      const deadline = performance.now() + ms;
      while (!done() && performance.now() < deadline) await sleep(20);
    };

    test('a client that never finishes its headers (a slowloris) is answered 408 and closed at the header timeout', async () => {
      await listen({ headersMs: 500, requestMs: 5_000 });
      const slow = rawConnection();
      slow.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
      // A header line every 100 ms, never the blank line that ends them.
      const drip = setInterval(() => slow.socket.write(`X-Slow: ${Date.now()}\r\n`), 100);
      await until(() => slow.closedAfterMs !== undefined, 4_000);
      clearInterval(drip);
      expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
      // Node checks each second (not its default 30 s), so the close comes within a second of the timeout.
      expect(slow.closedAfterMs).toBeGreaterThanOrEqual(500);
      expect(slow.closedAfterMs).toBeLessThan(2_500);
    });

    test('a request whose client goes silent mid-body is closed at the idle timeout', async () => {
      await listen({ idleMs: 400 });
      const silent = rawConnection();
      silent.socket.write('POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789');
      await until(() => silent.closedAfterMs !== undefined, 4_000);
      expect(silent.closedAfterMs).toBeGreaterThanOrEqual(400);
      expect(silent.closedAfterMs).toBeLessThan(2_000);
    });

    test('connections past the cap are closed as they arrive; those within it are served, and a freed place is taken again', async () => {
      await listen({ maxConnections: 2 });
      const held = [rawConnection(), rawConnection()];
      await sleep(100);
      const surplus = rawConnection();
      await until(() => surplus.closedAfterMs !== undefined, 2_000);
      expect(surplus.closedAfterMs).toBeDefined();
      expect(surplus.received).toBe('');
      for (const connection of held) {
        connection.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      }
      await until(() => held.every((c) => c.received.includes('ok')), 2_000);
      expect(held.map((c) => c.received.match(/^HTTP\/1\.1 (\d{3})/)?.[1])).toEqual(['200', '200']);
      expect(held.map((c) => c.closedAfterMs)).toEqual([undefined, undefined]);
      held[0]!.socket.destroy();
      await until(() => held[0]!.closedAfterMs !== undefined, 1_000);
      await sleep(50);
      const next = rawConnection();
      next.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await until(() => next.received.includes('ok'), 2_000);
      expect(next.received).toMatch(/^HTTP\/1\.1 200 /);
      for (const connection of [...held, next]) connection.socket.destroy();
    });
  });
});
