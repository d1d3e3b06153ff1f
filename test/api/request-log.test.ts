// Request logs: one JSON line per request with its id, route, status, key and decision; never a body, a query or a credential.
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import pino from 'pino';
import request from 'supertest';
import { DecisionError } from '../../src/errors';
import { problemOf, sendProblem } from '../../src/api/problem';
import { requestLog, type RequestLogOptions } from '../../src/api/request-log';

const SECRET = 'caseworker-test-secret-0123456789';
const PLANTED = 'Ngaire Wolfenden-Quirke';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Line {
  level: number;
  msg: string;
  req: { id: string; method: string; path: string };
  res: { statusCode: number };
  responseTime: number;
  route: string;
  keyId?: string;
  decisionId?: string;
  err?: unknown;
  [key: string]: unknown;
}

/** A pino logger writing into memory, and the app as the service builds it: logs outermost, a key check, routes, an error handler. */
function logged(options?: RequestLogOptions) {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const logger = pino({ name: 'test' }, stream);
  const app = express();
  app.use(requestLog(logger, options));
  // As authorize() does (access.ts): the caller's key id in res.locals.
  app.use((req, res, next) => {
    if (req.headers.authorization === `Bearer ${SECRET}`) res.locals.caller = { id: 'cw1', role: 'caseworker' };
    next();
  });
  app.post('/v1/rulesets/:name/evaluate', express.json(), (req, res) => {
    res.locals.decisionId = 'd-0001';
    res.json({ decisionId: 'd-0001', echoed: (req.body as { facts?: unknown }).facts !== undefined });
  });
  app.get('/v1/things/:id', (_req, res) => {
    res.json({ secretish: PLANTED });
  });
  // Answers after the client in the abort test has gone.
  app.get('/v1/slow', (_req, res) => {
    setTimeout(() => {
      if (!res.destroyed) res.json({ late: true });
    }, 200);
  });
  app.get('/v1/broken', () => {
    throw new Error('a bug');
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', () => {
    throw new DecisionError('not-ready', 'Not ready: the decision log is down');
  });
  const nested = express.Router();
  nested.get('/:id', (_req, res) => {
    res.json({});
  });
  app.use('/v1/decisions', nested);
  app.use((req: Request, _res: Response, next: NextFunction) => next(new DecisionError('not-found', `Nothing at ${req.path}`)));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof DecisionError) sendProblem(res, problemOf(error, req.originalUrl));
    else res.status(500).json({ status: 500 });
  });

  const lines = () =>
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Line);
  /** The log line is written on 'finish', which can come just after the client has its answer. */
  const settled = async (count: number): Promise<Line[]> => {
    for (let i = 0; i < 100 && lines().length < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 10));
    return lines();
  };
  return { app, text: () => text, settled };
}

