import { InvalidOptionError } from '../errors.js';
import { describe } from '../validate.js';

/**
 * A logical date: the calendar day that a run processes, as `YYYY-MM-DD`. It names the
 * data, not the time the run happens, in the sense of Airflow's `ds`.
 */
export type LogicalDate = string;

const DAY_MS = 24 * 60 * 60 * 1000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks that `value` is a real calendar date written as `YYYY-MM-DD`. */
export function checkLogicalDate(name: string, value: unknown): LogicalDate {
  const match = typeof value === 'string' ? DATE_PATTERN.exec(value) : null;
  if (match === null || toDayNumber(value as string) === null) {
    const fix = value instanceof Date
      ? `Pass the calendar date as text, such as '${value.toISOString().slice(0, 10)}'`
      : 'Use a date such as 2026-01-31';
    throw new InvalidOptionError(
      `Expected \`${name}\` to be a calendar date as YYYY-MM-DD, got ${describe(value)}`,
      { fix },
    );
  }
  return value as LogicalDate;
}

/** Returns the date `days` days after `date` (before it, for a negative count). */
export function addDays(date: LogicalDate, days: number): LogicalDate {
  return fromDayNumber((toDayNumber(date) as number) + days);
}

/** Returns the dates from `start` to `end`, both included, `step` days apart. */
export function dateRange(start: LogicalDate, end: LogicalDate, step: number): LogicalDate[] {
  const first = toDayNumber(start) as number;
  const last = toDayNumber(end) as number;
  const dates: LogicalDate[] = [];
  for (let day = first; day <= last; day += step) dates.push(fromDayNumber(day));
  return dates;
}

/** Returns the number of days from `start` to `end`. */
export function daysBetween(start: LogicalDate, end: LogicalDate): number {
  return (toDayNumber(end) as number) - (toDayNumber(start) as number);
}

/**
 * Returns the calendar date of an instant in an IANA time zone: 2026-03-29T23:30Z is
 * 2026-03-30 in Europe/Berlin.
 */
export function calendarDate(instant: Date, timeZone: string): LogicalDate {
  const parts = dateFormat(timeZone).formatToParts(instant);
  const field = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return `${field('year')}-${field('month')}-${field('day')}`;
}

/** Returns whether this Node's Intl supports `timeZone` as an IANA time zone name. */
export function isTimeZone(timeZone: string): boolean {
  try {
    dateFormat(timeZone);
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (format === undefined) {
    // Intl raises a RangeError for an unknown zone, which isTimeZone relies on.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** Days since 1970-01-01, or null when the text is not a real date such as 2026-02-30. */
function toDayNumber(date: string): number | null {
  const match = DATE_PATTERN.exec(date);
  if (match === null) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const time = Date.UTC(year, month - 1, day);
  if (fromDayNumber(time / DAY_MS) !== date) return null;
  return time / DAY_MS;
}

function fromDayNumber(day: number): LogicalDate {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
