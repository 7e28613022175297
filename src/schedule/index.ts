export { backfill, MAX_BACKFILL_DATES } from './backfill.js';
export { schedule, type ScheduleHandle } from './schedule.js';
export { nextTicks, type NextTicksOptions, type Tick } from './ticks.js';
export { readHistory, HISTORY_FILE, JOB_LOCK_FILE } from './history.js';
export { DATE_PLACEHOLDERS, renderTemplate, type DatePlaceholder } from './template.js';
export type { LogicalDate } from './dates.js';
export {
  DEFAULT_BACKFILL_CONCURRENCY,
  DEFAULT_JOB_MAX_RETRY_DELAY_MS,
  DEFAULT_JOB_RETRIES,
  DEFAULT_JOB_RETRY_DELAY_MS,
  DEFAULT_REPROCESS,
  DEFAULT_TIMEZONE,
} from './options.js';
export type {
  BackfillOptions,
  JobFunction,
  JobResult,
  JobRun,
  Reprocess,
  ScheduleOptions,
  ScoreJob,
} from './options.js';
export type {
  BackfillEvent,
  BackfillReport,
  DateOutcome,
  DateState,
  DateStatus,
  HistoryRecord,
  ScheduleEvent,
  TickOutcome,
} from './events.js';
