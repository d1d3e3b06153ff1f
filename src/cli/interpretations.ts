// ps-rules interpretations: every reading of the procedure the rules encode where its words leave it open, by file:line,
// for policy staff to confirm. They live in the rule files (`interpretation` on a parameter, derived fact or rule), so
// this list cannot drift from the rules that decide.
import { locate } from '../loader/positions';
import { EXIT, loadOrReport, places, print } from './context';

export interface InterpretationEntry {
  file: string;
  line: number;
  column: number;
  /** "parameter aggressionWindowMonths", "derived fact …", "rule …". */
  what: string;
  interpretation: string;
}

export function interpretationsCommand(options: { rules?: string; json?: boolean }): number {
  const registry = loadOrReport(places(options).rules);
  if (!registry) return EXIT.failed;
  const texts = new Map((registry.texts?.files ?? []).map((f) => [f.file, f.text]));
  const entries: InterpretationEntry[] = [];
  for (const ruleSet of registry.ruleSets.values()) {
    for (const version of ruleSet.versions) {
      const { file, sourceFile } = version;
      const text = texts.get(sourceFile) ?? '';
      const add = (pointer: string, what: string, interpretation: string | undefined) => {
        if (interpretation === undefined) return;
        entries.push({ file: sourceFile, ...locate(text, `${pointer}/interpretation`), what, interpretation });
      };
      for (const [name, parameter] of Object.entries(file.parameters)) add(`/parameters/${name}`, `parameter ${name}`, parameter.interpretation);
      for (const [name, derived] of Object.entries(file.derivedFacts)) add(`/derivedFacts/${name}`, `derived fact ${name}`, derived.interpretation);
      file.rules.forEach((rule, i) => add(`/rules/${i}`, `rule ${rule.name}`, rule.interpretation));
    }
  }
  if (options.json) {
    print(JSON.stringify(entries, null, 2));
    return EXIT.ok;
  }
  for (const e of entries) print(`${e.file}:${e.line}:${e.column}  ${e.what}\n    ${e.interpretation}`);
  print(`${entries.length} interpretation${entries.length === 1 ? '' : 's'} for policy staff to confirm`);
  return EXIT.ok;
}
