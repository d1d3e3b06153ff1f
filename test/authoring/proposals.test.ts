// The pure parts of proposals: a change described as JSON pointers, a draft written as an edit of the text it replaces,
// the files publishing writes, and the days a change may take effect.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { editedText, effectiveFromProblems, filesAfter, jsonChanges, parseProposalRequest, publication, type BaseVersion } from '../../src/authoring/proposals';
import { RULES_DIR } from '../support';

describe('jsonChanges', () => {
  test('objects member by member, arrays of one length item by item, anything else whole', () => {
    const before = { a: 1, b: { c: [1, 2], d: 'x' }, gone: true, list: [1] };
    const after = { a: 1, b: { c: [1, 3], d: 'y' }, added: null, list: [1, 2] };
    expect(jsonChanges(before, after)).toEqual([
      { pointer: '/b/c/1', before: 2, after: 3 },
      { pointer: '/b/d', before: 'x', after: 'y' },
      { pointer: '/gone', before: true },
      { pointer: '/list', before: [1], after: [1, 2] },
      { pointer: '/added', after: null },
    ]);
  });

  test('a member whose name holds / or ~ is escaped as RFC 6901 says; equal documents have no changes', () => {
    expect(jsonChanges({ 'a/b~': 1 }, { 'a/b~': 2 })).toEqual([{ pointer: '/a~1b~0', before: 1, after: 2 }]);
    expect(jsonChanges({ x: [{ y: 1 }] }, { x: [{ y: 1 }] })).toEqual([]);
  });
});

describe('editedText', () => {
  test('a value changed in place keeps the layout of every line', () => {
    const text = '{\n  "a": { "value": 12, "type": "months" },\n  "b": [1, 2, 3]\n}\n';
    expect(editedText(text, { a: { value: 24, type: 'months' }, b: [1, 2, 3] })).toBe(text.replace('12', '24'));
  });

  test('a member added or removed gives the document asked for (jsonc-parser lays out the member beside it anew)', () => {
    const text = '{\n  "a": { "value": 12, "type": "months" },\n  "b": [1, 2, 3]\n}\n';
    const edited = editedText(text, { a: { value: 12, type: 'months' }, c: 'new' });
    expect(JSON.parse(edited)).toEqual({ a: { value: 12, type: 'months' }, c: 'new' });
    expect(edited.endsWith('}\n')).toBe(true);
  });
});

describe('effectiveFromProblems', () => {
  test('today or later, and after the day the version replaced took effect', () => {
    expect(effectiveFromProblems('2026-03-10', '2026-03-10', '2025-01-14')).toEqual([]);
    expect(effectiveFromProblems('2026-03-09', '2026-03-10', null)[0]?.message).toContain('in the past');
    expect(effectiveFromProblems('2026-03-10', '2026-03-10', '2026-03-10')[0]?.message).toContain('must be after 2026-03-10');
  });
});

describe('publication', () => {
  const file = 'direct-referral.json';
  const text = readFileSync(path.join(RULES_DIR, file), 'utf8');
  const base: BaseVersion = { ruleSet: 'direct-referral', version: 'v', file, text, effectiveFrom: '2025-01-14', effectiveTo: null };
  const draft = JSON.parse(text) as Record<string, unknown>;

  test('the version replaced ends the day before, in <ruleSet>.before-<date>.json; the new one is <ruleSet>.json from the date', () => {
    const plan = publication(base, { ...draft, effectiveFrom: '1999-01-01' }, '2026-03-01', [file, 'direct-referral.before-2025-01-14.json']);
    expect(plan.endedFile).toBe('direct-referral.before-2026-03-01.json');
    expect(plan.newFile).toBe(file);
    expect(plan.remove).toEqual([]);
    // A leap year's end of February is the day before 1 March 2028.
    expect(JSON.parse(publication(base, draft, '2028-03-01', [file]).endedText).effectiveTo).toBe('2028-02-29');
    expect(JSON.parse(plan.endedText)).toEqual({ ...draft, effectiveTo: '2026-02-28' });
    // The proposal's date wins over the draft's own.
    expect(JSON.parse(plan.newText)).toEqual({ ...draft, effectiveFrom: '2026-03-01' });
    const after = filesAfter([{ file, text }], plan).map((f) => f.file);
    expect(after).toEqual(['direct-referral.before-2026-03-01.json', file]);
  });

  test('a name already taken is refused, not overwritten', () => {
    expect(() => publication(base, draft, '2026-03-01', [file, 'direct-referral.before-2026-03-01.json'])).toThrow(/exists already/);
  });
});

describe('parseProposalRequest', () => {
  test('names each problem by its pointer', () => {
    const parsed = parseProposalRequest({ ruleSet: '', file: [], effectiveFrom: '2026-02-30', extra: 1 });
    expect('issues' in parsed && parsed.issues.map((i) => i.pointer).sort()).toEqual(['/effectiveFrom', '/extra', '/file', '/rationale', '/ruleSet']);
  });
});
