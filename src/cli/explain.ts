// ps-rules explain <ruleSet> <facts.json> [--as-of]: the outcome, its summary, and every rule weighed, as readable text.
import { readFileSync } from 'node:fs';
import { todayInSydney } from '../dates/calendar';
import { evaluate } from '../engine/evaluate';
import { summarize } from '../engine/summary';
import { citation, type ConditionExplanation } from '../engine/explain';
import { confirmation, ON_WORDS } from '../engine/interpretations';
import type { Interpretation } from '../engine/types';
import { DecisionError } from '../errors';
import { parseEvaluateRequest } from '../facts/validate';
import { EXIT, describeIssue, loadOrReport, places, print } from './context';

const mark = (result: boolean | null) => (result === null ? '·' : result ? '✓' : '✗');

function printCondition(condition: ConditionExplanation, indent: string): void {
  if ('all' in condition) {
    print(`${indent}${mark(condition.result)} all of:`);
    for (const c of condition.all) printCondition(c, `${indent}  `);
  } else if ('any' in condition) {
    print(`${indent}${mark(condition.result)} any of:`);
    for (const c of condition.any) printCondition(c, `${indent}  `);
  } else if ('not' in condition) {
    print(`${indent}${mark(condition.result)} not:`);
    printCondition(condition.not, `${indent}  `);
  } else {
    print(`${indent}${mark(condition.result)} ${condition.text}`);
  }
}

/** A reading the rules apply where the procedure leaves it open: the question, whether it is confirmed, the reading. */
function printInterpretation(interpretation: Interpretation): void {
  print(`    interpretation (${confirmation(interpretation)}): ${interpretation.question}`);
  print(`      chosen: ${interpretation.chosen}`);
}

/** The members only a fixture file has, beside a request's asOf and facts (authoring/fixtures.ts's Fixture). */
const FIXTURE_MEMBERS = ['note', 'source', 'expected', 'expectedSummary', 'expectedError'];

function isFixture(input: unknown): input is { asOf?: unknown; facts: unknown } {
  return input !== null && typeof input === 'object' && 'facts' in input && FIXTURE_MEMBERS.some((member) => member in input);
}

export async function explainCommand(name: string, factsFile: string, options: { asOf?: string; rules?: string }): Promise<number> {
  const registry = loadOrReport(places(options).rules);
  if (!registry) return EXIT.failed;
  const versions = registry.ruleSets.get(name);
  if (!versions) {
    print(`No rule set "${name}". Known: ${[...registry.ruleSets.keys()].join(', ')}`);
    return EXIT.usage;
  }
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(readFileSync(factsFile, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    print(`Cannot read ${factsFile}: ${(error as Error).message}`);
    return EXIT.usage;
  }
  // Accept a request body { asOf?, facts }, a fixture (its case decided; its note, source and expectations are for
  // `ps-rules test`, not part of a request), or bare CaseFacts.
  const fixture = isFixture(input);
  if (fixture) print(`${factsFile} is a fixture: its asOf and facts are decided here (ps-rules test checks its expectations)\n`);
  const body: Record<string, unknown> =
    input && typeof input === 'object' && 'facts' in input ? (fixture ? { asOf: input.asOf, facts: input.facts } : { ...input }) : { facts: input };
  if (options.asOf) body.asOf = options.asOf;
  try {
    const asOf = typeof body.asOf === 'string' ? body.asOf : todayInSydney(new Date());
    const ruleSet = versions.resolve(asOf);
    const request = parseEvaluateRequest({ ...body, asOf }, name, ruleSet.file.requires);
    const decision = await evaluate(ruleSet, request.facts, asOf);
    const summary = summarize(versions, ruleSet, decision, request.facts, body.facts);
    print(`${ruleSet.file.title}`);
    print(`rule set ${decision.ruleSet}, version ${decision.version} (${ruleSet.sourceFile}), as of ${decision.asOf}`);
    print();
    print('Outcome');
    for (const [field, value] of Object.entries(decision.outcome)) print(`  ${field}: ${JSON.stringify(value)}`);
    print();
    // What a caseworker reads first: why, until when, what would change it, what was assumed; the trace follows.
    print('Why');
    for (const reason of summary.reasons) print(`  • ${reason.text} (${reason.rule}; ${reason.citation})`);
    print(
      summary.holdsUntil === null
        ? 'Holds: no change by time alone within the holiday calendar'
        : `Holds until ${summary.holdsUntil} (the answer may differ from that day)`,
    );
    if (summary.changes && summary.changes.length > 0) {
      print('What would change it');
      for (const change of summary.changes) print(`  • ${change.text}`);
    }
    if (summary.assumed.length > 0) {
      print('Assumed (left out of the case)');
      for (const assumed of summary.assumed) print(`  • ${assumed.fact}: ${JSON.stringify(assumed.value)}, ${assumed.source}`);
    }
    print();
    // Policy the rule file states, not facts the case gave: each default it declares, and whether this case needed it.
    const declared = Object.entries(ruleSet.file.factDefaults ?? {});
    if (declared.length > 0) {
      const applied = new Set(decision.defaultsApplied.map((d) => d.fact));
      print(`Fact defaults (${ruleSet.sourceFile}: what a fact left out of the case is taken to be)`);
      for (const [fact, { value, description, interpretation, sources }] of declared) {
        print(
          `  ${applied.has(fact) ? '→ applied ' : '  not used'}  ${fact}: ${JSON.stringify(value)}${applied.has(fact) ? ' (the case left it out)' : ' (the case gives it)'}`,
        );
        print(`    ${description}`);
        if (interpretation) printInterpretation(interpretation);
        print(`    source: ${citation(sources)}`);
      }
      print();
    }
    // Readings of the procedure this decision rests on that policy staff have not confirmed: a reviewer weighs them.
    if (decision.unconfirmedInterpretations.length > 0) {
      print(`Unconfirmed interpretations relied on (${decision.unconfirmedInterpretations.length}: readings of the procedure policy staff have not confirmed)`);
      for (const { on, name, question, chosen } of decision.unconfirmedInterpretations) {
        print(`  • ${ON_WORDS[on]} ${name}: ${question}`);
        print(`    chosen: ${chosen}`);
      }
      print();
    }
    print('Rules weighed');
    for (const rule of decision.explanation) {
      print(`${rule.fired ? '✓ fired       ' : '✗ did not fire'}  ${rule.rule}`);
      print(`    ${rule.description}`);
      if (rule.interpretation) printInterpretation(rule.interpretation);
      print(`    source: ${rule.citation}`);
      printCondition(rule.conditions, '    ');
      for (const date of rule.computed ?? []) print(`    ${date.field}: ${date.text}`);
    }
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof DecisionError)) throw error;
    print(`✗ ${error.message}`);
    for (const issue of error.issues) print(`  ${describeIssue(issue)}`);
    return EXIT.failed;
  }
}
