// The evaluate route's lean body reader answers exactly as express.json() does, which still reads every other request.
import { gzipSync } from 'node:zlib';
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
const app = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z') });
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
  ['a byte-order mark before the object', `\uFEFF${JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } })}`],
  ['non-ASCII text in a value', JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' }, customer: { complaints: [{ date: '2025-01-02', stage: 'escalated', topic: 'Überweisung – “payments”' }] } } })],
];

test.each(bodies)('%s: the lean reader and express.json() give the same answer', async (_what, body) => {
  // Plain UTF-8 JSON with a length takes the lean reader; a gzip body goes through express.json().
  const lean = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(body);
  const viaBodyParser = await app.as('caseworker').post(path).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').serialize(sendBytes).send(gzipSync(Buffer.from(body, 'utf8')));
  expect(lean.status).toBe(viaBodyParser.status);
  expect(lean.headers['content-type']).toBe(viaBodyParser.headers['content-type']);
  // Each evaluation is a decision of its own, with its own id; everything else must be the same.
  const { decisionId: leanId, ...leanBody } = lean.body as Record<string, unknown>;
  const { decisionId: parserId, ...parserBody } = viaBodyParser.body as Record<string, unknown>;
  expect(leanBody).toEqual(parserBody);
  expect(leanId === undefined).toBe(parserId === undefined);
  expect(lean.status).toBeLessThan(500);
});

test('a body over the limit is still a 413 problem', async () => {
  const big = JSON.stringify({ facts: { program: 'centrelink', padding: 'x'.repeat(1024 * 1024) } });
  const res = await app.as('caseworker').post(path).set('Content-Type', 'application/json').send(big);
  expect(res.status).toBe(413);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
});

test('a corrupt gzip body is the client\'s fault: a 400 problem, not a 500', async () => {
  const res = await app.as('caseworker').post(path).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').serialize(sendBytes).send(Buffer.from('not gzip at all'));
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('invalid-json');
});
