// One way in for a rule set: a rule file in a rules folder and a module registered with registerRuleSet(), and nothing
// else. A throwaway rule set, made here, shows up in the API, in /openapi.json, in triage's columns and tiers and on the
// rules page, with no file in src/ touched.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseCsv } from 'csv-parse/sync';
import request from 'supertest';
import { openApiDocument, outcomeSchemaName } from '../../src/api/openapi';
import { defineRuleSet, type OutcomeContext } from '../../src/engine/compile';
import { parseTriagePriority } from '../../src/loader/triage-priority';
import { registerRuleSet, RULE_SET_MODULES } from '../../src/rulesets';
import { ChunkTriage } from '../../src/triage/chunk';
import { csvHeader } from '../../src/triage/columns';
import { RULES_DIR, shippedRules } from '../support';
import { TEST_SECRETS, testApp } from '../support/app';
import { pageTestBed } from '../support/browser';
import { responseChecker } from '../support/openapi';

const NAME = 'quick-check';

const QuickCheckOutcome = Type.Object(
  {
    passed: Type.Boolean({ description: 'Every check passed' }),
    failing: Type.Array(Type.String(), { description: 'The checks that did not pass, in file order' }),
    reviewer: Type.String({ description: 'Who reviews the result: the parameter reviewer' }),
  },
  { additionalProperties: false },
);

function build(context: OutcomeContext): Static<typeof QuickCheckOutcome> {
  const failing = context.weighed.filter((rule) => !context.fired.has(rule.name)).map((rule) => rule.name);
  return { passed: failing.length === 0, failing, reviewer: context.param<string>('reviewer') };
}

const EXAMPLE = { program: 'child-support' };

const quickCheck = defineRuleSet({
  name: NAME,
  outcomeSchema: QuickCheckOutcome,
  build,
  // Passed: every check; not: each failing one.
  decidedBy: ({ outcome, weighed }) =>
    outcome.passed ? weighed.map((rule) => ({ rule: rule.name, met: true })) : outcome.failing.map((rule) => ({ rule, met: false })),
  verdict: 'passed',
  datedFromAsOf: [],
  columns: ['passed', 'failing'],
  example: EXAMPLE,
  parameters: ['reviewer'],
  outcome: [],
  facts: [],
});

const source = { document: '001_f3898d6cd45509ea.txt', part: 'Child Support', table: 'Table 1', step: '1' };
const RULE_FILE = {
  ruleSet: NAME,
  title: "Quick check (a test's throwaway rule set)",
  description: 'Two checks, reviewed by the {reviewer}.',
  documents: { '001_f3898d6cd45509ea.txt': 'Personalised Services 101-17021300' },
  requires: ['program'],
  factDefaults: {
    'customer.meetsCommitments': { value: true, description: 'Taken to meet them unless the case says otherwise.', sources: [source] },
  },
  parameters: { reviewer: { value: 'PS Team Leader', type: 'role', description: 'Who reviews the result.', sources: [source] } },
  derivedFacts: {},
  outcome: {},
  rules: [
    {
      name: 'child-support-case',
      description: 'The case is a Child Support case.',
      sources: [source],
      conditions: { all: [{ fact: 'program', operator: 'equal', value: 'child-support' }] },
      event: { type: 'check' },
    },
    {
      name: 'meets-commitments',
      description: 'The customer meets their commitments.',
      sources: [source],
      conditions: { all: [{ fact: 'customer.meetsCommitments', operator: 'equal', value: true }] },
      event: { type: 'check' },
    },
  ],
};

// Registered before anything is built from the registry: the app, its /openapi.json and the test app's checker.
const unregister = registerRuleSet(quickCheck);
const dir = mkdtempSync(path.join(tmpdir(), 'ps-throwaway-rules-'));
cpSync(RULES_DIR, dir, { recursive: true });
writeFileSync(path.join(dir, `${NAME}.json`), `${JSON.stringify(RULE_FILE, null, 2)}\n`);
const registry = shippedRules(dir);
const app = testApp({ rules: () => registry });
const bed = pageTestBed(app);

afterAll(() => {
  unregister();
  rmSync(dir, { recursive: true, force: true });
});

