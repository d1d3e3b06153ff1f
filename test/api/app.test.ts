// The HTTP contract: routes, explained outcomes, and a problem+json answer (never a 500) for bad input.
import type request from 'supertest';
import { caseFactsSchema } from '../../src/facts/schema';
import { testApp } from '../support/app';
import { shippedRules } from '../support';

const registry = shippedRules();
// 15:00 UTC on 1 June is already 2 June in Sydney: the default asOf must be Sydney's date.
const app = testApp({ rules: () => registry, clock: () => new Date('2025-06-01T15:00:00Z') });
const evaluatePath = (name: string) => `/v1/rulesets/${name}/evaluate`;

const directFacts = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } };
/** The most incidents a case holds (src/facts/schema.ts). */
const INCIDENTS_BOUND = (caseFactsSchema as unknown as { properties: { customer: { properties: { incidents: { maxItems: number } } } } }).properties.customer
  .properties.incidents.maxItems;

describe('reading', () => {
  test('GET /health answers 200', async () => {
    const res = await app.as('caseworker').get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('GET /v1/rulesets lists every rule set with a content-hash version of its own', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets');
    expect(res.status).toBe(200);
    const names = res.body.ruleSets.map((r: { name: string }) => r.name).sort();
    expect(names).toEqual([
      'direct-referral',
      'exit-readiness',
      'information-sharing',
      'msp-review',
      'referral-options',
      'segment-allocation',
      'service-restriction',
      'specialist-transfer',
    ]);
    const versions = res.body.ruleSets.map((r: { version: string }) => r.version);
    for (const v of versions) expect(v).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(versions).size).toBe(names.length);
  });

  test('GET /v1/rulesets/{name} gives each rule with its description and source', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets/exit-readiness');
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(registry.ruleSets.get('exit-readiness')!.latest.version);
    expect(res.body.parameters.exitLetterResponseDays.value).toBe(14);
    for (const rule of res.body.rules) {
      expect(rule.description.length).toBeGreaterThan(10);
      expect(rule.citation).toMatch(/^00[12]_[0-9a-f]+\.txt, /);
    }
  });

  test('GET /v1/rulesets/{name}?asOf= shows the version in force that day; without asOf, today in Sydney', async () => {
    const versions = registry.ruleSets.get('segment-allocation')!;
    const before = await app.as('caseworker').get('/v1/rulesets/segment-allocation?asOf=2025-01-13');
    expect(before.status).toBe(200);
    expect(before.body.version).toBe(versions.resolve('2025-01-13').version);
    // The clock's 2 June 2025 in Sydney, not 1 June in UTC.
    const today = await app.as('caseworker').get('/v1/rulesets/segment-allocation');
    expect(today.body.version).toBe(versions.resolve('2025-06-02').version);
    expect(today.body.version).not.toBe(before.body.version);
  });

  test("GET /v1/rulesets/{name} carries each interpretation where it sits, and every version's unconfirmed ones, for policy staff", async () => {
    const res = await app.as('policy').get('/v1/rulesets/direct-referral?asOf=2025-06-02');
    expect(res.status).toBe(200);
    // On the parameter itself: the question, and the reading chosen; no confirmation yet.
    expect(res.body.parameters.aggressionKinds.interpretation).toEqual({
      question: expect.stringMatching(/^Does a threat of self-harm count as an "aggression incident"/),
      chosen: expect.stringContaining('A threat of self-harm is a vulnerability, not aggression'),
    });
    expect(res.body.interpretations).toContainEqual(
      expect.objectContaining({ on: 'rule', name: 'centrelink-action-timeframe', question: expect.stringMatching(/\?$/), confirmed: false }),
    );
    expect(res.body.interpretations.every((i: { confirmed: boolean }) => !i.confirmed)).toBe(true);
    const versions = registry.ruleSets.get('direct-referral')!.versions;
    expect(res.body.versions.map((v: { version: string }) => v.version)).toEqual(versions.map((v) => v.version));
    for (const [i, v] of (res.body.versions as { unconfirmedInterpretations: { on: string; name: string }[] }[]).entries()) {
      const marked = versions[i]!.file;
      const count =
        Object.values(marked.parameters).filter((p) => p.interpretation).length +
        Object.values(marked.derivedFacts).filter((d) => d.interpretation).length +
        marked.rules.filter((r) => r.interpretation).length;
      expect(v.unconfirmedInterpretations).toHaveLength(count);
    }
  });

  test('the full answer lists the unconfirmed interpretations the decision relied on; the summary and short answers do not', async () => {
    const body = { asOf: '2025-04-17', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } } };
    const full = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
    expect(full.status).toBe(200);
    expect(full.body.unconfirmedInterpretations).toContainEqual({
      on: 'rule',
      name: 'centrelink-action-timeframe',
      question: expect.stringMatching(/^From which day do Step 2's working days run/),
      chosen: expect.stringContaining('day 0'),
    });
    for (const explain of ['summary', 'none']) {
      const short = await app.as('caseworker').post(`/v1/rulesets/direct-referral/evaluate?explain=${explain}`).send(body);
      expect(short.status).toBe(200);
      expect(short.body).not.toHaveProperty('unconfirmedInterpretations');
    }
  });

  test.each([
    ['a word', 'yesterday', '"yesterday"'],
    ['a day February does not have', '2025-02-30', '"2025-02-30"'],
    ['the 29th of February outside a leap year', '2025-02-29', '"2025-02-29"'],
    ['a month past 12', '2025-13-01', '"2025-13-01"'],
    ['an empty value', '', '""'],
    ['a date with a time', '2025-01-13T00:00:00Z', '"2025-01-13T00:00:00Z"'],
  ])('GET /v1/rulesets/{name}?asOf= with %s is a 400 naming asOf, not the version of another day', async (_what, asOf, shown) => {
    const res = await app.as('caseworker').get(`/v1/rulesets/segment-allocation?asOf=${encodeURIComponent(asOf)}`);
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toEqual(expect.objectContaining({ status: 400, code: 'invalid-request', type: 'urn:ps-decisions:problem:invalid-request' }));
    expect(res.body.detail).toContain(`asOf query parameter must be a real calendar date written YYYY-MM-DD`);
    expect(res.body.detail).toContain(`(got ${shown})`);
    expect(res.body.errors).toEqual([{ pointer: '', detail: 'query parameter asOf must be a real calendar date written YYYY-MM-DD' }]);
  });

  test('GET /v1/rulesets/{name} with asOf given twice is a 400 naming asOf', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets/segment-allocation?asOf=2025-01-13&asOf=2025-06-02');
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.errors).toEqual([{ pointer: '', detail: 'query parameter asOf must be a real calendar date written YYYY-MM-DD' }]);
  });

  test('GET /v1/rulesets/{name}?asOf= takes the dates evaluate takes: 29 February in a leap year', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets/segment-allocation?asOf=2024-02-29');
    expect(res.status).toBe(200);
    const evaluated = await app
      .as('caseworker')
      .post(evaluatePath('direct-referral'))
      .send({ asOf: '2024-02-29', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2024-02-29' } } });
    expect(evaluated.status).toBe(200);
  });

  test('GET an unknown rule set is a 404 problem', async () => {
    const res = await app.as('caseworker').get('/v1/rulesets/nope');
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.code).toBe('unknown-rule-set');
  });
});

