import { appendFileSync } from 'node:fs';
import type { ScheduleEvent } from '../schedule/events.js';
import type { ScheduleOptions } from '../schedule/options.js';
import { schedule } from '../schedule/schedule.js';
import { nextTicks } from '../schedule/ticks.js';
import { jsonLine, parseJobArgs, requiredFlag, splitArgs, wholeNumber } from './backfill.js';

/** Help text of `batchscore schedule`. */
export const SCHEDULE_HELP = `Usage: batchscore schedule --cron EXPR --state-dir DIR --model FILE
         --input TEMPLATE --output TEMPLATE [options]

Runs a scoring job on a cron schedule until SIGINT or SIGTERM. Each tick gets a logical
date, the tick's calendar date in --timezone, which fills the path templates {ds},
{ds_nodash}, {yyyy}, {mm} and {dd}, for example --output 'scored/dt={ds}'.

Schedule:
  --cron EXPR             cron expression: five fields (minute hour day month weekday),
                          six with seconds first, or a nickname such as @daily
  --timezone TZ           IANA time zone of the expression and the date (default: UTC)
  --date-offset-days N    days added to the tick's date to get the logical date; -1
                          scores the previous day (default: 0)
  --state-dir DIR         folder of the run history (history.jsonl) and the job lock;
                          one folder per job
  --catch-up N            after a restart, run up to N ticks missed since the last tick
                          in the history (default: 0)
  --next N                print the next N ticks and their logical dates, and exit

Failures:
  --job-retries N         retries of a failed run (default: 2)
  --job-retry-delay-ms N  delay before the first retry, doubled for each next one
                          (default: 60000)
  --job-max-retry-delay-ms N
                          upper bound of the delay between retries (default: 900000)

Every option of batchscore score is accepted too, except --mode: runs use resume mode.
See batchscore score --help.

A tick that comes while the previous run is in progress is skipped, not queued; so is a
tick while another process runs the same job (same --state-dir). Prints progress to stderr
and one JSON line per tick, as written to the history, to stdout.
`;

const SCHEDULE_FLAGS = {
  cron: { type: 'string' },
  timezone: { type: 'string' },
  'date-offset-days': { type: 'string' },
  'state-dir': { type: 'string' },
  'catch-up': { type: 'string' },
  next: { type: 'string' },
  'job-retries': { type: 'string' },
  'job-retry-delay-ms': { type: 'string' },
  'job-max-retry-delay-ms': { type: 'string' },
} as const;

/** Parsed `batchscore schedule` arguments. */
export interface ScheduleArgs {
  options: ScheduleOptions;
  /** Ticks to print instead of running, from --next. */
  next: number | undefined;
  quiet: boolean;
  logJson: string | undefined;
}

/** Parses the arguments of `batchscore schedule`. */
export function parseScheduleArgs(argv: string[]): ScheduleArgs {
  const { own, rest } = splitArgs(argv, SCHEDULE_FLAGS);
  const value = (name: keyof typeof SCHEDULE_FLAGS) => own[name] as string | undefined;
  const cron = requiredFlag(value('cron'), '--cron', 'schedule');
  const timezone = value('timezone');
  const logicalDateOffsetDays = wholeNumber(value('date-offset-days'), '--date-offset-days', true);
  const next = wholeNumber(value('next'), '--next');
  if (next !== undefined) {
    // --next needs only the schedule, so that it can be tried before the job is set up.
    const job = () => Promise.resolve();
    const options = { cron, timezone, logicalDateOffsetDays, stateDir: '', job };
    return { options, next, quiet: true, logJson: undefined };
  }

  const { job, quiet, logJson } = parseJobArgs(rest, 'schedule');
  const options: ScheduleOptions = {
    cron,
    timezone,
    logicalDateOffsetDays,
    stateDir: requiredFlag(value('state-dir'), '--state-dir', 'schedule'),
    catchUp: wholeNumber(value('catch-up'), '--catch-up'),
    retries: wholeNumber(value('job-retries'), '--job-retries'),
    retryDelayMs: wholeNumber(value('job-retry-delay-ms'), '--job-retry-delay-ms'),
    maxRetryDelayMs: wholeNumber(value('job-max-retry-delay-ms'), '--job-max-retry-delay-ms'),
    job,
  };
  return { options, next: undefined, quiet, logJson };
}

/**
 * Runs `batchscore schedule` with the arguments after the command name and returns the
 * exit code. Runs until SIGINT or SIGTERM, which abort the run in progress (nothing of it
 * is committed) and stop the schedule.
 */
export async function runScheduleCommand(argv: string[]): Promise<number> {
  const { options, next, quiet, logJson } = parseScheduleArgs(argv);
  if (next !== undefined) {
    printTicks(options, next);
    return 0;
  }

  const controller = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => {
      controller.abort(new Error('interrupted'));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const handle = await schedule({
    ...options,
    signal: controller.signal,
    onEvent: (event) => {
      if (!quiet) printProgress(event);
      if (logJson !== undefined) appendFileSync(logJson, `${jsonLine(event)}\n`);
      if ('record' in event) process.stdout.write(`${JSON.stringify(event.record)}\n`);
    },
  });
  if (!quiet) printNext(handle.nextRun()?.scheduledAt, options.timezone);
  await stopped;
  await handle.stop();
  return 0;
}

function printTicks(options: ScheduleOptions, count: number): void {
  const ticks = nextTicks({ ...options, count });
  const timeZone = options.timezone ?? 'UTC';
  for (const tick of ticks) {
    const line = {
      scheduledAt: tick.scheduledAt.toISOString(),
      local: localTime(tick.scheduledAt, timeZone),
      ds: tick.ds,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

function printProgress(event: ScheduleEvent): void {
  switch (event.type) {
    case 'attempt':
      process.stderr.write(`${event.ds} attempt ${event.attempt} started\n`);
      break;
    case 'retry':
      process.stderr.write(
        `${event.ds} attempt ${event.attempt} failed: ${event.error.message}. ` +
          `Retrying in ${event.delayMs} ms\n`,
      );
      break;
    case 'success':
      process.stderr.write(
        `${event.record.ds} succeeded in ${(event.record.durationMs / 1000).toFixed(1)} s\n`,
      );
      break;
    case 'failure':
      process.stderr.write(
        `${event.record.ds} failed after ${event.record.attempts} attempts: ` +
          `${event.error.message}\n`,
      );
      break;
    case 'skipped':
      process.stderr.write(`${event.record.ds} skipped: the previous run is still in progress\n`);
      break;
    case 'locked':
      process.stderr.write(`${event.record.ds} skipped: another process has the job lock\n`);
      break;
    case 'error':
      process.stderr.write(`Schedule error, the schedule goes on: ${event.error.message}\n`);
      break;
  }
}

function printNext(time: Date | undefined, timeZone: string | undefined): void {
  if (time === undefined) {
    process.stderr.write('The cron expression has no future tick\n');
    return;
  }
  process.stderr.write(`Next tick at ${localTime(time, timeZone ?? 'UTC')}\n`);
}

/** Formats an instant as local time in a zone, such as `2026-03-29 03:00:00 GMT+2`. */
function localTime(time: Date, timeZone: string): string {
  return time.toLocaleString('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
}
