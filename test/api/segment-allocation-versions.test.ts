// Segment allocation by the version in force on asOf: the older Child Support procedure (002) before 14 January 2025,
// the current one (001) from then; and the readings issue 13 asked for, as the API answers them.
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
const app = testApp({ rules: () => registry, clock: () => new Date('2026-11-22T00:00:00Z') });
const evaluate = (asOf: string, facts: object) => app.as('caseworker').post('/v1/rulesets/segment-allocation/evaluate').send({ asOf, facts });
const issue = [{ id: 'i1', kind: 'income-correct', status: 'confirmed' }];
type Entry = { rule: string; fired: boolean; interpretation?: { question: string; chosen: string }; sources: { document: string; table: string }[] };

test('the same Child Support facts on 2025-01-13 and 2025-01-14: different versions, approver and CRG reading', async () => {
  // A referral via the Customer Review Referral Gateway, a history of escalating issues, a current DPO.
  const facts = {
    program: 'child-support',
    referral: { source: 'customer-review-gateway' },
    customer: { psHistory: 'never', escalatingHistory: true, departureProhibitionOrder: true },
    case: { issues: issue },
  };
  const on13 = await evaluate('2025-01-13', facts);
  const on14 = await evaluate('2025-01-14', facts);
  expect(on13.status).toBe(200);
  expect(on14.status).toBe(200);
  expect(on13.body.version).not.toBe(on14.body.version);
  expect(on13.body.effective).toEqual({ from: null, to: '2025-01-13' });
  expect(on14.body.effective).toEqual({ from: '2025-01-14', to: null });
  // 002: the PS Team Leader discusses and approves segment 3; the CRG is an escalated enquiry.
  expect(on13.body.outcome).toEqual({
    segment: 3,
    requiresApproval: true,
    approvalBy: 'PS Team Leader',
    reviewBy: '2025-04-13',
    indicators: {
      segment3: ['segment-3-escalating-history'],
      segment2: ['segment-2-customer-review-gateway', 'segment-2-departure-prohibition-order'],
      segment1: [],
      alsoSupportSegment3: ['segment-2-departure-prohibition-order'],
    },
  });
  // 001: the SSM; the CRG is not in the list of escalated enquiries (it is one of "most new referrals").
  expect(on14.body.outcome).toEqual({
    segment: 3,
    requiresApproval: true,
    approvalBy: 'PS Service Support Manager (SSM)',
    reviewBy: '2025-04-14',
    indicators: {
      segment3: ['segment-3-escalating-history'],
      segment2: ['segment-2-departure-prohibition-order'],
      segment1: [],
      alsoSupportSegment3: ['segment-2-departure-prohibition-order'],
    },
  });
  const cited = (body: { explanation: Entry[] }, rule: string) => body.explanation.find((r) => r.rule === rule)!.sources.map((s) => s.document);
  expect(cited(on13.body, 'segment-3-escalating-history')[0]).toBe('002_186ba92bf686e645.txt');
  expect(cited(on14.body, 'segment-3-escalating-history')).toEqual(['001_f3898d6cd45509ea.txt', '001_f3898d6cd45509ea.txt']);
});

test('before 2025-01-14 a Centrelink customer is allocated by 001: the SSM approves, the CRG rule is not weighed', async () => {
  const facts = {
    program: 'centrelink',
    referral: { source: 'customer-review-gateway' },
    customer: { psHistory: 'never', serviceRestrictions: [{ channel: 'phone', level: 'full', from: '2024-09-01' }] },
    case: { issues: issue },
  };
  const res = await evaluate('2024-12-02', facts);
  expect(res.status).toBe(200);
  expect(res.body.outcome).toEqual(expect.objectContaining({ segment: 3, approvalBy: 'PS Service Support Manager (SSM)', reviewBy: '2025-03-02' }));
  expect(res.body.explanation.map((r: Entry) => r.rule)).not.toContain('segment-2-customer-review-gateway');
  expect(res.body.outcome.indicators.segment2).toEqual([]);
});

