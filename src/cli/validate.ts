// ps-rules validate [files...]: checks rule files and names each problem by file:line:column with the fix.
import path from 'node:path';
import { DecisionError } from '../errors';
import { loadRules, RuleSetVersions, type RuleRegistry } from '../loader/load';
import { loadTriagePriority, TRIAGE_PRIORITY_FILE } from '../loader/triage-priority';
import { RULE_SET_MODULES } from '../rulesets';
import { EXIT, describeIssue, places, print } from './context';
import { printInterpretations } from './interpretations';

/** The registry with only the versions read from the files named, for a listing of theirs alone. */
function onlyFiles(registry: RuleRegistry, files: ReadonlySet<string>): RuleRegistry {
  const ruleSets = new Map<string, RuleSetVersions>();
  for (const [name, ruleSet] of registry.ruleSets) {
    const versions = ruleSet.versions.filter((v) => files.has(v.sourceFile));
    if (versions.length > 0) ruleSets.set(name, new RuleSetVersions(name, versions));
  }
  return { ...registry, ruleSets };
}

export function validateCommand(files: string[], options: { rules?: string; interpretations?: boolean }): number {
  const { rules } = places(options);
  const only = new Set(files.map((f) => path.relative(rules, path.resolve(f))));
  try {
    const registry = loadRules(rules, { modules: RULE_SET_MODULES });
    for (const ruleSet of registry.ruleSets.values()) {
      for (const v of ruleSet.versions) {
        const period = v.effectiveFrom || v.effectiveTo ? `  in force ${v.effectiveFrom ?? '…'} to ${v.effectiveTo ?? '…'}` : '';
        print(`✓ ${ruleSet.name}  version ${v.version}  ${v.file.rules.length} rules  (${v.sourceFile})${period}`);
      }
    }
    // Warnings do not refuse the rules; they name what to write instead.
    for (const warning of registry.warnings ?? []) print(`warning: ${describeIssue(warning)}`);
    // The triage queue's tiers are policy beside the rule files, checked with them.
    const priority = loadTriagePriority(rules, RULE_SET_MODULES);
    print(
      `✓ triage tiers  ${priority.tiers.map((tier, i) => `${i + 1} ${tier.name}`).join('; ')}; ${priority.actions.length} next actions  (${TRIAGE_PRIORITY_FILE})`,
    );
    print(`All rule files in ${rules} are valid.`);
    if (options.interpretations) printInterpretations(only.size === 0 ? registry : onlyFiles(registry, only), false);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof DecisionError)) throw error;
    const issues = only.size === 0 ? error.issues : error.issues.filter((i) => i.file !== undefined && only.has(i.file));
    if (issues.length === 0) {
      print(`✓ ${[...only].join(', ')} valid (other files in ${rules} have problems: run validate with no files to see them)`);
      return EXIT.ok;
    }
    for (const issue of issues) print(describeIssue(issue));
    print(`✗ ${issues.length} problem(s). Nothing was loaded; a running service keeps its last good rules.`);
    return EXIT.failed;
  }
}
