// Shared test setup: the shipped rules, loaded once per test file, and the fixture tables.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { defaultRulesDirectory, loadRules, type RuleRegistry } from '../src/loader/load';
import { RULE_SET_MODULES } from '../src/rulesets';

export const ROOT = path.resolve(__dirname, '..');
export const RULES_DIR = defaultRulesDirectory();
export const FIXTURES_DIR = path.join(ROOT, 'fixtures');

export function shippedRules(directory = RULES_DIR): RuleRegistry {
  return loadRules(directory, { modules: RULE_SET_MODULES });
}

export function fixtureRuleSets(): string[] {
  // rule-files/ holds broken rule files for the validator's tests, csv/ sample exports for triage: not cases.
  const notCases = new Set(['rule-files', 'csv']);
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !notCases.has(d.name))
    .map((d) => d.name)
    .sort();
}

/** Collects what the ps-rules commands print, for the duration of each test in the file. */
export function captureStdout(): { text: () => string; reset: () => void } {
  let output = '';
  beforeEach(() => {
    output = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());
  return {
    text: () => output,
    reset: () => {
      output = '';
    },
  };
}