describe('the API', () => {
  test('lists it and describes it, its fact default included', async () => {
    const list = await app.as('caseworker').get('/v1/rulesets').expect(200);
    expect((list.body as { ruleSets: { name: string }[] }).ruleSets.map((rs) => rs.name)).toContain(NAME);
    const detail = await app.as('caseworker').get(`/v1/rulesets/${NAME}`).expect(200);
    expect(detail.body).toEqual(
      expect.objectContaining({ name: NAME, title: RULE_FILE.title, description: 'Two checks, reviewed by the PS Team Leader.', file: `${NAME}.json` }),
    );
    expect(detail.body.factDefaults).toEqual(RULE_FILE.factDefaults);
  });

  test('evaluates a case with its module: the outcome, and the default it applied', async () => {
    const res = await app.as('caseworker').post(`/v1/rulesets/${NAME}/evaluate`).send({ asOf: '2025-06-02', facts: EXAMPLE }).expect(200);
    expect(res.body.outcome).toEqual({ passed: true, failing: [], reviewer: 'PS Team Leader' });
    expect(res.body.defaultsApplied).toEqual([{ fact: 'customer.meetsCommitments', value: true, file: `${NAME}.json` }]);
    // The short answer says so too: the outcome rests on it.
    const short = await app.as('caseworker').post(`/v1/rulesets/${NAME}/evaluate?explain=none`).send({ asOf: '2025-06-02', facts: EXAMPLE }).expect(200);
    expect(short.body).toEqual(
      expect.objectContaining({ outcome: res.body.outcome, defaultsApplied: res.body.defaultsApplied, fired: ['child-support-case', 'meets-commitments'] }),
    );
    // Given, the fact is the case's own: no default is applied, and the check fails on it.
    const given = await app
      .as('caseworker')
      .post(`/v1/rulesets/${NAME}/evaluate`)
      .send({ asOf: '2025-06-02', facts: { program: 'centrelink', customer: { meetsCommitments: false } } })
      .expect(200);
    expect(given.body.outcome).toEqual({ passed: false, failing: ['child-support-case', 'meets-commitments'], reviewer: 'PS Team Leader' });
    expect(given.body.defaultsApplied).toEqual([]);
  });
});

describe('/openapi.json', () => {
  test("documents its outcome with its module's schema, and its example", async () => {
    const res = await request(app.listener).get('/openapi.json').expect(200);
    const doc = JSON.parse(res.text) as {
      components: {
        schemas: Record<string, { discriminator?: { mapping: Record<string, string> }; enum?: string[] }>;
        examples: Record<string, { value: unknown }>;
      };
    };
    expect(doc.components.schemas[outcomeSchemaName(NAME)]).toEqual(JSON.parse(JSON.stringify(QuickCheckOutcome)));
    expect(doc.components.schemas.Decision!.discriminator!.mapping[NAME]).toBe('#/components/schemas/QuickCheckAnswer');
    expect(doc.components.schemas.QuickCheckAnswer).toEqual(
      expect.objectContaining({ properties: { ruleSet: { const: NAME }, outcome: { $ref: '#/components/schemas/QuickCheckOutcome' } } }),
    );
    expect(doc.components.schemas.RuleSetName!.enum).toContain(NAME);
    expect(doc.components.examples[NAME]!.value).toEqual({ facts: EXAMPLE });
  });

  test('and the document holds its answers to that schema: one the module did not build is refused', async () => {
    const checker = responseChecker(openApiDocument());
    const res = await app.as('caseworker').post(`/v1/rulesets/${NAME}/evaluate`).send({ asOf: '2025-06-02', facts: EXAMPLE }).expect(200);
    const headers = { 'content-type': 'application/json', 'x-decision-id': res.body.decisionId };
    expect(checker.check('POST', `/v1/rulesets/${NAME}/evaluate`, 200, headers, res.text)).toEqual([]);
    const wrong = { ...res.body, outcome: { ...res.body.outcome, passed: 'yes' } };
    expect(checker.check('POST', `/v1/rulesets/${NAME}/evaluate`, 200, headers, JSON.stringify(wrong)).join('\n')).toMatch('/outcome/passed must be boolean');
  });

  test('unregistered, it leaves the document', () => {
    const before = openApiDocument();
    const again = registerRuleSet({ ...quickCheck, name: 'quick-check-two' });
    expect(openApiDocument()).not.toBe(before);
    expect(openApiDocument().components.schemas).toHaveProperty('QuickCheckTwoOutcome');
    again();
    expect(openApiDocument().components.schemas).not.toHaveProperty('QuickCheckTwoOutcome');
    expect(RULE_SET_MODULES['quick-check-two']).toBeUndefined();
  });
});

