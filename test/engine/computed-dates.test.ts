// A date the outcome computes is explained in the entry of the rule that decided it: direct-referral's actionDueBy,
// by the timeframe rule that fired, with the receipt day (day 0), the working days and each day not counted, by name.
// Both evaluators give the same entry, the API's JSON writer the same bytes, and the two versions (002 for Child
// Support before 14 January 2025, 001 from then) differ where the procedures do.
import { isDeepStrictEqual } from 'node:util';
import { decisionJson } from '../../src/api/decision-json';
import { decideVerdict, evaluate, type Decision } from '../../src/engine/evaluate';
import type { RuleExplanation } from '../../src/engine/explain';
import type { RuleFile } from '../../src/engine/types';
import { DecisionError } from '../../src/errors';
import { REFERRAL_INTRAYS } from '../../src/facts/schema';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { loadRuleTexts } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { caseGenerator } from '../../fixtures/generator';
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
const directReferral = registry.ruleSets.get('direct-referral')!;
const texts = registry.texts!;

async function decided(asOf: string, facts: Record<string, unknown>): Promise<{ compiled: Decision; reference: Decision }> {
  const version = directReferral.resolve(asOf);
  const request = parseEvaluateRequest({ asOf, facts }, 'direct-referral', version.file.requires);
  return { compiled: await evaluate(version, request.facts, asOf, 'compiled'), reference: await evaluate(version, request.facts, asOf, 'reference') };
}

const dated = (decision: Decision): RuleExplanation[] => decision.explanation.filter((r) => r.computed);
/** The explanation as the API sends it: what a caseworker's tool reads. */
const asSent = (decision: Decision) =>
  JSON.parse(decisionJson(decision)) as { outcome: Record<string, unknown>; explanation: (RuleExplanation & { computed?: Record<string, unknown>[] })[] };

test('Easter 2025: the due date names the rule, the receipt day as day 0, the working days and each day not counted with why', async () => {
  const { compiled, reference } = await decided('2025-04-17', { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } });
  expect(compiled.outcome.actionDueBy).toBe('2025-04-29');
  const sent = asSent(compiled);
  const deciding = sent.explanation.filter((r) => r.computed);
  expect(deciding.map((r) => r.rule)).toEqual(['centrelink-action-timeframe']);
  expect(deciding[0]!.computed).toEqual([
    {
      field: 'actionDueBy',
      date: '2025-04-29',
      from: '2025-04-17',
      fromFact: 'referral.receivedOn',
      add: 5,
      unit: 'working days',
      parameter: 'actionWorkingDays',
      skipped: [
        { date: '2025-04-18', weekday: 'Friday', reason: 'public holiday', holiday: 'Good Friday' },
        { date: '2025-04-19', weekday: 'Saturday', reason: 'weekend', holiday: 'Easter Saturday' },
        { date: '2025-04-20', weekday: 'Sunday', reason: 'weekend', holiday: 'Easter Sunday' },
        { date: '2025-04-21', weekday: 'Monday', reason: 'public holiday', holiday: 'Easter Monday' },
        { date: '2025-04-25', weekday: 'Friday', reason: 'public holiday', holiday: 'Anzac Day' },
        { date: '2025-04-26', weekday: 'Saturday', reason: 'weekend' },
        { date: '2025-04-27', weekday: 'Sunday', reason: 'weekend' },
      ],
      text:
        'actionDueBy is Tuesday 29 April 2025: 5 working days (parameter actionWorkingDays) after Thursday 17 April 2025, the day PS received the referral [referral.receivedOn], which is day 0. ' +
        'Not counted: Friday 18 April 2025 (Good Friday, a public holiday); Saturday 19 April 2025 (weekend; also Easter Saturday); Sunday 20 April 2025 (weekend; also Easter Sunday); ' +
        'Monday 21 April 2025 (Easter Monday, a public holiday); Friday 25 April 2025 (Anzac Day, a public holiday); Saturday 26 April 2025 (weekend); Sunday 27 April 2025 (weekend).',
    },
  ]);
  expect(deciding[0]!.sources[0]).toEqual(expect.objectContaining({ document: '001_f3898d6cd45509ea.txt', part: 'Centrelink', table: 'Table 1', step: '2' }));
  // The reference evaluator (json-rules-engine) explains the date identically.
  expect(JSON.stringify(reference.explanation)).toBe(JSON.stringify(compiled.explanation));
  expect(isDeepStrictEqual(reference.explanation, compiled.explanation)).toBe(true);
});

