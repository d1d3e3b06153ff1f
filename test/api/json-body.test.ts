// JSON bodies (json-body.ts, express.json()): a plain and a gzip body answered alike, a declared length past the limit refused unread, and a body of more values than any case refused before it is parsed.
import { rawConnection } from '../support/raw';
import { gzipSync } from 'node:zlib';
import type { Role } from '../../src/api/access';
import { bearer, testApp } from '../support/app';
import { shippedRules } from '../support';
import { MOST_VALUES_IN_A_REQUEST } from '../../src/facts/validate';

const registry = shippedRules();
const app = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z'), candidateRules: () => registry });
const path = '/v1/rulesets/direct-referral/evaluate';
/** superagent would JSON-encode a Buffer sent as application/json; send its bytes as they are (its types expect a string). */
const sendBytes = ((data: Buffer) => data) as unknown as (data: unknown) => string;

const bodies: [string, string][] = [
  ['a valid request', JSON.stringify({ asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } })],
  ['facts that fail the schema', JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'walk-in' } } })],
  ['JSON cut short', '{"facts": {"program": '],
  ['a top-level string (strict JSON: objects and arrays only)', '"facts"'],
  ['white space, then a number', '  \n 42'],
  ['a top-level array', '[1, 2]'],
  [
    'a byte-order mark before the object',
    `\uFEFF${JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } })}`,
  ],
  [
    'non-ASCII text in a value',
    JSON.stringify({
      facts: {
        program: 'centrelink',
        referral: { source: 'mats', receivedOn: '2025-06-02' },
        customer: { complaints: [{ date: '2025-01-02', stage: 'escalated', topic: 'Überweisung – “payments”' }] },
      },
    }),
  ],
];

test.each(bodies)('%s: the same answer sent plain and gzip-compressed', async (_what, body) => {
  const plain = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(body);
  const viaBodyParser = await app
    .as('caseworker')
    .post(path)
    .set('Content-Type', 'application/json')
    .set('Content-Encoding', 'gzip')
    .serialize(sendBytes)
    .send(gzipSync(Buffer.from(body, 'utf8')));
  expect(plain.status).toBe(viaBodyParser.status);
  expect(plain.headers['content-type']).toBe(viaBodyParser.headers['content-type']);
  // Each evaluation is a decision of its own, with its own id; everything else must be the same.
  const { decisionId: plainId, ...plainBody } = plain.body as Record<string, unknown>;
  const { decisionId: parserId, ...parserBody } = viaBodyParser.body as Record<string, unknown>;
  expect(plainBody).toEqual(parserBody);
  expect(plainId === undefined).toBe(parserId === undefined);
  expect(plain.status).toBeLessThan(500);
});

test('a body over the limit is still a 413 problem', async () => {
  const big = JSON.stringify({ facts: { program: 'centrelink', padding: 'x'.repeat(1024 * 1024) } });
  const res = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(big);
  expect(res.status).toBe(413);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
});

test("a corrupt gzip body is the client's fault: a 400 problem, not a 500", async () => {
  const res = await app
    .as('caseworker')
    .post(path)
    .set('Content-Type', 'application/json')
    .set('Content-Encoding', 'gzip')
    .serialize(sendBytes)
    .send(Buffer.from('not gzip at all'));
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('invalid-json');
});

describe('a Content-Length past the limit is refused from the header, and the connection closed', () => {
  const routes: [string, string, Role][] = [
    ['evaluate', path, 'caseworker'],
    ['evaluate (?engine=reference)', `${path}?engine=reference`, 'caseworker'],
    ['impact', '/v1/admin/impact', 'policy'],
    ['reproduce', '/v1/decisions/00000000-0000-4000-8000-000000000000/reproduce', 'auditor'],
  ];

  test.each(routes)('%s: a 413 problem with none of the body sent, then the server ends the connection', async (_route, target, role) => {
    const server = await app.listen();
    try {
      // A raw connection sending the headers only: an answer at all shows the service did not wait for the body.
      const raw = rawConnection(
        server,
        `POST ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer(role)}\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n`,
      );
      expect(await raw.ended).not.toBeNaN();
      raw.socket.destroy();
      const [head = '', text = ''] = raw.received().split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      expect(head).toMatch(/\r\nConnection: close\r\n/i);
      expect(JSON.parse(text)).toEqual(
        expect.objectContaining({
          status: 413,
          code: 'payload-too-large',
          detail: "The body's Content-Length (99999999999) passes the limit of 1048576 bytes (1 MiB); it was not read.",
        }),
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a refusal before the body has arrived (no key) closes the connection too, rather than read the body to keep it', async () => {
    const server = await app.listen();
    try {
      const raw = rawConnection(server, `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"facts":`);
      expect(await raw.ended).not.toBeNaN();
      raw.socket.destroy();
      expect(raw.received()).toMatch(/^HTTP\/1\.1 401 /);
      expect(raw.received()).toMatch(/\r\nConnection: close\r\n/i);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a body holding more JSON values than any case is refused before it is parsed', () => {
  // 20,000 numbers in a list: far past the most a case holds (MOST_VALUES_IN_A_REQUEST), and well within 1 MiB.
  const tooMany = JSON.stringify({
    facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' }, customer: { incidents: new Array(20_000).fill(0) } },
  });
  const refusedUnread = (body: { code?: string; detail?: string; errors?: { pointer: string; detail: string }[] }) => {
    expect(body.code).toBe('invalid-request');
    expect(body.detail).toMatch(/holds more values than any case can \(at most [\d,]+, with every list at its bound\), so it was not read/);
    expect(body.errors).toEqual([{ pointer: '', detail: `holds more than ${MOST_VALUES_IN_A_REQUEST.toLocaleString('en-AU')} values` }]);
  };

  test('evaluate, sent plain and gzip-compressed (counted inflated)', async () => {
    const plain = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(tooMany);
    expect(plain.status).toBe(400);
    refusedUnread(plain.body);
    const gzipped = await app
      .as('caseworker')
      .post(path)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize(sendBytes)
      .send(gzipSync(Buffer.from(tooMany)));
    expect(gzipped.status).toBe(400);
    refusedUnread(gzipped.body);
  });

  test('an evaluate-batch line', async () => {
    const answer = await app
      .as('caseworker')
      .post('/v1/rulesets/direct-referral/evaluate-batch')
      .set('Content-Type', 'application/x-ndjson')
      .send(`${tooMany}\n`);
    expect(answer.status).toBe(200);
    const line = JSON.parse(answer.text.trim()) as { line: number; problem: Parameters<typeof refusedUnread>[0] };
    expect(line.line).toBe(1);
    refusedUnread(line.problem);
  });

  test('the largest list a case may hold is still read', async () => {
    const bounded = JSON.stringify({
      asOf: '2025-06-02',
      facts: {
        program: 'centrelink',
        referral: { source: 'mats', receivedOn: '2025-06-02' },
        customer: { incidents: new Array(600).fill({ date: '2020-01-02', kind: 'verbal-abuse', setting: 'phone' }) },
      },
    });
    const answer = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(bounded);
    expect(answer.status).toBe(200);
  });
});
