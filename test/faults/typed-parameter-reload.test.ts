// Issue 12 point 4, against the real clustered server: a parameter the validator refuses never goes live. The reload is a
// 422 naming the file, line and column with the fix, the log says so, /ready stays 200, a metric counts it, and the
// answers go on coming from the last good rules; the legitimate change that follows is taken up by every worker.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FaultCluster } from '../system/faults/cluster';
import { ensureBuilt } from '../support/built';

let cluster: FaultCluster;

beforeAll(async () => {
  ensureBuilt();
  cluster = await FaultCluster.start({ workers: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.remove();
});

/** Face-to-face verbal abuse 18 months before the referral: outside a 12-month window, inside a 24-month one. */
const eighteenMonthsAgo = {
  asOf: '2025-06-02',
  facts: {
    program: 'centrelink',
    referral: { source: 'mats', receivedOn: '2025-06-02' },
    customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  },
};

/** The line of direct-referral.json where aggressionWindowMonths's value stands (1-based). */
function lineOfWindowValue(): number {
  const text = readFileSync(path.join(cluster.rulesDir, 'direct-referral.json'), 'utf8');
  const at = /"aggressionWindowMonths": \{\s*"value"/.exec(text)!;
  return text.slice(0, at.index + at[0].length).split('\n').length;
}

function setWindow(value: string): void {
  const file = path.join(cluster.rulesDir, 'direct-referral.json');
  const text = readFileSync(file, 'utf8');
  const changed = text.replace(/("aggressionWindowMonths": \{\s*"value": )[^,]+,/, `$1${value},`);
  expect(changed).not.toBe(text);
  writeFileSync(file, changed);
}

/** Both workers' answers (one connection each request, so round robin reaches each): the versions and eligibility they give. */
async function answers(): Promise<{ versions: string[]; eligible: unknown[] }> {
  const versions = new Set<string>();
  const eligible = new Set<unknown>();
  for (let i = 0; i < 6; i += 1) {
    const answer = await cluster.evaluate('direct-referral', eighteenMonthsAgo);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as { version: string; outcome: { eligible: unknown } };
    versions.add(body.version);
    eligible.add(body.outcome.eligible);
  }
  return { versions: [...versions], eligible: [...eligible] };
}

const refusedReloads = async (): Promise<number> => {
  const metrics = await cluster.send('GET', '/metrics');
  expect(metrics.status).toBe(200);
  return [...metrics.body.matchAll(/^rule_reloads_total\{result="refused"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
};

test.each([
  ['"two years"', /parameter "aggressionWindowMonths" is a number of months: write a whole number from 1 to 120, without quotes \(it is "two years"\)/],
  ['-5', /parameter "aggressionWindowMonths" is a number of months: write a whole number from 1 to 120.*\(it is -5\)/],
])(
  'aggressionWindowMonths %s: the reload is refused with where and what to write, /ready stays 200, and the last good rules answer',
  async (value, message) => {
    const before = await answers();
    expect(before.eligible).toEqual([true]);
    const refusedBefore = await refusedReloads();

    setWindow(value);
    const reload = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
    expect(reload.status).toBe(422);
    expect(reload.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(reload.body) as { code: string; errors: { file: string; line: number; column: number; pointer: string; detail: string }[] };
    expect(problem.code).toBe('rules-refused');
    const issue = problem.errors.find((e) => e.file === 'direct-referral.json' && e.pointer.includes('/parameters/aggressionWindowMonths'));
    expect(issue).toBeDefined();
    expect(issue!.line).toBe(lineOfWindowValue());
    expect(issue!.column).toBeGreaterThan(0);
    expect(issue!.detail).toMatch(message);

    // The log names the problem; readiness and the answers are those of the last good rules.
    // (The server's log is written asynchronously: give it a moment to reach the file.)
    const logged = () =>
      cluster
        .logLines()
        .some(
          (l) =>
            typeof l.msg === 'string' &&
            l.msg.startsWith('rules refused') &&
            l.msg.includes(`direct-referral.json:${lineOfWindowValue()}:`) &&
            message.test(l.msg),
        );
    for (let waited = 0; !logged() && waited < 5_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logged()).toBe(true);
    const ready = await cluster.send('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).status).toBe('ready');
    expect(await refusedReloads()).toBeGreaterThan(refusedBefore);
    expect(await answers()).toEqual(before);

    setWindow('12');
    expect((await cluster.send('POST', '/v1/admin/reload', { role: 'policy' })).status).toBe(200);
  },
  60_000,
);

test('the legitimate change to 24 is taken up by every worker: a new version, and the 18-month-old incident now counts', async () => {
  const before = await answers();
  setWindow('24');
  const reload = await cluster.send('POST', '/v1/admin/reload', { role: 'policy' });
  expect(reload.status).toBe(200);
  expect(JSON.parse(reload.body).changed).toEqual(['direct-referral.json']);
  const after = await answers();
  expect(after.versions).toHaveLength(1);
  expect(after.versions).not.toEqual(before.versions);
  expect(after.eligible).toEqual([false]);
}, 60_000);