test("Christmas 2024 under 002: the Customer Assigned to PS intray's seven working days skip Christmas, Boxing Day, New Year's Day and two weekends", async () => {
  const { compiled, reference } = await decided('2024-12-23', {
    program: 'child-support',
    referral: { source: 'other', receivedOn: '2024-12-23', intray: 'customer-assigned' },
  });
  expect(compiled.effective).toEqual({ from: null, to: '2025-01-13' });
  expect(compiled.outcome.actionDueBy).toBe('2025-01-06');
  const [deciding] = asSent(compiled).explanation.filter((r) => r.computed);
  expect(deciding!.rule).toBe('child-support-complaints-or-assigned-timeframe');
  expect(deciding!.sources[0]!.document).toBe('002_186ba92bf686e645.txt');
  expect(deciding!.interpretation!.chosen).toContain('002 has no separate urgent timeframe');
  const computed = deciding!.computed![0]!;
  expect(computed).toEqual(expect.objectContaining({ date: '2025-01-06', from: '2024-12-23', add: 7, parameter: 'complaintsOrAssignedWorkingDays' }));
  expect((computed.skipped as { date: string; holiday?: string }[]).map((d) => [d.date, d.holiday ?? 'weekend'])).toEqual([
    ['2024-12-25', 'Christmas Day'],
    ['2024-12-26', 'Boxing Day'],
    ['2024-12-28', 'weekend'],
    ['2024-12-29', 'weekend'],
    ['2025-01-01', "New Year's Day"],
    ['2025-01-04', 'weekend'],
    ['2025-01-05', 'weekend'],
  ]);
  expect(JSON.stringify(reference.explanation)).toBe(JSON.stringify(compiled.explanation));
});

test('before 14 January 2025, a Child Support referral whose intray 002 does not give a timeframe for has no due date, and the explanation says why', async () => {
  for (const intray of [undefined, 'acer-referral', 'centrelink-referral']) {
    const referral = { source: 'ombudsman', receivedOn: '2024-11-04', ...(intray ? { intray } : {}) };
    const { compiled, reference } = await decided('2024-11-04', { program: 'child-support', referral });
    expect(compiled.outcome).toEqual({
      eligible: false,
      route: 'standard',
      unmet: ['centrelink-program', 'direct-referral-source'],
      actionDueBy: null,
      refusalApprovedBy: null,
    });
    const deciding = dated(compiled);
    expect(deciding.map((r) => r.rule)).toEqual(['child-support-intray-without-timeframe']);
    const [computed] = asSent(compiled).explanation.find((r) => r.computed)!.computed!;
    expect(computed).toEqual({ field: 'actionDueBy', date: null, text: expect.stringContaining('no due date can be worked out') });
    expect(computed!.text).toContain(
      '2 working days for the CRG Referral to PS and PS Referral (TL only) intrays, 7 for the Complaints referral to PS and Customer Assigned to PS intrays',
    );
    expect(JSON.stringify(reference.explanation)).toBe(JSON.stringify(compiled.explanation));
  }
});

