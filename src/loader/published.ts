// The rules in force in the shared deployment (issue 19): the rules folder's files overlaid with the versions approved
// and published in PostgreSQL. A publication is what the SQLite path writes into the folder (authoring/proposals.ts
// publication()): the version it ended, under <ruleSet>.before-<date>.json, and the new one, under <ruleSet>.json, with
// the ended version's old file removed. Applied in the order they were published, they give every process the same
// files the SQLite path would have left in its folder, and so the same versions. Pure: the texts come in, texts go out.
import { filesAfter } from '../authoring/proposals';
import { loadRuleTexts, readRuleTexts, type LoadedRegistry, type LoadOptions, type RuleTexts } from './load';

/** One version published by approval, as PostgreSQL keeps it (published_versions). */
export interface PublishedVersion {
  /** Its place in the order of publication (a bigserial): a process has seen every version up to the highest it holds. */
  id: number;
  proposalId: string;
  ruleSet: string;
  effectiveFrom: string;
  /** The new version: its hash, its file's name (<ruleSet>.json) and its whole text. */
  version: string;
  file: string;
  text: string;
  /** The version it ended, with effectiveTo set to the day before: its hash, file (<ruleSet>.before-<date>.json) and text. */
  endedVersion: string;
  endedFile: string;
  endedText: string;
  /** Files the publication removed (the ended version's old file, when it was not <ruleSet>.json). */
  removed: string[];
  publishedAt: string;
}

/** The folder's rule files with every publication applied in order, as the SQLite path's folder would hold them. */
export function overlaid(files: readonly { file: string; text: string }[], published: readonly PublishedVersion[]): { file: string; text: string }[] {
  let result = [...files];
  for (const p of [...published].sort((a, b) => a.id - b.id)) {
    result = filesAfter(result, {
      write: [
        { file: p.endedFile, text: p.endedText },
        { file: p.file, text: p.text },
      ],
      remove: p.removed,
    });
  }
  return result;
}

/** The folder's texts overlaid with the publications: what the shared deployment's rules are loaded from. */
export function textsInForce(directory: string, published: readonly PublishedVersion[]): RuleTexts {
  const { calendarText, files } = readRuleTexts(directory);
  return { calendarText, files: overlaid(files, published) };
}

/** Loads the folder overlaid with the publications; throws `rule-file-invalid` as loadRules does. */
export function loadRulesInForce(directory: string, published: readonly PublishedVersion[], options: LoadOptions): LoadedRegistry {
  const { calendarText, files } = textsInForce(directory, published);
  return loadRuleTexts(calendarText, files, options);
}
