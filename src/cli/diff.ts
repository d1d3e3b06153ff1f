// ps-rules diff --base <git-ref|folder> --cases <file.ndjson>: which cases change outcome between two sets of rules, and why.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { attributionLines } from '../authoring/attribution';
import { casesOfRecord } from '../authoring/backlog-cases';
import { impactOf, type ImpactCase } from '../authoring/impact';
import { todayInSydney } from '../dates/calendar';
import { baseRules, EXIT, loadOrReport, places, print } from './context';

async function* readCases(file: string, ruleSets: readonly string[], defaultAsOf: string): AsyncGenerator<ImpactCase> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (line.trim() === '') continue;
    // The policy editor's backlog upload reads each record the same way (backlog-cases.ts), so its counts are these.
    yield* casesOfRecord(JSON.parse(line), n, ruleSets, defaultAsOf);
  }
}

export async function diffCommand(options: { base: string; cases: string; ruleSet?: string; json?: boolean; rules?: string }): Promise<number> {
  const where = places(options);
  const changedRules = loadOrReport(where.rules);
  if (!changedRules) return EXIT.failed;
  let baseDirectory: string;
  try {
    baseDirectory = baseRules(options.base, where.rules);
  } catch (error) {
    print(`Cannot read the base rules "${options.base}": ${(error as Error).message}`);
    return EXIT.usage;
  }
  const base = loadOrReport(baseDirectory);
  if (!base) return EXIT.failed;
  const ruleSets = options.ruleSet ? [options.ruleSet] : [...changedRules.ruleSets.keys()];
  const report = await impactOf(base, changedRules, readCases(options.cases, ruleSets, todayInSydney(new Date())));
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return EXIT.ok;
  }
  print(`${report.cases} evaluations: ${report.changed.length} change outcome, ${report.unchanged} unchanged, ${report.refused.length} refused`);
  if (Object.keys(report.counts).length > 0) {
    print('Outcome changes');
    for (const [change, count] of Object.entries(report.counts).sort(([, a], [, b]) => b - a)) print(`  ${String(count).padStart(6)}  ${change}`);
  }
  for (const c of report.changed) {
    print(`${c.id}  ${c.ruleSet}  as of ${c.asOf}  (${c.versions.base} → ${c.versions.changed})`);
    for (const f of c.fields) print(`    ${f.field}: ${JSON.stringify(f.base)} → ${JSON.stringify(f.changed)}`);
    print('    because');
    for (const line of attributionLines(c.because)) print(`      ${line}`);
  }
  for (const r of report.refused) print(`refused ${r.id} ${r.ruleSet}: base ${r.base ?? 'decided'}; changed ${r.changed ?? 'decided'}`);
  return EXIT.ok;
}