describe('requestLog', () => {
  test('one JSON line per request: id, method, path, route, status, time, key and decision', async () => {
    const { app, settled } = logged();
    const answer = await request(app)
      .post('/v1/rulesets/segment-allocation/evaluate?customer=CRN-123456789')
      .set('Authorization', `Bearer ${SECRET}`)
      .send({ facts: { topic: `call from ${PLANTED}` } })
      .expect(200);
    const lines = await settled(1);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(answer.headers['x-request-id']).toMatch(UUID);
    expect(line).toEqual(
      expect.objectContaining({
        level: 30,
        name: 'test',
        msg: 'request completed',
        req: { id: answer.headers['x-request-id'], method: 'POST', path: '/v1/rulesets/segment-allocation/evaluate' },
        res: { statusCode: 200 },
        route: '/v1/rulesets/:name/evaluate',
        keyId: 'cw1',
        decisionId: 'd-0001',
      }),
    );
    expect(typeof line.responseTime).toBe('number');
  });

  test('never the body, the query string, the answer, or a credential', async () => {
    const { app, text, settled } = logged();
    await request(app)
      .post('/v1/rulesets/segment-allocation/evaluate?customer=CRN-123456789')
      .set('Authorization', `Bearer ${SECRET}`)
      .set('Cookie', 'session=cookie-secret-42')
      .send({ facts: { topic: `call from ${PLANTED}` } })
      .expect(200);
    await request(app).get('/v1/things/7').set('Authorization', `Bearer ${SECRET}`).expect(200);
    await request(app).get('/v1/things/8').set('Authorization', 'Bearer not-a-key-but-still-secret').expect(200);
    await settled(3);
    for (const secret of [SECRET, 'not-a-key-but-still-secret', 'cookie-secret-42', PLANTED, 'CRN-123456789', 'customer='])
      expect(text()).not.toContain(secret);
    expect(text()).not.toContain('"headers"');
  });

  test("a caller's X-Request-Id is reused if it is a plain token, and replaced if not", async () => {
    const { app, settled } = logged();
    const given = await request(app).get('/v1/things/1').set('X-Request-Id', 'caller-trace.01_A').expect(200);
    expect(given.headers['x-request-id']).toBe('caller-trace.01_A');
    const invalid = ['has spaces in it', 'x'.repeat(129), 'inject"}{', 'a\u00e9b'];
    const replaced = [];
    for (const id of invalid) replaced.push(await request(app).get('/v1/things/2').set('X-Request-Id', id).expect(200));
    for (const answer of replaced) expect(answer.headers['x-request-id']).toMatch(UUID);
    const lines = await settled(1 + invalid.length);
    expect(lines.map((l) => l.req.id)).toEqual([given, ...replaced].map((a) => a.headers['x-request-id']));
    expect(new Set(lines.map((l) => l.req.id)).size).toBe(lines.length);
    expect(JSON.stringify(lines)).not.toContain('has spaces in it');
  });

  test('the level follows the status: 5xx error, 4xx warn, else info', async () => {
    const { app, settled } = logged();
    await request(app).get('/v1/things/1').expect(200);
    await request(app).get('/v1/nowhere/1').expect(404);
    await request(app).get('/v1/broken').expect(500);
    const [ok, missing, broken] = await settled(3);
    expect([ok!.level, missing!.level, broken!.level]).toEqual([30, 40, 50]);
    expect(missing).toEqual(expect.objectContaining({ route: 'unmatched', res: { statusCode: 404 } }));
    expect(missing!.req.path).toBe('/v1/nowhere/1');
    expect(broken).toEqual(expect.objectContaining({ route: '/v1/broken', res: { statusCode: 500 } }));
    // pino-http's made-up "failed with status code 500" error, with its own stack, is left out.
    expect(broken!.err).toBeUndefined();
  });

  test("a mounted router's route is logged with its mount path, and the full request path", async () => {
    const { app, settled } = logged();
    await request(app).get('/v1/decisions/abc-123').expect(200);
    const [line] = await settled(1);
    expect(line).toEqual(expect.objectContaining({ route: '/v1/decisions/:id', req: expect.objectContaining({ path: '/v1/decisions/abc-123' }) }));
  });

  test('probes and scrapes are not logged when they succeed, and are when they fail', async () => {
    const { app, settled } = logged();
    await request(app).get('/health').expect(200);
    await request(app).get('/health?probe=1').expect(200);
    await request(app).get('/ready').expect(503);
    await request(app).get('/v1/things/1').expect(200);
    const lines = await settled(2);
    expect(lines.map((l) => [l.req.path, l.res.statusCode, l.level])).toEqual([
      ['/ready', 503, 50],
      ['/v1/things/1', 200, 30],
    ]);
  });

  test('a request whose client goes before the answer is one line, "request aborted", at warn', async () => {
    const { app, settled } = logged();
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const req = httpRequest({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        path: '/v1/slow?who=CRN-123456789',
        agent: false,
        headers: { 'X-Request-Id': 'gone-early' },
      });
      req.on('error', () => {});
      req.end();
      await new Promise((resolve) => setTimeout(resolve, 50));
      req.destroy();
      // Well past the route's late answer: still the one line.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const lines = await settled(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toEqual(
        expect.objectContaining({ level: 40, msg: 'request aborted', req: { id: 'gone-early', method: 'GET', path: '/v1/slow' }, route: '/v1/slow' }),
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('quietPaths: [] logs every request', async () => {
    const { app, settled } = logged({ quietPaths: [] });
    await request(app).get('/health').expect(200);
    const lines = await settled(1);
    expect(lines.map((l) => l.req.path)).toEqual(['/health']);
  });
});
