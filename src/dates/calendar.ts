// Dates of the procedure: the Australia/Sydney zone, month and day arithmetic, working days.
import { DateTime } from 'luxon';
import { DecisionError } from '../errors';

export const ZONE = 'Australia/Sydney';

/** The national public holidays that working days skip, for the years the data file covers. */
export interface HolidayCalendar {
  fromYear: number;
  toYear: number;
  holidays: ReadonlySet<string>;
}

export interface HolidayCalendarFile {
  coverage: { fromYear: number; toYear: number };
  holidays: { date: string; name: string }[];
}

export function buildCalendar(file: HolidayCalendarFile): HolidayCalendar {
  return {
    fromYear: file.coverage.fromYear,
    toYear: file.coverage.toYear,
    holidays: new Set(file.holidays.map((h) => h.date)),
  };
}

function parse(date: string): DateTime {
  const parsed = DateTime.fromISO(date, { zone: ZONE });
  if (!parsed.isValid) throw new Error(`not a calendar date: ${date}`);
  return parsed;
}

const iso = (d: DateTime): string => d.toISODate() as string;

export function addDays(date: string, days: number): string {
  return iso(parse(date).plus({ days }));
}

/** Calendar months, clamped to the month's end (2025-11-30 + 3 months = 2026-02-28). */
export function addMonths(date: string, months: number): string {
  return iso(parse(date).plus({ months }));
}

/** Whole calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round(parse(to).diff(parse(from), 'days').days);
}

/** Today's date in Sydney: only the API and CLI edges call this, with the clock they own. */
export function todayInSydney(now: Date): string {
  return iso(DateTime.fromJSDate(now, { zone: ZONE }));
}

export function isWorkingDay(date: DateTime, calendar: HolidayCalendar): boolean {
  if (date.weekday >= 6) return false;
  if (date.year < calendar.fromYear || date.year > calendar.toYear) {
    throw new DecisionError(
      'date-outside-calendar',
      `Working days in ${date.year} cannot be counted: the holiday calendar covers ${calendar.fromYear} to ${calendar.toYear}.`,
    );
  }
  return !calendar.holidays.has(iso(date));
}

/**
 * The Nth working day after `date` (the receipt day is day 0): "action within 5 working days of
 * receipt" is due on the date this returns for 5.
 */
export function addWorkingDays(date: string, workingDays: number, calendar: HolidayCalendar): string {
  let day = parse(date);
  let counted = 0;
  while (counted < workingDays) {
    day = day.plus({ days: 1 });
    if (isWorkingDay(day, calendar)) counted += 1;
  }
  return iso(day);
}
