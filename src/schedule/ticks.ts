import { Cron } from 'croner';
import { InvalidOptionError } from '../errors.js';
import { checkInteger, checkString } from '../validate.js';
import { addDays, calendarDate, isTimeZone, type LogicalDate } from './dates.js';
import { DEFAULT_TIMEZONE } from './options.js';

/** A tick of a schedule and the logical date it runs. */
export interface Tick {
  scheduledAt: Date;
  ds: LogicalDate;
}

/** A parsed schedule: when it ticks and how a tick becomes a logical date. */
export class TickClock {
  private readonly cron: Cron;

  constructor(
    expression: string,
    readonly timeZone: string,
    private readonly offsetDays: number,
  ) {
    // A Cron without a function is only a calculator: it starts no timer.
    this.cron = new Cron(expression, { timezone: timeZone, paused: true });
  }

  /** Returns the first tick strictly after `after`, or null when the pattern has no more. */
  next(after: Date): Tick | null {
    const time = this.cron.nextRun(after);
    return time === null ? null : this.tick(time);
  }

  /**
   * Returns the ticks strictly after `since` and at or before `now`: the latest `limit`
   * of them, oldest first.
   */
  missed(since: Date, now: Date, limit: number): Tick[] {
    if (limit <= 0) return [];
    // previousRuns lists the ticks before its reference, latest first. The extra
    // millisecond makes a tick exactly at `now` count as before it.
    const reference = new Date(now.getTime() + 1);
    return this.cron.previousRuns(limit, reference)
      .filter((time) => time.getTime() > since.getTime())
      .reverse()
      .map((time) => this.tick(time));
  }

  /** Returns the tick at `scheduledAt` with its logical date. */
  tick(scheduledAt: Date): Tick {
    return { scheduledAt, ds: addDays(calendarDate(scheduledAt, this.timeZone), this.offsetDays) };
  }
}

/** Options of {@link nextTicks}. */
export interface NextTicksOptions {
  /** Cron expression, as in `ScheduleOptions.cron`. */
  cron: string;
  /** @defaultValue {@link DEFAULT_TIMEZONE} */
  timezone?: string;
  /** @defaultValue `0` */
  logicalDateOffsetDays?: number;
  /** Ticks are listed strictly after this time. @defaultValue now */
  after?: Date;
  /** Number of ticks to list. Minimum 1. */
  count: number;
}

/**
 * Lists the next ticks of a schedule and their logical dates, without starting it. Useful
 * to check what a pattern does on the days clocks change.
 *
 * @example
 * ```ts
 * const after = new Date('2026-03-28T12:00Z');
 * nextTicks({ cron: '30 2 * * *', timezone: 'Europe/Berlin', after, count: 1 });
 * // [{ scheduledAt: 2026-03-29T01:00:00.000Z, ds: '2026-03-29' }]: 03:00 local, after the gap
 * ```
 */
export function nextTicks(options: NextTicksOptions): Tick[] {
  const clock = createClock(options);
  checkInteger('count', options.count, 1);
  if (options.after !== undefined && Number.isNaN(options.after.getTime?.())) {
    throw new InvalidOptionError('Expected `after` to be a valid Date');
  }
  const ticks: Tick[] = [];
  let after = options.after ?? new Date();
  while (ticks.length < options.count) {
    const tick = clock.next(after);
    if (tick === null) break;
    ticks.push(tick);
    after = tick.scheduledAt;
  }
  return ticks;
}

/** Checks a schedule's pattern, time zone and date offset, and parses the pattern. */
export function createClock(options: {
  cron: unknown;
  timezone?: unknown;
  logicalDateOffsetDays?: unknown;
}): TickClock {
  checkString('cron', options.cron, false);
  checkString('timezone', options.timezone);
  const timeZone = (options.timezone as string | undefined) ?? DEFAULT_TIMEZONE;
  if (!isTimeZone(timeZone)) {
    throw new InvalidOptionError(`Unknown time zone ${JSON.stringify(timeZone)} in \`timezone\``, {
      fix: 'Use an IANA time zone name such as UTC or Europe/Berlin',
    });
  }
  const offset = options.logicalDateOffsetDays;
  if (offset !== undefined && !Number.isSafeInteger(offset)) {
    throw new InvalidOptionError(
      `Expected \`logicalDateOffsetDays\` to be an integer, got ${JSON.stringify(offset)}`,
    );
  }
  try {
    return new TickClock(options.cron as string, timeZone, (offset as number | undefined) ?? 0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `Invalid cron expression ${JSON.stringify(options.cron)}: ${reason}`;
    throw new InvalidOptionError(message, {
      fix: 'Use five fields (minute hour day month weekday), or six with seconds first',
      cause: error,
    });
  }
}
