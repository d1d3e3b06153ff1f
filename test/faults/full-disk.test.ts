// Issue 11 point 4, against the real clustered server on a small real disk: /ready means "can record a decision".
import { run } from '../system/faults/full-disk';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('on a full disk /ready is 503 and no decision is answered unrecorded; freed, it is ready again without a restart', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  const text = report.details.join('\n');
  expect(text).toContain('writes began to fail; /ready under load while full: 503, 503, 503, 503');
  expect(text).toMatch(/evaluate while full: .*503 log-unavailable×\d+/);
  expect(text).toMatch(/evaluate after that: 200×\d+$/m);
  const [held, answered] = /^(\d+) of (\d+) decisions answered 200/.exec(report.logHolds)!.slice(1).map(Number);
  expect(answered).toBeGreaterThan(0);
  expect(held).toBe(answered);
}, 120_000);
