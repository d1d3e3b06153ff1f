// npm run differential -- [--cases 1000000] [--seed 4242] [--rule-sets a,b]: the compiled evaluator against json-rules-engine
// itself, outcome and explanation, over N generated cases for every rule-set version. Exit 1 on any difference.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { caseGenerator } from '../fixtures/generator';
import type { CompiledRuleSet } from '../src/engine/compile';
import { decide, evaluate } from '../src/engine/evaluate';
import { sentencesOf } from '../src/engine/explain';
import { checkCaseFacts, requireFacts } from '../src/facts/validate';
import { n, now, say, secs, shippedRegistry } from './common';

const PROGRESS_MS = 10_000;

/** Dates a generated case inside the version's period, as test/engine/differential.test.ts does. */
function dateWithin(version: CompiledRuleSet, asOf: string): string {
  if (version.effectiveTo && asOf > version.effectiveTo) return `2024${asOf.slice(4)}`;
  if (version.effectiveFrom && asOf < version.effectiveFrom) return `2026${asOf.slice(4)}`;
  return asOf;
}

async function compareVersion(version: CompiledRuleSet, cases: number, seed: number): Promise<number> {
  const label = `${version.name} ${version.sourceFile} (${version.version})`;
  const next = caseGenerator(seed);
  let differences = 0;
  let fired = 0;
  let compiledMs = 0;
  let referenceMs = 0;
  let differenceFile: string | undefined;
  const started = now();
  let lastReport = started;
  for (let i = 0; i < cases; i += 1) {
    const generated = next();
    const asOf = dateWithin(version, generated.asOf);
    const facts = checkCaseFacts(generated.facts, { copy: false });
    requireFacts(facts, version.name, version.file.requires);
    const t0 = now();
    const compiled = decide(version, facts, asOf);
    const t1 = now();
    const reference = await evaluate(version, facts, asOf, 'reference');
    referenceMs += now() - t1;
    compiledMs += t1 - t0;
    const same =
      isDeepStrictEqual(compiled.outcome, reference.outcome) &&
      isDeepStrictEqual(compiled.explanation, reference.explanation) &&
      isDeepStrictEqual(sentencesOf(compiled.explanation), sentencesOf(reference.explanation));
    if (!same) {
      differences += 1;
      if (!differenceFile) {
        differenceFile = path.join(os.tmpdir(), `differential-${version.name}-${version.version}.json`);
        const record = { ruleSet: version.name, version: version.version, sourceFile: version.sourceFile, seed, case: i, asOf, facts, compiled, reference };
        writeFileSync(differenceFile, `${JSON.stringify(record, null, 2)}\n`);
      }
    }
    for (const rule of compiled.explanation) if (rule.fired) fired += 1;
    if ((i & 1023) === 0 && now() - lastReport >= PROGRESS_MS) {
      lastReport = now();
      const elapsed = lastReport - started;
      say(`  … ${label}: ${n(i + 1)} / ${n(cases)} cases, ${n(differences)} differences, ${secs(elapsed)}, ${n(((i + 1) / elapsed) * 1000)} cases/s`);
    }
  }
  const wall = now() - started;
  say(`${label}`);
  say(`  cases ${n(cases)}, differences ${n(differences)}, rules fired ${n(fired)}`);
  say(
    `  time ${secs(wall)} (${n((cases / wall) * 1000)} cases/s both ways); compiled ${n((cases / compiledMs) * 1000)}/s, reference ${n((cases / referenceMs) * 1000)}/s`,
  );
  if (differenceFile) say(`  first difference written to ${differenceFile}`);
  if (fired === 0) say('  no rule ever fired: the generated cases do not exercise this version');
  return differences + (fired === 0 ? 1 : 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { cases: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '4242' }, 'rule-sets': { type: 'string' } },
  });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isInteger(cases) || cases <= 0 || !Number.isInteger(seed)) throw new Error('--cases must be a positive integer and --seed an integer');
  const registry = shippedRegistry();
  // --rule-sets a,b: a subset, so the versions can be shared out between processes (one per core).
  const chosen = values['rule-sets']?.split(',');
  for (const name of chosen ?? []) if (!registry.ruleSets.has(name)) throw new Error(`--rule-sets: no rule set ${name}`);
  const versions = [...registry.ruleSets.values()].filter((rs) => !chosen || chosen.includes(rs.name)).flatMap((rs) => rs.versions);
  say(`differential: ${n(cases)} cases (seed ${seed}) for each of ${versions.length} rule-set versions, compiled against reference`);
  const started = now();
  let failures = 0;
  for (const version of versions) failures += await compareVersion(version, cases, seed);
  const total = `${n(cases * versions.length)} evaluations each way in ${secs(now() - started)}`;
  say(failures === 0 ? `differential: no differences (${total})` : `differential: FAILED, ${n(failures)} differing cases or silent versions (${total})`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`differential failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
});
