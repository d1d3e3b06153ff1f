// Issue 11 point 5, against the real clustered server: 16 clients sending the worst bodies the limits allow buy no unbounded CPU.
import { BODY_LIMIT_BYTES } from '../../src/api/app';
import { heavyBodies, run } from '../system/faults/heavy-bodies';
import { MAX_LISTED_ISSUES } from '../../src/errors';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('the heavy bodies are each within the limit, and of every kind the issue names', () => {
  const bodies = heavyBodies();
  expect(bodies.map((b) => b.kind)).toEqual([
    'every list at its bound, every field wrong',
    'a list of 1 MiB of empty items',
    '1 MiB of valid incidents',
    '1 MiB of keys outside the vocabulary',
    '1 MiB of nesting',
  ]);
  for (const { body } of bodies) expect(body.length).toBeLessThanOrEqual(BODY_LIMIT_BYTES);
  // The four built to fill the limit come within a few bytes of it.
  for (const { body } of bodies.slice(1)) expect(body.length).toBeGreaterThan(BODY_LIMIT_BYTES - 100);
});

test('while 16 clients send them, every light request is answered 200 and logged, and every heavy body is a capped 400', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);

  const [light200, lightSent] = /^(\d+) of (\d+) light requests answered 200/.exec(report.answered)!.slice(1).map(Number);
  expect(lightSent).toBeGreaterThan(0);
  expect(light200).toBe(lightSent);

  const [heavy400, heavySent, , maxListed, capped, cappedSaying] =
    /^(\d+) of (\d+) heavy bodies answered 400; the largest problem (\d+) bytes, at most (\d+) errors listed; (\d+) capped, (\d+) of them saying how many/
      .exec(report.refused)!
      .slice(1)
      .map(Number);
  // Every kind was sent, in turn, by each of the 16 clients.
  expect(heavySent).toBeGreaterThanOrEqual(16);
  expect(heavy400).toBe(heavySent);
  expect(maxListed).toBeLessThanOrEqual(MAX_LISTED_ISSUES);
  expect(capped).toBeGreaterThan(0);
  expect(cappedSaying).toBe(capped);

  const text = report.details.join('\n');
  expect(text).toMatch(/^light answers by status: 200×\d+; heavy answers by status: 400×\d+$/m);
  for (const kind of heavyBodies().map((b) => b.kind)) expect(text).toMatch(new RegExp(`^heavy "${kind}" \\([\\d,]+ bytes\\): [\\d,]+ sent, 400×\\d+;`, 'm'));

  const [held, answered] = /^(\d+) of (\d+) decisions answered 200/.exec(report.logHolds)!.slice(1).map(Number);
  expect(answered).toBeGreaterThan(lightSent!);
  expect(held).toBe(answered);
}, 180_000);
