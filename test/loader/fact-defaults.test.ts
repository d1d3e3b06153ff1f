// What a fact left out of a case is taken to be is policy: declared in the rule files that rely on it (factDefaults),
// refused when it could not mean anything, and listed in every decision it was applied to.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { explainCommand } from '../../src/cli/explain';
import { EXIT } from '../../src/cli/context';
import { decide, evaluate, type Decision } from '../../src/engine/evaluate';
import type { RuleFile } from '../../src/engine/types';
import { DecisionError } from '../../src/errors';
import { caseFactsSchema, FLAGS_DEFAULTED_BY_RULE_SETS } from '../../src/facts/schema';
import { checkCaseFacts, parseEvaluateRequest } from '../../src/facts/validate';
import type { RuleRegistry } from '../../src/loader/load';
import { captureStdout, FIXTURES_DIR, RULES_DIR, shippedRules } from '../support';

const registry = shippedRules();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function decided(name: string, asOf: string, facts: Record<string, unknown>, rules: RuleRegistry = registry): Decision {
  const ruleSet = rules.ruleSets.get(name)!.resolve(asOf);
  return decide(ruleSet, parseEvaluateRequest({ asOf, facts }, name, ruleSet.file.requires).facts, asOf);
}

const fixture = (ruleSet: string, file: string) =>
  JSON.parse(readFileSync(path.join(FIXTURES_DIR, ruleSet, file), 'utf8')) as {
    asOf: string;
    facts: Record<string, unknown>;
    expected: Record<string, unknown>;
  };

describe('the vocabulary leaves them to the rule sets', () => {
  test("the flags without a default are exactly those the schema's description names, and a request is not filled in with them", () => {
    const undefaulted: string[] = [];
    for (const [group, node] of Object.entries(caseFactsSchema.properties)) {
      for (const [name, fact] of Object.entries((node as { properties?: Record<string, { type?: string; default?: unknown }> }).properties ?? {})) {
        if (fact.type === 'boolean' && fact.default === undefined) undefaulted.push(`${group}.${name}`);
      }
    }
    expect(undefaulted.sort()).toEqual([...FLAGS_DEFAULTED_BY_RULE_SETS].sort());
    expect(caseFactsSchema.description).toContain(FLAGS_DEFAULTED_BY_RULE_SETS.join(' and '));
    const facts = checkCaseFacts({ program: 'child-support' });
    expect((facts.customer as Record<string, unknown>).meetsCommitments).toBeUndefined();
    expect((facts.case as Record<string, unknown>).customerContactableByPhone).toBeUndefined();
    // Every other flag still reads false when left out: the vocabulary's own reading, the same for every rule set.
    expect((facts.customer as Record<string, unknown>).zoneCaseManagement).toBe(false);
  });
});

describe('each version that reads one declares it, and each decision lists the defaults it applied', () => {
  // A proactive referral of a customer never in PS, with one issue: segment 1's profile, if they meet their commitments.
  const profile = { referral: { source: 'proactive' }, customer: { psHistory: 'never' } };

  test.each([
    ['segment-allocation.json', '2025-06-02', { program: 'centrelink', ...profile }],
    ['segment-allocation.before-2025-01-14.json', '2024-06-03', { program: 'child-support', ...profile }],
  ])('%s: commitments taken as met when the case says nothing of them', (file, asOf, facts) => {
    const left = decided('segment-allocation', asOf, facts);
    expect(left.outcome.segment).toBe(1);
    expect(left.defaultsApplied).toEqual([{ fact: 'customer.meetsCommitments', value: true, file }]);
    const given = decided('segment-allocation', asOf, { ...facts, customer: { ...facts.customer, meetsCommitments: true } });
    expect(given.outcome).toEqual(left.outcome);
    expect(given.defaultsApplied).toEqual([]);
    // A recorded failure is the case's own fact: segment 2, no default.
    const failing = decided('segment-allocation', asOf, { ...facts, customer: { ...facts.customer, meetsCommitments: false } });
    expect(failing.outcome.segment).toBe(2);
    expect(failing.outcome.indicators).toEqual(expect.objectContaining({ segment2: ['segment-2-not-meeting-commitments'] }));
    expect(failing.defaultsApplied).toEqual([]);
  });

  test.each([
    ['exit-readiness.json', '05-cs-all-finalised-phone-contactable.json', '09-cs-not-contactable-no-letter.json'],
    ['exit-readiness.before-2025-01-14.json', 'older-01-cs-all-finalised-phone-contactable.json', 'older-05-not-contactable-no-letter.json'],
  ])('%s: the customer taken as reachable by phone unless the case says not; both evaluators list it', async (file, contactable, notContactable) => {
    const ready = fixture('exit-readiness', contactable);
    expect((ready.facts.case as Record<string, unknown>).customerContactableByPhone).toBeUndefined();
    const ruleSet = registry.ruleSets.get('exit-readiness')!.resolve(ready.asOf);
    const facts = parseEvaluateRequest({ asOf: ready.asOf, facts: ready.facts }, 'exit-readiness', ruleSet.file.requires).facts;
    const compiled = decide(ruleSet, facts, ready.asOf);
    const reference = await evaluate(ruleSet, facts, ready.asOf, 'reference');
    for (const decision of [compiled, reference]) {
      expect(decision.outcome).toEqual(ready.expected);
      expect(decision.defaultsApplied).toEqual([{ fact: 'case.customerContactableByPhone', value: true, file }]);
    }
    const waiting = fixture('exit-readiness', notContactable);
    const notReady = decided('exit-readiness', waiting.asOf, waiting.facts);
    expect(notReady.outcome).toEqual(waiting.expected);
    expect(notReady.defaultsApplied).toEqual([]);
  });

  test('a rule set that reads no such fact applies none', () => {
    expect(decided('direct-referral', '2025-06-02', { program: 'centrelink', referral: { source: 'mats', receivedOn: '2025-06-02' } }).defaultsApplied).toEqual(
      [],
    );
  });
});

