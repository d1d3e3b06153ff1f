#!/usr/bin/env node
// ps-rules: the policy author's command line — validate, test, explain, coverage. Thin: the engine and loader do the work.
import { Command } from 'commander';
import type { TriageCommandOptions } from './triage';

// Each command's module is loaded when that command runs: loading them all (fixtures, coverage, their schemas) cost a
// triage half a second before it read a line.

// Output piped into a reader that stops early (`ps-rules explain … | head`) closes the pipe: that is the reader saying it
// has read enough, as for any Unix tool, not a failure to report with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command();
program
  .name('ps-rules')
  .description('Check, test and explain the Personalised Services rule files.\nExit codes: 0 all good, 1 problems found, 2 bad usage or unreadable input.')
  .option('--rules <dir>', 'rules folder (default: $RULES_DIR or the project rules/)')
  .option('--fixtures <dir>', 'fixtures folder (default: fixtures/ beside the rules folder)')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

const run = (action: Promise<number> | number) => {
  Promise.resolve(action).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ps-rules failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 2;
    },
  );
};

program
  .command('validate [files...]')
  .description('validate the rule files (all, or the ones named) and report each problem as file:line:column')
  .option(
    '--interpretations',
    'then list each interpretation (a reading of the procedure its words leave open) by file:line:column, with its question, the reading chosen and whether it is confirmed; unconfirmed first',
  )
  .action((files: string[], options: { interpretations?: boolean }) =>
    run(import('./validate').then(({ validateCommand }) => validateCommand(files, { ...program.opts(), ...options }))),
  );
program
  .command('test [ruleSet]')
  .description(
    'run the fixtures of one rule set (or all) and print a pass/fail table; each failure with the parameter or rule that changed since the base, and the facts that met it',
  )
  .option('--failures', 'print only the failing fixtures')
  .option('--base <ref-or-folder>', 'the rules to explain failures against: a git ref or a rules folder (default: HEAD)')
  .action((ruleSet: string | undefined, options: { failures?: boolean; base?: string }) =>
    run(import('./test').then(({ testCommand }) => testCommand(ruleSet, { ...program.opts(), ...options }))),
  );
program
  .command('explain <ruleSet> <factsFile>')
  .description('evaluate a facts file ({ asOf?, facts }, a fixture, or bare CaseFacts) and print the outcome and explanation')
  .option('--as-of <date>', "decide as of this date, YYYY-MM-DD (default: the file's asOf, else today in Sydney)")
  .action((ruleSet: string, factsFile: string, options: { asOf?: string }) =>
    run(import('./explain').then(({ explainCommand }) => explainCommand(ruleSet, factsFile, { ...program.opts(), ...options }))),
  );
program
  .command('coverage')
  .description('count, for each rule and condition, the fixtures that made it true and false; exit 1 when a rule never fires or never fails')
  .action(() => run(import('./coverage').then(({ coverageCommand }) => coverageCommand(program.opts()))));

program
  .command('interpretations')
  .description(
    'list every interpretation the rule files mark (a reading of the procedure its words leave open) by file:line:column, with its question, the reading chosen and whether policy staff have confirmed it; unconfirmed first (validate --interpretations, after the checks)',
  )
  .option('--json', 'print them as JSON')
  .action((options: { json?: boolean }) =>
    run(import('./interpretations').then(({ interpretationsCommand }) => interpretationsCommand({ ...program.opts(), ...options }))),
  );

program
  .command('diff')
  .description('impact analysis: evaluate the cases under the base rules and the current ones, and report the cases whose outcome changes and why')
  .requiredOption('--base <ref-or-folder>', 'the rules to compare with: a git ref (rules/ as it stood there) or a rules folder')
  .requiredOption('--cases <file.ndjson>', 'one case a line: { "id"?, "ruleSet"?, "asOf"?, "facts" }')
  .option('--rule-set <name>', 'the rule set for lines that name none (default: every rule set)')
  .option('--json', 'print the full report as JSON')
  .action((options: { base: string; cases: string; ruleSet?: string; json?: boolean }) =>
    run(import('./diff').then(({ diffCommand }) => diffCommand({ ...program.opts(), ...options }))),
  );

