// summary.reasons and summary.assumed: the rules that decided, in a few plain lines with the customer's values and
// dates, and the facts a decision took as declared because the request left them out. The expected texts are written
// from the procedure's steps (as the rule files word them) and each fixture's facts, not copied from a run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { decide, runOf } from '../../src/engine/evaluate';
import { summaryAssumed, summaryReasons, type Reason } from '../../src/engine/reasons';
import { decideSummary, summarize } from '../../src/engine/summary';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { caseGenerator } from '../../fixtures/generator';
import { FIXTURES_DIR, shippedRules } from '../support';

const registry = shippedRules();

function fixtureSummary(ruleSetName: string, file: string) {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES_DIR, ruleSetName, `${file}.json`), 'utf8')) as { asOf: string; facts: Record<string, unknown> };
  const ruleSet = registry.ruleSets.get(ruleSetName)!.resolve(fixture.asOf);
  const request = parseEvaluateRequest({ asOf: fixture.asOf, facts: fixture.facts }, ruleSet.name, ruleSet.file.requires);
  const decision = decide(ruleSet, request.facts, fixture.asOf);
  return { reasons: summaryReasons(runOf(ruleSet, request.facts, decision), request.facts), assumed: summaryAssumed(ruleSet, decision) };
}

const texts = (reasons: Reason[]) => reasons.map((r) => [r.rule, r.text]);

const SEGMENT_1_CITATION = '001_f3898d6cd45509ea.txt, Resources, Table 3, Step 2; 001_f3898d6cd45509ea.txt, Resources, Table 2, Step 2';
const MEETS_COMMITMENTS = {
  fact: 'customer.meetsCommitments',
  value: true,
  source: `The rule file segment-allocation.json (factDefaults): A customer the case does not record as failing to meet their Services Australia commitments is taken to meet them. Sources: ${SEGMENT_1_CITATION}.`,
};

describe('segment-allocation', () => {
  test('a restriction in force since 2025-03-01, no end: segment 3, for that restriction (Resources Table 4 Step 1)', () => {
    const { reasons, assumed } = fixtureSummary('segment-allocation', '20-current-restriction-segment-3');
    expect(texts(reasons)).toEqual([
      ['segment-3-service-restriction', 'The customer has a service-channel restriction in force (a full phone restriction from 2025-03-01).'],
    ]);
    expect(reasons[0]!.citation).toBe(
      '001_f3898d6cd45509ea.txt, Resources, Table 4, Step 1; 001_f3898d6cd45509ea.txt, Child Support, Table 8, Step 3; 001_f3898d6cd45509ea.txt, Child Support, Table 8, Step 6',
    );
    // Meeting commitments is not recorded: the rule file takes the customer to meet them.
    expect(assumed).toEqual([MEETS_COMMITMENTS]);
  });

  test("a plain 'other' referral with no indicator: segment 2, because the segment 1 profile's referral source is not met", () => {
    const { reasons } = fixtureSummary('segment-allocation', '18-plain-other-referral-default-segment-2');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]!.rule).toBe('segment-1-profile');
    expect(reasons[0]!.text).toMatch(
      /^Not met: A proactive referral or an associated customer, never managed in PS, .*\(where the referral to PS came from: other\)\.$/,
    );
  });

  test('a proactive referral with one open issue: segment 1, and no segment 2 indicator found', () => {
    const { reasons } = fixtureSummary('segment-allocation', '01-proactive-single-issue-segment-1');
    expect(reasons.map((r) => r.rule.split(', ')[0])).toEqual(['segment-1-profile', 'segment-2-escalated-referral-source']);
    expect(reasons[0]!.text).toContain('(where the referral to PS came from: proactive; managed in PS: never; issue i1 (income-correct, confirmed))');
    expect(reasons[1]).toMatchObject({ text: 'None of the 11 segment 2 indicators is found.' });
  });

  test('every segment 3 indicator: four lines quote theirs, the fifth sums up the rest', () => {
    const { reasons } = fixtureSummary('segment-allocation', '36-every-indicator-segment-3');
    expect(reasons).toHaveLength(5);
    expect(reasons[4]!.text).toBe('3 more segment 3 indicators are found too.');
  });
});

