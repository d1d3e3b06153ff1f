// Requests held to the document: what /openapi.json does not say a route takes is refused as problem+json, naming what
// is wrong, not silently accepted. (The asOf of GET /v1/rulesets/{name} is in app.test.ts, an empty batch in batch.test.ts.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { versionsByFile } from '../../src/loader/load';
import { bearer, testApp } from '../support/app';
import { rawConnection } from '../support/raw';
import { shippedRules } from '../support';

const registry = shippedRules();
let reloads = 0;
const app = testApp({
  rules: () => registry,
  reload: () => {
    reloads += 1;
    return { ok: true, versions: versionsByFile(registry), changed: [], issues: [] };
  },
  candidateRules: () => registry,
  clock: () => new Date('2025-06-01T15:00:00Z'),
});

/** A POST on a connection of its own, its body written as given (chunked when no Content-Length is set). */
function post(
  server: http.Server,
  path: string,
  headers: Record<string, string>,
  write: (req: http.ClientRequest) => void,
): Promise<{ status: number; type: string | undefined; body: Record<string, unknown> }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ port, method: 'POST', path, agent: false, headers: { Authorization: bearer('policy'), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    write(req);
  });
}

describe('POST /v1/admin/reload reads no body, and refuses one', () => {
  let server: http.Server;
  beforeAll(async () => {
    server = await app.listen();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const expectBodyRefused = (res: { status: number; type?: string; body: Record<string, unknown> }, sent: string) => {
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual(
      expect.objectContaining({
        type: 'urn:ps-decisions:problem:invalid-request',
        code: 'invalid-request',
        status: 400,
        detail: `POST /v1/admin/reload reads no body; send the request without one (got ${sent}).`,
        errors: [{ pointer: '', detail: 'must be empty: this route reads no body' }],
      }),
    );
  };

  test('without a body it reloads', async () => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reloaded: true, versions: versionsByFile(registry), changed: [] });
    expect(reloads).toBe(before + 1);
  });

  test('an empty body, whatever its type says, is no body: it reloads', async () => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload').set('Content-Type', 'application/json').send('');
    expect(res.status).toBe(200);
    expect(reloads).toBe(before + 1);
  });

  test.each([
    ['{}', 'application/json'],
    ['{"files":["direct-referral.json"]}', 'application/json'],
    ['reload', 'text/plain'],
    ['x', 'application/octet-stream'],
  ])('a body (%s, %s) is a 400 naming the body, and nothing is reloaded', async (body, type) => {
    const before = reloads;
    const res = await app.as('policy').post('/v1/admin/reload').set('Content-Type', type).send(body);
    expectBodyRefused(res, `a body of ${Buffer.byteLength(body)} bytes`);
    expect(reloads).toBe(before);
  });

  test('a chunked body is refused at its first byte; a chunked body that ends empty is none', async () => {
    const before = reloads;
    const chunked = await post(server, '/v1/admin/reload', { 'Content-Type': 'application/json' }, (req) => {
      req.write('{}');
      req.end();
    });
    expectBodyRefused(chunked, 'a chunked body');
    expect(reloads).toBe(before);
    const empty = await post(server, '/v1/admin/reload', { 'Transfer-Encoding': 'chunked' }, (req) => req.end());
    expect(empty.status).toBe(200);
    expect(reloads).toBe(before + 1);
  });

  test('a declared body is refused unread: the 400 comes before it is sent, and the connection closes', async () => {
    const before = reloads;
    const connection = rawConnection(
      server,
      `POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer('policy')}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{`,
    );
    try {
      expect(Number.isNaN(await connection.ended)).toBe(false);
      const received = connection.received();
      expect(received).toMatch(/^HTTP\/1\.1 400 /);
      expect(received).toMatch(/\r\nconnection: close\r\n/i);
      expect(received).toContain('"code":"invalid-request"');
      expect(reloads).toBe(before);
    } finally {
      connection.socket.destroy();
    }
  });
});
