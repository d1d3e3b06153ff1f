// ps-rules fixtures update <files...> [--yes]: after a legitimate policy change, rewrites a fixture's `expected` to what the
// rules now decide, once the officer has seen the difference and checked it against the procedure. The members of its
// `expectedSummary` (holdsUntil, reasons) are rewritten with it, under the same confirmation: the change that moves an
// outcome moves its reasons and how long it holds too, and a fixture left half rewritten would still fail. Only those
// change: a member the fixture does not pin is not added, and the note, source, asOf and facts stay byte for byte as written.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { applyEdits, modify, type FormattingOptions } from 'jsonc-parser';
import { expectedSummaryOf, fixtureNote, runFixture, type Fixture, type FixtureResult } from '../authoring/fixtures';
import type { Issue } from '../errors';
import type { RuleSetVersions } from '../loader/load';
import { baseForCommand, behind } from './base';
import { EXIT, loadOrReport, places, print } from './context';

export interface FixturesUpdateOptions {
  rules?: string;
  fixtures?: string;
  yes?: boolean;
  /** The rules to say what changed against: a git ref or a folder (default: HEAD, when the rules are in git). */
  base?: string;
}

/** Asks a yes/no question; true only for a yes. */
export type Ask = (question: string) => Promise<boolean>;

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));

/** A fixture file read by its path, in the shape loadFixtures gives: its rule set is the name of the folder it is in. */
interface FixtureFile {
  /** As the user named it, for messages. */
  shown: string;
  absolute: string;
  text: string;
  fixture: Fixture;
}

/** Reads one fixture file, or says why it cannot be used (a usage problem: exit 2). */
function readFixtureFile(file: string, ruleSets: ReadonlyMap<string, RuleSetVersions>): FixtureFile | string {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`}`;
  }
  const ruleSet = path.basename(path.dirname(absolute));
  if (!ruleSets.has(ruleSet)) {
    return `${file}: its folder "${ruleSet}" is not a rule set; a fixture lives in fixtures/<rule-set>/. Known: ${[...ruleSets.keys()].join(', ')}`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `${file}: is not JSON (${(error as Error).message})`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return `${file}: is not a fixture (a JSON object with note, source, asOf, facts, expected)`;
  return { shown: file, absolute, text, fixture: { file: path.basename(absolute), ruleSet, ...(parsed as Omit<Fixture, 'file' | 'ruleSet'>) } };
}

/** The file's own layout, so the rewritten `expected` is indented like the rest: 2 spaces unless the file shows otherwise. */
function formattingOf(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  return indent.startsWith('\t') ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
}

/**
 * The text with only the `expected` member's value replaced, and with `summary`, the values of the expectedSummary
 * members given; everything outside those values is left as it was.
 */
export function withExpected(text: string, expected: unknown, summary?: Readonly<Record<string, unknown>>): string {
  const formattingOptions = formattingOf(text);
  let rewritten = applyEdits(text, modify(text, ['expected'], expected, { formattingOptions }));
  for (const [member, value] of Object.entries(summary ?? {})) {
    rewritten = applyEdits(rewritten, modify(rewritten, ['expectedSummary', member], value, { formattingOptions }));
  }
  return rewritten;
}

function versionLine(ruleSets: RuleSetVersions, result: FixtureResult): string {
  const decided = result.decision ? ruleSets.versions.find((v) => v.version === result.decision?.version) : ruleSets.inForceOn(result.fixture.asOf);
  if (!decided) return `no version of ${ruleSets.name} in force on ${result.fixture.asOf}`;
  return `version ${decided.version} of ${ruleSets.name}: ${decided.sourceFile}, in force from ${decided.effectiveFrom ?? 'the beginning'} ${decided.effectiveTo ? `to ${decided.effectiveTo}` : 'until changed'}`;
}

/** Why a fixture that does not pass cannot be rewritten by this command, or undefined when it can. */
function notRewritable(result: FixtureResult): string[] | undefined {
  const { fixture } = result;
  if (fixture.expectedError) {
    return [
      `expects the case to be refused (expectedError), and ${result.decision ? 'the rules now decide it' : 'the refusal now differs'}:`,
      ...result.differences.map((d) => `  ${d.field}: expected ${show(d.expected)} → now ${show(d.actual)}`),
      'This command rewrites only "expected"; correct "expectedError" by hand from the procedure.',
    ];
  }
  if (!fixture.expected) return ['has neither "expected" nor "expectedError": write the outcome the procedure gives, then run this again after a rule change.'];
  if (!result.decision) {
    const refusal = result.differences.find((d) => d.field === '(decision)')?.actual;
    const issues = Array.isArray(refusal) ? (refusal as Issue[]).map((i) => `  ${i.pointer || '(body)'}  ${i.message}`) : [`  ${String(refusal)}`];
    return ['the rules refuse this case, so there is no outcome to write:', ...issues, 'Correct the facts (or the asOf) first.'];
  }
  return undefined;
}

