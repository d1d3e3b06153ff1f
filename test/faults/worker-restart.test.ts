// Issue 11 point 3, against the real clustered server: killed workers are replaced, with a growing wait, while the others serve.
import { run } from '../system/faults/worker-restart';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('with a refused rule file in the folder, killed workers are replaced on the rules in force, with backoff, and the primary stays', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  const text = report.details.join('\n');
  expect(text).toContain('POST /v1/admin/reload 422');
  expect(text).toContain('4 workers killed (SIGKILL), 4 replacements listening; waits before each restart: 500 ms, 1000 ms, 2000 ms, 4000 ms');
  expect(text).toMatch(/\/ready seen "degraded" with 1 of 2 serving [1-9]\d* times/);
  expect(text).toContain('after: {"wanted":2,"serving":2} ready');
  const [held, answered] = /^(\d+) of (\d+) decisions answered 200/.exec(report.logHolds)!.slice(1).map(Number);
  expect(answered).toBeGreaterThan(0);
  expect(held).toBe(answered);
}, 180_000);
