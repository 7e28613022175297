import type { Manifest, PartRecord } from '../commit/manifest.js';
import { BatchscoreError, DataError } from '../errors.js';
import type {
  LatencyPercentiles,
  PartitionResult,
  RunSummary,
  StageTimings,
  WorkerStats,
} from '../events.js';
import { VERSION } from '../version.js';

/** A finished partition: its part record and how it was computed. */
export interface Completed extends PartitionResult {
  record: PartRecord;
  sessionsCreated: number;
}

/** Labels of a run that end up in the summary and the manifest. */
export interface RunLabels {
  runId: string;
  output: string;
  settingsKey: string;
  modelVersion?: string;
  modelSha256?: string;
  scoredAt?: string;
}

/** Builds the summary of a finished run. */
export function summarize(
  results: Completed[],
  labels: RunLabels,
  started: number,
  workerCount: number,
): RunSummary {
  const timings: StageTimings = { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 };
  const workers = new Map<number, WorkerStats>();
  let rowsIn = 0;
  let rowsOut = 0;
  let rowsRejected = 0;
  let retries = 0;
  for (const result of results) {
    rowsIn += result.rowsIn;
    rowsOut += result.rowsOut;
    rowsRejected += result.rowsRejected;
    if (result.reused) continue;
    retries += result.attempts - 1;
    for (const key of Object.keys(timings) as (keyof StageTimings)[]) {
      timings[key] += result.timings[key];
    }
    const stats = workers.get(result.threadId) ??
      { threadId: result.threadId, sessionsCreated: 0, partitions: 0 };
    stats.partitions += 1;
    stats.sessionsCreated = Math.max(stats.sessionsCreated, result.sessionsCreated);
    workers.set(result.threadId, stats);
  }
  const computed = results.filter((result) => !result.reused);
  const durationMs = performance.now() - started;
  const busyMs = timings.readMs + timings.convertMs + timings.inferMs + timings.writeMs;
  return {
    runId: labels.runId,
    output: labels.output,
    files: results.map((result) => result.record.file),
    partitions: results.length,
    rowsIn,
    rowsOut,
    rowsRejected,
    rejectedFiles: results.flatMap((result) => result.record.rejectedFile ?? []),
    modelVersion: labels.modelVersion,
    modelSha256: labels.modelSha256,
    scoredAt: labels.scoredAt,
    durationMs,
    rowsPerSecond: durationMs > 0 ? (rowsIn / durationMs) * 1000 : 0,
    timings,
    workers: [...workers.values()].sort((a, b) => a.threadId - b.threadId),
    reusedPartitions: results.length - computed.length,
    retries,
    partitionLatencyMs: percentiles(computed.map((result) => result.latencyMs)),
    workerUtilization: durationMs > 0 ? Math.min(1, busyMs / (durationMs * workerCount)) : 0,
  };
}

/** Nearest-rank percentiles of `values`. */
export function percentiles(values: number[]): LatencyPercentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  return { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: sorted.at(-1) as number };
}

/** Rejected-row limits of a run; a limit left undefined does not apply. */
export interface RejectBudget {
  maxRows: number | undefined;
  maxFraction: number | undefined;
}

/** Returns whether `rejected` of `rowsIn` rows exceeds either limit of the budget. */
export function exceedsBudget(budget: RejectBudget, rejected: number, rowsIn: number): boolean {
  if (budget.maxRows !== undefined && rejected > budget.maxRows) return true;
  return budget.maxFraction !== undefined && rejected > budget.maxFraction * rowsIn;
}

/**
 * Fails the run when the rejected rows of all partitions together exceed the budget.
 * Each worker checks its own partition, and only the main thread has the total.
 */
export function checkRejectedTotal(
  summary: RunSummary,
  budget: RejectBudget,
  rejectedDir: string,
): void {
  if (!exceedsBudget(budget, summary.rowsRejected, summary.rowsIn)) return;
  const limits = [];
  if (budget.maxRows !== undefined) limits.push(`maxRejectedRows (${budget.maxRows})`);
  if (budget.maxFraction !== undefined) limits.push(`maxRejectedFraction (${budget.maxFraction})`);
  const limit = limits.join(' and ');
  throw new DataError(
    'ERR_VALUE_CONVERSION',
    `${summary.rowsRejected} of ${summary.rowsIn} rows were rejected, more than ${limit} allows`,
    {
      file: rejectedDir,
      fix: 'Read the reasons in the rejected-rows files of that unpublished folder, fix the ' +
        'input, or raise the limit',
    },
  );
}

/** Checks that every row is accounted for: rows in = rows out + rows rejected. */
export function checkRowBalance(summary: RunSummary, scoring: boolean): void {
  if (!scoring) return;
  if (summary.rowsIn === summary.rowsOut + summary.rowsRejected) return;
  throw new BatchscoreError(
    'ERR_INFERENCE',
    `Rows do not add up: ${summary.rowsIn} read, ${summary.rowsOut} written and ` +
      `${summary.rowsRejected} rejected`,
    { fix: 'This is a bug in batchscore; please report it with the input that caused it' },
  );
}

/** Builds the `_SUCCESS` manifest of a run. */
export function buildManifest(summary: RunSummary, results: Completed[], labels: RunLabels): Manifest {
  const manifest: Manifest = {
    format: 'batchscore-manifest',
    manifestVersion: 1,
    batchscoreVersion: VERSION,
    runId: summary.runId,
    committedAt: new Date().toISOString(),
    settingsKey: labels.settingsKey,
    rows: { in: summary.rowsIn, out: summary.rowsOut, rejected: summary.rowsRejected },
    reusedParts: summary.reusedPartitions,
    parts: results.map((result) => result.record),
  };
  if (summary.scoredAt !== undefined) manifest.scoredAt = summary.scoredAt;
  if (summary.modelSha256 !== undefined) {
    manifest.model = { version: summary.modelVersion ?? '', sha256: summary.modelSha256 };
  }
  return manifest;
}
