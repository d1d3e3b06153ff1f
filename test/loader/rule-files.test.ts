// Each broken rule file in fixtures/rule-files is refused by `ps-rules validate` at the right line and column, with the fix.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/context';
import { validateCommand } from '../../src/cli/validate';
import { DecisionError } from '../../src/errors';
import { versionsByFile } from '../../src/loader/load';
import { RuleStore } from '../../src/loader/store';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { FIXTURES_DIR, RULES_DIR, shippedRules } from '../support';

const BROKEN = path.join(FIXTURES_DIR, 'rule-files');
const expected = JSON.parse(readFileSync(path.join(BROKEN, 'expected.json'), 'utf8')) as Record<
  string,
  { file: string; line: number; column: number; pointer: string; message: string }
>;
const failures = readdirSync(BROKEN, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('every broken file has an expectation, and the other way round', () => {
  expect(failures).toEqual(Object.keys(expected).sort());
  expect(failures).toEqual(
    expect.arrayContaining(['invalid-json', 'unknown-fact', 'unknown-operator', 'type-mismatch', 'duplicate-rule-id', 'missing-source', 'dangling-parameter']),
  );
});

function rulesWith(failure: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `rules-${failure}-`));
  cpSync(RULES_DIR, dir, { recursive: true });
  const want = expected[failure]!;
  copyFileSync(path.join(BROKEN, failure, want.file), path.join(dir, want.file));
  return dir;
}

describe.each(failures)('%s', (failure) => {
  const want = expected[failure]!;

  test('the loader refuses it with file, line, column, pointer and a sentence naming the fix', () => {
    let refusal: DecisionError | undefined;
    try {
      shippedRules(rulesWith(failure));
    } catch (error) {
      refusal = error as DecisionError;
    }
    expect(refusal).toBeInstanceOf(DecisionError);
    const issue = refusal!.issues.find((i) => i.file === want.file && i.line === want.line && i.column === want.column);
    expect(issue).toEqual(expect.objectContaining({ file: want.file, line: want.line, column: want.column, pointer: `${want.file}#${want.pointer}` }));
    expect(issue!.message).toMatch(new RegExp(want.message));
  });

  test("a running service's reload refuses it with the same issue, and keeps the rules it had", () => {
    const dir = mkdtempSync(path.join(tmpdir(), `reload-${failure}-`));
    cpSync(RULES_DIR, dir, { recursive: true });
    const store = new RuleStore(dir, RULE_SET_MODULES);
    const before = versionsByFile(store.current());
    copyFileSync(path.join(BROKEN, failure, want.file), path.join(dir, want.file));
    const report = store.reload();
    expect(report.ok).toBe(false);
    const issue = report.issues.find((i) => i.file === want.file && i.line === want.line && i.column === want.column);
    expect(issue?.message).toMatch(new RegExp(want.message));
    expect(versionsByFile(store.current())).toEqual(before);
  });

  test('ps-rules validate prints it as file:line:column and exits 1', () => {
    let output = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    });
    const code = validateCommand([], { rules: rulesWith(failure) });
    jest.restoreAllMocks();
    expect(code).toBe(EXIT.failed);
    expect(output).toMatch(new RegExp(`^${want.file.replace('.', '\\.')}:${want.line}:${want.column} {2}${want.message}`, 'm'));
  });
});

test("a parameter's value typed into a description beside its unit is a warning naming the template to write, and the rules still load", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-typed-value-'));
  cpSync(RULES_DIR, dir, { recursive: true });
  const file = path.join(dir, 'direct-referral.json');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('({aggressionWindowMonths} months)');
  // The rule description the number is typed into (its line moves as the file above it grows).
  const line = text.split('\n').findIndex((l) => l.includes('({aggressionWindowMonths} months)')) + 1;
  writeFileSync(file, text.replace('({aggressionWindowMonths} months)', '(12 months)'));
  const registry = shippedRules(dir);
  expect(registry.warnings).toEqual([
    expect.objectContaining({
      file: 'direct-referral.json',
      line,
      column: 7,
      message:
        '"12 months" repeats the value of parameter "aggressionWindowMonths": write "{aggressionWindowMonths} months" so that the sentence follows the value when it changes',
    }),
  ]);
  let output = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  const code = validateCommand([], { rules: dir });
  jest.restoreAllMocks();
  expect(code).toBe(EXIT.ok);
  expect(output).toMatch(new RegExp(`^warning: direct-referral\\.json:${line}:7 {2}"12 months" repeats the value of parameter "aggressionWindowMonths"`, 'm'));
});

test('the shipped rule files draw no warning', () => {
  expect(shippedRules().warnings).toEqual([]);
});