test("the same Child Support facts decided on 13 and 14 January 2025 come from different versions and get different due dates; Centrelink's does not change", async () => {
  const childSupport = { program: 'child-support', referral: { source: 'escalated-complaint', receivedOn: '2025-01-13', intray: 'complaints-referral' } };
  const on13 = (await decided('2025-01-13', childSupport)).compiled;
  const on14 = (await decided('2025-01-14', childSupport)).compiled;
  expect(on13.version).not.toBe(on14.version);
  expect([on13.outcome.actionDueBy, on14.outcome.actionDueBy]).toEqual(['2025-01-22', '2025-01-20']);
  expect(dated(on13).map((r) => [r.rule, r.computed![0]!.date])).toEqual([['child-support-complaints-or-assigned-timeframe', '2025-01-22']]);
  expect(dated(on14).map((r) => [r.rule, r.computed![0]!.date])).toEqual([['child-support-action-timeframe', '2025-01-20']]);

  const centrelink = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-01-13' } };
  const cl13 = (await decided('2025-01-13', centrelink)).compiled;
  const cl14 = (await decided('2025-01-14', centrelink)).compiled;
  expect(cl13.version).not.toBe(cl14.version);
  expect(cl13.outcome).toEqual(cl14.outcome);
  expect(dated(cl13).map((r) => r.rule)).toEqual(['centrelink-action-timeframe']);
  expect(asSent(cl13).explanation.find((r) => r.computed)!.computed).toEqual(asSent(cl14).explanation.find((r) => r.computed)!.computed);
});

test('in every version, exactly one timeframe rule fires for every program, urgency and intray, and the one that fires explains the due date', async () => {
  for (const version of directReferral.versions) {
    const timeframes = version.file.rules.filter((r) => r.event.type === 'timeframe').map((r) => r.name);
    expect(timeframes.length).toBeGreaterThan(0);
    for (const program of ['centrelink', 'child-support']) {
      for (const urgent of [false, true]) {
        for (const intray of [undefined, ...REFERRAL_INTRAYS]) {
          const asOf = version.effectiveTo ?? version.effectiveFrom!;
          const referral = { source: 'mats', receivedOn: asOf, urgent, ...(intray ? { intray } : {}) };
          const { compiled, reference } = await decided(asOf, { program, referral });
          const fired = compiled.explanation.filter((r) => r.fired && timeframes.includes(r.rule)).map((r) => r.rule);
          expect({ version: version.sourceFile, program, urgent, intray, fired: fired.length }).toEqual({
            version: version.sourceFile,
            program,
            urgent,
            intray,
            fired: 1,
          });
          expect(dated(compiled).map((r) => r.rule)).toEqual(fired);
          expect(dated(compiled)[0]!.computed!.map((c) => c.date)).toEqual([compiled.outcome.actionDueBy]);
          // Timeframe rules are never criteria: eligibility is the criteria's alone.
          for (const rule of compiled.outcome.unmet as string[]) expect(timeframes).not.toContain(rule);
          expect(JSON.stringify(reference.explanation)).toBe(JSON.stringify(compiled.explanation));
        }
      }
    }
  }
});

test("over generated cases with intrays, both versions: the evaluators agree (computed entries included), decideVerdict gives the same outcome, and the API writes JSON.stringify's bytes", async () => {
  const next = caseGenerator(1313);
  const intrays = [undefined, ...REFERRAL_INTRAYS];
  for (const version of directReferral.versions) {
    for (let i = 0; i < 1000; i += 1) {
      const generated = next();
      const asOf = version.effectiveTo && generated.asOf > version.effectiveTo ? `2024${generated.asOf.slice(4)}` : generated.asOf;
      const facts = structuredClone(generated.facts) as { referral: Record<string, unknown> };
      const intray = intrays[i % intrays.length];
      if (intray) facts.referral.intray = intray;
      // Receipt dates near the as-of date, so that the same rule's entry recurs with different dates (decision-json reuses entries).
      facts.referral.receivedOn = `${asOf.slice(0, 8)}${String(1 + (i % 28)).padStart(2, '0')}`;
      const request = parseEvaluateRequest({ asOf, facts }, 'direct-referral', version.file.requires);
      const compiled = await evaluate(version, request.facts, asOf, 'compiled');
      const reference = await evaluate(version, request.facts, asOf, 'reference');
      expect(isDeepStrictEqual(compiled.outcome, reference.outcome)).toBe(true);
      expect(JSON.stringify(compiled.explanation)).toBe(JSON.stringify(reference.explanation));
      expect(decideVerdict(version, request.facts, asOf).outcome).toEqual(compiled.outcome);
      expect(decisionJson(compiled)).toBe(JSON.stringify(compiled));
      expect(decisionJson(reference)).toBe(JSON.stringify(reference));
    }
  }
});

