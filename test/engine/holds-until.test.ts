// summary.holdsUntil (src/engine/holds-until.ts) against deciding day by day. holdsUntil decides only the days a version
// or a derived fact can change; these tests decide the days it skips. Over 10,000 generated cases per rule-set
// version: the day before holdsUntil gives the verdict asOf gives, holdsUntil another (and, when null, the calendar's
// last day the same). For 500 of them, every day from asOf to the day before holdsUntil (to the calendar's last day
// when null) gives the same verdict: so nothing but the versions and the derived facts moves a verdict with time.
// Then cases from the procedures, with the day each one's answer stops holding worked out from the seed's words.
import { isDeepStrictEqual } from 'node:util';
import { addDays, dateOfDay, dayNumber } from '../../src/dates/calendar';
import type { CompiledRuleSet } from '../../src/engine/compile';
import { decideRun, decideVerdict, outcomeFrom } from '../../src/engine/evaluate';
import { holdsUntil } from '../../src/engine/holds-until';
import { parseEvaluateRequest, type CaseFacts } from '../../src/facts/validate';
import type { RuleSetVersions } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { caseGenerator } from '../../fixtures/generator';
import { shippedRules } from '../support';

const CASES = 10_000;
const EXHAUSTIVE = 500;
/**
 * How far the day-by-day run goes past asOf when holdsUntil is null: a year and a day, the longest window
 * (12 months) plus the month-end clamp and the exit-letter waits, so every entry dated on or before asOf has left its
 * window inside it. Deciding every day to the calendar's end (2040) for 500 cases of ten versions would take minutes
 * under jest; the first test decides the calendar's last day for every case whose holdsUntil is null.
 */
const HORIZON_DAYS = 366;
const registry = shippedRules();
const ruleSets = (name: string) => registry.ruleSets.get(name) as RuleSetVersions;

/** The verdict, as the issue defines it: the outcome without the fields its module says are reckoned from asOf. */
function verdictOf(ruleSet: string, outcome: Record<string, unknown>): Record<string, unknown> {
  const verdict = { ...outcome };
  for (const field of RULE_SET_MODULES[ruleSet]?.datedFromAsOf ?? []) delete verdict[field];
  return verdict;
}

/** Two outcome values compared as JSON (outcomes are plain data): quicker than isDeepStrictEqual for the day-by-day run. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const keys = Object.keys(a);
  if (Array.isArray(a) !== Array.isArray(b) || keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  return true;
}

/** Whether an outcome gives `verdict` (an outcome's verdict), its fields reckoned from asOf aside. */
function gives(ruleSet: string, outcome: Record<string, unknown>, verdict: Record<string, unknown>): boolean {
  const dated = RULE_SET_MODULES[ruleSet]?.datedFromAsOf ?? [];
  let fields = 0;
  for (const key of Object.keys(outcome)) {
    if (dated.includes(key)) continue;
    fields += 1;
    if (!sameJson(outcome[key], verdict[key])) return false;
  }
  return fields === Object.keys(verdict).length;
}

const decideOn = (versions: RuleSetVersions, facts: CaseFacts, date: string) =>
  verdictOf(versions.name, decideVerdict(versions.resolve(date), facts, date).outcome);

/** The last day the holiday calendar covers. */
const calendarEnd = (ruleSet: CompiledRuleSet) => `${ruleSet.calendar.toYear}-12-31`;

/** A generated case dated inside the version's period (as test/engine/differential.test.ts does), its facts validated. */
function casesFor(versions: RuleSetVersions, version: CompiledRuleSet): () => { asOf: string; facts: CaseFacts } {
  const next = caseGenerator(4242);
  return () => {
    const generated = next();
    let { asOf } = generated;
    if (version.effectiveTo !== null && asOf > version.effectiveTo) asOf = `2024${asOf.slice(4)}`;
    if (version.effectiveFrom !== null && asOf < version.effectiveFrom) asOf = `2026${asOf.slice(4)}`;
    return { asOf, facts: parseEvaluateRequest({ asOf, facts: generated.facts }, versions.name, version.file.requires).facts };
  };
}

const versions = [...registry.ruleSets.values()].flatMap((rs) => rs.versions.map((v) => [`${rs.name} ${v.sourceFile}`, rs, v] as const));