/** Asks on the terminal; undefined when there is no terminal to ask on. */
function terminalAsk(): Ask | undefined {
  if (!process.stdin.isTTY) return undefined;
  return async (question) => {
    const terminal = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return /^y(es)?$/i.test((await terminal.question(`${question} `)).trim());
    } catch (error) {
      // Ctrl+D or Ctrl+C at the question is a no, not a crash.
      if ((error as Error).name !== 'AbortError') throw error;
      process.stdout.write('\n');
      return false;
    } finally {
      terminal.close();
    }
  };
}

export async function fixturesUpdateCommand(files: string[], options: FixturesUpdateOptions, ask?: Ask): Promise<number> {
  const where = places(options);
  const registry = loadOrReport(where.rules);
  if (!registry) return EXIT.failed;

  // Every file is checked before any is changed: a mistyped name stops the run with nothing half done.
  const read = files.map((file) => readFixtureFile(file, registry.ruleSets));
  const unusable = read.filter((r): r is string => typeof r === 'string');
  if (unusable.length > 0) {
    for (const problem of unusable) print(problem);
    return EXIT.usage;
  }
  const found = baseForCommand(options.base, where.rules);
  if (!found) return EXIT.usage;
  const { base } = found;
  const asker = options.yes ? undefined : (ask ?? terminalAsk());

  let unresolved = 0;
  for (const { shown, absolute, text, fixture } of read as FixtureFile[]) {
    const ruleSets = registry.ruleSets.get(fixture.ruleSet) as RuleSetVersions;
    const result = await runFixture(ruleSets, fixture);
    if (result.passed) {
      print(`${shown}: already matches the rules (${versionLine(ruleSets, result)})`);
      continue;
    }
    const why = notRewritable(result);
    if (why) {
      print(`${shown}: not rewritten: ${why[0]}`);
      for (const line of why.slice(1)) print(line);
      unresolved += 1;
      continue;
    }
    const decision = result.decision!;
    print(`${shown}: the rules now decide differently from ${fixture.expectedSummary ? '"expected" and "expectedSummary"' : '"expected"'}:`);
    for (const d of result.differences) print(`  ${d.field}: expected ${show(d.expected)} → now ${show(d.actual)}`);
    print(`  decided by ${versionLine(ruleSets, result)}`);
    for (const line of await behind(result, registry, base)) print(`  ${line}`);

    if (!options.yes) {
      if (!asker) {
        print(`  not rewritten: there is no terminal to ask on; check the difference against the procedure, then run again with --yes.`);
        unresolved += 1;
        continue;
      }
      if (!(await asker(`Rewrite ${fixture.expectedSummary ? 'expected and expectedSummary' : 'expected'} in ${shown}? [y/N]`))) {
        print(`  left as it was.`);
        unresolved += 1;
        continue;
      }
    }

    // result.summary is there whenever the fixture pins a well-formed expectedSummary (a malformed one still fails after
    // the rewrite below, and says why).
    const summary = fixture.expectedSummary && result.summary ? { ...expectedSummaryOf(fixture.expectedSummary, result.summary) } : undefined;
    writeFileSync(absolute, withExpected(text, decision.outcome, summary));
    const again = readFixtureFile(absolute, registry.ruleSets);
    const check = typeof again === 'string' ? undefined : await runFixture(ruleSets, again.fixture);
    if (check?.passed) {
      print(`  ✓ rewritten; it now passes (${versionLine(ruleSets, check)})`);
      const note = fixtureNote(
        fixture,
        ruleSets,
        typeof base === 'string' ? undefined : { versions: base.registry.ruleSets.get(fixture.ruleSet), name: base.name },
      );
      for (const flag of note.flags) print(`  ${flag}`);
    } else {
      print(`  ✗ rewritten, but it still does not pass:`);
      if (typeof again === 'string') print(`  ${again}`);
      for (const d of check?.differences ?? []) print(`  ${d.field}: expected ${show(d.expected)}, got ${show(d.actual)}`);
      unresolved += 1;
    }
  }
  return unresolved === 0 ? EXIT.ok : EXIT.failed;
}
