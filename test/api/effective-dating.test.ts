// A request is decided by the rule-set version in force on its asOf: the older Child Support
// procedure (002: 10-day exit-letter wait) before 14 January 2025, the current one (001: 14 days) from then.
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
const app = testApp({ rules: () => registry, clock: () => new Date('2026-11-22T00:00:00Z') });

const resolvedMandatory = ['income-correct', 'care-correct', 'contact-details', 'payment-ongoing', 'payment-arrears'].map((kind, i) => ({
  id: `m${i}`,
  kind,
  status: 'resolved',
}));
const notReachableByPhone = (letter: string) => ({
  program: 'child-support',
  case: {
    issues: resolvedMandatory,
    cmaActivitiesComplete: true,
    cmpActionsComplete: true,
    decisionsNotified: true,
    feedbackProvided: true,
    customerContactableByPhone: false,
    exitLetterIssuedOn: letter,
  },
});

test('11 days after the exit letter: ready under the older procedure (10 days), not under the current one (14 days)', async () => {
  const older = await app
    .as('caseworker')
    .post('/v1/rulesets/exit-readiness/evaluate')
    .send({ asOf: '2024-11-12', facts: notReachableByPhone('2024-11-01') });
  const current = await app
    .as('caseworker')
    .post('/v1/rulesets/exit-readiness/evaluate')
    .send({ asOf: '2025-11-12', facts: notReachableByPhone('2025-11-01') });
  expect(older.status).toBe(200);
  expect(current.status).toBe(200);
  expect(older.body.outcome).toEqual(
    expect.objectContaining({ ready: true, basis: 'issues-addressed', earliestSubmission: '2024-11-11', approvalBy: 'PS Team Leader' }),
  );
  expect(current.body.outcome).toEqual(
    expect.objectContaining({
      ready: false,
      basis: null,
      unmet: ['exit-letter-response-period'],
      earliestSubmission: '2025-11-15',
      approvalBy: 'PS Service Support Manager (SSM)',
    }),
  );
  expect(older.body.version).not.toBe(current.body.version);
  expect(older.body.effective).toEqual({ from: null, to: '2025-01-13' });
  expect(current.body.effective).toEqual({ from: '2025-01-14', to: null });
  const olderRule = older.body.explanation.find((r: { rule: string }) => r.rule === 'exit-letter-response-period');
  expect(olderRule.sources[0].document).toBe('002_186ba92bf686e645.txt');
});

test('the boundary: 13 January 2025 is the older version, 14 January the current', async () => {
  const on13 = await app
    .as('caseworker')
    .post('/v1/rulesets/exit-readiness/evaluate')
    .send({ asOf: '2025-01-13', facts: notReachableByPhone('2025-01-02') });
  const on14 = await app
    .as('caseworker')
    .post('/v1/rulesets/exit-readiness/evaluate')
    .send({ asOf: '2025-01-14', facts: notReachableByPhone('2025-01-03') });
  expect(on13.body.effective.to).toBe('2025-01-13');
  expect(on13.body.outcome.ready).toBe(true);
  expect(on14.body.effective.from).toBe('2025-01-14');
  expect(on14.body.outcome.ready).toBe(false);
});

test('the rule set lists both versions with their periods; GET with asOf describes the older one', async () => {
  const list = await app.as('caseworker').get('/v1/rulesets');
  const exit = list.body.ruleSets.find((r: { name: string }) => r.name === 'exit-readiness');
  expect(exit.versions.map((v: { effectiveFrom: string | null; effectiveTo: string | null }) => [v.effectiveFrom, v.effectiveTo])).toEqual([
    [null, '2025-01-13'],
    ['2025-01-14', null],
  ]);
  const older = await app.as('caseworker').get('/v1/rulesets/exit-readiness?asOf=2024-06-01');
  expect(older.body.parameters.exitLetterResponseDays.value).toBe(10);
  expect(older.body.file).toBe('exit-readiness.before-2025-01-14.json');
});
