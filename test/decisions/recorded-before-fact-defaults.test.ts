// Decisions recorded before rule files declared their fact defaults (the vocabulary itself then took
// customer.meetsCommitments and case.customerContactableByPhone to be true when a request left them out) still
// reproduce: their archived rule texts load as they did then, and the facts given again match the digest recorded.
//
// recorded/before-fact-defaults.json is what the service at commit 4a5988c wrote to its decision log for two
// fixtures (the rows, and the archived versions that decided them), not something built by this code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArchivedVersion, DecisionRecord } from '../../src/decisions/log';
import { decide } from '../../src/engine/evaluate';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { loadRuleTexts } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { shippedRules } from '../support';
import { testApp, type TestApp } from '../support/app';

interface Recorded {
  decisions: { fixture: string; record: Omit<DecisionRecord, 'summary'> & { factsKept?: boolean } }[];
  versions: ArchivedVersion[];
}
const recorded = JSON.parse(readFileSync(path.join(__dirname, 'recorded', 'before-fact-defaults.json'), 'utf8')) as Recorded;
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'fixtures', name), 'utf8')) as {
    asOf: string;
    facts: Record<string, unknown>;
    expected: Record<string, unknown>;
  };
const segment = recorded.versions.find((v) => v.ruleSet === 'segment-allocation') as ArchivedVersion;

describe('decisions recorded before rule files declared fact defaults', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = testApp({ rules: shippedRules });
    for (const version of recorded.versions) await app.log.archive(version);
    // Recorded at schema 1, before the log kept the summary: read back now with none.
    await app.log.record(recorded.decisions.map(({ record: { factsKept: _kept, ...record } }) => ({ ...record, facts: null, summary: null })));
  });

  test('each was decided as its fixture expects (the procedure), so reproducing it is worth asking', () => {
    for (const { fixture: name, record } of recorded.decisions) expect(record.outcome).toEqual(expect.objectContaining(fixture(name).expected));
  });

  test.each(recorded.decisions.map((d) => [d.fixture, d] as const))(
    '%s: the same facts reproduce it under the version that made it',
    async (_name, { fixture: name, record }) => {
      const { facts } = fixture(name);
      const res = await app.as('auditor').post(`/v1/decisions/${record.decisionId}/reproduce`).send({ facts });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({ decisionId: record.decisionId, version: record.version, factsMatch: true, reproduced: true, differences: [] }),
      );
    },
  );

  test('other facts are still refused as not the facts decided on', async () => {
    const { fixture: name, record } = recorded.decisions[0]!;
    const facts = { ...fixture(name).facts, customer: { psHistory: 'never', meetsCommitments: false } };
    const res = await app.as('auditor').post(`/v1/decisions/${record.decisionId}/reproduce`).send({ facts });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('facts-differ');
  });

  test('the archived segment allocation text is refused as a rule file today, and read as archived it decides with the default it had', () => {
    const texts = [{ file: segment.file, text: segment.ruleText }];
    let refused: unknown;
    try {
      loadRuleTexts(segment.calendarText, texts, { modules: RULE_SET_MODULES });
    } catch (error) {
      refused = error;
    }
    const messages = (refused as { issues: { message: string }[] }).issues.map((i) => i.message);
    expect(messages).toContainEqual(expect.stringContaining('"customer.meetsCommitments" may be left out of a request and has no default'));
    // Written before interpretations were { question, chosen }: its strings are refused today too, and read as archived.
    expect(messages).toContainEqual(expect.stringContaining('an interpretation is no longer a string'));
    const version = loadRuleTexts(segment.calendarText, texts, { modules: RULE_SET_MODULES, archived: true }).ruleSets.get('segment-allocation')!.versions[0]!;
    expect(version.version).toBe(segment.version);
    const { asOf, facts } = fixture('segment-allocation/01-proactive-single-issue-segment-1.json');
    const decision = decide(version, parseEvaluateRequest({ asOf, facts }, version.name, version.file.requires).facts, asOf);
    expect(decision.outcome.segment).toBe(1);
    expect(decision.defaultsApplied).toEqual([{ fact: 'customer.meetsCommitments', value: true, file: segment.file }]);
  });
});
