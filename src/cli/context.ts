// What every ps-rules command shares: where rules and fixtures are, loading them, printing, exit codes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rulesDirectoryFromEnvironment } from '../config';
import { DecisionError, type Issue } from '../errors';
import { loadRules, type RuleRegistry } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';

/** Exit codes, as docs/policy-authoring.md documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface Places {
  rules: string;
  fixtures: string;
}

export function places(options: { rules?: string; fixtures?: string }): Places {
  const rules = options.rules === undefined ? rulesDirectoryFromEnvironment(process.env) : path.resolve(options.rules);
  return { rules, fixtures: path.resolve(options.fixtures ?? path.join(path.dirname(rules), 'fixtures')) };
}

export const print = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

export function describeIssue(issue: Issue): string {
  const where = issue.file ? `${issue.file}:${issue.line ?? 1}:${issue.column ?? 1}` : issue.pointer || '(body)';
  const pointer = issue.file ? issue.pointer.slice(issue.pointer.indexOf('#') + 1) : '';
  return `${where}  ${issue.message}${pointer ? `  [${pointer}]` : ''}`;
}

/** Loads the rules, or prints every problem and returns undefined. */
export function loadOrReport(rulesDirectory: string): RuleRegistry | undefined {
  try {
    return loadRules(rulesDirectory, { modules: RULE_SET_MODULES });
  } catch (error) {
    if (!(error instanceof DecisionError)) throw error;
    print(`✗ ${error.message}`);
    for (const issue of error.issues) print(`  ${describeIssue(issue)}`);
    return undefined;
  }
}

/** A folder of rules as given, or `rules/` as it stood at a git ref, extracted to a temporary folder. Throws when neither. */
export function baseRules(base: string, rulesDirectory: string): string {
  if (existsSync(base) && statSync(base).isDirectory()) return path.resolve(base);
  const git = (args: string[], cwd: string, input?: Buffer) => execFileSync('git', args, { cwd, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
  const repo = git(['rev-parse', '--show-toplevel'], rulesDirectory).toString().trim();
  const prefix = path.relative(repo, rulesDirectory);
  const target = mkdtempSync(path.join(tmpdir(), 'ps-rules-base-'));
  execFileSync('tar', ['-x', '-C', target], { input: git(['archive', '--format=tar', base, prefix], repo) });
  return path.join(target, prefix);
}
