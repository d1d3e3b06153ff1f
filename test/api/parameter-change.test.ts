// Issue 12: a threshold changed on a running service changes what every answer and the rule set's page say, not only what they decide.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR } from '../support';
import { testApp } from '../support/app';

/** A procedure's own words (a source's quote) say what the procedure says; everything else must follow the value. */
const withoutQuotes = (value: unknown): string => JSON.stringify(value, (key, v: unknown) => (key === 'quote' ? undefined : v));

test('aggressionWindowMonths set to 24 and reloaded: the next answer and GET /v1/rulesets say 24 months, and nowhere 12 months', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-window-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const store = new RuleStore(dir, RULE_SET_MODULES);
  const app = testApp({ rules: () => store.current(), reload: () => store.reload(), clock: () => new Date('2025-06-01T15:00:00Z') });
  // An incident 18 months before the referral: outside a 12-month window, inside a 24-month one.
  const body = {
    asOf: '2025-06-02',
    facts: {
      program: 'centrelink',
      referral: { source: 'mats', receivedOn: '2025-06-02' },
      customer: { incidents: [{ date: '2023-12-01', kind: 'verbal-abuse', setting: 'face-to-face' }] },
    },
  };

  const before = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
  expect(before.status).toBe(200);
  expect(before.body.outcome.eligible).toBe(true);
  expect(withoutQuotes(before.body)).toContain('within the aggression window (12 months)');

  const file = path.join(dir, 'direct-referral.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/("aggressionWindowMonths": \{\s*"value": )12/, '$124'));
  const reload = await app.as('policy').post('/v1/admin/reload');
  expect(reload.status).toBe(200);
  expect(reload.body.changed).toEqual(['direct-referral.json']);

  const after = await app.as('caseworker').post('/v1/rulesets/direct-referral/evaluate').send(body);
  expect(after.status).toBe(200);
  expect(after.body.outcome.eligible).toBe(false);
  const answer = withoutQuotes(after.body);
  expect(answer).toContain('within the aggression window (24 months)');
  expect(answer).not.toContain('12 months');

  const page = await app.as('caseworker').get('/v1/rulesets/direct-referral?asOf=2025-06-02');
  expect(page.status).toBe(200);
  expect(page.body.parameters.aggressionWindowMonths.value).toBe(24);
  // Every version is listed with its unconfirmed readings: the one before 14 January 2025 keeps its own 12-month
  // window, and its readings say so. The version shown, and its entry in that list, say 24.
  const current = page.body.versions.find((v: { version: string }) => v.version === page.body.version);
  expect(current.unconfirmedInterpretations).toContainEqual(
    expect.objectContaining({ name: 'recentFaceToFaceAggressionIncidents', question: expect.stringContaining('in the last 24 months') }),
  );
  const shown = withoutQuotes({ ...page.body, versions: [current] });
  expect(shown).toContain('(24 months)');
  expect(shown).not.toContain('12 months');
});
