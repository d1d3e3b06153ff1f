// The fact vocabulary's bounds and the cap on problems listed: a list over its bound is one problem naming it, a
// body of thousands of mistakes lists the first 100 and counts the rest, and ordinary mistakes read as before.
import { problemOf } from '../../src/api/problem';
import { DecisionError, MAX_LISTED_ISSUES } from '../../src/errors';
import { caseFactsSchema } from '../../src/facts/schema';
import { checkCaseFacts, MOST_VALUES_IN_A_REQUEST, parseEvaluateRequest, ValueCount } from '../../src/facts/validate';

type Json = Record<string, unknown>;

/** Every list of CaseFacts: its JSON pointer in the facts, its bound, and a valid item for it. */
const LISTS = [
  { at: ['customer', 'serviceRestrictions'], item: { channel: 'phone', level: 'partial', from: '2020-01-01', to: '2020-06-01' } },
  { at: ['customer', 'incidents'], item: { date: '2024-03-05', kind: 'verbal-abuse', setting: 'phone' } },
  { at: ['customer', 'complaints'], item: { date: '2024-03-05', stage: 'escalated', topic: 'payments' } },
  { at: ['customer', 'scsActivity'], item: { date: '2024-03-05' } },
  { at: ['customer', 'nonCompliance'], item: { date: '2024-03-05' } },
  { at: ['customer', 'paymentArrangementDefaults'], item: { date: '2024-03-05' } },
  { at: ['case', 'issues'], item: { id: 'income', kind: 'income', status: 'resolved' } },
  { at: ['case', 'outstandingIntrays'], item: { kind: 'review', specialist: false } },
  { at: ['case', 'warnings'], item: { date: '2024-03-05', kind: 'written' } },
  {
    at: ['customer', 'consents'],
    item: { id: 'c1', agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency', from: '2024-03-05', to: '2024-03-05' },
  },
].map(({ at, item }) => {
  const schema = (caseFactsSchema.properties as unknown as Record<string, { properties: Record<string, { maxItems?: number }> }>)[at[0] as string]!.properties[
    at[1] as string
  ]!;
  return { at, pointer: `/facts/${at.join('/')}`, item, maxItems: schema.maxItems as number };
});

const BASE = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' }, customer: { psHistory: 'never' } };

/** BASE with a list set at `at`. */
function withList(at: string[], items: unknown[]): Json {
  const facts = structuredClone(BASE) as Json;
  const group = (facts[at[0] as string] as Json | undefined) ?? {};
  group[at[1] as string] = items;
  facts[at[0] as string] = group;
  return facts;
}

/** The refusal parseEvaluateRequest throws for a body. */
function refusal(body: unknown): DecisionError {
  try {
    parseEvaluateRequest(body, 'direct-referral', ['program', 'referral.source', 'referral.receivedOn'], { copy: false });
  } catch (error) {
    if (error instanceof DecisionError) return error;
    throw error;
  }
  throw new Error('the body was accepted');
}

describe('every list is bounded', () => {
  test('the schema bounds every list, and its description says each bound and why', () => {
    const description = caseFactsSchema.description as string;
    for (const list of LISTS) {
      expect(list.maxItems).toBeGreaterThanOrEqual(100);
      expect(description).toContain(`${list.at[1]} ${list.maxItems.toLocaleString('en-AU')} (`);
    }
  });

  test.each(LISTS)('$pointer at its bound is a case', ({ at, item, maxItems }) => {
    const items = Array.from({ length: maxItems }, (_, i) => (at[1] === 'issues' ? { ...item, id: `issue-${i}` } : { ...item }));
    const request = parseEvaluateRequest({ asOf: '2025-06-02', facts: withList(at, items) }, 'direct-referral', []);
    expect((request.facts[at[0] as string] as Json)[at[1] as string]).toHaveLength(maxItems);
  });

  test.each(LISTS)('$pointer one over its bound is one problem naming the list, its items not checked', ({ at, pointer, maxItems }) => {
    // Every item wrong: were the items walked, each would be a problem of its own.
    const error = refusal({
      asOf: '2025-06-02',
      facts: withList(
        at,
        Array.from({ length: maxItems + 1 }, () => ({ wrong: true })),
      ),
    });
    expect(error.issues).toEqual([{ pointer, message: expect.stringMatching(new RegExp(`^must have at most ${maxItems.toLocaleString('en-AU')} items`)) }]);
    expect(error.issueCount).toBe(1);
  });

  test("a list over its bound is reported with the body's other problems", () => {
    const facts = { ...withList(['customer', 'incidents'], new Array(100_000).fill(0)), program: 'tax' };
    const error = refusal({ asOf: '2025-06-02', facts });
    expect(error.issues.map((i) => i.pointer).sort()).toEqual(['/facts/customer/incidents', '/facts/program']);
  });
});

describe("a consent's timeframe ends on or after it starts", () => {
  const consent = { id: 'c1', agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency', from: '2025-02-01' };

  test('bare facts (triage) with a timeframe ending before it starts are refused, naming its to; a one-day timeframe is a case', () => {
    const refused = () =>
      checkCaseFacts({
        customer: {
          consents: [
            { ...consent, to: '2025-02-01' },
            { ...consent, id: 'c2', to: '2025-01-31' },
          ],
        },
      });
    expect(refused).toThrow(DecisionError);
    try {
      refused();
    } catch (error) {
      expect((error as DecisionError).issues).toEqual([{ pointer: '/customer/consents/1/to', message: 'must be on or after from (2025-02-01)' }]);
    }
    expect(() => checkCaseFacts({ customer: { consents: [{ ...consent, to: '2025-02-01' }] } })).not.toThrow();
  });

  test("reported with the body's other problems, each once", () => {
    const error = refusal({ facts: { ...BASE, program: 'tax', customer: { consents: [{ ...consent, to: '2025-01-31' }] } } });
    expect(error.issues.map((i) => i.pointer).sort()).toEqual(['/facts/customer/consents/0/to', '/facts/program']);
  });
});

describe('the first 100 problems are listed, and every one counted', () => {
  test('a list of wrong items within its bound: 100 listed, all counted, in order', () => {
    const items = Array.from({ length: 600 }, () => ({ date: 1, kind: 1, setting: 1 }));
    const error = refusal({ asOf: '2025-06-02', facts: withList(['customer', 'incidents'], items) });
    expect(error.issues).toHaveLength(MAX_LISTED_ISSUES);
    expect(error.issueCount).toBe(600 * 3);
    expect(error.issues[0]).toEqual({ pointer: '/facts/customer/incidents/0/date', message: 'must be of type string' });
    expect(error.issues[99]!.pointer).toBe('/facts/customer/incidents/33/date');
  });

  test('a flood of keys outside the vocabulary is refused on their count, naming the first 100', () => {
    const facts: Json = { ...BASE };
    for (let i = 0; i < 50_000; i += 1) facts[`k${i}`] = i;
    const error = refusal({ asOf: '2025-06-02', facts });
    expect(error.issues).toHaveLength(MAX_LISTED_ISSUES);
    expect(error.issueCount).toBe(50_000);
    expect(error.issues[0]).toEqual({ pointer: '/facts/k0', message: 'k0 is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)' });
    expect(error.message).toMatch(/more keys outside the fact vocabulary than a problem lists/);
  });

  test('unknown keys are counted inside list items too, with pointers escaped', () => {
    const item: Json = { date: '2024-03-05', kind: 'verbal-abuse', setting: 'phone' };
    for (let i = 0; i < 300; i += 1) item[`a/b~${i}`] = true;
    const error = refusal({ asOf: '2025-06-02', facts: withList(['customer', 'incidents'], [item]) });
    expect(error.issueCount).toBe(300);
    expect(error.issues[0]!.pointer).toBe('/facts/customer/incidents/0/a~1b~00');
  });

  test('up to 100 unknown keys are reported with every other problem, as before', () => {
    const facts: Json = { ...BASE, program: 'tax' };
    for (let i = 0; i < 100; i += 1) facts[`k${i}`] = i;
    const error = refusal({ asOf: '2025-06-02', facts });
    expect(error.issueCount).toBe(101);
    expect(error.issues).toHaveLength(MAX_LISTED_ISSUES);
    expect(error.message).toBe('The request does not match the contract.');
  });

  test('ordinary mistakes are reported exactly as before', () => {
    const error = refusal({ facts: { program: 'tax', customer: { zoneCaseManagement: 1 }, nickname: 'x' } });
    expect(error.message).toBe('The request does not match the contract.');
    expect(error.issueCount).toBe(error.issues.length);
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { pointer: '/facts/program', message: 'must be one of: "centrelink", "child-support"' },
        { pointer: '/facts/customer/zoneCaseManagement', message: 'must be of type boolean' },
        { pointer: '/facts/nickname', message: 'nickname is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)' },
        { pointer: '/facts/referral/source', message: 'referral.source is required by the direct-referral rule set' },
      ]),
    );
  });

  test('bare facts (triage) are capped and counted the same way', () => {
    const facts = withList(
      ['customer', 'scsActivity'],
      Array.from({ length: 500 }, () => ({ date: '2024-02-30' })),
    );
    let error: unknown;
    try {
      checkCaseFacts(facts);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DecisionError);
    expect((error as DecisionError).issues).toHaveLength(MAX_LISTED_ISSUES);
    expect((error as DecisionError).issueCount).toBe(500);
    expect((error as DecisionError).issues[0]).toEqual({ pointer: '/customer/scsActivity/0/date', message: 'must be a real calendar date written YYYY-MM-DD' });
  });
});

