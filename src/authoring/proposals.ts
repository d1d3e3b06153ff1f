// Proposals, the pure parts: reading a proposal's body, checking its date, describing a change as JSON pointers, and the
// rule-file texts that publishing one writes. No clock and no I/O here: the route (api/proposals.ts) reads the folder and
// the store, and passes today in.
import { applyEdits, modify, type JSONPath } from 'jsonc-parser';
import { isDeepStrictEqual } from 'node:util';
import { addDays } from '../dates/calendar';
import type { Issue } from '../errors';
import { isAsOf, NOT_A_DATE, pointerToken } from '../facts/validate';

/** What POST /v1/proposals takes. */
export interface ProposalRequest {
  ruleSet: string;
  /** The whole rule file of the new version, as an officer drafted it. */
  file: Record<string, unknown>;
  effectiveFrom: string;
  rationale: string;
}

const REQUEST_MEMBERS = ['ruleSet', 'file', 'effectiveFrom', 'rationale'];
/** A rationale is what the approving officer and, later, an auditor read: long enough to say why, short enough to read. */
export const MAX_RATIONALE = 4000;
export const MAX_COMMENT = 4000;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The body of POST /v1/proposals, or every problem with it by JSON pointer (none of them about the rule file's contents). */
export function parseProposalRequest(body: unknown): { request: ProposalRequest } | { issues: Issue[] } {
  if (!isObject(body)) return { issues: [{ pointer: '', message: 'must be an object { ruleSet, file, effectiveFrom, rationale }' }] };
  const issues: Issue[] = [];
  for (const member of Object.keys(body))
    if (!REQUEST_MEMBERS.includes(member)) issues.push({ pointer: `/${pointerToken(member)}`, message: `"${member}" is not a member of a proposal` });
  const { ruleSet, file, effectiveFrom, rationale } = body;
  if (typeof ruleSet !== 'string' || ruleSet === '') issues.push({ pointer: '/ruleSet', message: 'must be the name of a rule set' });
  if (!isObject(file)) issues.push({ pointer: '/file', message: 'must be the whole rule file of the new version, as a JSON object' });
  if (!isAsOf(effectiveFrom)) issues.push({ pointer: '/effectiveFrom', message: NOT_A_DATE });
  if (typeof rationale !== 'string' || rationale.trim() === '' || rationale.length > MAX_RATIONALE)
    issues.push({ pointer: '/rationale', message: `must say why, in 1 to ${MAX_RATIONALE} characters` });
  if (issues.length > 0) return { issues };
  return { request: { ruleSet, file, effectiveFrom, rationale } as ProposalRequest };
}

/** The body of approve and reject: `{ comment }`, a comment required (an approval says what was checked, a rejection why). */
export function parseDecisionComment(body: unknown): { comment: string } | { issues: Issue[] } {
  const comment = isObject(body) ? body.comment : undefined;
  const extra = isObject(body) ? Object.keys(body).filter((k) => k !== 'comment') : [];
  const issues: Issue[] = extra.map((member) => ({ pointer: `/${pointerToken(member)}`, message: `"${member}" is not a member here; send { "comment" }` }));
  if (typeof comment !== 'string' || comment.trim() === '' || comment.length > MAX_COMMENT)
    issues.push({ pointer: '/comment', message: `must be a comment of 1 to ${MAX_COMMENT} characters` });
  return issues.length > 0 ? { issues } : { comment: comment as string };
}

/**
 * Why a version cannot take effect on `effectiveFrom`: a day before today in Sydney (a change is never back-dated: a
 * decision already given would no longer be the one its version gives), or on or before the day the version it
 * replaces took effect (that version would end before it began). Empty when it can.
 */
export function effectiveFromProblems(effectiveFrom: string, today: string, baseEffectiveFrom: string | null): Issue[] {
  if (effectiveFrom < today)
    return [{ pointer: '/effectiveFrom', message: `${effectiveFrom} is in the past: a new version takes effect today (${today}, Sydney) or later` }];
  if (baseEffectiveFrom !== null && effectiveFrom <= baseEffectiveFrom)
    return [
      {
        pointer: '/effectiveFrom',
        message: `must be after ${baseEffectiveFrom}, the day the version it replaces took effect (that version ends the day before this one begins)`,
      },
    ];
  return [];
}

/** One difference between two JSON documents: where, and the value before and after (absent where there was none). */
export interface JsonChange {
  pointer: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Every difference between two JSON documents, as JSON pointers: objects compared member by member, arrays of the same
 * length item by item, anything else (and arrays whose length changed) as a whole value. Members in `before`'s order,
 * then those only `after` has.
 */
export function jsonChanges(before: unknown, after: unknown, pointer = ''): JsonChange[] {
  if (isDeepStrictEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => {
      const at = `${pointer}/${pointerToken(key)}`;
      if (!Object.hasOwn(after, key)) return [{ pointer: at, before: before[key] }];
      if (!Object.hasOwn(before, key)) return [{ pointer: at, after: after[key] }];
      return jsonChanges(before[key], after[key], at);
    });
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length)
    return before.flatMap((item, i) => jsonChanges(item, after[i], `${pointer}/${i}`));
  return [{ pointer, before, after }];
}

const pathOf = (pointer: string): JSONPath =>
  pointer
    .split('/')
    .slice(1)
    .map((token) => {
      const name = token.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^\d+$/.test(name) ? Number(name) : name;
    });

const FORMATTING = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/**
 * `target` written as an edit of `baseText`: each change made where it is, so the rest of the file keeps its layout
 * (rule files are laid out by hand, a parameter's value beside its type) and git shows the lines that changed, not a
 * reformatted file. Falls back to the whole document, indented by two, should the edits not give `target` exactly.
 */
export function editedText(baseText: string, target: unknown): string {
  let text = baseText;
  try {
    for (const change of jsonChanges(JSON.parse(baseText) as unknown, target)) {
      text = applyEdits(text, modify(text, pathOf(change.pointer), Object.hasOwn(change, 'after') ? change.after : undefined, FORMATTING));
    }
    if (isDeepStrictEqual(JSON.parse(text), target)) return text;
  } catch {
    // A base text jsonc-parser cannot edit: written whole below.
  }
  return `${JSON.stringify(target, null, 2)}\n`;
}

/** `text` with one top-level member set, placed after `after` when it is new (as the shipped files put their dates after ruleSet). */
export function withMember(text: string, member: string, value: unknown, after: readonly string[]): string {
  const getInsertionIndex = (properties: string[]) => {
    const i = Math.max(...after.map((name) => properties.indexOf(name)));
    return i < 0 ? properties.length : i + 1;
  };
  return applyEdits(text, modify(text, [member], value, { ...FORMATTING, getInsertionIndex }));
}

/** The version a proposal replaces: the newest of its rule set, as its file holds it. */
export interface BaseVersion {
  ruleSet: string;
  version: string;
  /** Its rule file's name in the rules folder. */
  file: string;
  text: string;
  effectiveFrom: string | null;
  effectiveTo: string | null;
}

/** The rule files publishing a proposal writes and removes, and the names it gives the two versions' files. */
export interface Publication {
  /** Written (created or replaced), each whole. */
  write: { file: string; text: string }[];
  /** Removed: the base version's own file, when it is neither the new version's name nor kept. */
  remove: string[];
  /** Where the new version is written: `<ruleSet>.json`. */
  newFile: string;
  newText: string;
  /** Where the version it replaces goes, ended the day before: `<ruleSet>.before-<effectiveFrom>.json`. */
  endedFile: string;
  endedText: string;
}

/**
 * What publishing a new version in force from `effectiveFrom` writes, laid out as the shipped rules are: the version in
 * force until then keeps its text with `effectiveTo` set to the day before and moves to `<ruleSet>.before-<date>.json`
 * (as the shipped `<ruleSet>.before-2025-01-14.json` files hold the versions before 14 January 2025), and the new version, its
 * `effectiveFrom` the proposal's, becomes `<ruleSet>.json`. Both as edits of the base's text (editedText). Throws when
 * the names are taken by other files: a folder laid out otherwise is for a person to sort out.
 */
export function publication(base: BaseVersion, draft: Record<string, unknown>, effectiveFrom: string, files: readonly string[]): Publication {
  const newFile = `${base.ruleSet}.json`;
  const endedFile = `${base.ruleSet}.before-${effectiveFrom}.json`;
  if (files.includes(endedFile)) throw new Error(`${endedFile} exists already: a version before ${effectiveFrom} has been published`);
  if (files.includes(newFile) && newFile !== base.file)
    throw new Error(`${newFile} holds a version other than the newest (${base.file}): the folder is not laid out as publishing expects`);
  const dayBefore = addDays(effectiveFrom, -1);
  // Already ending sooner (a rule set withdrawn), it keeps its own end.
  const endsOn = base.effectiveTo !== null && base.effectiveTo < dayBefore ? base.effectiveTo : dayBefore;
  const endedText = withMember(base.text, 'effectiveTo', endsOn, ['effectiveFrom', 'ruleSet']);
  const target: Record<string, unknown> = { ...draft };
  const newText = withMember(editedText(base.text, target), 'effectiveFrom', effectiveFrom, ['ruleSet']);
  return {
    write: [
      { file: endedFile, text: endedText },
      { file: newFile, text: newText },
    ],
    remove: base.file === newFile ? [] : [base.file],
    newFile,
    newText,
    endedFile,
    endedText,
  };
}

/** The folder's rule files after a publication: its own files replaced, added and removed. */
export function filesAfter(files: readonly { file: string; text: string }[], plan: Pick<Publication, 'write' | 'remove'>): { file: string; text: string }[] {
  const written = new Map(plan.write.map(({ file, text }) => [file, text]));
  const kept = files.filter(({ file }) => !written.has(file) && !plan.remove.includes(file));
  return [...kept, ...plan.write].sort((a, b) => a.file.localeCompare(b.file));
}

/** A rule file's text without its period: the version as it decides, whatever days it is in force (for impact over fixtures). */
export function undated(text: string): string {
  const json = JSON.parse(text) as Record<string, unknown>;
  delete json.effectiveFrom;
  delete json.effectiveTo;
  return JSON.stringify(json);
}