describe('triage', () => {
  const priority = parseTriagePriority(
    JSON.stringify({
      description: 'Failed checks first.',
      ruleSets: [NAME],
      tiers: [
        { name: 'Failed check', when: { [`${NAME}.passed`]: false } },
        { name: 'The rest', when: {} },
      ],
      actions: [
        { when: { [`${NAME}.passed`]: false }, text: `Put right what failed (${'{'}${NAME}.failing${'}'}), {due}` },
        { when: {}, text: 'Nothing to put right, {due}' },
      ],
    }),
    RULE_SET_MODULES,
  );

  test('a tiers file may name its outcome fields, and names them right', () => {
    expect(priority.tiers[0]).toEqual({ name: 'Failed check', outcomes: [{ ruleSet: NAME, field: 'passed', value: false }] });
    expect(() =>
      parseTriagePriority(
        JSON.stringify({
          description: 'x',
          ruleSets: [NAME],
          tiers: [
            { name: 'a', when: { [`${NAME}.passd`]: false } },
            { name: 'b', when: {} },
          ],
          actions: [{ when: {}, text: 'x' }],
        }),
        RULE_SET_MODULES,
      ),
    ).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ message: expect.stringContaining('did you mean "passed"?') })] }));
  });

  test('writes its columns, its tier and its cells', () => {
    const header = csvHeader([NAME], { rank: false, explain: false });
    expect(header).toEqual([
      'id',
      'line',
      'tier',
      'due by',
      'overdue',
      'next action',
      'reason',
      'approver',
      're-triage on',
      'program',
      'as of',
      `${NAME}.version`,
      `${NAME}.passed`,
      `${NAME}.failing`,
      'rules',
      'inputDigest',
    ]);
    const triage = new ChunkTriage(registry, {
      rulesDirectory: dir,
      ruleSets: [NAME],
      priority,
      asOf: '2025-06-02',
      input: 'ndjson',
      output: 'csv',
      explain: false,
      ranking: false,
    });
    const lines = [
      { id: 'a', facts: { program: 'child-support' } },
      { id: 'b', facts: { program: 'centrelink' } },
    ]
      .map((record) => JSON.stringify(record))
      .join('\n');
    const result = triage.run({ type: 'chunk', seq: 0, firstLine: 1, data: new Uint8Array(Buffer.from(`${lines}\n`)) });
    const rows = parseCsv(Buffer.from(result.out));
    const version = registry.ruleSets.get(NAME)!.latest.version;
    // Nothing in its rules is dated, so no day changes its answers (re-triage on empty). The reason is its rule's
    // description with the customer's value, met for a Child Support case and not met for a Centrelink one.
    const digest = expect.stringMatching(/^[0-9a-f]{16}$/) as unknown as string;
    // Its module declares no due date and no approver: neither is said, and no case is overdue.
    expect(rows).toEqual([
      [
        'a',
        '1',
        'The rest',
        '',
        '',
        'Nothing to put right, no due date worked out',
        'The case is a Child Support case (the program managing the customer: child-support).',
        '',
        '',
        'child-support',
        '2025-06-02',
        version,
        'true',
        '',
        `${NAME}: child-support-case, meets-commitments`,
        digest,
      ],
      [
        'b',
        '2',
        'Failed check',
        '',
        '',
        'Put right what failed (child-support-case), no due date worked out',
        'Not met: The case is a Child Support case (the program managing the customer: centrelink).',
        '',
        '',
        'centrelink',
        '2025-06-02',
        version,
        'false',
        'child-support-case',
        `${NAME}: meets-commitments`,
        digest,
      ],
    ]);
    expect(rows[0]!.length).toBe(header.length);
    // Its verdict is counted for the summary, under its column's name.
    expect(result.counts.tally).toEqual(
      expect.objectContaining({ [`verdict:${NAME}.passed:true`]: 1, [`verdict:${NAME}.passed:false`]: 1, 'tier:1': 1, 'tier:2': 1 }),
    );
  });
});

test('the rules page shows it, its fact default, and tries its example case', async () => {
  const page = await bed.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${bed.base}/rules`);
  await page.fill('#api-key', TEST_SECRETS.caseworker);
  await page.click('#use-key');
  const section = page.locator(`section[data-ruleset="${NAME}"]`);
  await section.locator('table.decision-table').waitFor();
  await expect(section.locator('tr[data-rule="meets-commitments"]').textContent()).resolves.toContain('The customer meets their commitments.');
  await expect(section.locator('tr[data-default="customer.meetsCommitments"] td').allTextContents()).resolves.toEqual([
    'customer.meetsCommitments',
    'true',
    expect.stringContaining('Taken to meet them unless the case says otherwise.'),
  ]);
  await page.selectOption('#ruleset', NAME);
  // The try-a-case box starts from the module's example, as /openapi.json publishes it.
  await page.waitForFunction(`document.getElementById('facts').value.includes('"program"')`);
  expect(JSON.parse(await page.inputValue('#facts'))).toEqual(EXAMPLE);
  await page.fill('#asof', '2025-06-02');
  await page.click('#evaluate');
  await page.waitForSelector('#result table.outcome');
  expect(await page.textContent('#result [data-field="passed"]')).toBe('true');
  await expect(page.locator('#result [data-applied="customer.meetsCommitments"]').textContent()).resolves.toContain('taken to be true');
  await page.close();
});
