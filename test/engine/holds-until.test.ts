// summary.holdsUntil (src/engine/holds-until.ts) against deciding day by day. holdsUntil decides only the days a version
// or a derived fact can change; these tests decide the days it skips. Over 10,000 generated cases per rule-set
// version: the day before holdsUntil gives the verdict asOf gives, holdsUntil another (and, when null, the calendar's
// last day the same). For 500 of them, every day from asOf to the day before holdsUntil (to the calendar's last day
// when null) gives the same verdict: so nothing but the versions and the derived facts moves a verdict with time.
// Then cases from the procedures, with the day each one's answer stops holding worked out from the seed's words.
import { isDeepStrictEqual } from 'node:util';
import { addDays, dateOfDay, dayNumber } from '../../src/dates/calendar';
import type { CompiledRuleSet } from '../../src/engine/compile';
import { decideVerdict, outcomeFrom } from '../../src/engine/evaluate';
import { holdsUntil } from '../../src/engine/holds-until';
import { parseEvaluateRequest, type CaseFacts } from '../../src/facts/validate';
import type { RuleSetVersions } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { caseGenerator } from '../../fixtures/generator';
import { shippedRules } from '../support';

const CASES = 10_000;
const EXHAUSTIVE = 500;
const registry = shippedRules();
const ruleSets = (name: string) => registry.ruleSets.get(name) as RuleSetVersions;

/** The verdict, as the issue defines it: the outcome without the fields its module says are reckoned from asOf. */
function verdictOf(ruleSet: string, outcome: Record<string, unknown>): Record<string, unknown> {
  const verdict = { ...outcome };
  for (const field of RULE_SET_MODULES[ruleSet]?.datedFromAsOf ?? []) delete verdict[field];
  return verdict;
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
      expect(rs.resolve(asOf)).toBe(version);
      const until = holdsUntil(rs, facts, asOf);
      const verdict = decideOn(rs, facts, asOf);
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

  test.each(versions)('%s: every day from asOf to holdsUntil - 1 gives the same verdict (500 cases, day by day)', (_name, rs, version) => {
    const next = casesFor(rs, version);
    const wrong: unknown[] = [];
    let days = 0;
    for (let i = 0; i < EXHAUSTIVE; i += 1) {
      const { asOf, facts } = next();
      const until = holdsUntil(rs, facts, asOf);
      const last = dayNumber(until === null ? calendarEnd(version) : addDays(until, -1));
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
        if (!isDeepStrictEqual(verdictOf(rs.name, outcomeFrom(version, factMap, date)), verdict)) {
          wrong.push({ asOf, facts, until, differsOn: date });
          break;
        }
      }
      if (wrong.length > 3) break;
    }
    expect(wrong).toEqual([]);
    expect(days).toBeGreaterThan(EXHAUSTIVE * 30);
  });

  test.each(versions)('%s: outcomeFrom, which both holdsUntil and the day-by-day check decide with, is decideVerdict', (_name, rs, version) => {
    const next = casesFor(rs, version);
    for (let i = 0; i < 2_000; i += 1) {
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