program
  .command('triage <input>')
  .description(
    'batch triage of a referral backlog (NDJSON { id, facts } lines, or CSV with --mapping) through the rule sets, in worker threads; exit 130 when interrupted',
  )
  .requiredOption('--out <file>', 'results: NDJSON or CSV (by extension, or --format)')
  .requiredOption(
    '--errors <file>',
    "records that could not be decided, in the input's format: for NDJSON input NDJSON { line, id, kind, message, errors: [{ pointer, message }] }, " +
      'pointers into the input line; for CSV input CSV line,id,column,value,kind,message, a row per value refused, the cell as the export gives it ' +
      '(the extension must not say the other format)',
  )
  .option('--as-of <date>', 'decide as of this date, YYYY-MM-DD (default: today in Sydney)')
  .option('--rule-sets <names>', 'comma-separated rule sets (default: the ruleSets of triage/priority.json in the rules folder)')
  .option('--mapping <file.json>', 'CSV input: column mapping from CSV headers to fact paths (src/triage/mapping.ts)')
  .option('--format <format>', 'output format: ndjson or csv (default: from the --out extension)')
  .option('--sort <order>', '"priority": by the tiers of triage/priority.json in the rules folder, then due date, then input order; adds rank')
  .option('--explain', "include every rule's explanation (slower, larger)")
  .option('--workers <n>', 'worker threads (default: the available parallelism)')
  .option('--summary <file.json>', 'also write the closing summary as JSON')
  .option(
    '--quiet',
    'progress as one line per 10% of the records decided (a line per 10,000 records when the input has no size), not a bar; ' +
      'the default when stderr is not a terminal',
  )
  .option(
    '--report <file.html>',
    'also write the summary as one HTML page for a team leader (another file than --out and --errors): the queue by tier and program, ' +
      'overdue, due dates by week, errors by kind, rule versions used; self-contained, it opens in any browser and prints on A4',
  )
  .option(
    '--previous <queue.ndjson>',
    "the last run's NDJSON queue (another file than --out): decide again only the records whose answer may have changed since, " +
      'and carry the others over as they were decided (their asOf the day they were). Decided again: a record not in it, ' +
      'one whose input line differs (inputDigest), one whose holdsUntil (re-triage on) is on or before its as-of date, ' +
      'one a rule version edited since would decide; holdsUntil counts the days a dated rule version takes effect, so none is missed',
  )
  .addHelpText(
    'after',
    '\nEach result carries holdsUntil (CSV "re-triage on": the first day time alone may change the answer, empty when ' +
      "nothing changes before the holiday calendar ends) and reason (the first reason in plain English); a record's " +
      "holdsUntil is the earliest of its rule sets'. To re-triage a backlog later: ps-rules triage backlog.ndjson " +
      '--previous last-queue.ndjson --out queue.ndjson --errors rejected.ndjson' +
      '\n\nProgress on stderr counts records decided, not bytes read: a bar on a terminal, else (or with --quiet) a line per 10%, ' +
      'e.g. "triage: 30% — 6,000 of about 20,000 records decided, 4,210 records/s, about 3 s left". The total is estimated ' +
      'from the input bytes of the records decided so far, so it says "about" and never 100% before the last record; ' +
      'the last line gives the real total.',
  )
  .action((input: string, options: TriageCommandOptions) =>
    run(import('./triage').then(({ triageCommand }) => triageCommand(input, { ...program.opts(), ...options }))),
  );

program
  .command('export <dir>')
  .description(
    'write the rule files as in force into <dir> (for git): the rules folder overlaid with the versions approved and published in PostgreSQL, ' +
      'named as publishing names them (<ruleSet>.json, <ruleSet>.before-<date>.json); without PostgreSQL a copy of the folder',
  )
  .option('--decision-log-url <url>', 'the PostgreSQL decision log the versions were published in (default: $DECISION_LOG_URL; neither: none)')
  .action((dir: string, options: { decisionLogUrl?: string }) =>
    run(import('./export').then(({ exportCommand }) => exportCommand(dir, { ...program.opts(), ...options }))),
  );

program
  .command('fixtures')
  .description('work on the fixture files')
  .command('update <files...>')
  .description(
    'after a policy change: show, for each fixture file, how the rules now decide differently from its "expected", and rewrite "expected" (only) once you say yes',
  )
  .option('--yes', 'rewrite without asking (needed when there is no terminal to ask on)')
  .option('--base <ref-or-folder>', 'the rules to say what changed against: a git ref or a rules folder (default: HEAD)')
  .action((files: string[], options: { yes?: boolean; base?: string }) =>
    run(import('./fixtures-update').then(({ fixturesUpdateCommand }) => fixturesUpdateCommand(files, { ...program.opts(), ...options }))),
  );

program.parse();