describe('direct-referral', () => {
  test('a MATS referral meeting every criterion: one line for the five criteria, and the 5-working-day timeframe (Centrelink Table 1)', () => {
    const { reasons, assumed } = fixtureSummary('direct-referral', '01-mats-referral-all-criteria-met');
    expect(texts(reasons)).toEqual([
      [
        'centrelink-program, direct-referral-source, no-current-restriction, no-recent-face-to-face-aggression, no-zone-case-management',
        'All 5 criteria for the direct route are met.',
      ],
      [
        'centrelink-action-timeframe',
        'A Centrelink referral that is not urgent is actioned within 5 working days: the due date is working day 5 after receipt (the day PS received the referral: 2025-06-02).',
      ],
    ]);
    expect(reasons[1]!.citation).toBe('001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 2');
    expect(assumed).toEqual([]);
  });

  test('a partial phone restriction from 2025-01-01: not met, quoting the restriction; the timeframe still given', () => {
    const { reasons } = fixtureSummary('direct-referral', '11-current-restriction');
    expect(texts(reasons)).toEqual([
      [
        'no-current-restriction',
        'Not met: The customer has no current restriction on accessing agency services (a partial phone restriction from 2025-01-01).',
      ],
      [
        'centrelink-action-timeframe',
        'A Centrelink referral that is not urgent is actioned within 5 working days: the due date is working day 5 after receipt (the day PS received the referral: 2025-06-02).',
      ],
    ]);
  });

  test('face-to-face verbal abuse on 2024-06-03, 12 months less a day before: not met, with the incident and its date', () => {
    const { reasons } = fixtureSummary('direct-referral', '06-face-to-face-aggression-inside-window');
    expect(reasons[0]!.text).toBe(
      'Not met: The customer has had no aggression incident in the face-to-face environment within the aggression window (12 months) (verbal abuse (face to face) on 2024-06-03).',
    );
  });
});

describe('exit-readiness', () => {
  test('every Centrelink condition holds: the ground met, its eight criteria summed up in one line (Centrelink Table 4)', () => {
    const { reasons, assumed } = fixtureSummary('exit-readiness', '01-centrelink-all-met');
    expect(reasons.map((r) => r.text)).toEqual(["The customer's issues have been addressed: all 8 of its criteria are met."]);
    expect(reasons[0]!.rule.split(', ')).toHaveLength(8);
    expect(assumed).toEqual([
      {
        fact: 'case.customerContactableByPhone',
        value: true,
        source:
          'The rule file exit-readiness.json (factDefaults): A customer the case does not record as unreachable by phone is taken to be contactable by phone. Sources: 001_f3898d6cd45509ea.txt, Child Support, Table 6, Step 1.',
      },
    ]);
  });

  test('not reachable by phone, exit letter issued 2025-11-01, decided 2025-11-14: 13 of the 14 days have passed', () => {
    const { reasons, assumed } = fixtureSummary('exit-readiness', '07-cs-letter-thirteen-days-not-ready');
    expect(texts(reasons)).toEqual([
      [
        'exit-letter-response-period',
        'Not met: The customer can be reached by phone, or the exit letter was issued and the response period (14 days) has passed (the customer can be contacted by phone: no; the day the exit letter was issued: 2025-11-01, 13 days before 2025-11-14).',
      ],
    ]);
    expect(assumed).toEqual([]);
  });
});

describe('service-restriction', () => {
  test('physical violence face to face on 2025-05-20: the immediate pathway, its three criteria each with the evidence (Child Support Table 3)', () => {
    const { reasons } = fixtureSummary('service-restriction', '08-physical-violence-immediate');
    expect(reasons.map((r) => r.rule)).toEqual(['child-support-program', 'managed-by-ps', 'actual-or-threatened-violence']);
    expect(reasons[1]!.text).toMatch(/^The customer is currently managed by PS.*\(managed in PS: current\)\.$/);
    expect(reasons[2]!.text).toBe(
      'The customer has used or threatened physical violence within the violence window (12 months) (physical violence (face to face) on 2025-05-20, a security incident).',
    );
  });

  test('no warning given: the after-warning pathway is not met, and says none is recorded', () => {
    const { reasons } = fixtureSummary('service-restriction', '03-no-warning-given');
    expect(texts(reasons)).toEqual([
      [
        'warning-given',
        'Not met: A warning (verbal or written, by PS or elsewhere in the agency) has been given to the customer on or before the as-of date (none recorded).',
      ],
    ]);
  });

  test('a warning recorded after the as-of date: not "none recorded", but the one on the record, so its date shows why it does not count', () => {
    const { reasons } = fixtureSummary('service-restriction', '04-warning-after-as-of-date');
    expect(texts(reasons)).toEqual([
      [
        'warning-given',
        'Not met: A warning (verbal or written, by PS or elsewhere in the agency) has been given to the customer on or before the as-of date (none of the 1 on the record: a verbal warning on 2025-06-10).',
      ],
    ]);
  });

  test('a consent for another agency is named as on the record, and a source placed by sentence is cited as written, not as "Step sentence 5"', () => {
    const { reasons } = fixtureSummary('information-sharing', '03-consent-for-another-agency');
    expect(reasons).toEqual([
      {
        rule: 'consent-agency',
        text: 'Not met: The customer has given consent for sharing with this agency (none of the 1 on the record: consent c1 for tenancy support referral, to agency Community Health Service, from 2025-01-01 to 2025-12-31).',
        citation: '000_8673a781749efd10.txt, Customer Account, last paragraph, sentence 5',
      },
    ]);
  });
});

