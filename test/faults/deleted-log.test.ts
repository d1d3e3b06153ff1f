// Issue 11 point 2, against the real clustered server: a decision log deleted under the service gives no decision it cannot keep.
import { run } from '../system/faults/deleted-log';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('after rm decisions.sqlite*, evaluate, /ready and the auditor are 503, no worker opens a new log, and a restart begins one', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  const text = report.details.join('\n');
  expect(text).toMatch(/after rm: \/ready 503, 503, 503, 503: ".*deleted or replaced under it.*"; the auditor's GET of a decision made before: 503/);
  expect(text).toContain('its replacement failed to start (no decision log file to open)');
  expect(text).toMatch(/evaluate sent after the rm: 503 log-unavailable×\d+/);
  expect(text).not.toMatch(/evaluate sent after the rm: .*\b200×/);
  expect(report.logHolds).toMatch(/^0 decisions answered 200 after the rm; after the operator's restart 40 of 40 in the new log/);
}, 120_000);