describe('over generated cases', () => {
  test.each(versions)('%s: the verdict holds until holdsUntil - 1 and changes on holdsUntil', (_name, rs, version) => {
    const next = casesFor(rs, version);
    const wrong: unknown[] = [];
    let changing = 0;
    for (let i = 0; i < CASES; i += 1) {
      const { asOf, facts } = next();
      if (rs.resolve(asOf) !== version) wrong.push({ asOf, notInForce: version.sourceFile });
      const until = holdsUntil(rs, facts, asOf);
      const verdict = decideOn(rs, facts, asOf);
      // Lent the decision's own fact map (as the summary lends it), the answer is the same and the map comes back as it was.
      const { verdict: decided, run } = decideRun(version, facts, asOf);
      const lent = { ...run.factMap };
      if (holdsUntil(rs, facts, asOf, run.outcome, decided.derivedFacts, run.factMap) !== until) wrong.push({ asOf, facts, until, lent: 'differs' });
      const keys = Object.keys(run.factMap);
      if (keys.length !== Object.keys(lent).length || keys.some((key) => !isDeepStrictEqual(run.factMap[key], lent[key]))) {
        wrong.push({ asOf, facts, until, lent: 'not given back as it was' });
      }
      if (until === null) {
        if (!isDeepStrictEqual(decideOn(rs, facts, calendarEnd(version)), verdict)) wrong.push({ asOf, facts, until });
        continue;
      }
      changing += 1;
      const before = addDays(until, -1);
      if (!(until > asOf) || !isDeepStrictEqual(decideOn(rs, facts, before), verdict) || isDeepStrictEqual(decideOn(rs, facts, until), verdict)) {
        wrong.push({ asOf, facts, until });
      }
      if (wrong.length > 3) break;
    }
    expect(wrong).toEqual([]);
    // Only specialist transfer's current version reads no date at all (its issues are undated): its answers hold for good.
    if (rs.name === 'specialist-transfer' && version.effectiveTo === null) expect(changing).toBe(0);
    else expect(changing).toBeGreaterThan(CASES / 100);
  });

  test.each(versions)(
    '%s: every day from asOf to holdsUntil - 1 (a year and a day when it is null) gives the same verdict (500 cases, day by day)',
    (_name, rs, version) => {
      const next = casesFor(rs, version);
      const wrong: unknown[] = [];
      let days = 0;
      for (let i = 0; i < EXHAUSTIVE; i += 1) {
        const { asOf, facts } = next();
        const until = holdsUntil(rs, facts, asOf);
        // Every day up to holdsUntil - 1 when it is given, however far; a year and a day when it is null.
        const last = until === null ? Math.min(dayNumber(calendarEnd(version)), dayNumber(asOf) + HORIZON_DAYS) : dayNumber(addDays(until, -1));
        const verdict = decideOn(rs, facts, asOf);
        // Each version reads the case once; each day then computes its derived facts and decides, as decideVerdict does
        // (the first test compares the two on every case).
        let inForce: CompiledRuleSet | undefined;
        let factMap: Record<string, unknown> = {};
        for (let day = dayNumber(asOf) + 1; day <= last; day += 1) {
          const date = dateOfDay(day);
          const version = rs.resolve(date);
          if (version !== inForce) {
            inForce = version;
            factMap = version.flatten(facts);
            version.applyDefaults(factMap);
          }
          version.deriveAll(factMap, date);
          days += 1;
          if (!gives(rs.name, outcomeFrom(version, factMap, date), verdict)) {
            wrong.push({ asOf, facts, until, differsOn: date });
            break;
          }
        }
        if (wrong.length > 3) break;
      }
      expect(wrong).toEqual([]);
      expect(days).toBeGreaterThan(EXHAUSTIVE * 30);
    },
  );

  test.each(versions)('%s: outcomeFrom, which both holdsUntil and the day-by-day check decide with, is decideVerdict', (_name, rs, version) => {
    const next = casesFor(rs, version);
    for (let i = 0; i < 500; i += 1) {
      const { asOf, facts } = next();
      const factMap = version.flatten(facts);
      version.applyDefaults(factMap);
      for (const date of [asOf, addDays(asOf, 200), addDays(asOf, 400)]) {
        const onDate = rs.resolve(date);
        const map = onDate === version ? factMap : onDate.flatten(facts);
        if (onDate !== version) onDate.applyDefaults(map);
        onDate.deriveAll(map, date);
        expect(outcomeFrom(onDate, map, date)).toEqual(decideVerdict(onDate, facts, date).outcome);
      }
    }
  });
});