describe("a body that is not the caller's own is copied, never changed", () => {
  test('defaults fill the copy; the body keeps its own keys, even __proto__', () => {
    const body = JSON.parse(
      '{"asOf":"2025-06-02","facts":{"program":"centrelink","referral":{"source":"mats","receivedOn":"2025-06-02"},"customer":{"incidents":[{"date":"2024-03-05","kind":"verbal-abuse","setting":"phone"}]}}}',
    ) as Json;
    const before = JSON.stringify(body);
    const request = parseEvaluateRequest(body, 'direct-referral', []);
    expect(JSON.stringify(body)).toBe(before);
    expect((request.facts.customer as Json).zoneCaseManagement).toBe(false);
    expect(((request.facts.customer as Json).incidents as Json[])[0]!.securityIncident).toBe(false);

    const polluted = JSON.parse('{"facts":{"program":"centrelink","__proto__":{"polluted":true}}}') as Json;
    const error = (() => {
      try {
        parseEvaluateRequest(polluted, 'direct-referral', []);
      } catch (thrown) {
        return thrown as DecisionError;
      }
      throw new Error('accepted');
    })();
    expect(error.issues).toEqual([
      { pointer: '/facts/__proto__', message: '__proto__ is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)' },
    ]);
    expect(({} as Json).polluted).toBeUndefined();
  });

  test('a value nested thousands deep is reported where it is', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const body = JSON.parse(`{"facts":{"program":"centrelink","referral":{"source":"mats","receivedOn":"2025-06-02"},"notes":${deep}}}`) as Json;
    const error = (() => {
      try {
        parseEvaluateRequest(body, 'direct-referral', []);
      } catch (thrown) {
        return thrown as DecisionError;
      }
      throw new Error('accepted');
    })();
    expect(error.issues).toEqual([
      { pointer: '/facts/notes', message: 'notes is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)' },
    ]);
  });
});

