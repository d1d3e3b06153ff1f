// ps-rules validate --interpretations (and ps-rules interpretations, the same listing): every reading of the procedure
// the rules apply where its words leave it open, by file:line:column, with the question it answers and whether policy
// staff have confirmed it; unconfirmed first. They live in the rule files (`interpretation` on a parameter, derived
// fact, fact default or rule), so this list cannot drift from the rules that decide.
import { confirmation, interpretationsOf, isConfirmed, ON_WORDS, type InterpretationOn } from '../engine/interpretations';
import type { RuleRegistry } from '../loader/load';
import { locate } from '../loader/positions';
import { EXIT, loadOrReport, places, print } from './context';

export interface InterpretationEntry {
  file: string;
  line: number;
  column: number;
  ruleSet: string;
  version: string;
  /** What it sits on, and that one's name: "parameter" aggressionKinds. */
  on: InterpretationOn;
  name: string;
  question: string;
  chosen: string;
  confirmed: boolean;
  confirmedBy?: string;
  confirmedOn?: string;
}

/** Every interpretation of every version, unconfirmed first, each group in file and file-position order. */
export function interpretationEntries(registry: RuleRegistry): InterpretationEntry[] {
  const texts = new Map((registry.texts?.files ?? []).map((f) => [f.file, f.text]));
  const entries: InterpretationEntry[] = [];
  for (const ruleSet of registry.ruleSets.values()) {
    for (const version of ruleSet.versions) {
      const text = texts.get(version.sourceFile) ?? '';
      for (const { on, name, pointer, interpretation } of interpretationsOf(version.file)) {
        const { question, chosen, confirmedBy, confirmedOn } = interpretation;
        entries.push({
          file: version.sourceFile,
          ...locate(text, pointer),
          ruleSet: ruleSet.name,
          version: version.version,
          on,
          name,
          question,
          chosen,
          confirmed: isConfirmed(interpretation),
          ...(confirmedBy !== undefined && { confirmedBy }),
          ...(confirmedOn !== undefined && { confirmedOn }),
        });
      }
    }
  }
  const rank = (e: InterpretationEntry) => (e.confirmed ? 1 : 0);
  // A stable sort: within each group, the order the files and their members were read in.
  return entries.sort((a, b) => rank(a) - rank(b));
}

/** The listing, as text or JSON; the rules are loaded (and refused) as validate loads them. */
export function interpretationsCommand(options: { rules?: string; json?: boolean }): number {
  const registry = loadOrReport(places(options).rules);
  if (!registry) return EXIT.failed;
  printInterpretations(registry, options.json === true);
  return EXIT.ok;
}

export function printInterpretations(registry: RuleRegistry, json: boolean): void {
  const entries = interpretationEntries(registry);
  if (json) {
    print(JSON.stringify(entries, null, 2));
    return;
  }
  for (const e of entries)
    print(`${e.file}:${e.line}:${e.column}  ${ON_WORDS[e.on]} ${e.name}  (${confirmation(e)})\n    question: ${e.question}\n    chosen:   ${e.chosen}`);
  const unconfirmed = entries.filter((e) => !e.confirmed).length;
  print(
    `${entries.length} interpretation${entries.length === 1 ? '' : 's'}: ${unconfirmed} unconfirmed, for policy staff to answer and confirm; ${entries.length - unconfirmed} confirmed`,
  );
}
