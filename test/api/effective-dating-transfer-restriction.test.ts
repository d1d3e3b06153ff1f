// Transfer to a specialist area and service restriction, like exit readiness, are decided by the version in force on
// asOf: the older Child Support procedure (002) to 13 January 2025, the current one (001) from 14 January (issue 13).
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
const app = testApp({ rules: () => registry, clock: () => new Date('2026-11-22T00:00:00Z') });

const evaluate = (ruleSet: string, asOf: string, facts: object) => app.as('caseworker').post(`/v1/rulesets/${ruleSet}/evaluate`).send({ asOf, facts });

describe.each(['specialist-transfer', 'service-restriction'])('%s', (name) => {
  test('GET /v1/rulesets lists both versions with their periods; GET with asOf describes the older one', async () => {
    const list = await app.as('caseworker').get('/v1/rulesets');
    const ruleSet = list.body.ruleSets.find((r: { name: string }) => r.name === name);
    expect(
      ruleSet.versions.map((v: { effectiveFrom: string | null; effectiveTo: string | null; file: string }) => [v.effectiveFrom, v.effectiveTo, v.file]),
    ).toEqual([
      [null, '2025-01-13', `${name}.before-2025-01-14.json`],
      ['2025-01-14', null, `${name}.json`],
    ]);
    const older = await app.as('caseworker').get(`/v1/rulesets/${name}?asOf=2024-06-01`);
    expect(older.body.file).toBe(`${name}.before-2025-01-14.json`);
    expect(older.body.rules.flatMap((r: { sources: { document: string }[] }) => r.sources.map((s) => s.document))).toContain('002_186ba92bf686e645.txt');
  });
});

describe('specialist-transfer on 13 and 14 January 2025', () => {
  const resolved = (kinds: string[]) => kinds.map((kind, i) => ({ id: `m${i}`, kind, status: 'resolved' }));
  const changeOfAssessment = { id: 's1', kind: 'change-of-assessment', status: 'confirmed', specialistProcess: 'change-of-assessment' };

  test('the payment issues never recorded: the PS Team Leader may not approve on the 13th (002 asks for the five mandatory issues), the SSM may on the 14th (001 asks that all issues be addressed)', async () => {
    const facts = { program: 'child-support', case: { issues: [...resolved(['income-correct', 'care-correct', 'contact-details']), changeOfAssessment] } };
    const on13 = await evaluate('specialist-transfer', '2025-01-13', facts);
    const on14 = await evaluate('specialist-transfer', '2025-01-14', facts);
    expect(on13.status).toBe(200);
    expect(on14.status).toBe(200);
    expect(on13.body.effective).toEqual({ from: null, to: '2025-01-13' });
    expect(on14.body.effective).toEqual({ from: '2025-01-14', to: null });
    expect(on13.body.version).not.toBe(on14.body.version);
    expect(on13.body.outcome).toEqual({
      approvable: false,
      specialistProcess: 'change-of-assessment',
      unmet: ['mandatory-issues-addressed'],
      approvalBy: 'PS Team Leader',
    });
    expect(on14.body.outcome).toEqual({
      approvable: true,
      specialistProcess: 'change-of-assessment',
      unmet: [],
      approvalBy: 'PS Service Support Manager (SSM)',
    });
    // Each reading the service makes of the procedure's words travels with the decision.
    const rule = on14.body.explanation.find((r: { rule: string }) => r.rule === 'issues-addressed-appropriately');
    expect(rule.interpretation.question).toMatch(/does "addressed appropriately" mean resolved/);
    expect(rule.interpretation.chosen).toMatch(/'Addressed appropriately' is read as taken up with the customer/);
    expect(rule.sources[0]).toEqual(expect.objectContaining({ document: '001_f3898d6cd45509ea.txt', table: 'Table 7', step: '4' }));
  });
});

describe('service-restriction on 13 and 14 January 2025', () => {
  test('the same proposal goes through the PS Team Leader with a three-to-six-month review approved by the National Manager, then through the SSM with the review left to the Approvers', async () => {
    const facts = {
      program: 'child-support',
      customer: { psHistory: 'current', counterproductiveBehaviour: true },
      case: {
        otherAvenuesExhausted: true,
        mspOptionsExhausted: true,
        warnings: [{ date: '2024-12-02', kind: 'written' }],
        behaviourContinuedAfterWarning: true,
      },
    };
    const on13 = await evaluate('service-restriction', '2025-01-13', facts);
    const on14 = await evaluate('service-restriction', '2025-01-14', facts);
    expect(on13.body.version).not.toBe(on14.body.version);
    expect(on13.body.outcome).toEqual(
      expect.objectContaining({
        mayPropose: true,
        approvalChain: ['PS Case Manager', 'PS Team Leader', 'PS Service Manager', 'Approvers'],
        reviewBetween: ['2025-04-13', '2025-07-13'],
        reviewApprovedBy: 'National Manager of Quality and Customer Complaints',
      }),
    );
    expect(on14.body.outcome).toEqual(
      expect.objectContaining({
        mayPropose: true,
        approvalChain: ['PS Service Officer (PSSO)', 'PS Service Support Manager (SSM)', 'PS Service Manager', 'Approvers'],
        reviewBetween: null,
        reviewApprovedBy: 'Approvers',
      }),
    );
  });
});
