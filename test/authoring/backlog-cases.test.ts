// The backlog reader the policy editor's upload and `ps-rules diff --cases` share: what it reads, and what it lists as unread.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { csvCases, ndjsonCases } from '../../src/authoring/backlog-cases';
import { checkMapping } from '../../src/triage/mapping';
import { FIXTURES_DIR } from '../support';

const mapping = checkMapping(JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'csv', 'backlog-mapping.json'), 'utf8')));

test('NDJSON: a record names its rule set and day, or takes each rule set and the default day; bare facts are a case too', () => {
  const text = [
    '{"id":"a","ruleSet":"segment-allocation","asOf":"2025-06-02","facts":{"program":"centrelink"}}',
    '',
    '{"program":"child-support"}',
    '[1]',
  ].join('\n');
  const { cases, unread } = ndjsonCases(text, ['direct-referral', 'segment-allocation'], '2026-01-19');
  expect(cases).toEqual([
    { id: 'a', ruleSet: 'segment-allocation', asOf: '2025-06-02', facts: { program: 'centrelink' } },
    { id: 'line 3', ruleSet: 'direct-referral', asOf: '2026-01-19', facts: { program: 'child-support' } },
    { id: 'line 3', ruleSet: 'segment-allocation', asOf: '2026-01-19', facts: { program: 'child-support' } },
  ]);
  expect(unread).toEqual([{ line: 4, problem: expect.stringMatching(/^not a JSON object/) }]);
});

test('CSV: a header lacking a mapped column is refused whole, as triage refuses it', () => {
  const { cases, unread } = csvCases('Referral ID,Program\nPSR-1,CLK\n', mapping, ['direct-referral'], '2026-01-19');
  expect(cases).toEqual([]);
  expect(unread).toEqual([{ line: 1, problem: expect.stringMatching(/^lacks the column\(s\) the mapping names: "Referral source"/) }]);
});

test('CSV: a quote never closed is "not CSV", not a thrown error', () => {
  const header = [mapping.id, ...Object.keys(mapping.columns)].join(',');
  const { cases, unread } = csvCases(`${header}\nPSR-1,"CLK\n`, mapping, ['direct-referral'], '2026-01-19');
  expect(cases).toEqual([]);
  expect(unread).toEqual([{ line: expect.any(Number), problem: expect.stringMatching(/^not CSV: /) }]);
});
