// A decision that rests on a reading of the procedure policy staff have not confirmed says so: its full answer lists the
// unconfirmed interpretations it relied on (on a rule weighed, on a parameter or derived fact the weighed rules or the
// outcome read, on a fact default applied), and none that it did not, or that someone has confirmed.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decide, evaluate } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import type { RuleRegistry } from '../../src/loader/load';
import { RULES_DIR, shippedRules } from '../support';

const registry = shippedRules();

function decideWith(rules: RuleRegistry, ruleSet: string, asOf: string, facts: Record<string, unknown>) {
  const version = rules.ruleSets.get(ruleSet)!.resolve(asOf);
  return decide(version, parseEvaluateRequest({ asOf, facts }, ruleSet, version.file.requires).facts, asOf);
}

const where = (list: readonly { on: string; name: string }[]) => list.map(({ on, name }) => `${on} ${name}`);

// 001_f3898d6cd45509ea.txt, Centrelink, Table 1: a MATS referral received 17 April 2025, decided that day.
const centrelink = { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-04-17' } };
const childSupport = { program: 'child-support', referral: { source: 'mats', receivedOn: '2025-04-17', intray: 'customer-assigned' } };

describe('a direct referral decision lists the unconfirmed readings it relied on', () => {
  test("Centrelink: the Centrelink rules' readings, the derived facts the criteria read, the parameter a derived fact reads, and the approver the outcome names", () => {
    const decision = decideWith(registry, 'direct-referral', '2025-04-17', centrelink);
    expect(where(decision.unconfirmedInterpretations)).toEqual([
      // Read by recentFaceToFaceAggressionIncidents (its where.kind), which a criterion reads.
      'parameter aggressionKinds',
      // Read by the outcome builder (the module's parameters).
      'parameter refusalApprover',
      'derivedFact currentRestrictions',
      'derivedFact recentFaceToFaceAggressionIncidents',
      'rule centrelink-program',
      'rule centrelink-action-timeframe',
      'rule centrelink-urgent-action-timeframe',
    ]);
    const timeframe = decision.unconfirmedInterpretations.find((i) => i.name === 'centrelink-action-timeframe')!;
    expect(timeframe.question).toMatch(/^From which day do Step 2's working days run/);
    expect(timeframe.chosen).toMatch(/counted from the day PS received the referral \(day 0\)/);
    // Its {parameter} templates are filled in, as in every sentence of the answer.
    const window = decision.unconfirmedInterpretations.find((i) => i.name === 'recentFaceToFaceAggressionIncidents')!;
    expect(window.question).toBe('Does "in the last 12 months" include an incident dated exactly 12 calendar months before the as-of date?');
  });

  test('Child Support: the Child Support timeframe rules are weighed and listed, the Centrelink ones are not', () => {
    const listed = where(decideWith(registry, 'direct-referral', '2025-04-17', childSupport).unconfirmedInterpretations);
    expect(listed).toEqual(expect.arrayContaining(['rule child-support-action-timeframe', 'rule child-support-urgent-action-timeframe']));
    expect(listed.filter((w) => w.includes('centrelink-action-timeframe') || w.includes('centrelink-urgent'))).toEqual([]);
  });

  test('worked out once per rule subset of a version: two decisions of the subset share the list; the reference evaluator gives the same', async () => {
    const first = decideWith(registry, 'direct-referral', '2025-04-17', centrelink);
    const second = decideWith(registry, 'direct-referral', '2025-05-01', { ...centrelink, customer: { zoneCaseManagement: true } });
    expect(second.unconfirmedInterpretations).toBe(first.unconfirmedInterpretations);
    const version = registry.ruleSets.get('direct-referral')!.resolve('2025-04-17');
    const reference = await evaluate(
      version,
      parseEvaluateRequest({ asOf: '2025-04-17', facts: centrelink }, 'direct-referral', []).facts,
      '2025-04-17',
      'reference',
    );
    expect(reference.unconfirmedInterpretations).toEqual(first.unconfirmedInterpretations);
  });
});

describe('a fact default whose reading is unconfirmed', () => {
  // 001_f3898d6cd45509ea.txt, Resources, Table 2: a proactive referral of a customer never in PS.
  const facts = { program: 'centrelink', referral: { source: 'proactive' }, customer: { psHistory: 'never' } };

  test('is relied on when it was applied to the case (the case left the fact out)', () => {
    const decision = decideWith(registry, 'segment-allocation', '2025-06-02', facts);
    expect(decision.defaultsApplied.map((d) => d.fact)).toEqual(['customer.meetsCommitments']);
    expect(where(decision.unconfirmedInterpretations)).toContain('factDefault customer.meetsCommitments');
  });

  test('is not when the case gives the fact', () => {
    const decision = decideWith(registry, 'segment-allocation', '2025-06-02', { ...facts, customer: { psHistory: 'never', meetsCommitments: true } });
    expect(decision.defaultsApplied).toEqual([]);
    expect(where(decision.unconfirmedInterpretations)).not.toContain('factDefault customer.meetsCommitments');
  });
});

describe('a confirmed reading is not listed (a throwaway rules folder, with two readings confirmed)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-confirmed-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const file = path.join(dir, 'direct-referral.json');
  const confirmed = ',\n        "confirmedBy": "A. Officer, Personalised Services policy",\n        "confirmedOn": "2026-11-20"';
  let text = readFileSync(file, 'utf8');
  // The line each reading's "chosen" ends on, for the rule and the parameter confirmed.
  for (const opening of ['"chosen": "Step 2 does not say from when', '"chosen": "\\"Aggression incidents\\" is read as']) {
    const end = text.indexOf('\n', text.indexOf(opening));
    text = text.slice(0, end) + confirmed + text.slice(end);
  }
  writeFileSync(file, text);
  const rules = shippedRules(dir);

  test('a decision weighing the rule, and reading the parameter, lists neither; the others still are', () => {
    const decision = decideWith(rules, 'direct-referral', '2025-04-17', centrelink);
    expect(where(decision.unconfirmedInterpretations)).toEqual([
      'parameter refusalApprover',
      'derivedFact currentRestrictions',
      'derivedFact recentFaceToFaceAggressionIncidents',
      'rule centrelink-program',
      'rule centrelink-urgent-action-timeframe',
    ]);
    // The rule's own entry in the explanation still carries its reading, now with who confirmed it and when.
    const entry = decision.explanation.find((r) => r.rule === 'centrelink-action-timeframe')!;
    expect(entry.interpretation).toEqual(
      expect.objectContaining({ question: expect.stringMatching(/\?$/), confirmedBy: 'A. Officer, Personalised Services policy', confirmedOn: '2026-11-20' }),
    );
  });
});
