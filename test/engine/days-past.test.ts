// The daysPast derived fact: days past a due date reckoned from the case's own dates (a date, or another less some
// days, plus calendar or working days), so that "asOf is after the deadline" is a fact whose change day holdsUntil knows.
import { compileDerivedFact, dueDateOf } from '../../src/engine/derived';
import { holdsUntil } from '../../src/engine/holds-until';
import type { DerivedFactDefinition, Parameter } from '../../src/engine/types';
import { parseEvaluateRequest } from '../../src/facts/validate';
import { shippedRules } from '../support';

const registry = shippedRules();
const msp = registry.ruleSets.get('msp-review')!;
const calendar = msp.resolve('2025-04-22').calendar;

const parameter = (value: number): Parameter => ({ value, description: 'test', sources: [] });
const parameters = { before: parameter(28), working: parameter(3) };
const phoneDeadline: DerivedFactDefinition = {
  kind: 'daysPast',
  description: 'Days past the phone deadline',
  date: 'case.msp.reviewEmailOn',
  otherwise: { date: 'case.msp.endsOn', daysBefore: { param: 'before' } },
  after: { param: 'working' },
  workingDays: true,
};

test('the due date is the date given, or the other date less its days, plus working days skipping Easter', () => {
  const due = dueDateOf(phoneDeadline, parameters, calendar);
  // 16 May 2025 less 28 days is Good Friday 18 April; Easter Saturday to Monday are skipped: 22, 23, 24 April.
  expect(due({ 'case.msp.endsOn': '2025-05-16', 'case.msp.reviewEmailOn': null })).toBe('2025-04-24');
  // An email on Tuesday 22 April: 23, 24, then Anzac Day (Friday 25) and the weekend skipped, Monday 28 April.
  expect(due({ 'case.msp.endsOn': '2025-05-16', 'case.msp.reviewEmailOn': '2025-04-22' })).toBe('2025-04-28');
  expect(due({ 'case.msp.endsOn': null, 'case.msp.reviewEmailOn': null })).toBeNull();
});

test('its value is the calendar days from the due date to asOf: 0 on the due date, 1 the day after, null with no date', () => {
  const fact = compileDerivedFact(phoneDeadline, parameters, calendar);
  const facts = { 'case.msp.endsOn': '2025-05-16', 'case.msp.reviewEmailOn': null };
  expect(fact(facts, '2025-04-22')).toBe(-2);
  expect(fact(facts, '2025-04-24')).toBe(0);
  expect(fact(facts, '2025-04-25')).toBe(1);
  expect(fact({ 'case.msp.endsOn': null, 'case.msp.reviewEmailOn': null }, '2025-04-25')).toBeNull();
});

test('in calendar days it needs no calendar; in working days without one it is refused, not guessed', () => {
  const calendarDays: DerivedFactDefinition = { kind: 'daysPast', description: 'Days past', date: 'case.msp.endsOn', after: -1 };
  expect(dueDateOf(calendarDays, {}, undefined)({ 'case.msp.endsOn': '2025-05-16' })).toBe('2025-05-15');
  expect(() => dueDateOf(phoneDeadline, parameters, undefined)).toThrow(/holiday calendar/);
});

test('holdsUntil is the day after the deadline the verdict turns on, reckoned in working days', () => {
  const asOf = '2025-04-22';
  const { facts } = parseEvaluateRequest({ asOf, facts: { program: 'centrelink', case: { msp: { endsOn: '2025-05-16' } } } }, 'msp-review', [
    'case.msp.endsOn',
  ]);
  // No attempt yet: the phone attempts are next until the deadline (Thursday 24 April) has passed.
  expect(holdsUntil(msp, facts, asOf)).toBe('2025-04-25');
});
