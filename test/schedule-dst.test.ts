import { describe, expect, it } from 'vitest';
import { nextTicks } from '../dist/index.js';

// In 2026, Europe/Berlin moves from CET (UTC+1) to CEST (UTC+2) at 02:00 local on
// 2026-03-29, and back at 03:00 local on 2026-10-25 (EU rule: last Sunday of March and of
// October, at 01:00 UTC).
const BERLIN = 'Europe/Berlin';

function times(cron: string, after: string, count: number, timezone = BERLIN) {
  return nextTicks({ cron, timezone, after: new Date(after), count }).map((tick) => ({
    at: tick.scheduledAt.toISOString(),
    ds: tick.ds,
  }));
}

describe('schedule time zones', () => {
  it('reads the cron expression in UTC by default', () => {
    const after = new Date('2026-03-28T12:00:00Z');
    const ticks = nextTicks({ cron: '30 2 * * *', after, count: 2 });
    expect(ticks.map((tick) => tick.scheduledAt.toISOString())).toEqual([
      '2026-03-29T02:30:00.000Z',
      '2026-03-30T02:30:00.000Z',
    ]);
  });

  it('runs a daily 02:30 job after the spring-forward gap', () => {
    // 02:30 does not exist on 2026-03-29: the run moves to 03:00 CEST, the first time after
    // the gap, on the same day.
    expect(times('30 2 * * *', '2026-03-27T12:00:00Z', 3)).toEqual([
      { at: '2026-03-28T01:30:00.000Z', ds: '2026-03-28' },
      { at: '2026-03-29T01:00:00.000Z', ds: '2026-03-29' },
      { at: '2026-03-30T00:30:00.000Z', ds: '2026-03-30' },
    ]);
  });

  it('runs a daily 02:30 job once on the fall-back day', () => {
    // 02:30 occurs twice on 2026-10-25 (00:30 UTC in CEST, 01:30 UTC in CET): one run, at
    // the first occurrence.
    expect(times('30 2 * * *', '2026-10-24T12:00:00Z', 3)).toEqual([
      { at: '2026-10-25T00:30:00.000Z', ds: '2026-10-25' },
      { at: '2026-10-26T01:30:00.000Z', ds: '2026-10-26' },
      { at: '2026-10-27T01:30:00.000Z', ds: '2026-10-27' },
    ]);
  });

  it('skips the missing hour for an hourly job', () => {
    expect(times('30 * * * *', '2026-03-29T00:00:00Z', 3).map((tick) => tick.at)).toEqual([
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: 02:30 does not exist
      '2026-03-29T02:30:00.000Z',
    ]);
  });

  it('runs an hourly job in both passes of the repeated hour', () => {
    expect(times('30 * * * *', '2026-10-24T23:45:00Z', 3).map((tick) => tick.at)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // 02:30 CET, the same wall time again
      '2026-10-25T02:30:00.000Z',
    ]);
  });

  it('treats a list of hours as an interval job', () => {
    // Only a single value in each of second, minute and hour makes a fixed-time job in
    // croner 11. With a list, 02:30 is skipped in the gap and runs twice when repeated.
    expect(times('30 2,14 * * *', '2026-03-28T12:00:00Z', 2).map((tick) => tick.at)).toEqual([
      '2026-03-28T13:30:00.000Z',
      '2026-03-29T12:30:00.000Z',
    ]);
    expect(times('30 2,14 * * *', '2026-10-24T13:00:00Z', 3).map((tick) => tick.at)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T13:30:00.000Z',
    ]);
  });

  it('takes the logical date in the schedule time zone', () => {
    // 00:15 in Berlin is still the previous day in UTC.
    const [tick] = nextTicks({
      cron: '15 0 * * *',
      timezone: BERLIN,
      after: new Date('2026-06-01T12:00:00Z'),
      count: 1,
    });
    expect(tick?.scheduledAt.toISOString()).toBe('2026-06-01T22:15:00.000Z');
    expect(tick?.ds).toBe('2026-06-02');
  });

  it('shifts the logical date by the offset', () => {
    const [tick] = nextTicks({
      cron: '30 2 * * *',
      timezone: BERLIN,
      logicalDateOffsetDays: -1,
      after: new Date('2026-03-01T12:00:00Z'),
      count: 1,
    });
    expect(tick?.ds).toBe('2026-03-01');
    expect(tick?.scheduledAt.toISOString()).toBe('2026-03-02T01:30:00.000Z');
  });

  it('crosses a month end with a negative offset', () => {
    const [tick] = nextTicks({
      cron: '0 1 1 * *',
      logicalDateOffsetDays: -1,
      after: new Date('2026-02-15T00:00:00Z'),
      count: 1,
    });
    expect(tick?.ds).toBe('2026-02-28');
  });
});

describe('schedule options', () => {
  it('rejects an unknown time zone', () => {
    expect(() => nextTicks({ cron: '* * * * *', timezone: 'Mars/Olympus', count: 1 })).toThrow(
      /Unknown time zone "Mars\/Olympus"/,
    );
  });

  it('rejects an invalid cron expression', () => {
    expect(() => nextTicks({ cron: '61 * * * *', count: 1 })).toThrow(
      /Invalid cron expression "61 \* \* \* \*".*minute/,
    );
  });

  it('rejects a fractional date offset', () => {
    expect(() => nextTicks({ cron: '* * * * *', logicalDateOffsetDays: 0.5, count: 1 })).toThrow(
      /`logicalDateOffsetDays` to be an integer/,
    );
  });
});
