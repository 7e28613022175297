import type { ErrorCode } from '../errors.js';
import type { RunSummary, ScoreEvent } from '../events.js';
import type { LogicalDate } from './dates.js';

/**
 * State of a date's output before a backfill runs it, read from the output path, its
 * `_SUCCESS` manifest and its lock file alone.
 * - `missing`: no committed output and no trace of an attempt.
 * - `done`: a committed output made from the same input files (size and modification
 *   time), model (sha256 and version) and settings.
 * - `stale`: a committed output made from other input files, model or settings.
 * - `failed`: no up-to-date output, and the staged files of an attempt that failed or was
 *   killed are left in the output's versions folder.
 * - `locked`: a live process holds the output's lock and is writing it.
 */
export type DateState = 'missing' | 'done' | 'stale' | 'failed' | 'locked';

/**
 * Result of a backfill for one date.
 * - `done`: ran and committed.
 * - `skipped`: not run, because of `reprocess` (see `reason`).
 * - `failed`: ran and failed; the date's committed output, if any, is unchanged.
 * - `locked`: not run, because another live run is writing the date's output.
 * - `cancelled`: not started, or stopped before it committed, because the backfill was
 *   aborted.
 * - `planned`: would run; only in a dry run.
 */
export type DateStatus = 'done' | 'skipped' | 'failed' | 'locked' | 'cancelled' | 'planned';

/** Outcome of one date of a backfill. */
export interface DateOutcome {
  ds: LogicalDate;
  /** Input paths or globs for this date, templates rendered. */
  input: string | string[];
  /** Absolute output path for this date. */
  output: string;
  /** State of the output before the date ran. Absent for a date cancelled before it started. */
  state?: DateState;
  status: DateStatus;
  /** Why a date was skipped: `up-to-date` or `failed-before`. */
  reason?: 'up-to-date' | 'failed-before';
  /** Summary of the run, for a date that ran and committed. */
  summary?: RunSummary;
  /** Error that failed the date. */
  error?: Error;
  /** Stable code of `error`, when it has one. */
  code?: ErrorCode;
  /** Wall time spent on the date, state check included, in milliseconds. */
  durationMs: number;
}

/** Result of a backfill, dates in the order they were started. */
export interface BackfillReport {
  dryRun: boolean;
  dates: DateOutcome[];
  /** Number of dates by status. */
  counts: Record<DateStatus, number>;
}

/** Events of a backfill, in order: `backfill-start`, date events, `backfill-end`. */
export type BackfillEvent =
  | { type: 'backfill-start'; dates: LogicalDate[]; dryRun: boolean }
  | { type: 'date-start'; ds: LogicalDate; state: DateState; output: string }
  | { type: 'score'; ds: LogicalDate; event: ScoreEvent }
  | { type: 'date-end'; outcome: DateOutcome }
  | { type: 'backfill-end'; report: BackfillReport };

/**
 * Outcome of a scheduled tick.
 * - `succeeded`: an attempt succeeded.
 * - `failed`: every attempt failed, or the schedule was stopped during a retry delay.
 * - `skipped`: the previous run of this scheduler was still in progress, so the tick did
 *   not run.
 * - `locked`: another scheduler (usually another process) held the job lock.
 */
export type TickOutcome = 'succeeded' | 'failed' | 'skipped' | 'locked';

/** One line of a schedule's `history.jsonl`: a tick and what came of it. */
export interface HistoryRecord {
  ds: LogicalDate;
  /** Time of the tick, ISO 8601. */
  scheduledAt: string;
  trigger: 'schedule' | 'catch-up';
  outcome: TickOutcome;
  /** When the first attempt started (or the tick was skipped), ISO 8601. */
  startedAt: string;
  /** When the last attempt ended, ISO 8601. */
  finishedAt: string;
  durationMs: number;
  /** Attempts made; 0 for a skipped or locked tick. */
  attempts: number;
  /** Error of the last failed attempt, for a `failed` tick. */
  error?: { code?: string; message: string };
  /** Output that the run committed, when the job reports it. */
  output?: string;
  /** `_SUCCESS` manifest of that output. */
  manifest?: string;
  /** Rows written, when the job reports it. */
  rows?: number;
  /** Process that handled the tick. */
  pid: number;
}

/** Events of a schedule. */
export type ScheduleEvent =
  | { type: 'tick'; ds: LogicalDate; scheduledAt: Date; trigger: HistoryRecord['trigger'] }
  | { type: 'attempt'; ds: LogicalDate; scheduledAt: Date; attempt: number }
  | { type: 'retry'; ds: LogicalDate; attempt: number; delayMs: number; error: Error }
  | { type: 'success'; record: HistoryRecord }
  | { type: 'failure'; record: HistoryRecord; error: Error }
  | { type: 'skipped'; record: HistoryRecord }
  | { type: 'locked'; record: HistoryRecord }
  | { type: 'score'; ds: LogicalDate; event: ScoreEvent }
  /** The scheduler could not write its history or state; the schedule goes on. */
  | { type: 'error'; error: Error };
