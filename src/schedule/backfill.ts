import { BatchscoreError, InvalidOptionError } from '../errors.js';
import type { WriteMode } from '../options.js';
import { checkInteger, checkOneOf } from '../validate.js';
import { checkLogicalDate, dateRange, daysBetween, type LogicalDate } from './dates.js';
import type {
  BackfillEvent,
  BackfillReport,
  DateOutcome,
  DateState,
  DateStatus,
} from './events.js';
import {
  checkDistinctOutputs,
  datedJob,
  pickScoreJob,
  runDatedJob,
  validateScoreJob,
  type DatedJob,
} from './job.js';
import {
  DEFAULT_BACKFILL_CONCURRENCY,
  DEFAULT_REPROCESS,
  type BackfillOptions,
  type Reprocess,
  type ScoreJob,
} from './options.js';
import { jobIdentity, readDateState, type JobIdentity } from './state.js';

/** Maximum number of dates in one backfill, about 270 years of days. */
export const MAX_BACKFILL_DATES = 100_000;

/**
 * Runs a scoring job for every date of a range, each date into its own committed output.
 *
 * Before a date runs, its state is read from the output's lock, link and `_SUCCESS`
 * manifest alone. A date that is up to date (same input files, model and settings) is
 * skipped without planning its input or starting a worker pool, unless `reprocess` is
 * `all`. A date whose output a live run is writing is reported `locked` and not run.
 * Dates run in resume mode, so a date that runs again reuses every part whose input is
 * unchanged; with `reprocess: 'all'` they run in overwrite mode.
 *
 * Resolves with one outcome per date; a failed date does not stop the others.
 *
 * @example
 * ```ts
 * const report = await backfill({
 *   start: '2026-01-01',
 *   end: '2026-01-07',
 *   model: 'churn.onnx',
 *   input: 'data/customers_{ds}.csv',
 *   output: 'scored/dt={ds}',
 * });
 * console.log(report.counts); // { done: 7, skipped: 0, failed: 0, ... }
 * ```
 */
export async function backfill(options: BackfillOptions): Promise<BackfillReport> {
  const settings = validateBackfillOptions(options);
  const job = pickScoreJob(options);
  const identity = await jobIdentity(job);
  const jobs = settings.dates.map((ds) => datedJob(job, ds));
  checkDistinctOutputs(jobs, job.output);

  const emit = eventEmitter(options.onEvent);
  emit({ type: 'backfill-start', dates: settings.dates, dryRun: settings.dryRun });
  const run = new DateRunner(job, identity, settings, emit, options.signal);
  const dates = settings.dryRun
    ? await Promise.all(jobs.map((dated) => run.plan(dated)))
    : await runAll(jobs, settings.concurrency, (dated) => run.run(dated));
  const report: BackfillReport = { dryRun: settings.dryRun, dates, counts: countByStatus(dates) };
  emit({ type: 'backfill-end', report });
  return report;
}

interface BackfillSettings {
  dates: LogicalDate[];
  concurrency: number;
  reprocess: Reprocess;
  dryRun: boolean;
}

function validateBackfillOptions(options: BackfillOptions): BackfillSettings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('Expected an options object');
  }
  const start = checkLogicalDate('start', options.start);
  const end = checkLogicalDate('end', options.end);
  if (daysBetween(start, end) < 0) {
    throw new InvalidOptionError(
      `Expected \`end\` (${end}) to be on or after \`start\` (${start})`,
    );
  }
  checkInteger('stepDays', options.stepDays, 1);
  checkInteger('concurrency', options.concurrency, 1);
  checkOneOf('reprocess', options.reprocess, ['none', 'failed', 'all']);
  validateScoreJob(options);

  const step = options.stepDays ?? 1;
  if (daysBetween(start, end) / step >= MAX_BACKFILL_DATES) {
    throw new InvalidOptionError(
      `Expected at most ${MAX_BACKFILL_DATES} dates from \`start\` to \`end\`, got ` +
        `${Math.floor(daysBetween(start, end) / step) + 1}`,
      { fix: 'Split the range, or pass a larger stepDays' },
    );
  }
  const dates = dateRange(start, end, step);
  if (options.reverse === true) dates.reverse();
  return {
    dates,
    concurrency: options.concurrency ?? DEFAULT_BACKFILL_CONCURRENCY,
    reprocess: options.reprocess ?? DEFAULT_REPROCESS,
    dryRun: options.dryRun === true,
  };
}

