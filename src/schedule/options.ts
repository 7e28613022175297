import type { RunSummary } from '../events.js';
import type { ScoreOptions } from '../options.js';
import type { LogicalDate } from './dates.js';
import type { BackfillEvent, ScheduleEvent } from './events.js';

/**
 * A scoring run whose input and output paths are templates over the logical date, such
 * as `data/customers_{ds}.csv` and `scored/dt={ds}`. Placeholders: `{ds}` (YYYY-MM-DD),
 * `{ds_nodash}` (YYYYMMDD), `{yyyy}`, `{mm}` and `{dd}`. Braces that hold a comma, as in
 * `*.{csv,jsonl}`, are glob alternatives and stay as they are.
 *
 * Each date's output is a committed output of its own (its own link, versions and
 * `_SUCCESS`), so running a date again replaces that date's output and never appends to
 * it. The other fields are those of {@link ScoreOptions}; the write mode, the signal and
 * the event listener are set per date by the backfill or the schedule.
 */
export interface ScoreJob
  extends Omit<ScoreOptions, 'input' | 'output' | 'mode' | 'signal' | 'onEvent'> {
  /** Input path or glob template, or a list of them. */
  input: string | readonly string[];
  /** Output path template. It must render to a different path for each date. */
  output: string;
}

/**
 * Rule for dates that a backfill has attempted before. A date with no
 * committed output and no trace of an earlier attempt always runs.
 * - `none`: skip dates whose committed output was made from the same input files and
 *   model, and dates whose last attempt failed. Run dates whose input or model changed.
 * - `failed`: as `none`, but also run dates whose last attempt failed.
 * - `all`: run every date and compute every part again (write mode `overwrite`).
 */
export type Reprocess = 'none' | 'failed' | 'all';

/** Default of {@link BackfillOptions.reprocess}. */
export const DEFAULT_REPROCESS: Reprocess = 'none';
/** Default number of dates a backfill runs at once. */
export const DEFAULT_BACKFILL_CONCURRENCY = 1;

/** Options of {@link backfill}: a {@link ScoreJob} and the dates to run it for. */
export interface BackfillOptions extends ScoreJob {
  /** First logical date, as YYYY-MM-DD. */
  start: LogicalDate;
  /** Last logical date, included. Not before `start`. */
  end: LogicalDate;
  /**
   * Days between two dates of the range: 7 runs `start`, `start` + 7 days, and so on up
   * to `end`. @defaultValue `1`. Minimum 1.
   */
  stepDays?: number;
  /** Run the newest date first. @defaultValue `false` */
  reverse?: boolean;
  /**
   * Dates run at once. Each date's run starts its own pool of `workers` threads, so keep
   * `concurrency` × `workers` at or below the cores.
   * @defaultValue {@link DEFAULT_BACKFILL_CONCURRENCY}. Minimum 1.
   */
  concurrency?: number;
  /** @defaultValue {@link DEFAULT_REPROCESS} */
  reprocess?: Reprocess;
  /**
   * Work out what each date would do (its state, and whether it would run or be skipped)
   * without running anything. @defaultValue `false`
   */
  dryRun?: boolean;
  /**
   * Stops the backfill: dates not started yet are reported `cancelled`, and runs in
   * progress are aborted, which commits nothing for them.
   */
  signal?: AbortSignal;
  /** Receives progress events. Must not throw. */
  onEvent?: (event: BackfillEvent) => void;
}

/** One run of a scheduled job, as passed to a {@link JobFunction}. */
export interface JobRun {
  /** Logical date of the run, in the schedule's time zone. */
  ds: LogicalDate;
  /** Time of the tick that started the run. */
  scheduledAt: Date;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  attempt: number;
  /** `catch-up` for a tick missed while no scheduler ran, run after a restart. */
  trigger: 'schedule' | 'catch-up';
  /** Aborted when the schedule is stopped through its own `signal`. */
  signal: AbortSignal;
}

/** Result that a job function may return, kept in the run history. */
export interface JobResult {
  /** Output the run committed. */
  output?: string;
  /** Manifest of the committed output. @defaultValue `<output>/_SUCCESS` */
  manifest?: string;
  /** Rows written. */
  rows?: number;
}

/**
 * Work run on each tick. A rejected promise is a failed attempt, retried with backoff.
 * Returning the {@link RunSummary} of a run records its output and row count.
 */
export type JobFunction = (run: JobRun) => Promise<JobResult | RunSummary | void>;

/** Default retries of a failed scheduled run. */
export const DEFAULT_JOB_RETRIES = 2;
/** Default delay before the first retry of a scheduled run, in milliseconds. */
export const DEFAULT_JOB_RETRY_DELAY_MS = 60_000;
/** Default upper bound of the delay between two attempts of a scheduled run, in milliseconds. */
export const DEFAULT_JOB_MAX_RETRY_DELAY_MS = 15 * 60_000;
/** Default time zone of a schedule. */
export const DEFAULT_TIMEZONE = 'UTC';

/** Options of {@link schedule}. */
export interface ScheduleOptions {
  /**
   * Cron expression, parsed by croner: five fields (minute to weekday), six with seconds
   * first, or seven with a year last. Nicknames such as `@daily` work too.
   * @example `'30 2 * * *'` runs at 02:30 every day.
   */
  cron: string;
  /**
   * IANA time zone in which `cron` is read and the logical date is taken, such as
   * `Europe/Berlin`. On the day clocks go forward, a daily time that does not exist runs at
   * the first time after the gap. On the day they go back, a daily time that occurs twice
   * runs once, at the first occurrence. See `docs/scheduling.md` for patterns with ranges
   * or steps, which behave differently. @defaultValue {@link DEFAULT_TIMEZONE}
   */
  timezone?: string;
  /** A scoring job over date templates, or a function run on each tick. */
  job: ScoreJob | JobFunction;
  /**
   * Folder of the job's state: `history.jsonl`, the run history, and `job.lock`, held
   * while a run is in progress so that two schedulers never run the job at once. Give each
   * job its own folder, for example beside its outputs.
   */
  stateDir: string;
  /**
   * Days added to the tick's calendar date to get the logical date. With `-1`, a run at
   * 02:30 on 2026-03-02 processes 2026-03-01, as Airflow's daily data intervals do.
   * @defaultValue `0`
   */
  logicalDateOffsetDays?: number;
  /**
   * Retries of a failed run. The job lock is held from the first attempt to the last, so a
   * run that is retrying still blocks the ticks that come meanwhile.
   * @defaultValue {@link DEFAULT_JOB_RETRIES}. Minimum 0.
   */
  retries?: number;
  /**
   * Delay before the first retry, in milliseconds, doubled for each next one up to
   * `maxRetryDelayMs`. @defaultValue {@link DEFAULT_JOB_RETRY_DELAY_MS}. Minimum 0.
   */
  retryDelayMs?: number;
  /** @defaultValue {@link DEFAULT_JOB_MAX_RETRY_DELAY_MS}. Minimum 0. */
  maxRetryDelayMs?: number;
  /**
   * Ticks missed while no scheduler ran that are run when the schedule starts: the most
   * recent ones after the last tick in the history, at most this many, oldest first.
   * Nothing is caught up on a first start, when the history is empty.
   * @defaultValue `0`, no catch-up
   */
  catchUp?: number;
  /**
   * Stops the schedule like `stop()` and also aborts the run in progress through
   * {@link JobRun.signal}.
   */
  signal?: AbortSignal;
  /** Receives the schedule's events. Must not throw. */
  onEvent?: (event: ScheduleEvent) => void;
}
