import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockOutput, type OutputLock } from '../commit/lock.js';
import { SUCCESS_FILE } from '../commit/layout.js';
import { BatchscoreError } from '../errors.js';
import type { RunSummary } from '../events.js';
import type { HistoryRecord, ScheduleEvent, TickOutcome } from './events.js';
import { appendHistory, JOB_LOCK_FILE } from './history.js';
import { datedJob, runDatedJob } from './job.js';
import type { JobFunction, JobResult, ScoreJob } from './options.js';
import type { Tick, TickClock } from './ticks.js';

/**
 * Maximum delay of one timer, in milliseconds. The clock is read again after it, so a
 * change of the system time delays a tick by at most this much.
 */
const MAX_TIMER_MS = 60_000;

/** Settings of a running schedule, already validated. */
export interface SchedulerSettings {
  clock: TickClock;
  job: ScoreJob | JobFunction;
  stateDir: string;
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  emit: (event: ScheduleEvent) => void;
}

/**
 * Fires a job on the ticks of a clock, one run at a time.
 *
 * A tick that comes while a run of this scheduler is in progress (retry delays included)
 * is recorded as `skipped` and is not queued. Before a run starts, the scheduler takes the
 * job lock in the state folder. A scheduler in another process then records the tick as
 * `locked` instead of running the job a second time.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private upcoming: Tick | null = null;
  private current: Promise<void> | null = null;
  /** Records of skipped ticks still being written. */
  private readonly writes = new Set<Promise<void>>();
  private stopped = false;
  /** Ends retry delays when the schedule stops. */
  private readonly stopping = new AbortController();
  /** Aborts the job's own work, as `ScheduleOptions.signal` describes. */
  private readonly aborting = new AbortController();

  constructor(private readonly settings: SchedulerSettings) {}

  /** Runs missed ticks one after another, then waits for the first tick after now. */
  start(missed: readonly Tick[]): void {
    if (missed.length > 0) {
      this.occupy(async () => {
        for (const tick of missed) {
          if (this.stopped) return;
          await this.runTick(tick, 'catch-up');
        }
      });
    }
    this.arm(new Date());
  }

  /** Returns the next tick, or null once stopped or when the pattern has no more. */
  nextTick(): Tick | null {
    return this.stopped ? null : this.upcoming;
  }

  isBusy(): boolean {
    return this.current !== null;
  }

  /** Resolves when the run in progress, if any, has ended and its record is written. */
  async idle(): Promise<void> {
    await this.current;
    await Promise.all(this.writes);
  }

  /** Stops the clock and retry delays, then waits for the attempt in progress to end. */
  async stop(abortJob?: unknown): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      clearTimeout(this.timer);
      this.stopping.abort();
      if (abortJob !== undefined) this.aborting.abort(abortJob);
    }
    await this.idle();
  }

  private arm(after: Date): void {
    this.upcoming = this.settings.clock.next(after);
    this.wait();
  }

  private wait(): void {
    if (this.stopped || this.upcoming === null) return;
    const delay = this.upcoming.scheduledAt.getTime() - Date.now();
    this.timer = setTimeout(() => this.onTimer(), Math.min(Math.max(delay, 0), MAX_TIMER_MS));
  }

  private onTimer(): void {
    const tick = this.upcoming;
    if (this.stopped || tick === null) return;
    const now = Date.now();
    if (now < tick.scheduledAt.getTime()) {
      this.wait();
      return;
    }
    // The next tick is the first after now: ticks passed while the event loop was blocked
    // or the machine slept are dropped, and only this one runs.
    this.arm(new Date(Math.max(now, tick.scheduledAt.getTime())));
    if (this.current !== null) {
      const skipped = { startedAt: new Date(), attempts: 0 };
      const write = this.record(tick, 'schedule', 'skipped', skipped);
      this.writes.add(write);
      void write.finally(() => this.writes.delete(write));
      return;
    }
    this.occupy(() => this.runTick(tick, 'schedule'));
  }

  private occupy(work: () => Promise<void>): void {
    const run = work().finally(() => {
      if (this.current === run) this.current = null;
    });
    this.current = run;
  }

  /** Takes the job lock, runs the attempts and records the outcome. Never rejects. */
  private async runTick(tick: Tick, trigger: HistoryRecord['trigger']): Promise<void> {
    const { emit } = this.settings;
    emit({ type: 'tick', ds: tick.ds, scheduledAt: tick.scheduledAt, trigger });
    const startedAt = new Date();
    let lock: OutputLock;
    try {
      lock = await lockOutput(join(this.settings.stateDir, JOB_LOCK_FILE), `${tick.ds} ${trigger}`);
    } catch (error) {
      if (error instanceof BatchscoreError && error.code === 'ERR_OUTPUT_LOCKED') {
        await this.record(tick, trigger, 'locked', { startedAt, attempts: 0 });
      } else {
        const details = { startedAt, attempts: 0, error: toError(error) };
        await this.record(tick, trigger, 'failed', details);
      }
      return;
    }
    try {
      await this.attempts(tick, trigger, startedAt);
    } finally {
      await lock.release().catch((error: unknown) => {
        emit({ type: 'error', error: toError(error) });
      });
    }
  }

  private async attempts(tick: Tick, trigger: HistoryRecord['trigger'], startedAt: Date) {
    const { retries, emit } = this.settings;
    for (let attempt = 1; ; attempt++) {
      emit({ type: 'attempt', ds: tick.ds, scheduledAt: tick.scheduledAt, attempt });
      try {
        const result = await this.execute(tick, trigger, attempt);
        await this.record(tick, trigger, 'succeeded', { startedAt, attempts: attempt, result });
        return;
      } catch (caught) {
        const error = toError(caught);
        if (attempt > retries || !isRetryable(error) || this.stopped) {
          await this.record(tick, trigger, 'failed', { startedAt, attempts: attempt, error });
          return;
        }
        const delayMs = this.retryDelay(attempt);
        emit({ type: 'retry', ds: tick.ds, attempt, delayMs, error });
        const signal = this.stopping.signal;
        const waited = await sleep(delayMs, true, { signal }).catch(() => false);
        if (!waited) {
          await this.record(tick, trigger, 'failed', { startedAt, attempts: attempt, error });
          return;
        }
      }
    }
  }

  private retryDelay(failedAttempt: number): number {
    const { retryDelayMs, maxRetryDelayMs } = this.settings;
    return Math.min(retryDelayMs * 2 ** (failedAttempt - 1), maxRetryDelayMs);
  }

  private async execute(
    tick: Tick,
    trigger: HistoryRecord['trigger'],
    attempt: number,
  ): Promise<JobResult | RunSummary | void> {
    const { job, emit } = this.settings;
    const signal = this.aborting.signal;
    if (typeof job === 'function') {
      return job({ ds: tick.ds, scheduledAt: tick.scheduledAt, attempt, trigger, signal });
    }
    // Resume mode: a run of a date whose input is unchanged reuses its parts.
    return runDatedJob(job, datedJob(job, tick.ds), 'resume', signal, (event) =>
      emit({ type: 'score', ds: tick.ds, event }),
    );
  }

  /** Appends a tick's record to the history, then emits its event. Never rejects. */
  private async record(
    tick: Tick,
    trigger: HistoryRecord['trigger'],
    outcome: TickOutcome,
    details: {
      startedAt: Date;
      attempts: number;
      error?: Error;
      result?: JobResult | RunSummary | void;
    },
  ): Promise<void> {
    const finishedAt = new Date();
    const record: HistoryRecord = {
      ds: tick.ds,
      scheduledAt: tick.scheduledAt.toISOString(),
      trigger,
      outcome,
      startedAt: details.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - details.startedAt.getTime(),
      attempts: details.attempts,
      ...resultFields(details.result),
      pid: process.pid,
    };
    if (details.error !== undefined) record.error = errorFields(details.error);
    const { emit } = this.settings;
    try {
      await appendHistory(this.settings.stateDir, record);
    } catch (error) {
      emit({ type: 'error', error: toError(error) });
    }
    if (outcome === 'succeeded') emit({ type: 'success', record });
    else if (outcome === 'skipped') emit({ type: 'skipped', record });
    else if (outcome === 'locked') emit({ type: 'locked', record });
    else emit({ type: 'failure', record, error: details.error ?? new Error('The run failed') });
  }
}

/** Invalid options and aborted runs fail the same way on every attempt. */
function isRetryable(error: Error): boolean {
  if (!(error instanceof BatchscoreError)) return true;
  return error.code !== 'ERR_INVALID_OPTION' && error.code !== 'ERR_ABORTED';
}

function resultFields(result: JobResult | RunSummary | void): Partial<HistoryRecord> {
  if (result === undefined || result === null || typeof result !== 'object') return {};
  const fields: Partial<HistoryRecord> = {};
  if (typeof result.output === 'string') {
    fields.output = result.output;
    fields.manifest = join(result.output, SUCCESS_FILE);
  }
  if ('manifest' in result && typeof result.manifest === 'string') {
    fields.manifest = result.manifest;
  }
  if ('rowsOut' in result && typeof result.rowsOut === 'number') fields.rows = result.rowsOut;
  if ('rows' in result && typeof result.rows === 'number') fields.rows = result.rows;
  return fields;
}

function errorFields(error: Error): NonNullable<HistoryRecord['error']> {
  const code = error instanceof BatchscoreError ? error.code : (error as { code?: unknown }).code;
  return typeof code === 'string' ? { code, message: error.message } : { message: error.message };
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