describe('evaluating', () => {
  test('answers ruleSet, version, asOf, outcome and an explanation citing a seed for every rule', async () => {
    const res = await app.as('caseworker').post(evaluatePath('direct-referral')).send({ asOf: '2025-06-02', facts: directFacts });
    expect(res.status).toBe(200);
    expect(res.body.ruleSet).toBe('direct-referral');
    expect(res.body.version).toBe(registry.ruleSets.get('direct-referral')!.latest.version);
    expect(res.body.asOf).toBe('2025-06-02');
    // Monday 2 June 2025 + 5 working days (King's Birthday on 9 June is not a national holiday).
    expect(res.body.outcome).toEqual({ eligible: true, route: 'direct', unmet: [], actionDueBy: '2025-06-09', refusalApprovedBy: null });
    // Five criteria, all met, and Centrelink's two timeframe rules (urgent or not), one of which fires.
    expect(res.body.explanation).toHaveLength(7);
    expect(res.body.explanation.filter((rule: { fired: boolean }) => rule.fired)).toHaveLength(6);
    for (const rule of res.body.explanation) {
      expect(rule.sources.length).toBeGreaterThan(0);
      for (const source of rule.sources) expect(source.document).toMatch(/^00[0-2]_[0-9a-f]{16}\.txt$/);
      expect(rule.conditions.all.length).toBeGreaterThan(0);
      for (const condition of rule.conditions.all) {
        expect(condition).toEqual(
          expect.objectContaining({ fact: expect.any(String), operator: expect.any(String), result: rule.fired ? true : expect.any(Boolean) }),
        );
        expect(condition).toHaveProperty('expected');
        expect(condition).toHaveProperty('actual');
      }
    }
  });

  test("an unmet criterion shows the customer's actual value", async () => {
    const facts = { ...directFacts, customer: { serviceRestrictions: [{ channel: 'phone', level: 'partial', from: '2025-01-01' }] } };
    const res = await app.as('caseworker').post(evaluatePath('direct-referral')).send({ asOf: '2025-06-02', facts });
    expect(res.body.outcome.unmet).toEqual(['no-current-restriction']);
    const rule = res.body.explanation.find((r: { rule: string }) => r.rule === 'no-current-restriction');
    expect(rule.fired).toBe(false);
    expect(rule.conditions.all[0]).toEqual(expect.objectContaining({ fact: 'currentRestrictions', expected: 0, actual: 1, result: false }));
  });

  test('?engine=reference decides with json-rules-engine itself, identically; the response says which decided', async () => {
    const body = { asOf: '2025-06-02', facts: { ...directFacts, customer: { zoneCaseManagement: true } } };
    const compiled = await app.as('caseworker').post(evaluatePath('direct-referral')).send(body);
    const reference = await app
      .as('caseworker')
      .post(`${evaluatePath('direct-referral')}?engine=reference`)
      .send(body);
    expect(compiled.body.evaluator).toBe('compiled');
    expect(reference.body.evaluator).toBe('reference');
    expect(reference.body.outcome).toEqual(compiled.body.outcome);
    expect(reference.body.explanation).toEqual(compiled.body.explanation);
  });

  test('asOf defaults to today in Sydney, from the injected clock', async () => {
    const res = await app.as('caseworker').post(evaluatePath('direct-referral')).send({ facts: directFacts });
    expect(res.status).toBe(200);
    expect(res.body.asOf).toBe('2025-06-02');
  });

  test('segment allocation explains the evidence for all three segments', async () => {
    const facts = { program: 'child-support', referral: { source: 'ombudsman' }, customer: { psHistory: 'previously', departureProhibitionOrder: true } };
    const res = await app.as('caseworker').post(evaluatePath('segment-allocation')).send({ asOf: '2025-06-02', facts });
    expect(res.status).toBe(200);
    expect(res.body.outcome.segment).toBe(2);
    expect(res.body.outcome.indicators.segment2).toEqual([
      'segment-2-escalated-referral-source',
      'segment-2-previously-managed',
      'segment-2-departure-prohibition-order',
    ]);
    const weighed = res.body.explanation.map((r: { rule: string }) => r.rule);
    expect(weighed.filter((n: string) => n.startsWith('segment-3-')).length).toBe(7);
    expect(weighed.filter((n: string) => n.startsWith('segment-2-')).length).toBe(11);
    expect(weighed).toContain('segment-1-profile');
  });

  test('a parameter-based condition names the parameter it compares with', async () => {
    const facts = { program: 'child-support', referral: { source: 'other' }, customer: { psHistory: 'never' } };
    const res = await app.as('caseworker').post(evaluatePath('segment-allocation')).send({ asOf: '2025-06-02', facts });
    const rule = res.body.explanation.find((r: { rule: string }) => r.rule === 'segment-3-repeated-aggression');
    expect(rule.conditions.all[0]).toEqual(expect.objectContaining({ expected: 2, expectedFrom: 'parameter multiple', actual: 0, result: false }));
  });
});

