import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AbortError, InvalidOptionError, OutputError } from '../errors.js';
import { checkInteger, checkString } from '../validate.js';
import type { HistoryRecord, ScheduleEvent } from './events.js';
import { lastTick, readHistory } from './history.js';
import { validateScoreJob } from './job.js';
import {
  DEFAULT_JOB_MAX_RETRY_DELAY_MS,
  DEFAULT_JOB_RETRIES,
  DEFAULT_JOB_RETRY_DELAY_MS,
  type ScheduleOptions,
} from './options.js';
import { Scheduler } from './scheduler.js';
import { createClock, type Tick } from './ticks.js';

/** A running schedule. */
export interface ScheduleHandle {
  /** The next tick and its logical date, or null once stopped. */
  nextRun(): Tick | null;
  /** True while a run, its retries included, is in progress. */
  isBusy(): boolean;
  /** Resolves when the run in progress, if any, has ended and been recorded. */
  idle(): Promise<void>;
  /** Reads the run history from the state folder, oldest first. */
  history(): Promise<HistoryRecord[]>;
  /**
   * Stops the schedule: no more ticks fire and a retry delay in progress ends, recording
   * the run as failed. Resolves once the attempt in progress has ended. To end that
   * attempt sooner, abort the schedule's `signal` instead.
   */
  stop(): Promise<void>;
}

/**
 * Runs a job on a cron schedule in this process, for users without an orchestrator such
 * as Airflow. Each tick gets a logical date, its calendar date in the schedule's time zone
 * (shifted by `logicalDateOffsetDays`), which fills the job's path templates.
 *
 * Runs never overlap. A tick that comes while the previous run (or its retries) is still
 * in progress is skipped. A scheduler in another process that holds the job lock in
 * `stateDir` makes this one skip the tick as `locked`. A failed run is retried with
 * exponential backoff. Every tick is appended to `<stateDir>/history.jsonl`, which a
 * restart reads to catch up on missed ticks when `catchUp` is set.
 *
 * @example
 * ```ts
 * const handle = await schedule({
 *   cron: '30 2 * * *',
 *   timezone: 'Europe/Berlin',
 *   logicalDateOffsetDays: -1,
 *   stateDir: 'scored/.schedule',
 *   job: { model: 'churn.onnx', input: 'data/customers_{ds}.csv', output: 'scored/dt={ds}' },
 *   onEvent: (event) => { if (event.type === 'failure') alert(event.error); },
 * });
 * // later
 * await handle.stop();
 * ```
 */
export async function schedule(options: ScheduleOptions): Promise<ScheduleHandle> {
  const settings = validateScheduleOptions(options);
  if (options.signal?.aborted === true) {
    throw new AbortError('The schedule was aborted before it started');
  }
  const stateDir = resolve(options.stateDir);
  await createStateDir(stateDir);

  const clock = createClock(options);
  const history = await readHistory(stateDir);
  const last = lastTick(history);
  const missed = last === null ? [] : clock.missed(last, new Date(), settings.catchUp);

  const scheduler = new Scheduler({
    clock,
    job: options.job,
    stateDir,
    retries: settings.retries,
    retryDelayMs: settings.retryDelayMs,
    maxRetryDelayMs: settings.maxRetryDelayMs,
    emit: eventEmitter(options.onEvent),
  });
  options.signal?.addEventListener(
    'abort',
    () => void scheduler.stop(options.signal?.reason ?? new AbortError()),
    { once: true },
  );
  scheduler.start(missed);
  return {
    nextRun: () => scheduler.nextTick(),
    isBusy: () => scheduler.isBusy(),
    idle: () => scheduler.idle(),
    history: () => readHistory(stateDir),
    stop: () => scheduler.stop(),
  };
}

function validateScheduleOptions(options: ScheduleOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('Expected an options object');
  }
  createClock(options);
  checkString('stateDir', options.stateDir, false);
  if (typeof options.job === 'object' && options.job !== null) {
    validateScoreJob(options.job);
  } else if (typeof options.job !== 'function') {
    throw new InvalidOptionError(
      'Expected `job` to be a scoring job (model, input and output templates) or a function',
    );
  }
  checkInteger('retries', options.retries, 0);
  checkInteger('retryDelayMs', options.retryDelayMs, 0);
  checkInteger('maxRetryDelayMs', options.maxRetryDelayMs, 0);
  checkInteger('catchUp', options.catchUp, 0);
  return {
    retries: options.retries ?? DEFAULT_JOB_RETRIES,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_JOB_RETRY_DELAY_MS,
    maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_JOB_MAX_RETRY_DELAY_MS,
    catchUp: options.catchUp ?? 0,
  };
}

async function createStateDir(stateDir: string): Promise<void> {
  try {
    await mkdir(stateDir, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `Cannot create the schedule's state folder: ${reason}`;
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', message, {
      file: stateDir,
      fix: 'Choose a stateDir that this user can create and write',
      cause: error,
    });
  }
}

function eventEmitter(listener: ((event: ScheduleEvent) => void) | undefined) {
  return (event: ScheduleEvent): void => {
    try {
      listener?.(event);
    } catch {
      // Listeners are documented as not throwing, so one that does must not stop the schedule.
    }
  };
}
