// Shared test setup: the shipped rules, loaded once per test file, and the fixture tables.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { defaultRulesDirectory, loadRules, type RuleRegistry } from '../src/loader/load';
import { OUTCOME_BUILDERS } from '../src/rulesets';

export const ROOT = path.resolve(__dirname, '..');
export const RULES_DIR = defaultRulesDirectory();
export const FIXTURES_DIR = path.join(ROOT, 'fixtures');

export function shippedRules(directory = RULES_DIR): RuleRegistry {
  return loadRules(directory, { builders: OUTCOME_BUILDERS });
}

export interface Fixture {
  file: string;
  ruleSet: string;
  note: string;
  source: string;
  asOf: string;
  facts: Record<string, unknown>;
  expected?: Record<string, unknown>;
  expectedError?: { status: number; pointers: string[] };
}

export function fixturesOf(ruleSet: string): Fixture[] {
  const dir = path.join(FIXTURES_DIR, ruleSet);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ruleSet, ...(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Omit<Fixture, 'file' | 'ruleSet'>) }));
}

export function fixtureRuleSets(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}