/** Action of a backfill on a date, by the date's state. */
type Decision =
  | { action: 'run'; mode: WriteMode }
  | { action: 'skip'; status: DateStatus; reason?: DateOutcome['reason'] };

function decide(state: DateState, reprocess: Reprocess): Decision {
  const mode: WriteMode = reprocess === 'all' ? 'overwrite' : 'resume';
  if (state === 'locked') return { action: 'skip', status: 'locked' };
  if (state === 'done' && reprocess !== 'all') {
    return { action: 'skip', status: 'skipped', reason: 'up-to-date' };
  }
  if (state === 'failed' && reprocess === 'none') {
    return { action: 'skip', status: 'skipped', reason: 'failed-before' };
  }
  return { action: 'run', mode };
}

/** Reads the state of each date and runs or skips it. */
class DateRunner {
  constructor(
    private readonly job: ScoreJob,
    private readonly identity: JobIdentity,
    private readonly settings: BackfillSettings,
    private readonly emit: (event: BackfillEvent) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Works out what a date would do, without running it. */
  async plan(dated: DatedJob): Promise<DateOutcome> {
    const started = performance.now();
    const state = await readDateState(this.job, dated, this.identity);
    const decision = decide(state, this.settings.reprocess);
    const outcome = decision.action === 'run'
      ? this.outcome(dated, started, state, 'planned')
      : this.outcome(dated, started, state, decision.status, decision.reason);
    this.emit({ type: 'date-end', outcome });
    return outcome;
  }

  /** Runs a date, or skips it when its state and `reprocess` call for that. */
  async run(dated: DatedJob): Promise<DateOutcome> {
    const started = performance.now();
    if (this.aborted()) {
      return this.finish(this.outcome(dated, started, undefined, 'cancelled'));
    }
    const state = await readDateState(this.job, dated, this.identity);
    const decision = decide(state, this.settings.reprocess);
    if (decision.action === 'skip') {
      return this.finish(this.outcome(dated, started, state, decision.status, decision.reason));
    }

    this.emit({ type: 'date-start', ds: dated.ds, state, output: dated.output });
    try {
      const summary = await runDatedJob(this.job, dated, decision.mode, this.signal, (event) =>
        this.emit({ type: 'score', ds: dated.ds, event }),
      );
      return this.finish({ ...this.outcome(dated, started, state, 'done'), summary });
    } catch (error) {
      const typed = error instanceof Error ? error : new Error(String(error));
      const code = error instanceof BatchscoreError ? error.code : undefined;
      // A run that started after the state was read may hold the lock by now.
      let status: DateStatus = code === 'ERR_OUTPUT_LOCKED' ? 'locked' : 'failed';
      if (code === 'ERR_ABORTED' && this.aborted()) status = 'cancelled';
      return this.finish({ ...this.outcome(dated, started, state, status), error: typed, code });
    }
  }

  private aborted(): boolean {
    return this.signal?.aborted === true;
  }

  private outcome(
    dated: DatedJob,
    started: number,
    state: DateState | undefined,
    status: DateStatus,
    reason?: DateOutcome['reason'],
  ): DateOutcome {
    const outcome: DateOutcome = {
      ds: dated.ds,
      input: dated.input,
      output: dated.output,
      state,
      status,
      durationMs: Math.round(performance.now() - started),
    };
    if (reason !== undefined) outcome.reason = reason;
    return outcome;
  }

  private finish(outcome: DateOutcome): DateOutcome {
    this.emit({ type: 'date-end', outcome });
    return outcome;
  }
}

/** Runs `task` over `items`, at most `concurrency` at once, and keeps the results in order. */
async function runAll<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

function countByStatus(dates: readonly DateOutcome[]): Record<DateStatus, number> {
  const counts: Record<DateStatus, number> = {
    done: 0,
    skipped: 0,
    failed: 0,
    locked: 0,
    cancelled: 0,
    planned: 0,
  };
  for (const outcome of dates) counts[outcome.status] += 1;
  return counts;
}

function eventEmitter(listener: ((event: BackfillEvent) => void) | undefined) {
  return (event: BackfillEvent): void => {
    try {
      listener?.(event);
    } catch {
      // Listeners are documented as not throwing, so one that does must not fail the backfill.
    }
  };
}
