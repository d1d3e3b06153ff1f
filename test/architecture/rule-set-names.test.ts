// A rule set is its rule files and its module: no file in src/ outside src/rulesets/ names one, so adding a rule set
// (or renaming one) touches nothing else. The names come from the rule files and the registered modules, not from here.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isRuleFileName } from '../../src/loader/load';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { ROOT, RULES_DIR } from '../support';

const SRC = path.join(ROOT, 'src');
/** Where rule sets may be named: their own modules. (src/bench/ is leaving src/ for bench/, and is not the service.) */
const EXEMPT = new Set([path.join(SRC, 'rulesets'), path.join(SRC, 'bench')]);

/** Every rule-set name: each rule file's `ruleSet`, and each registered module's name. */
function ruleSetNames(): string[] {
  const fromFiles = readdirSync(RULES_DIR)
    .filter(isRuleFileName)
    .map((file) => (JSON.parse(readFileSync(path.join(RULES_DIR, file), 'utf8')) as { ruleSet: string }).ruleSet);
  return [...new Set([...fromFiles, ...Object.keys(RULE_SET_MODULES)])].sort();
}

/** Every file under `dir` but the exempt folders. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return EXEMPT.has(full) ? [] : filesUnder(full);
    return [full];
  });
}

/** "file:line: the line" for each line of `text` that names one of `names`. */
function namings(file: string, text: string, names: readonly string[]): string[] {
  return text.split('\n').flatMap((line, i) => names.filter((name) => line.includes(name)).map((name) => `${file}:${i + 1}: names ${name}: ${line.trim()}`));
}

describe('no file in src/ outside src/rulesets/ names a rule set', () => {
  const names = ruleSetNames();

  test('the names come from the rule files and the modules: every shipped rule set, each with a module', () => {
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) expect(RULE_SET_MODULES[name]?.name).toBe(name);
  });

  test('the check finds a name where one is written, by file and line', () => {
    const [first, second] = names as [string, string];
    expect(namings('src/x.ts', `// fine\nif (ruleSet === '${first}') go();\nconst y = "${second}";\n`, names)).toEqual([
      `src/x.ts:2: names ${first}: if (ruleSet === '${first}') go();`,
      `src/x.ts:3: names ${second}: const y = "${second}";`,
    ]);
  });

  test('src/ (the code, the rules page, everything the service ships) names none', () => {
    const files = filesUnder(SRC);
    // The scan reaches what it must: the API, the triage, the loader, the page.
    for (const expected of [
      'api/openapi.ts',
      'api/rules-page.html',
      'triage/chunk.ts',
      'triage/columns.ts',
      'cli/triage.ts',
      'loader/load.ts',
      'facts/schema.ts',
    ]) {
      expect(files).toContain(path.join(SRC, expected));
    }
    const found = files.flatMap((file) => namings(path.relative(ROOT, file), readFileSync(file, 'utf8'), names));
    expect(found).toEqual([]);
  });
});