describe('a problem document lists at most 100 problems and says how many there were', () => {
  const issues = (n: number) => Array.from({ length: n }, (_, i) => ({ pointer: `/cases/${i}`, message: 'must be an object' }));

  test('100 problems are all listed, with no count', () => {
    const problem = problemOf(new DecisionError('invalid-request', 'Some impact cases are malformed.', issues(100)));
    expect(problem.errors).toHaveLength(100);
    expect(problem.errorCount).toBeUndefined();
    expect(problem.detail).toBe('Some impact cases are malformed.');
  });

  test('past 100, whoever found them: the first 100, the count, and the detail says so', () => {
    const problem = problemOf(new DecisionError('invalid-request', 'Some impact cases are malformed.', issues(10_000)));
    expect(problem.errors).toHaveLength(100);
    expect(problem.errors![99]).toEqual({ pointer: '/cases/99', detail: 'must be an object' });
    expect(problem.errorCount).toBe(10_000);
    expect(problem.detail).toBe('Some impact cases are malformed. 10,000 problems were found; the first 100 are listed.');
  });

  test('a count beyond the problems described (validation stops describing at 100)', () => {
    const problem = problemOf(new DecisionError('invalid-request', 'The request does not match the contract.', issues(100), 88_845));
    expect(problem.errors).toHaveLength(100);
    expect(problem.errorCount).toBe(88_845);
    expect(problem.detail).toBe('The request does not match the contract. 88,845 problems were found; the first 100 are listed.');
  });
});