describe('bad input never yields a 500', () => {
  const post = (body: string, type = 'application/json', name = 'direct-referral') =>
    app.as('caseworker').post(evaluatePath(name)).set('Content-Type', type).send(body);

  const expectProblem = (res: request.Response, status: number, pointers?: string[]) => {
    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toEqual(
      expect.objectContaining({ status, title: expect.any(String), detail: expect.any(String), type: expect.stringMatching(/^urn:ps-decisions:problem:/) }),
    );
    if (pointers) expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([...pointers].sort());
  };

  test('a non-JSON body is a 400', async () => expectProblem(await post('{"facts": {'), 400));
  test('a JSON body that is not an object is a 400', async () => expectProblem(await post('[1,2]'), 400, ['']));
  test('a missing facts member is a 400 naming /facts', async () => expectProblem(await post('{"asOf":"2025-06-02"}'), 400, ['/facts']));
  test('an unknown enum value is a 400 naming the field', async () =>
    expectProblem(await post(JSON.stringify({ facts: { ...directFacts, referral: { source: 'carrier-pigeon', receivedOn: '2025-06-02' } } })), 400, [
      '/facts/referral/source',
    ]));
  test('an impossible date is a 400 naming the field', async () =>
    expectProblem(await post(JSON.stringify({ facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2025-02-30' } } })), 400, [
      '/facts/referral/receivedOn',
    ]));
  test('an impossible asOf is a 400', async () => expectProblem(await post(JSON.stringify({ asOf: '2025-13-01', facts: directFacts })), 400, ['/asOf']));
  test('a wrong type is a 400 naming the field', async () =>
    expectProblem(await post(JSON.stringify({ facts: { ...directFacts, referral: { ...directFacts.referral, urgent: 'yes' } } })), 400, [
      '/facts/referral/urgent',
    ]));
  test('every problem is reported, not the first', async () =>
    expectProblem(await post(JSON.stringify({ facts: { program: 'tax', customer: { zoneCaseManagement: 1 }, nickname: 'x' } })), 400, [
      '/facts/program',
      '/facts/customer/zoneCaseManagement',
      '/facts/nickname',
      '/facts/referral/source',
      '/facts/referral/receivedOn',
    ]));
  test('a fact the rule set needs is required', async () =>
    expectProblem(await post(JSON.stringify({ facts: { program: 'centrelink', referral: { source: 'mats' } } })), 400, ['/facts/referral/receivedOn']));
  test('the MSP review needs the day the MSP ends, three objects deep: a 400 naming it', async () => {
    expectProblem(
      await post(JSON.stringify({ facts: { program: 'centrelink', case: { msp: { phoneAttempts: [] } } } }), 'application/json', 'msp-review'),
      400,
      ['/facts/case/msp/endsOn'],
    );
    expectProblem(await post(JSON.stringify({ facts: { program: 'centrelink' } }), 'application/json', 'msp-review'), 400, ['/facts/case/msp/endsOn']);
  });
  test('each fact of the sharing asked about is required, named by its pointer', async () =>
    expectProblem(await post(JSON.stringify({ facts: { sharing: { purpose: 'tenancy support referral' } } }), 'application/json', 'information-sharing'), 400, [
      '/facts/sharing/agency',
      '/facts/sharing/direction',
    ]));
  test("a consent whose timeframe ends before it starts is a 400 naming that consent's to, with any other problem", async () => {
    const consent = { id: 'c1', agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency', from: '2025-02-01' };
    const sharing = { agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency' };
    const ok = { ...consent, to: '2025-02-01' };
    const res = await post(
      JSON.stringify({ asOf: '2025-06-02', facts: { customer: { consents: [ok, { ...consent, to: '2025-01-31' }] }, sharing } }),
      'application/json',
      'information-sharing',
    );
    expectProblem(res, 400, ['/facts/customer/consents/1/to']);
    expect(res.body.errors[0].detail).toBe('must be on or after from (2025-02-01)');
    // Beside a problem the schema finds, it is reported too; a consent of one day (from = to) is no problem.
    expectProblem(
      await post(
        JSON.stringify({ facts: { customer: { consents: [{ ...consent, to: '2025-01-31' }, ok] }, sharing: { ...sharing, direction: 'sideways' } } }),
        'application/json',
        'information-sharing',
      ),
      400,
      ['/facts/customer/consents/0/to', '/facts/sharing/direction'],
    );
  });
  test('referral options need the program: which referrals apply depends on it, and a missing one is a 400 naming it', async () =>
    expectProblem(await post(JSON.stringify({ facts: { customer: { needs: ['legal'] } } }), 'application/json', 'referral-options'), 400, ['/facts/program']));
  test('a need Community Connections does not list, or one given twice, is a 400 naming it', async () => {
    const facts = { program: 'centrelink', customer: { needs: ['housing'], behaviours: ['non-compliant', 'non-compliant'] } };
    expectProblem(await post(JSON.stringify({ facts }), 'application/json', 'referral-options'), 400, [
      '/facts/customer/needs/0',
      '/facts/customer/behaviours',
    ]);
  });
  test('referral options are suggestions with the rules that suggest them', async () => {
    const facts = { program: 'centrelink', customer: { urgentPaymentRequests: [{ date: '2025-01-10' }, { date: '2025-05-02' }], needs: ['legal'] } };
    const res = await app.as('caseworker').post(evaluatePath('referral-options')).send({ asOf: '2025-06-02', facts });
    expect(res.status).toBe(200);
    expect(res.body.outcome).toEqual({
      consider: [
        { referral: 'payment-options-review', because: ['payment-options-urgent-payment-requests'] },
        { referral: 'community-legal', because: ['community-legal'] },
      ],
      discussWithSsm: false,
    });
  });
  test('an unknown rule set is a 404', async () => expectProblem(await post(JSON.stringify({ facts: directFacts }), 'application/json', 'nope'), 404));
  test('a list longer than any case holds is a 400 naming the list, its items unread', async () => {
    const incidents = new Array(INCIDENTS_BOUND + 1).fill({ date: 'soon', kind: 'shouting' });
    const res = await post(JSON.stringify({ facts: { ...directFacts, customer: { incidents } } }));
    expectProblem(res, 400, ['/facts/customer/incidents']);
    expect(res.body.errors[0].detail).toMatch(new RegExp(`^must have at most ${INCIDENTS_BOUND.toLocaleString('en-AU')} items`));
  });
  test('a body of thousands of mistakes lists the first 100 and says how many there were', async () => {
    const incidents = new Array(INCIDENTS_BOUND).fill({ date: 1, kind: 1, setting: 1 });
    const res = await post(JSON.stringify({ facts: { ...directFacts, customer: { incidents } } }));
    expectProblem(res, 400);
    expect(res.body.errors).toHaveLength(100);
    expect(res.body.errorCount).toBe(incidents.length * 3);
    expect(res.body.detail).toBe(
      `The request does not match the contract. ${(incidents.length * 3).toLocaleString('en-AU')} problems were found; the first 100 are listed.`,
    );
  });
  test('a 2 MiB body is a 413', async () => {
    const padding = 'x'.repeat(2 * 1024 * 1024);
    expectProblem(await post(JSON.stringify({ facts: directFacts, padding })), 413);
  });
  test('a non-JSON content type is a 415', async () => expectProblem(await post('facts=1', 'application/x-www-form-urlencoded'), 415));
  test('a plain-text body is a 415', async () => expectProblem(await post('hello', 'text/plain'), 415));
  test('an unknown engine is a 400', async () =>
    expectProblem(
      await app
        .as('caseworker')
        .post(`${evaluatePath('direct-referral')}?engine=fast`)
        .send({ facts: directFacts }),
      400,
    ));
  test('an unknown route is a 404 problem', async () => expectProblem(await app.as('caseworker').get('/v2/nothing'), 404));
  test('a date reckoned past 9999-12-31 is a 422, never "10000-…"', async () => {
    // Exit readiness when the customer cannot be reached by phone: submit 14 days after the exit letter, here past the year 9999.
    const facts = { program: 'child-support', case: { customerContactableByPhone: false, exitLetterIssuedOn: '9999-12-31' } };
    const res = await post(JSON.stringify({ asOf: '2025-06-02', facts }), 'application/json', 'exit-readiness');
    expectProblem(res, 422);
    expect(res.body.code).toBe('date-out-of-range');
  });
  test('a date beyond the holiday calendar is refused, not guessed', async () =>
    expectProblem(await post(JSON.stringify({ asOf: '2041-06-02', facts: { ...directFacts, referral: { source: 'mats', receivedOn: '2041-06-03' } } })), 422));
});