/** holdsUntil for a case as a caseworker tool sends it (validated as the API does), and the verdicts either side. */
function pinned(ruleSet: string, asOf: string, facts: Record<string, unknown>) {
  const rs = ruleSets(ruleSet);
  const valid = parseEvaluateRequest({ asOf, facts }, ruleSet, rs.resolve(asOf).file.requires).facts;
  const until = holdsUntil(rs, valid, asOf);
  const on = (date: string) => decideVerdict(rs.resolve(date), valid, date).outcome;
  return { until, on };
}

const CS_EXIT_ALL_MET = {
  program: 'child-support',
  case: {
    issues: ['income-correct', 'care-correct', 'contact-details', 'payment-ongoing', 'payment-arrears'].map((kind, i) => ({
      id: `m${i}`,
      kind,
      status: 'resolved',
      mandatory: true,
    })),
    cmaActivitiesComplete: true,
    cmpActionsComplete: true,
    decisionsNotified: true,
    feedbackProvided: true,
    customerContactableByPhone: false,
  },
};

describe('cases from the procedures', () => {
  test('a service-channel restriction ending 2026-02-28 holds segment 3 until 2026-03-01', () => {
    // 001_f3898d6cd45509ea.txt, Resources, Table 4 (Allocate customer segment 3 High), Step 1: "service channel
    // restrictions in place"; a restriction is in place up to and including its end date (fixture 22).
    const { until, on } = pinned('segment-allocation', '2025-08-20', {
      program: 'child-support',
      referral: { source: 'other', receivedOn: '2025-08-18' },
      customer: { psHistory: 'never', serviceRestrictions: [{ channel: 'phone', level: 'full', from: '2025-03-01', to: '2026-02-28' }] },
      case: { issues: [{ id: 'i1', kind: 'income-correct', status: 'confirmed' }] },
    });
    expect(until).toBe('2026-03-01');
    expect(on('2026-02-28').segment).toBe(3);
    expect(on('2026-03-01').segment).not.toBe(3);
  });

  test('an exit letter issued 2025-06-02 to a Child Support customer who cannot be phoned, all else met: holds until 2025-06-16 (14 days)', () => {
    // 001_f3898d6cd45509ea.txt, Child Support, Table 6, Step 1: "If the customer cannot be contacted by phone, issue the
    // s47E(d) Letter. Provide the customer 14 days to respond before submitting a finalisation request."
    const facts = { ...CS_EXIT_ALL_MET, case: { ...CS_EXIT_ALL_MET.case, exitLetterIssuedOn: '2025-06-02' } };
    const { until, on } = pinned('exit-readiness', '2025-06-02', facts);
    expect(until).toBe('2025-06-16');
    expect(on('2025-06-15').ready).toBe(false);
    expect(on('2025-06-16')).toMatchObject({ ready: true, earliestSubmission: '2025-06-16' });
  });

  test('under the older procedure the same letter waits 10 days: issued 2024-06-03, the answer holds until 2024-06-13', () => {
    // 002_186ba92bf686e645.txt, Process, Finalising a case - submission and review, Step 1: "Provide the customer 10 days
    // to respond before submitting a finalisation request." (fixtures older-02 to older-04)
    const facts = { ...CS_EXIT_ALL_MET, case: { ...CS_EXIT_ALL_MET.case, exitLetterIssuedOn: '2024-06-03' } };
    const { until, on } = pinned('exit-readiness', '2024-06-05', facts);
    expect(until).toBe('2024-06-13');
    expect(on('2024-06-12').ready).toBe(false);
    expect(on('2024-06-13').ready).toBe(true);
  });

  test('face-to-face aggression on 2025-08-02 bars a direct referral until it leaves the 12-month window on 2026-08-02', () => {
    // 001_f3898d6cd45509ea.txt, Centrelink, Table 1, Step 1: "No aggression incidents in the last 12 months within the
    // face to face environment"; an incident exactly 12 months before is outside the window (fixture 07).
    const { until, on } = pinned('direct-referral', '2025-09-01', {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2025-09-01' },
      customer: { incidents: [{ date: '2025-08-02', kind: 'verbal-abuse', setting: 'face-to-face' }] },
    });
    expect(until).toBe('2026-08-02');
    expect(on('2026-08-01').route).toBe('standard');
    expect(on('2026-08-02').route).toBe('direct');
  });

  test('an incident on 29 February leaves the window on 1 March a year later (12 months before 2025-02-28 is 2024-02-28)', () => {
    // The rule file's interpretation: "dated after the as-of date less 12 months (calendar months)"; a month end clamps.
    const { until } = pinned('direct-referral', '2025-02-01', {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2025-02-01' },
      customer: { incidents: [{ date: '2024-02-29', kind: 'verbal-abuse', setting: 'face-to-face' }] },
    });
    expect(until).toBe('2025-03-01');
  });

  test('a version boundary that changes the verdict: a CRG referral decided 2025-01-10 holds until 2025-01-14', () => {
    // Before 14 January 2025, 002_186ba92bf686e645.txt, Resources, Customer segments, Allocate customer segment 2,
    // Step 1: "via the Customer Review Referral Gateway" is an escalated enquiry (fixture older-04); from that day 001
    // Resources Table 3 Step 1 lists no CRG, so the indicator no longer fires (fixture 41).
    const { until, on } = pinned('segment-allocation', '2025-01-10', {
      program: 'child-support',
      referral: { source: 'customer-review-gateway', receivedOn: '2025-01-10' },
      customer: { psHistory: 'never' },
      case: { issues: [{ id: 'i1', kind: 'income-correct', status: 'confirmed' }] },
    });
    expect(until).toBe('2025-01-14');
    expect(on('2025-01-13')).toMatchObject({ segment: 2, indicators: { segment2: ['segment-2-customer-review-gateway'] } });
    expect(on('2025-01-14')).toMatchObject({ segment: 2, indicators: { segment2: [] } });
  });

  test('a version boundary that does not change the verdict is passed over: a Centrelink referral barred until 2025-06-03', () => {
    // 001's Centrelink part is the only Centrelink procedure: the same criteria before and after 14 January 2025
    // (fixtures older-08 and 21). Face-to-face aggression on 2024-06-03 leaves the 12-month window on 2025-06-03.
    const { until, on } = pinned('direct-referral', '2025-01-10', {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2025-01-10' },
      customer: { incidents: [{ date: '2024-06-03', kind: 'verbal-abuse', setting: 'face-to-face' }] },
    });
    expect(until).toBe('2025-06-03');
    expect(on('2025-01-13')).toEqual(on('2025-01-14'));
    expect(on('2025-06-03').route).toBe('direct');
  });

  test('a consent read on the day asOf gives ends with its timeframe, or with a withdrawal taking effect earlier', () => {
    // 000_8673a781749efd10.txt, Customer Account: consent is recorded "for each timeframe"; a timeframe includes its last
    // day (fixture 07), and a consent withdrawn on or before the day of sharing covers nothing (fixture 09).
    const consent = {
      id: 'c1',
      agency: 'State Housing Authority',
      purpose: 'tenancy support referral',
      direction: 'to-agency',
      from: '2025-01-01',
      to: '2025-12-31',
    };
    const sharing = { agency: 'State Housing Authority', purpose: 'tenancy support referral', direction: 'to-agency' };
    const ends = pinned('information-sharing', '2025-06-02', { customer: { consents: [consent] }, sharing });
    expect(ends.until).toBe('2026-01-01');
    expect(ends.on('2025-12-31').mayShare).toBe(true);
    expect(ends.on('2026-01-01')).toMatchObject({ mayShare: false, unmet: ['consent-timeframe'] });
    const withdrawn = pinned('information-sharing', '2025-06-02', { customer: { consents: [{ ...consent, withdrawnOn: '2025-09-01' }] }, sharing });
    expect(withdrawn.until).toBe('2025-09-01');
    expect(withdrawn.on('2025-08-31').mayShare).toBe(true);
    expect(withdrawn.on('2025-09-01')).toMatchObject({ mayShare: false, unmet: ['consent-not-withdrawn'] });
    // A second consent starting the day the first ends: covered throughout, but by another consent, so the answer differs.
    const next = pinned('information-sharing', '2025-06-02', {
      customer: { consents: [consent, { ...consent, id: 'c2', from: '2026-01-01', to: '2026-12-31' }] },
      sharing,
    });
    expect(next.until).toBe('2026-01-01');
    expect(next.on('2026-01-01')).toMatchObject({ mayShare: true, consentId: 'c2' });
    // The day of sharing given: the consent is read on that day, whatever asOf is, so the answer never moves.
    expect(pinned('information-sharing', '2025-06-02', { customer: { consents: [consent] }, sharing: { ...sharing, on: '2025-06-02' } }).until).toBeNull();
  });

  test('nothing that moves with time: a case with no dates holds to the end of the holiday calendar', () => {
    const { until } = pinned('specialist-transfer', '2025-06-02', {
      program: 'child-support',
      case: { issues: [{ id: 'i1', kind: 'income-correct', status: 'confirmed', specialistProcess: 'objection' }] },
    });
    expect(until).toBeNull();
  });
});