describe('a body is counted before it is parsed, and no case holds more values than the most', () => {
  /** The largest case: every list at its bound, every field given, every string at its longest. */
  function largestCase(): Json {
    const full: Record<string, Json> = {
      serviceRestrictions: { channel: 'face-to-face', level: 'partial', from: '2020-01-01', to: '2020-06-01' },
      incidents: { date: '2024-03-05', kind: 'threat-of-violence', setting: 'face-to-face', securityIncident: true },
      complaints: { date: '2024-03-05', stage: 'escalated', topic: 't'.repeat(200), upheld: true },
      scsActivity: { date: '2024-03-05' },
      nonCompliance: { date: '2024-03-05' },
      paymentArrangementDefaults: { date: '2024-03-05' },
      issues: { id: 'i'.repeat(100), kind: 'k'.repeat(100), status: 'confirmed', mandatory: true, specialistProcess: 'departure-prohibition-order' },
      outstandingIntrays: { kind: 'k'.repeat(100), specialist: true },
      warnings: { date: '2024-03-05', kind: 'written' },
      consents: {
        id: 'i'.repeat(100),
        agency: 'a'.repeat(200),
        purpose: 'p'.repeat(200),
        direction: 'from-agency',
        from: '2024-03-05',
        to: '2025-03-04',
        withdrawnOn: '2024-09-01',
      },
    };
    const facts = structuredClone(BASE) as Json;
    facts.sharing = { agency: 'a'.repeat(200), purpose: 'p'.repeat(200), direction: 'from-agency', on: '2025-06-02' };
    for (const { at, maxItems } of LISTS) {
      const group = (facts[at[0] as string] as Json | undefined) ?? {};
      group[at[1] as string] = Array.from({ length: maxItems }, () => full[at[1] as string]);
      facts[at[0] as string] = group;
    }
    return { asOf: '2025-06-02', facts };
  }

  /** Whether a text is within `most` values, its bytes given `chunk` at a time. */
  const within = (text: string, most = MOST_VALUES_IN_A_REQUEST, chunk = Infinity): boolean => {
    const bytes = Buffer.from(text);
    const count = new ValueCount(most);
    let ok = true;
    for (let i = 0; i < bytes.length; i += Math.min(chunk, bytes.length)) ok = count.add(bytes.subarray(i, i + chunk)) && ok;
    return ok;
  };

  test('the largest case is within the most, and is a case', () => {
    const body = largestCase();
    expect(within(JSON.stringify(body))).toBe(true);
    expect(() => parseEvaluateRequest(body, 'direct-referral', [])).not.toThrow();
  });

  test('one value more than the most is refused, naming the whole body', () => {
    // The object, facts, the comma before referral, and referral: 4.
    const most = 4;
    const text = '{"facts":{"program":"centrelink","referral":{"source":"mats"}}}';
    expect(new ValueCount(most).add(Buffer.from(text))).toBe(true);
    const count = new ValueCount(most - 1);
    expect(count.add(Buffer.from(text))).toBe(false);
    expect(count.refusal().issues).toEqual([{ pointer: '', message: 'holds more than 3 values' }]);
    expect(count.refusal().code).toBe('invalid-request');
  });

  test('commas, brackets and quotes inside strings are not counted, however the bytes arrive', () => {
    const text = JSON.stringify({ facts: { program: 'a,b,[{"c\\",,,}]', notes: ['x"]', '\\', 'é,€,😀'] } });
    // The object, facts, the comma before notes, the notes list and the two commas in it: 6.
    for (const chunk of [Infinity, 7, 1]) {
      expect(within(text, 6, chunk)).toBe(true);
      expect(within(text, 5, chunk)).toBe(false);
    }
  });

  test('1 MiB of tiny values is refused within its first 64 KiB', () => {
    for (const text of [
      `{"facts":{"customer":{"incidents":[${new Array(300_000).fill('{}').join(',')}]}}}`,
      `{"facts":{"x":${'['.repeat(500_000)}${']'.repeat(500_000)}}}`,
    ]) {
      expect(new ValueCount().add(Buffer.from(text).subarray(0, 64 * 1024))).toBe(false);
    }
    expect(MOST_VALUES_IN_A_REQUEST).toBeLessThan((64 * 1024) / 2);
  });
});
