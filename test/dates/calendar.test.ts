// Working days skip weekends and national public holidays; the holiday data file agrees with date-holidays.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import Holidays from 'date-holidays';
import { DateTime } from 'luxon';
import {
  addDays,
  addMonths,
  addWorkingDays,
  buildCalendar,
  dateOfDay,
  dayNumber,
  daysBetween,
  todayInSydney,
  ZONE,
  type HolidayCalendarFile,
} from '../../src/dates/calendar';
import { DecisionError } from '../../src/errors';
import { CALENDAR_FILE } from '../../src/loader/load';
import { RULES_DIR } from '../support';

const file = JSON.parse(readFileSync(path.join(RULES_DIR, CALENDAR_FILE), 'utf8')) as HolidayCalendarFile;
const calendar = buildCalendar(file);

describe('addWorkingDays', () => {
  test.each([
    ['a plain week: Monday + 5 is the next Monday', '2025-06-02', 5, '2025-06-09'],
    ['Friday + 1 skips the weekend', '2025-06-06', 1, '2025-06-09'],
    ['received on a Saturday: Monday is day 1', '2025-06-07', 2, '2025-06-10'],
    ['Easter 2025: Good Friday 18 and Easter Monday 21 April are skipped', '2025-04-17', 2, '2025-04-23'],
    ['Easter then Anzac Day 2025 (Friday 25 April)', '2025-04-17', 5, '2025-04-29'],
    ['Christmas 2025: 25, 26 December and 1 January are skipped', '2025-12-23', 5, '2026-01-02'],
    ['Christmas 2027 on a Saturday: substitute days 27 and 28 December', '2027-12-24', 1, '2027-12-29'],
    ['Australia Day 2025 observed Monday 27 January', '2025-01-24', 1, '2025-01-28'],
    ['zero working days is the day itself', '2025-06-02', 0, '2025-06-02'],
  ])('%s', (_why, from, days, due) => {
    expect(addWorkingDays(from, days, calendar)).toBe(due);
  });

  test('a date beyond the calendar is refused, not guessed', () => {
    expect(() => addWorkingDays('2040-12-28', 5, calendar)).toThrow(DecisionError);
  });
});

describe('month and day arithmetic in Sydney', () => {
  test('months clamp to the end of a shorter month', () => {
    expect(addMonths('2025-11-30', 3)).toBe('2026-02-28');
    expect(addMonths('2024-02-29', -12)).toBe('2023-02-28');
  });
  test('days between dates ignore daylight-saving changes', () => {
    // Sydney moves its clocks on 6 April and 5 October 2025.
    expect(daysBetween('2025-04-01', '2025-04-15')).toBe(14);
    expect(daysBetween('2025-10-01', '2025-10-15')).toBe(14);
  });
  test("today is Sydney's date, not UTC's", () => {
    expect(todayInSydney(new Date('2025-06-01T13:59:00Z'))).toBe('2025-06-01');
    expect(todayInSydney(new Date('2025-06-01T14:00:00Z'))).toBe('2025-06-02');
  });
});

describe('integer day arithmetic agrees with luxon in Sydney', () => {
  // The hot path counts days as integers; luxon, a zone-aware library, is the oracle.
  const luxon = (date: string) => DateTime.fromISO(date, { zone: ZONE });
  const calendarDate = fc.integer({ min: dayNumber('1990-01-01'), max: dayNumber('2045-12-31') }).map(dateOfDay);
  const options = { numRuns: 5_000, seed: 20261124 };

  test('a day number round-trips and counts from 1970-01-01', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dateOfDay(dayNumber('2024-02-29'))).toBe('2024-02-29');
    fc.assert(
      fc.property(calendarDate, (date) => dateOfDay(dayNumber(date)) === date && luxon(date).isValid),
      options,
    );
  });
  test('adding days, months and counting days between', () => {
    fc.assert(
      fc.property(calendarDate, calendarDate, fc.integer({ min: -400, max: 400 }), fc.integer({ min: -36, max: 36 }), (from, to, days, months) => {
        expect(addDays(from, days)).toBe(luxon(from).plus({ days }).toISODate());
        expect(addMonths(from, months)).toBe(luxon(from).plus({ months }).toISODate());
        expect(daysBetween(from, to)).toBe(Math.round(luxon(to).diff(luxon(from), 'days').days));
      }),
      options,
    );
  });
  test('working days skip exactly the weekends and holidays luxon and the data file name', () => {
    const holidays = new Set(file.holidays.map((h) => h.date));
    fc.assert(
      fc.property(fc.integer({ min: dayNumber('2015-01-01'), max: dayNumber('2040-11-30') }).map(dateOfDay), fc.integer({ min: 0, max: 15 }), (from, n) => {
        let day = luxon(from);
        for (let counted = 0; counted < n;) {
          day = day.plus({ days: 1 });
          if (day.weekday < 6 && !holidays.has(day.toISODate() as string)) counted += 1;
        }
        expect(addWorkingDays(from, n, calendar)).toBe(day.toISODate());
      }),
      options,
    );
  });
  test('a date that does not exist is refused', () => {
    for (const bad of ['2025-02-29', '2025-13-01', '2025-00-10', '2025-04-31', '25-01-01']) expect(() => dayNumber(bad)).toThrow(/not a calendar date/);
  });
});

describe('the holiday data file', () => {
  test('is sorted and inside its coverage', () => {
    const dates = file.holidays.map((h) => h.date);
    expect(dates).toEqual([...dates].sort());
    for (const d of dates) {
      const year = Number(d.slice(0, 4));
      expect(year).toBeGreaterThanOrEqual(file.coverage.fromYear);
      expect(year).toBeLessThanOrEqual(file.coverage.toYear);
    }
  });

  test('lists exactly the national public holidays date-holidays gives for Australia', () => {
    const au = new Holidays('AU');
    for (let year = file.coverage.fromYear; year <= file.coverage.toYear; year += 1) {
      const expected = au
        .getHolidays(year)
        .filter((h) => h.type === 'public')
        .map((h) => h.date.slice(0, 10))
        .sort();
      const listed = file.holidays.filter((h) => h.date.startsWith(`${year}-`)).map((h) => h.date);
      expect({ year, dates: listed }).toEqual({ year, dates: expected });
    }
  });
});
