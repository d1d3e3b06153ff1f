// Dates of the procedure: the Australia/Sydney zone, month and day arithmetic, working days.
//
// Hot path: the procedure's dates are calendar dates (YYYY-MM-DD in Sydney), so their arithmetic
// needs no zone: each date is turned into a day number (days since 1970-01-01, proleptic
// Gregorian) with integer arithmetic, and back. Parsing a date with luxon costs microseconds, a
// day number nanoseconds; at batch-triage rates (npm run bench) that is the difference.
// test/dates/calendar.test.ts proves these functions equal luxon's over thousands of dates.
// Luxon remains for the one question that needs a zone: what day it is in Sydney now.
import { DateTime } from 'luxon';
import { DecisionError } from '../errors';

export const ZONE = 'Australia/Sydney';

/** The national public holidays that working days skip, for the years the data file covers. */
export interface HolidayCalendar {
  fromYear: number;
  toYear: number;
  /** The holidays as day numbers. */
  holidayDays: ReadonlySet<number>;
  /** Each holiday's name by its day number, as the calendar file gives it: for explanations, never for deciding. */
  holidayNames: ReadonlyMap<number, string>;
}

export interface HolidayCalendarFile {
  coverage: { fromYear: number; toYear: number };
  holidays: { date: string; name: string }[];
}

export function buildCalendar(file: HolidayCalendarFile): HolidayCalendar {
  return {
    fromYear: file.coverage.fromYear,
    toYear: file.coverage.toYear,
    holidayDays: new Set(file.holidays.map((h) => dayNumber(h.date))),
    holidayNames: new Map(file.holidays.map((h) => [dayNumber(h.date), h.name])),
  };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : (MONTH_DAYS[month - 1] as number));

/** Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function parts(date: string): [number, number, number] {
  const match = DATE.exec(date);
  const year = Number(match?.[1]);
  const month = Number(match?.[2]);
  const day = Number(match?.[3]);
  if (!match || !isCalendarDay(year, month, day)) throw new Error(`not a calendar date: ${date}`);
  return [year, month, day];
}

const isCalendarDay = (year: number, month: number, day: number) => month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);

/** A day that exists, as YYYY-MM-DD (2025-02-29 does not); undefined when it does not. */
export function calendarDate(year: number, month: number, day: number): string | undefined {
  return Number.isInteger(year) && year >= 0 && year <= 9999 && isCalendarDay(year, month, day) ? iso(year, month, day) : undefined;
}

/** Whether text is a date written YYYY-MM-DD that exists in the calendar. */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  return match !== null && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/**
 * YYYY-MM-DD, which has room for four digits of year: a date reckoned past 9999-12-31 (a review
 * date three months after an asOf of 9999-12-31) cannot be written, so the case is refused rather
 * than answered with "10000-03-31".
 */
const iso = (year: number, month: number, day: number) => {
  if (year > 9999 || year < 1)
    throw new DecisionError(
      'date-out-of-range',
      `A date this decision needs (${year}-${pad(month)}-${pad(day)}) cannot be written as YYYY-MM-DD: the dates in the case are too far in the future or the past.`,
      [{ pointer: '', message: 'a date reckoned from the case falls outside the years 0001 to 9999' }],
    );
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
};

/** A YYYY-MM-DD date as its day number (days since 1970-01-01). */
export function dayNumber(date: string): number {
  const [year, month, day] = parts(date);
  return daysFromCivil(year, month, day);
}

/** A day number as YYYY-MM-DD. */
export function dateOfDay(days: number): string {
  return iso(...civilFromDays(days));
}

export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date) + days);
}

/** Recent answers of addMonths: a batch asks the same few (as-of date, months) pairs for every case. */
const monthsMemo = new Map<string, string>();

/** Calendar months, clamped to the month's end (2025-11-30 + 3 months = 2026-02-28), as luxon does. */
export function addMonths(date: string, months: number): string {
  const key = `${date}${months}`;
  let result = monthsMemo.get(key);
  if (result === undefined) {
    if (monthsMemo.size >= 4096) monthsMemo.clear();
    result = monthsAfter(date, months);
    monthsMemo.set(key, result);
  }
  return result;
}

function monthsAfter(date: string, months: number): string {
  const [year, month, day] = parts(date);
  const index = year * 12 + (month - 1) + months;
  const toYear = Math.floor(index / 12);
  const toMonth = index - toYear * 12 + 1;
  return iso(toYear, toMonth, Math.min(day, daysInMonth(toYear, toMonth)));
}