test("GET /v1/rulesets shows both direct-referral versions with their periods; the API answers each version's due date with its explanation", async () => {
  const app = testApp({ rules: () => registry, clock: () => new Date('2026-11-22T00:00:00Z') });
  const list = await app.as('caseworker').get('/v1/rulesets');
  const entry = list.body.ruleSets.find((r: { name: string }) => r.name === 'direct-referral');
  expect(
    entry.versions.map((v: { effectiveFrom: string | null; effectiveTo: string | null; file: string }) => [v.effectiveFrom, v.effectiveTo, v.file]),
  ).toEqual([
    [null, '2025-01-13', 'direct-referral.before-2025-01-14.json'],
    ['2025-01-14', null, 'direct-referral.json'],
  ]);
  const older = await app.as('caseworker').get('/v1/rulesets/direct-referral?asOf=2024-06-01');
  expect(older.body.parameters.complaintsOrAssignedWorkingDays.value).toBe(7);
  const facts = { program: 'child-support', referral: { source: 'other', receivedOn: '2025-01-13', intray: 'customer-assigned' } };
  const on13 = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send({ asOf: '2025-01-13', facts });
  const on14 = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send({ asOf: '2025-01-14', facts });
  expect([on13.status, on14.status]).toEqual([200, 200]);
  expect([on13.body.effective, on14.body.effective]).toEqual([
    { from: null, to: '2025-01-13' },
    { from: '2025-01-14', to: null },
  ]);
  expect([on13.body.outcome.actionDueBy, on14.body.outcome.actionDueBy]).toEqual(['2025-01-22', '2025-01-20']);
  const computedOf = (body: { explanation: { computed?: { parameter: string }[] }[] }) =>
    body.explanation.flatMap((r) => r.computed ?? []).map((c) => c.parameter);
  expect([computedOf(on13.body), computedOf(on14.body)]).toEqual([['complaintsOrAssignedWorkingDays'], ['childSupportActionWorkingDays']]);
  // No intray before 14 January: still a decision, with actionDueBy null and the reason in the explanation.
  const unknown = await app
    .as('caseworker')
    .post('/v1/rulesets/direct-referral/evaluate')
    .send({ asOf: '2025-01-13', facts: { program: 'child-support', referral: { source: 'other', receivedOn: '2025-01-13' } } });
  expect(unknown.status).toBe(200);
  expect(unknown.body.outcome.actionDueBy).toBeNull();
  const badIntray = await app
    .as('caseworker')
    .post('/v1/rulesets/direct-referral/evaluate')
    .send({ asOf: '2025-01-13', facts: { program: 'child-support', referral: { source: 'other', receivedOn: '2025-01-13', intray: 'CRG Referral to PS' } } });
  expect(badIntray.status).toBe(400);
  expect(badIntray.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/facts/referral/intray']);
});

describe('what the direct-referral module refuses in a rule file, and the older form it still reads', () => {
  const currentText = texts.files.find((f) => f.file === 'direct-referral.json')!.text;
  const withCurrent = (text: string) => texts.files.map((f) => (f.file === 'direct-referral.json' ? { file: f.file, text } : f));
  const refused = (text: string) => {
    try {
      loadRuleTexts(texts.calendarText, withCurrent(text), { modules: RULE_SET_MODULES });
    } catch (error) {
      if (error instanceof DecisionError) return error.issues;
      throw error;
    }
    throw new Error('the rule files were accepted');
  };

  test('a timeframe rule naming a parameter that is not a working-days parameter, with its line', () => {
    const issues = refused(currentText.replace('"workingDays": "childSupportActionWorkingDays"', '"workingDays": "childSupportActionWorkingDayz"'));
    expect(issues).toEqual([
      expect.objectContaining({
        file: 'direct-referral.json',
        pointer: expect.stringMatching(/^direct-referral\.json#\/rules\/7\/event\/params$/),
        line: expect.any(Number),
        message: expect.stringContaining('"childSupportActionWorkingDayz" is not one'),
      }),
    ]);
    const line = currentText.split('\n').findIndex((l) => l.includes('"workingDays": "childSupportActionWorkingDays"')) + 1;
    expect(issues[0]!.line).toBe(line);
  });

  test('a timeframe rule giving a date without a condition on the receipt day it counts from', () => {
    const text = currentText.replace(
      '"operator": "equal", "value": true }, { "fact": "referral.receivedOn", "operator": "notEqual", "value": null }] },\n      "event": { "type": "timeframe", "params": { "workingDays": "childSupportUrgentActionWorkingDays" } }',
      '"operator": "equal", "value": true }] },\n      "event": { "type": "timeframe", "params": { "workingDays": "childSupportUrgentActionWorkingDays" } }',
    );
    expect(text).not.toBe(currentText);
    expect(refused(text)).toEqual([
      expect.objectContaining({
        pointer: 'direct-referral.json#/rules/8/conditions',
        message: expect.stringContaining('needs a condition on referral.receivedOn'),
      }),
    ]);
  });

  test('an intray in appliesTo that referral.intray never holds', () => {
    const older = texts.files.find((f) => f.file === 'direct-referral.before-2025-01-14.json')!;
    const files = texts.files.map((f) =>
      f === older ? { file: f.file, text: f.text.replace('"crg-referral", "ps-referral-tl-only"', '"crg-referal", "ps-referral-tl-only"') } : f,
    );
    expect(() => loadRuleTexts(texts.calendarText, files, { modules: RULE_SET_MODULES })).toThrow(DecisionError);
    try {
      loadRuleTexts(texts.calendarText, files, { modules: RULE_SET_MODULES });
    } catch (error) {
      expect((error as DecisionError).issues).toEqual([
        expect.objectContaining({ file: 'direct-referral.before-2025-01-14.json', message: expect.stringContaining('"crg-referal" is not an intray') }),
      ]);
    }
  });

  test('a refusal condition naming no rule of the file', () => {
    const issues = refused(
      currentText.replace(
        '"refusalNeedsApprovalWhen": ["centrelink-program", "direct-referral-source"]',
        '"refusalNeedsApprovalWhen": ["centrelink-programme", "direct-referral-source"]',
      ),
    );
    expect(issues).toEqual([
      expect.objectContaining({
        pointer: 'direct-referral.json#/outcome/refusalNeedsApprovalWhen',
        message: expect.stringContaining('"centrelink-programme" is not a rule of this file'),
      }),
    ]);
  });

  test("a file written before timeframe rules (an archived version) still loads and reckons its due date as it did: Centrelink's timeframe for every program, no entry", async () => {
    const legacy = JSON.parse(currentText) as RuleFile;
    legacy.rules = legacy.rules.filter((r) => r.event.type !== 'timeframe');
    legacy.outcome = { refusalNeedsApprovalWhen: 'direct-referral-source' };
    delete legacy.effectiveFrom;
    const files = [{ file: 'direct-referral.json', text: JSON.stringify(legacy, null, 2) }];
    const loaded = loadRuleTexts(texts.calendarText, files, { modules: RULE_SET_MODULES });
    const version = loaded.ruleSets.get('direct-referral')!.latest;
    const request = parseEvaluateRequest(
      { asOf: '2025-06-06', facts: { program: 'child-support', referral: { source: 'escalated-complaint', receivedOn: '2025-06-06', urgent: true } } },
      'direct-referral',
      version.file.requires,
    );
    const decision = await evaluate(version, request.facts, '2025-06-06');
    expect(decision.outcome).toEqual({
      eligible: false,
      route: 'standard',
      unmet: ['centrelink-program'],
      actionDueBy: '2025-06-10',
      refusalApprovedBy: 'PS Service Support Manager (SSM)',
    });
    expect(dated(decision)).toEqual([]);
  });
});
