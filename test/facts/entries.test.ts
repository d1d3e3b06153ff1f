// Every list of the fact vocabulary reads in a sentence: a phrase for each, naming only its items' fields.
import { ENTRY_PHRASES, entryPhrase, phraseFields, vocabularyLists } from '../../src/facts/entries';

test('every list in the CaseFacts schema has an entry phrase, and every phrase names a list', () => {
  expect(Object.keys(ENTRY_PHRASES).sort()).toEqual([...vocabularyLists().keys()].sort());
});

test.each(Object.entries(ENTRY_PHRASES))('%s: its phrase names only fields of its items', (list, phrase) => {
  const fields = Object.keys(vocabularyLists().get(list) ?? {});
  expect(phraseFields(phrase).filter((field) => !fields.includes(field))).toEqual([]);
});

test('an entry reads with its values, its optional parts only when given, and "an" before a vowel', () => {
  expect(entryPhrase('customer.serviceRestrictions')({ channel: 'face-to-face', level: 'partial', from: '2025-03-01', to: '2026-02-28' })).toBe(
    'a partial face to face restriction from 2025-03-01 to 2026-02-28',
  );
  expect(entryPhrase('customer.serviceRestrictions')({ channel: 'phone', level: 'full', from: '2025-03-01' })).toBe('a full phone restriction from 2025-03-01');
  expect(entryPhrase('customer.complaints')({ date: '2025-12-06', stage: 'escalated', topic: 'debt recovery' })).toBe(
    'an escalated complaint about debt recovery on 2025-12-06',
  );
  expect(entryPhrase('customer.incidents')({ date: '2025-08-02', kind: 'verbal-abuse', setting: 'face-to-face', securityIncident: false })).toBe(
    'verbal abuse (face to face) on 2025-08-02',
  );
  expect(entryPhrase('case.warnings')({ date: '2025-01-02', kind: 'written' })).toBe('a written warning on 2025-01-02');
});
