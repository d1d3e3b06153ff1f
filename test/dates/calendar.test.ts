// Working days skip weekends and national public holidays; the holiday data file agrees with date-holidays.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Holidays from 'date-holidays';
import { addMonths, addWorkingDays, buildCalendar, daysBetween, todayInSydney, type HolidayCalendarFile } from '../../src/dates/calendar';
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
      const expected = au.getHolidays(year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)).sort();
      const listed = file.holidays.filter((h) => h.date.startsWith(`${year}-`)).map((h) => h.date);
      expect({ year, dates: listed }).toEqual({ year, dates: expected });
    }
  });
});
