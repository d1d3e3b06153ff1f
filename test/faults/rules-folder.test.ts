// Issue 11 point 1, against the real clustered server: editor files and an unreadable rule file in rules/ take nothing down.
import { run } from '../system/faults/rules-folder';
import { ensureBuilt } from '../support/built';

beforeAll(() => ensureBuilt());

test('editor files are not read, an unreadable rule file is a refused reload, and no worker dies', async () => {
  const report = await run({ quick: true });
  expect(report.problems).toEqual([]);
  expect(report.answered).toMatch(/^evaluate 200×\d+; \/health 200 throughout; workers 2 alive, 0 died$/);
  expect(report.details.join('\n')).toContain('POST /v1/admin/reload 200, nothing changed (none of them read)');
  expect(report.details.join('\n')).toMatch(
    /POST \/v1\/admin\/reload 422 rules-refused: "segment-allocation\.draft\.json#: could not be read: it does not exist/,
  );
  const [held, answered] = /^(\d+) of (\d+) decisions answered 200/.exec(report.logHolds)!.slice(1).map(Number);
  expect(answered).toBeGreaterThan(0);
  expect(held).toBe(answered);
}, 120_000);
