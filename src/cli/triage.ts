// ps-rules triage <input>: batch triage of a referral backlog (NDJSON or mapped CSV) — options in, runTriage does the work.
import { availableParallelism } from 'node:os';
import { todayInSydney } from '../dates/calendar';
import { EXIT_CODES, runTriage } from '../triage/run';
import { places } from './context';

export interface TriageCommandOptions {
  out: string;
  errors: string;
  asOf?: string;
  ruleSets?: string;
  format?: string;
  mapping?: string;
  sort?: string;
  explain?: boolean;
  workers?: string;
  summary?: string;
  report?: string;
  previous?: string;
  quiet?: boolean;
  rules?: string;
}

const usage = (message: string): number => {
  process.stderr.write(`ps-rules triage: ${message}\n`);
  return EXIT_CODES.usage;
};

export async function triageCommand(input: string, options: TriageCommandOptions): Promise<number> {
  if (options.format !== undefined && options.format !== 'ndjson' && options.format !== 'csv')
    return usage(`--format must be ndjson or csv, not "${options.format}"`);
  if (options.sort !== undefined && options.sort !== 'priority') return usage(`--sort knows only "priority", not "${options.sort}"`);
  const workers = options.workers === undefined ? availableParallelism() : Number(options.workers);
  return runTriage({
    input,
    out: options.out,
    errors: options.errors,
    asOf: options.asOf ?? todayInSydney(new Date()),
    // Not named: the rule sets the tiers file (rules/triage/priority.json) gives, read with the rules.
    ruleSets:
      options.ruleSets === undefined
        ? undefined
        : options.ruleSets
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    format: options.format,
    mapping: options.mapping,
    sort: options.sort === 'priority',
    explain: options.explain === true,
    workers,
    summary: options.summary,
    report: options.report,
    previous: options.previous,
    quiet: options.quiet === true,
    rulesDirectory: places(options).rules,
  });
}
