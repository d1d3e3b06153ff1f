// ps-rules export <dir>: the rule files as in force, for git. Without PostgreSQL, a copy of the rules folder; with it, the
// folder overlaid with the versions published there, named as the SQLite path names them; rules that would be refused
// are not exported at all.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PostgresProposalStore } from '../../src/authoring/postgres-proposal-store';
import { publication } from '../../src/authoring/proposals';
import { EXIT } from '../../src/cli/context';
import { exportCommand } from '../../src/cli/export';
import { versionOf } from '../../src/engine/compile';
import { CALENDAR_FILE, loadRules } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { RULES_DIR, captureStdout } from '../support';
import { startPostgres, type TestPostgres } from '../support/postgres';

const stdout = captureStdout();
const ruleFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));
const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');
const out = () => mkdtempSync(path.join(tmpdir(), 'ps-export-'));

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres('ps_export');
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

/** Publishes direct-referral with a 24-month window from 2026-03-11 into the store, as approval would; its plan. */
async function publish(url: string, text?: string) {
  const store = await PostgresProposalStore.open(url);
  try {
    const baseText = read(RULES_DIR, 'direct-referral.json');
    const calendarText = read(RULES_DIR, CALENDAR_FILE);
    const draft = JSON.parse(baseText) as { parameters: { aggressionWindowMonths: { value: number } } };
    draft.parameters.aggressionWindowMonths.value = 24;
    const baseVersion = versionOf(baseText, calendarText);
    const base = {
      ruleSet: 'direct-referral',
      version: baseVersion,
      file: 'direct-referral.json',
      text: baseText,
      effectiveFrom: '2025-01-14',
      effectiveTo: null,
    };
    const plan = publication(base, draft, '2026-03-11', ruleFiles(RULES_DIR));
    const proposal = await store.create({
      id: `p-${Math.random()}`,
      ruleSet: 'direct-referral',
      baseVersion,
      effectiveFrom: '2026-03-11',
      rationale: 'Two years.',
      proposedBy: 'pol1',
      proposedAt: '2026-03-10T01:00:00.000Z',
      file: draft,
      impact: { cases: 0, unchanged: 0, changed: [], refused: [], counts: {} },
    });
    const newText = text ?? plan.newText;
    await store.approve(proposal.id, { by: 'pol2', at: '2026-03-10T01:00:00.000Z', comment: 'Yes.' }, () => ({
      version: versionOf(newText, calendarText),
      file: plan.newFile,
      text: newText,
      endedVersion: versionOf(plan.endedText, calendarText),
      endedFile: plan.endedFile,
      endedText: plan.endedText,
      removed: plan.remove,
    }));
    return { ...plan, newVersion: versionOf(newText, calendarText) };
  } finally {
    await store.close();
  }
}

test('without PostgreSQL, the folder’s rule files as they are', async () => {
  const dir = out();
  expect(await exportCommand(dir, { rules: RULES_DIR, decisionLogUrl: '' })).toBe(EXIT.ok);
  expect(ruleFiles(dir).sort()).toEqual(ruleFiles(RULES_DIR).sort());
  for (const file of ruleFiles(RULES_DIR)) expect(read(dir, file)).toBe(read(RULES_DIR, file));
  expect(stdout.text()).toContain(`Exported ${ruleFiles(RULES_DIR).length} rule files`);
  // A rules folder the service loads: the calendar and triage tiers came too.
  expect(() => loadRules(dir, { modules: RULE_SET_MODULES })).not.toThrow();
});

test('with PostgreSQL, the versions published there as files named as publishing names them, and a folder that loads', async () => {
  const url = await pg.createDatabase('exported');
  // A database where nothing was published yet: the folder as it is.
  const before = out();
  expect(await exportCommand(before, { rules: RULES_DIR, decisionLogUrl: url })).toBe(EXIT.ok);
  expect(read(before, 'direct-referral.json')).toBe(read(RULES_DIR, 'direct-referral.json'));

  const plan = await publish(url);
  const dir = out();
  expect(await exportCommand(dir, { rules: RULES_DIR, decisionLogUrl: url })).toBe(EXIT.ok);
  expect(ruleFiles(dir).sort()).toEqual([...ruleFiles(RULES_DIR), 'direct-referral.before-2026-03-11.json'].sort());
  expect(read(dir, 'direct-referral.json')).toBe(plan.newText);
  expect(read(dir, 'direct-referral.before-2026-03-11.json')).toBe(plan.endedText);
  for (const file of ruleFiles(RULES_DIR).filter((f) => f !== 'direct-referral.json')) expect(read(dir, file)).toBe(read(RULES_DIR, file));
  const loaded = loadRules(dir, { modules: RULE_SET_MODULES }).ruleSets.get('direct-referral');
  expect(loaded?.resolve('2026-03-11').version).toBe(plan.newVersion);
  expect(loaded?.resolve('2026-03-10').effectiveTo).toBe('2026-03-10');
  expect(stdout.text()).toContain('with 1 version(s) published in PostgreSQL');

  // Exported again onto itself (the folder git keeps): the same files, nothing doubled.
  expect(await exportCommand(dir, { rules: dir, decisionLogUrl: url })).toBe(EXIT.ok);
  expect(read(dir, 'direct-referral.json')).toBe(plan.newText);
  expect(ruleFiles(dir)).toHaveLength(ruleFiles(RULES_DIR).length + 1);

  // DECISION_LOG_URL serves when no option is given.
  const fromEnvironment = out();
  process.env.DECISION_LOG_URL = url;
  try {
    expect(await exportCommand(fromEnvironment, { rules: RULES_DIR })).toBe(EXIT.ok);
  } finally {
    delete process.env.DECISION_LOG_URL;
  }
  expect(read(fromEnvironment, 'direct-referral.json')).toBe(plan.newText);
});

test('published rules that would be refused are not exported: exit 1, the problem named, nothing written', async () => {
  const url = await pg.createDatabase('refused');
  await publish(url, '{ "ruleSet": "direct-referral", "effectiveFrom": "2026-03-11", "rules": 7 }\n');
  const dir = out();
  expect(await exportCommand(dir, { rules: RULES_DIR, decisionLogUrl: url })).toBe(EXIT.failed);
  expect(readdirSync(dir)).toEqual([]);
  expect(stdout.text()).toContain('direct-referral.json');
  expect(stdout.text()).toContain('Nothing was written');
});

test('a decision log URL that is not PostgreSQL’s is bad usage, and names no password', async () => {
  expect(await exportCommand(out(), { rules: RULES_DIR, decisionLogUrl: 'mysql://user:secret@host/db' })).toBe(EXIT.usage);
  expect(stdout.text()).not.toContain('secret');
});
