// Rules are data: a threshold edited in rules/ changes outcomes and the version; a broken file is refused with its location.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evaluate } from '../../src/engine/evaluate';
import type { RuleFile } from '../../src/engine/types';
import { DecisionError } from '../../src/errors';
import { parseEvaluateRequest } from '../../src/facts/validate';
import type { RuleRegistry } from '../../src/loader/load';
import { RULES_DIR, shippedRules } from '../support';

/** The shipped rules copied, with one file edited: a rule file unless the caller names the shape it edits (a calendar). */
function copyOfRules<File = RuleFile>(edit: (name: string, json: File) => void, file: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const target = path.join(dir, file);
  const json = JSON.parse(readFileSync(target, 'utf8')) as File;
  edit(file, json);
  writeFileSync(target, JSON.stringify(json, null, 2));
  return dir;
}

async function decide(registry: RuleRegistry, name: string, body: { asOf: string; facts: Record<string, unknown> }) {
  const ruleSet = registry.ruleSets.get(name)!.resolve(body.asOf);
  const parsed = parseEvaluateRequest(body, name, ruleSet.file.requires);
  return evaluate(ruleSet, parsed.facts, parsed.asOf!);
}

// A face-to-face verbal abuse incident 18 months before the referral.
const case18MonthsAgo = {
  asOf: '2025-06-02',
  facts: {
    program: 'centrelink',
    referral: { source: 'smart-centre', receivedOn: '2025-06-02' },
    customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  },
};

test('widening the aggression window from 12 to 24 months changes the outcome and the version, with no change to src/', async () => {
  const shipped = shippedRules();
  const widened = shippedRules(
    copyOfRules((_f, json) => {
      json.parameters.aggressionWindowMonths!.value = 24;
    }, 'direct-referral.json'),
  );
  const before = await decide(shipped, 'direct-referral', case18MonthsAgo);
  const after = await decide(widened, 'direct-referral', case18MonthsAgo);
  expect(before.outcome.eligible).toBe(true);
  expect(after.outcome.eligible).toBe(false);
  expect(after.outcome.unmet).toEqual(['no-recent-face-to-face-aggression']);
  expect(after.version).not.toBe(before.version);
  expect(widened.ruleSets.get('segment-allocation')!.latest.version).toBe(shipped.ruleSets.get('segment-allocation')!.latest.version);
});

test('adding a holiday to the calendar changes due dates and every version', async () => {
  const dir = copyOfRules<{ holidays: { date: string; name: string }[] }>((_f, json) => {
    json.holidays.push({ date: '2025-06-09', name: "King's Birthday" });
    json.holidays.sort((a, b) => a.date.localeCompare(b.date));
  }, 'calendars/au-national-public-holidays.json');
  const shipped = shippedRules();
  const edited = shippedRules(dir);
  const body = { asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } } };
  expect((await decide(shipped, 'direct-referral', body)).outcome.actionDueBy).toBe('2025-06-09');
  expect((await decide(edited, 'direct-referral', body)).outcome.actionDueBy).toBe('2025-06-10');
  for (const name of shipped.ruleSets.keys()) expect(edited.ruleSets.get(name)!.latest.version).not.toBe(shipped.ruleSets.get(name)!.latest.version);
});

// The validator's refusals of broken files are tested with the files in fixtures/rule-files (rule-files.test.ts).
test('a fact that may be left out, used without requiring it, is refused', () => {
  const dir = copyOfRules((_f, j) => {
    (j.rules[4]!.conditions as { all: unknown[] }).all[0] = { fact: 'customer.psHistory', operator: 'equal', value: 'never' };
  }, 'direct-referral.json');
  let error: DecisionError | undefined;
  try {
    shippedRules(dir);
  } catch (e) {
    error = e as DecisionError;
  }
  expect(error?.issues.find((i) => i.pointer === 'direct-referral.json#/rules/4/conditions/all/0/fact')?.message).toMatch(/add it to "requires"/);
});

test('rule files from an older commit that lack what the outcome module reads are refused, not half-run', () => {
  const dir = copyOfRules((_f, j) => {
    delete j.outcome.exitLetterWait;
  }, 'exit-readiness.json');
  expect(() => shippedRules(dir)).toThrow(DecisionError);
});

test("a derived fact's date of reference, early end and first entry are checked against the vocabulary, each at its pointer", () => {
  const dir = copyOfRules((_f, j) => {
    const derived = j.derivedFacts as unknown as Record<string, Record<string, unknown>>;
    // A list of dated entries has no period to end early; a first entry in force names a field its entries have.
    derived.consentsForAgency!.endedBy = 'withdrawnOn';
    derived.consentsCovering!.endedBy = 'withdrawn';
    derived.coveringConsent!.field = 'reference';
    derived.consentsInTimeframe!.where = { agency: { fact: 'param:agency' } };
  }, 'information-sharing.json');
  let error: DecisionError | undefined;
  try {
    shippedRules(dir);
  } catch (e) {
    error = e as DecisionError;
  }
  const said = (pointer: string) => error?.issues.find((i) => i.pointer === `information-sharing.json#${pointer}`)?.message;
  expect(said('/derivedFacts/consentsForAgency/endedBy')).toMatch(/only countCurrent and firstCurrent read periods/);
  expect(said('/derivedFacts/consentsCovering/endedBy')).toMatch(
    /"withdrawn" is not a date field of the entries of customer.consents; did you mean "withdrawnOn"\?/,
  );
  expect(said('/derivedFacts/coveringConsent/field')).toMatch(/"reference" is not a field of the entries of customer.consents/);
  expect(said('/derivedFacts/consentsInTimeframe/where/agency/fact')).toMatch(/a parameter is written \{ "param": "agency" \}/);
  expect(error?.issues).toHaveLength(4);
});