describe('a default that could not mean anything is refused, at its place in the file', () => {
  /** The shipped rules with one rule file edited; the refusal's messages by pointer. */
  function refusal(file: string, edit: (json: RuleFile) => void): Record<string, string> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ps-fact-defaults-'));
    dirs.push(dir);
    cpSync(RULES_DIR, dir, { recursive: true });
    const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as RuleFile;
    edit(json);
    writeFileSync(path.join(dir, file), JSON.stringify(json, null, 2));
    try {
      shippedRules(dir);
    } catch (error) {
      expect(error).toBeInstanceOf(DecisionError);
      return Object.fromEntries((error as DecisionError).issues.map((i) => [i.pointer.slice(i.pointer.indexOf('#') + 1), i.message]));
    }
    throw new Error('accepted');
  }
  const declared = (value: unknown) => ({
    value,
    description: 'Taken so.',
    sources: [{ document: '001_f3898d6cd45509ea.txt', part: 'Resources', table: 'Table 3', step: '2' }],
  });

  test('without its default, a rule on the fact is refused: no default decides unseen', () => {
    // Both rules that read it: the segment 2 indicator and the segment 1 profile.
    const message =
      'fact "customer.meetsCommitments" may be left out of a request and has no default: add it to "requires", declare what it is taken to be under "factDefaults", or test it with notEqual null first';
    expect(
      refusal('segment-allocation.json', (j) => {
        delete j.factDefaults;
      }),
    ).toEqual({ '/rules/10/conditions/all/0/fact': message, '/rules/18/conditions/all/3/fact': message });
  });

  test('a fact the vocabulary defaults already, one the file never reads, one that does not exist, a value it cannot hold', () => {
    expect(
      refusal('segment-allocation.json', (j) => {
        j.factDefaults!['customer.zoneCaseManagement'] = declared(true);
      }),
    ).toEqual({
      '/factDefaults/customer.zoneCaseManagement': expect.stringContaining('has a default in the fact vocabulary already (false)'),
    });
    expect(
      refusal('direct-referral.json', (j) => {
        j.factDefaults = { 'customer.meetsCommitments': declared(true) };
      }),
    ).toEqual({
      '/factDefaults/customer.meetsCommitments': expect.stringContaining('no rule of this file reads "customer.meetsCommitments"'),
    });
    expect(
      refusal('segment-allocation.json', (j) => {
        j.factDefaults!['customer.meetsCommitment'] = declared(true);
      }),
    ).toEqual({
      '/factDefaults/customer.meetsCommitment': expect.stringContaining('did you mean "customer.meetsCommitments"?'),
    });
    expect(
      refusal('segment-allocation.json', (j) => {
        j.factDefaults!['customer.meetsCommitments']!.value = 'yes';
      }),
    ).toEqual({
      '/factDefaults/customer.meetsCommitments/value': expect.stringContaining('"yes" is not a value "customer.meetsCommitments" can hold'),
    });
  });
});

describe("ps-rules explain shows the rule file's defaults, and which the case needed", () => {
  const stdout = captureStdout();

  test('applied when the case leaves the fact out; not used when it gives it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ps-explain-defaults-'));
    dirs.push(dir);
    const facts = path.join(dir, 'case.json');
    writeFileSync(
      facts,
      JSON.stringify({ asOf: '2025-06-02', facts: { program: 'centrelink', referral: { source: 'proactive' }, customer: { psHistory: 'never' } } }),
    );
    expect(await explainCommand('segment-allocation', facts, { rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toContain('Fact defaults (segment-allocation.json: what a fact left out of the case is taken to be)');
    expect(stdout.text()).toContain('→ applied   customer.meetsCommitments: true (the case left it out)');
    expect(stdout.text()).toMatch(
      /interpretation \(unconfirmed\): When the case records neither that the customer meets their commitments nor that they do not, .*\?\n {6}chosen: The procedure makes not meeting commitments a segment 2 indicator/,
    );
    // Applied here, so the decision relied on its reading, which no one has confirmed: it is listed with the others.
    expect(stdout.text()).toMatch(/^ {2}• fact default customer\.meetsCommitments: When the case records neither/m);
    stdout.reset();
    writeFileSync(
      facts,
      JSON.stringify({
        asOf: '2025-06-02',
        facts: { program: 'centrelink', referral: { source: 'proactive' }, customer: { psHistory: 'never', meetsCommitments: false } },
      }),
    );
    expect(await explainCommand('segment-allocation', facts, { rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toContain('  not used  customer.meetsCommitments: true (the case gives it)');
  });
});
