// The rules a fixture is compared with when it fails (git HEAD unless --base says otherwise): what changed behind a failure.
import { attribute, attributionLines } from '../authoring/attribution';
import { runFixture, type FixtureResult } from '../authoring/fixtures';
import { decideCase } from '../authoring/impact';
import { DecisionError } from '../errors';
import { loadRules, type RuleRegistry } from '../loader/load';
import { RULE_SET_MODULES } from '../rulesets';
import { baseRules, print } from './context';

export interface Base {
  registry: RuleRegistry;
  /** How the output names it: "HEAD", or the folder. */
  name: string;
}

/** The base rules, or why there are none. An explicit --base that cannot be read is a usage error (thrown). */
export function loadBase(option: string | undefined, rulesDirectory: string): Base | string {
  const name = option ?? 'HEAD';
  let directory: string;
  try {
    directory = baseRules(name, rulesDirectory);
  } catch (error) {
    if (option !== undefined) throw new UsageError(`Cannot read the base rules "${option}": ${(error as Error).message.trim()}`);
    return 'the rules folder is not in a git repository; give --base <git-ref or folder> to compare with';
  }
  try {
    // Rules of an earlier commit are read as they were then (LoadOptions.archived).
    return { registry: loadRules(directory, { modules: RULE_SET_MODULES, archived: true }), name };
  } catch (error) {
    if (!(error instanceof DecisionError)) throw error;
    if (option !== undefined) throw new UsageError(`The base rules "${option}" are not valid: ${error.message}`);
    return `the rules at ${name} are not valid, so there is nothing to compare with`;
  }
}

class UsageError extends Error {}

/** For a failing fixture: what changed since the base behind the difference, or why nothing did. */
export async function behind(result: FixtureResult, current: RuleRegistry, base: Base | string): Promise<string[]> {
  if (typeof base === 'string') return [`(not compared: ${base})`];
  const c = { id: result.fixture.file, ruleSet: result.fixture.ruleSet, asOf: result.fixture.asOf, facts: result.fixture.facts };
  const [before, after] = [await decideCase(base.registry, c), await decideCase(current, c)];
  if (typeof before === 'string' || typeof after === 'string') {
    return [
      `at ${base.name}: ${typeof before === 'string' ? `refused: ${before}` : 'decided'}; now: ${typeof after === 'string' ? `refused: ${after}` : 'decided'}`,
    ];
  }
  const baseResult = await runFixture(base.registry.ruleSets.get(c.ruleSet)!, result.fixture);
  const lines = [
    `compared with ${base.name} (version ${before.decision.version} → ${after.decision.version}), where it ${baseResult.passed ? 'passed' : 'failed too'}:`,
  ];
  if (after.decision.version === before.decision.version) lines.push("  the rules did not change: check the fixture's expected outcome against the procedure");
  else lines.push(...attributionLines(attribute(before, after)).map((line) => `  ${line}`));
  return lines;
}

/** The base for a command: the rules, or why there are none; undefined (after printing why) when --base cannot be used. */
export function baseForCommand(option: string | undefined, rulesDirectory: string): { base: Base | string } | undefined {
  try {
    return { base: loadBase(option, rulesDirectory) };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    print(error.message);
    return undefined;
  }
}