test('the older version needs the program, to know whose procedure applies', async () => {
  const res = await evaluate('2024-12-02', { referral: { source: 'other' }, customer: { psHistory: 'never' } });
  expect(res.status).toBe(400);
  expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/facts/program']);
  // The current version does not ask for it.
  expect((await evaluate('2025-01-14', { referral: { source: 'other' }, customer: { psHistory: 'never' } })).status).toBe(200);
});

test('"previously defaulted" has no time limit: a 2020 default supports segment 2 (and segment 3), in both versions', async () => {
  const facts = {
    program: 'child-support',
    referral: { source: 'proactive' },
    customer: { psHistory: 'never', paymentArrangementDefaults: [{ date: '2020-03-10' }] },
    case: { issues: issue },
  };
  for (const asOf of ['2025-01-13', '2025-06-16']) {
    const res = await evaluate(asOf, facts);
    expect(res.body.outcome.segment).toBe(2);
    expect(res.body.outcome.indicators).toEqual({
      segment3: [],
      segment2: ['segment-2-previous-payment-default'],
      segment1: ['segment-1-profile'],
      alsoSupportSegment3: ['segment-2-previous-payment-default'],
    });
    const entry = res.body.explanation.find((r: Entry) => r.rule === 'segment-2-previous-payment-default') as Entry;
    expect(entry.fired).toBe(true);
    // The explanation says the indicator also supports segment 3, and why it does not allocate it.
    expect(entry.interpretation!.question).toMatch(/"previously defaulted".* time limit.* allocate segment 3 on its own/);
    expect(entry.interpretation!.chosen).toMatch(/no time limit/);
    expect(entry.interpretation!.chosen).toMatch(/supports segment 3 but does not on its own allocate it/);
    expect(entry.sources.map((s) => s.table)).toContain('Allocate customer segment 3');
    expect(res.body.derivedFacts).toEqual(expect.objectContaining({ paymentArrangementDefaultsToDate: 1, recentPaymentArrangementDefaults: 0 }));
  }
});

test('GET /v1/rulesets lists both versions with their periods; GET with asOf describes the older one', async () => {
  const list = await app.as('caseworker').get('/v1/rulesets');
  const segment = list.body.ruleSets.find((r: { name: string }) => r.name === 'segment-allocation');
  expect(segment.versions.map((v: { effectiveFrom: string | null; effectiveTo: string | null }) => [v.effectiveFrom, v.effectiveTo])).toEqual([
    [null, '2025-01-13'],
    ['2025-01-14', null],
  ]);
  const older = await app.as('caseworker').get('/v1/rulesets/segment-allocation?asOf=2024-06-01');
  expect(older.body.file).toBe('segment-allocation.before-2025-01-14.json');
  expect(older.body.parameters.segment3Approver.value).toEqual({ centrelink: 'PS Service Support Manager (SSM)', 'child-support': 'PS Team Leader' });
  const current = await app.as('caseworker').get('/v1/rulesets/segment-allocation?asOf=2025-01-14');
  expect(current.body.file).toBe('segment-allocation.json');
  expect(current.body.parameters.segment3Approver.value).toBe('PS Service Support Manager (SSM)');
});

test('every rule of both versions that says a Cuba indicator also supports segment 3 is marked as an interpretation', () => {
  for (const version of registry.ruleSets.get('segment-allocation')!.versions) {
    for (const rule of version.file.rules) {
      if (rule.event.params?.alsoSupportsSegment === undefined) continue;
      expect({ rule: rule.name, segment: rule.event.params.segment, also: rule.event.params.alsoSupportsSegment }).toEqual({
        rule: rule.name,
        segment: 2,
        also: 3,
      });
      expect(rule.interpretation?.question).toMatch(/allocate segment 3 on its own/);
      expect(rule.interpretation?.chosen).toMatch(/alsoSupportSegment3/);
      expect(rule.sources.some((s) => s.table === 'Allocate customer segment 3')).toBe(true);
    }
  }
});
