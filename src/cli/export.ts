// ps-rules export <dir>: the rule files as in force, written into a folder, so git can take them. In the shared deployment
// (a PostgreSQL decision log) approved versions live in PostgreSQL, not in any machine's rules folder; this writes the
// folder's files overlaid with them, named as the SQLite path names them when it publishes (<ruleSet>.json for the
// newest version, <ruleSet>.before-<date>.json for the one it ended). Without PostgreSQL it copies the folder's files.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DecisionError } from '../errors';
import { loadRuleTexts, readRuleTexts } from '../loader/load';
import { overlaid, type PublishedVersion } from '../loader/published';
import { RULE_SET_MODULES } from '../rulesets';
import { EXIT, describeIssue, places, print } from './context';

export interface ExportOptions {
  rules?: string;
  /** The PostgreSQL decision log whose published versions to overlay; default $DECISION_LOG_URL; neither, none. */
  decisionLogUrl?: string;
}

export async function exportCommand(target: string, options: ExportOptions): Promise<number> {
  const { rules } = places(options);
  const url = options.decisionLogUrl ?? process.env.DECISION_LOG_URL ?? '';
  let published: PublishedVersion[] = [];
  if (url !== '') {
    if (!/^postgres(ql)?:/i.test(url)) {
      // The scheme only, never the URL: it may carry the database password.
      print('✗ --decision-log-url (or DECISION_LOG_URL) must be a postgres:// or postgresql:// URL');
      return EXIT.usage;
    }
    const { readPublished } = await import('../authoring/postgres-proposal-store');
    published = await readPublished(url);
  }
  try {
    const texts = readRuleTexts(rules);
    const files = overlaid(texts.files, published);
    // Checked before anything is written: a folder the service would refuse is no export.
    const registry = loadRuleTexts(texts.calendarText, files, { modules: RULE_SET_MODULES });
    const out = path.resolve(target);
    mkdirSync(out, { recursive: true });
    // The rest of the rules folder (the holiday calendar, the triage tiers), so the export is a folder the service loads.
    if (out !== path.resolve(rules)) cpSync(rules, out, { recursive: true });
    const kept = new Set(files.map((f) => f.file));
    for (const file of new Set(published.flatMap((p) => p.removed)))
      if (!kept.has(file) && existsSync(path.join(out, file))) {
        rmSync(path.join(out, file));
        print(`removed ${file}`);
      }
    const versionOf = new Map([...registry.ruleSets.values()].flatMap((r) => r.versions.map((v) => [v.sourceFile, v.version] as const)));
    for (const { file, text } of files) {
      writeFileSync(path.join(out, file), text);
      print(`wrote ${file}  version ${versionOf.get(file) ?? '?'}`);
    }
    print(
      `Exported ${files.length} rule files from ${rules}${published.length > 0 ? `, with ${published.length} version(s) published in PostgreSQL,` : ''} into ${out}.`,
    );
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof DecisionError)) throw error;
    for (const issue of error.issues) print(describeIssue(issue));
    print(`✗ ${error.issues.length} problem(s): the rules in force would be refused. Nothing was written.`);
    return EXIT.failed;
  }
}