describe('specialist-transfer', () => {
  test('an objection outstanding, everything else resolved: all five criteria, the process quoted', () => {
    const { reasons } = fixtureSummary('specialist-transfer', '02-objection-outstanding');
    expect(reasons.map((r) => r.rule)).toEqual([
      'child-support-program',
      'issues-addressed-appropriately',
      'no-other-outstanding-issues',
      'single-specialist-process-outstanding',
      'no-escalating-history',
    ]);
    expect(reasons[3]!.text).toContain('(issue s2 (objection, recorded), in objection)');
  });

  test('a Centrelink case with everything wrong: each of the five criteria not met, with what breaks it', () => {
    const { reasons } = fixtureSummary('specialist-transfer', '13-everything-wrong');
    expect(reasons.every((r) => r.text.startsWith('Not met: '))).toBe(true);
    expect(reasons[0]!.text).toBe(
      'Not met: Transfer to a specialist business area is a step of the Child Support procedure (the program managing the customer: centrelink).',
    );
    expect(reasons[3]!.text).toContain('issue s1 (change-of-assessment, confirmed), in change of assessment; issue s2 (objection, recorded), in objection');
    expect(reasons[4]!.text).toBe('Not met: The customer does not have a history of escalating Child Support decisions.');
  });
});

// Met rules are summed up past five lines; unmet criteria are each listed (each is something to act on), so a negative
// answer has at most its primary ground's criteria, plus a direct referral's timeframe line.
const CASES = 2_000;
const MAX_LINES = 10;
const versions = [...registry.ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [`${rs.name} ${v.sourceFile}`, v] as const));

test.each(versions)('%s: over generated cases, 1 to a few reasons, each naming weighed rules, in whole words', (_name, ruleSet) => {
  const next = caseGenerator(1515);
  const problems: unknown[] = [];
  for (let i = 0; i < CASES; i += 1) {
    const generated = next();
    const asOf = ruleSet.effectiveTo && generated.asOf > ruleSet.effectiveTo ? `2024${generated.asOf.slice(4)}` : generated.asOf;
    const request = parseEvaluateRequest({ asOf, facts: generated.facts }, ruleSet.name, ruleSet.file.requires);
    const decision = decide(ruleSet, request.facts, asOf);
    const weighed = new Set(decision.explanation.map((r) => r.rule));
    const reasons = summaryReasons(runOf(ruleSet, request.facts, decision), request.facts);
    const met = reasons.filter((r) => !r.text.startsWith('Not met: '));
    const bad =
      reasons.length < 1 ||
      reasons.length > MAX_LINES ||
      met.length > 5 ||
      reasons.some((r) => r.rule.split(', ').some((rule) => !weighed.has(rule)) || /undefined|\[object|NaN/.test(r.text) || r.citation === '');
    if (bad && problems.length < 3) problems.push({ asOf, facts: generated.facts, outcome: decision.outcome, reasons });
    for (const a of summaryAssumed(ruleSet, decision)) if (/undefined|\[object|NaN/.test(a.source)) problems.push(a);
  }
  expect(problems).toEqual([]);
});

// ?explain=summary decides without the trace and explains only the rules that decided (decideSummary): its whole
// summary must be the one the explained decision gives (summarize), outcome and reasons alike, for every version.
test.each(versions)("%s: the summary given without the trace is the explained decision's, over generated cases", (_name, ruleSet) => {
  const rules = registry.ruleSets.get(ruleSet.name)!;
  const next = caseGenerator(2323);
  const differing: unknown[] = [];
  for (let i = 0; i < 500; i += 1) {
    const generated = next();
    const asOf = ruleSet.effectiveTo && generated.asOf > ruleSet.effectiveTo ? `2024${generated.asOf.slice(4)}` : generated.asOf;
    const request = parseEvaluateRequest({ asOf, facts: generated.facts }, ruleSet.name, ruleSet.file.requires);
    const decision = decide(ruleSet, request.facts, asOf);
    const explained = summarize(rules, ruleSet, decision, request.facts, generated.facts);
    const verdict = decideSummary(rules, ruleSet, request.facts, asOf, generated.facts);
    if (!isDeepStrictEqual([verdict.outcome, verdict.summary], [decision.outcome, explained]) && differing.length < 2) {
      differing.push({ asOf, facts: generated.facts, explained, verdict: verdict.summary });
    }
  }
  expect(differing).toEqual([]);
});