/** Whole calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** Today's date in Sydney: only the API and CLI edges call this, with the clock they own. */
export function todayInSydney(now: Date): string {
  return DateTime.fromJSDate(now, { zone: ZONE }).toISODate() as string;
}

/** 1 Monday … 7 Sunday, as ISO and luxon number weekdays; day 0 (1970-01-01) was a Thursday. */
const weekday = (days: number) => ((((days + 3) % 7) + 7) % 7) + 1;

function isWorkingDayNumber(days: number, calendar: HolidayCalendar): boolean {
  if (weekday(days) >= 6) return false;
  const year = civilFromDays(days)[0];
  if (year < calendar.fromYear || year > calendar.toYear) {
    throw new DecisionError(
      'date-outside-calendar',
      `Working days in ${year} cannot be counted: the holiday calendar covers ${calendar.fromYear} to ${calendar.toYear}.`,
    );
  }
  return !calendar.holidayDays.has(days);
}

/**
 * The Nth working day after `date` (the receipt day is day 0): "action within 5 working days of
 * receipt" is due on the date this returns for 5.
 */
export function addWorkingDays(date: string, workingDays: number, calendar: HolidayCalendar): string {
  // A batch asks the same few (receipt date, working days) pairs of one calendar again and again.
  let memo = workingDaysMemo.get(calendar);
  if (!memo) {
    memo = new Map();
    workingDaysMemo.set(calendar, memo);
  }
  const key = `${date}${workingDays}`;
  let due = memo.get(key);
  if (due === undefined) {
    if (memo.size >= 4096) memo.clear();
    due = workingDaysAfter(date, workingDays, calendar);
    memo.set(key, due);
  }
  return due;
}

/** Recent answers of addWorkingDays, per calendar (a reload brings a new one). */
const workingDaysMemo = new WeakMap<HolidayCalendar, Map<string, string>>();

/** Counts `workingDays` working days after `date` (day 0); `passed` hears of each day not counted. Returns the last day's number. */
function countWorkingDays(date: string, workingDays: number, calendar: HolidayCalendar, passed?: (day: number) => void): number {
  let day = dayNumber(date);
  let counted = 0;
  while (counted < workingDays) {
    day += 1;
    if (isWorkingDayNumber(day, calendar)) counted += 1;
    else passed?.(day);
  }
  return day;
}

function workingDaysAfter(date: string, workingDays: number, calendar: HolidayCalendar): string {
  return dateOfDay(countWorkingDays(date, workingDays, calendar));
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A date as a sentence says it: "Thursday 17 April 2025". */
export function longDate(date: string): string {
  const [year, month, day] = parts(date);
  return `${WEEKDAYS[weekday(daysFromCivil(year, month, day)) - 1]} ${day} ${MONTHS[month - 1]} ${year}`;
}

/** The Monday of the week a date falls in (weeks run Monday to Sunday, as a work roster does). */
export function weekStart(date: string): string {
  const days = dayNumber(date);
  return dateOfDay(days - weekday(days) + 1);
}

const SHORT_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A date as a work list says it: "29 Apr", with the year ("23 Dec 2025") when it is not `year`. */
export function shortDate(date: string, year: number): string {
  const [y, month, day] = parts(date);
  return `${day} ${SHORT_MONTHS[month - 1]}${y === year ? '' : ` ${y}`}`;
}

/** A day that counting working days passed over, and why: a weekend, or a public holiday of the calendar (by name). */
export interface SkippedDay {
  date: string;
  weekday: string;
  reason: 'weekend' | 'public holiday';
  /** The holiday's name when the calendar lists the day, a weekend day included (Easter Saturday). */
  holiday?: string;
}

/**
 * The days between `date` (day 0) and the Nth working day after it that were not counted, in order, each with why:
 * what addWorkingDays skipped to reach the same due date. For explanations; not on the hot path.
 */
export function skippedDays(date: string, workingDays: number, calendar: HolidayCalendar): SkippedDay[] {
  const skipped: SkippedDay[] = [];
  countWorkingDays(date, workingDays, calendar, (day) => {
    const name = WEEKDAYS[weekday(day) - 1] as string;
    const holiday = calendar.holidayNames.get(day);
    const entry: SkippedDay = { date: dateOfDay(day), weekday: name, reason: weekday(day) >= 6 ? 'weekend' : 'public holiday' };
    if (holiday !== undefined) entry.holiday = holiday;
    skipped.push(entry);
  });
  return skipped;
}
