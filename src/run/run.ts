import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import {
  AbortError,
  BatchscoreError,
  DataError,
  WorkerCrashedError,
  deserializeError,
} from '../errors.js';
import type { PartitionResult, RunSummary, ScoreEvent, StageTimings, WorkerStats } from '../events.js';
import {
  DEFAULT_COMPRESSION,
  DEFAULT_PARQUET_ENGINE,
  DEFAULT_PARTITION_BYTES,
  DEFAULT_PARTITION_ROWS,
  DEFAULT_WRITE_MODE,
  type PartitionedRunOptions,
} from '../options.js';
import { planInput } from '../plan/index.js';
import { describePartition, type InputPlan, type PartitionSource } from '../plan/types.js';
import { checkInteger, checkOneOf, checkString } from '../validate.js';
import { VERSION } from '../version.js';
import type { HandlerSpec, PartitionTask, TaskResult, WorkerConfig } from '../worker/protocol.js';
import { partExtension } from '../write/part.js';
import { commitOutput, discardStaging, prepareOutput, REJECTED_DIR, type Staging } from './output.js';

/** What a public entry point adds to a run: the worker's handler and the output's labels. */
export interface RunSpec {
  handler: HandlerSpec;
  /** Key-value metadata for every part file, besides the run id and the version. */
  metadata: Record<string, string>;
  maxRejectedRows: number;
  /** Fields added to the summary and the manifest. */
  labels: Pick<RunSummary, 'modelVersion' | 'modelSha256' | 'scoredAt'>;
}

const WORKER_URL = new URL('../worker/worker.js', import.meta.url);

/** Checks the options shared by every entry point. */
export function validateRunOptions(options: PartitionedRunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new BatchscoreError('ERR_INVALID_OPTION', 'Expected an options object');
  }
  checkString('output', options.output, false);
  checkOneOf('format', options.format, ['parquet', 'arrow', 'csv', 'jsonl']);
  checkOneOf('outputFormat', options.outputFormat, ['parquet', 'arrow']);
  checkOneOf('mode', options.mode, ['fail-if-exists', 'overwrite']);
  checkOneOf('parquetEngine', options.parquetEngine, ['parquet-wasm', 'parquetjs-lite']);
  checkOneOf('compression', options.compression, ['snappy', 'zstd', 'gzip', 'none']);
  checkInteger('workers', options.workers, 1);
  checkInteger('partitionBytes', options.partitionBytes, 1);
  checkInteger('partitionRows', options.partitionRows, 1);
  checkString('runId', options.runId);
  if (options.delimiter !== undefined && options.delimiter.length !== 1) {
    throw new BatchscoreError(
      'ERR_INVALID_OPTION',
      `Expected \`delimiter\` to be one character, got ${JSON.stringify(options.delimiter)}`,
    );
  }
}

/** Plans the input of a run from its options. */
export function planRunInput(options: PartitionedRunOptions): Promise<InputPlan> {
  const sizedByUser = options.partitionBytes !== undefined || options.partitionRows !== undefined;
  return planInput(options.input, {
    minPartitions: sizedByUser ? null : workerCount(options) * 2,
    format: options.format,
    partitionBytes: options.partitionBytes ?? DEFAULT_PARTITION_BYTES,
    partitionRows: options.partitionRows ?? DEFAULT_PARTITION_ROWS,
    delimiter: options.delimiter ?? ',',
    columnTypes: options.columnTypes,
  });
}

/**
 * Runs every partition of `plan` on a worker pool, stages the part files and commits them.
 * Nothing is committed unless every partition succeeds.
 */
export async function runPartitioned(
  options: PartitionedRunOptions,
  plan: InputPlan,
  spec: RunSpec,
): Promise<RunSummary> {
  const started = performance.now();
  const runId = options.runId ?? randomUUID();
  const output = resolve(options.output);
  const emit = eventEmitter(options.onEvent);
  options.signal?.throwIfAborted();

  const staging = await prepareOutput(output, options.mode ?? DEFAULT_WRITE_MODE, runId);
  const config = workerConfig(options, spec, runId);
  const workers = workerCount(options);
  const pool = new Piscina({
    filename: WORKER_URL.href,
    minThreads: workers,
    maxThreads: workers,
    workerData: config,
    // Workers await onnxruntime and file I/O between tasks, so they must keep an event loop.
    atomics: 'disabled',
    idleTimeout: Number.MAX_SAFE_INTEGER,
  });
  emit({ type: 'run-start', runId, partitions: plan.partitionCount ?? 0, rowsPlanned: plan.rows });

  try {
    const results = await dispatch(pool, plan, staging, config, options, emit, started, workers);
    const summary = summarize(results, runId, output, spec, started);
    checkRejectedTotal(summary, spec.maxRejectedRows);
    checkRowBalance(summary, spec);
    await commitOutput(staging, summary.files, rejectedNames(results), manifest(summary, results));
    emit({ type: 'commit', files: summary.files.length });
    emit({ type: 'run-end', summary });
    return summary;
  } catch (error) {
    await discardStaging(staging);
    const typed = error instanceof Error ? error : new Error(String(error));
    emit({ type: 'run-failed', error: typed });
    throw typed;
  } finally {
    await pool.destroy();
  }
}

function workerCount(options: PartitionedRunOptions): number {
  return options.workers ?? availableParallelism();
}

function workerConfig(options: PartitionedRunOptions, spec: RunSpec, runId: string): WorkerConfig {
  return {
    handler: spec.handler,
    format: options.outputFormat ?? 'parquet',
    engine: options.parquetEngine ?? DEFAULT_PARQUET_ENGINE,
    compression: options.compression ?? DEFAULT_COMPRESSION,
    metadata: {
      ...spec.metadata,
      'batchscore.version': VERSION,
      'batchscore.run_id': runId,
    },
    maxRejectedRows: spec.maxRejectedRows,
  };
}

type Emit = (event: ScoreEvent) => void;

function eventEmitter(listener: ((event: ScoreEvent) => void) | undefined): Emit {
  return (event) => {
    try {
      listener?.(event);
    } catch {
      // A listener's failure must not fail or corrupt the run; listeners are documented
      // as not throwing.
    }
  };
}

interface Completed extends PartitionResult {
  /** Part file name. */
  file: string;
  sha256: string;
  rejectedWritten: boolean;
  description: string;
  sessionsCreated: number;
}

/**
 * Feeds partitions to the pool with at most two per worker in flight, so a stream input
 * is read only as fast as it is scored and its buffers do not pile up in the main thread.
 */
async function dispatch(
  pool: Piscina,
  plan: InputPlan,
  staging: Staging,
  config: WorkerConfig,
  options: PartitionedRunOptions,
  emit: Emit,
  started: number,
  workers: number,
): Promise<Completed[]> {
  const results: Completed[] = [];
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  const stop = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  let failure: unknown;
  let rowsDone = 0;
  let index = 0;
  const extension = partExtension(config.format);

  const finish = (completed: Completed) => {
    results[completed.partition] = completed;
    rowsDone += completed.rowsIn;
    emit({
      type: 'partition-end',
      result: completed,
      partitionsDone: results.filter(Boolean).length,
      partitions: plan.partitionCount ?? index,
      rowsDone,
      rowsPlanned: plan.rows,
      elapsedMs: performance.now() - started,
    });
  };

  try {
    for await (const source of plan.partitions) {
      if (failure !== undefined || abort.signal.aborted) break;
      const partition = index++;
      const task = partitionTask(partition, source, staging, extension);
      const description = describePartition(source);
      emit({ type: 'partition-start', partition, description });
      const file = basename(task.partPath);
      const running = runTask(pool, task, abort.signal)
        .then((result) => finish({ ...result, description, file }))
        .catch((error: unknown) => {
          failure ??= error;
          abort.abort(error);
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
      while (inFlight.size >= workers * 2) await Promise.race(inFlight);
    }
  } catch (error) {
    // The input itself failed while it was being read (an Arrow stream, a batch iterator).
    failure ??= error;
    abort.abort(error);
  }
  await Promise.all(inFlight);
  options.signal?.removeEventListener('abort', stop);

  if (options.signal?.aborted === true) {
    throw new AbortError(undefined, { cause: options.signal.reason });
  }
  if (failure !== undefined) throw failure;
  return results;
}

function partitionTask(
  partition: number,
  source: PartitionSource,
  staging: Staging,
  extension: string,
): PartitionTask {
  const name = partName(partition);
  return {
    partition,
    source,
    partPath: join(staging.dir, `${name}${extension}`),
    rejectedPath: join(staging.rejectedDir, `${name}.jsonl`),
  };
}

function partName(partition: number): string {
  return `part-${String(partition).padStart(5, '0')}`;
}

async function runTask(pool: Piscina, task: PartitionTask, signal: AbortSignal) {
  const transferList = task.source.kind === 'ipc' ? [task.source.bytes.buffer as ArrayBuffer] : undefined;
  let result: TaskResult;
  try {
    result = (await pool.run(task, { signal, transferList })) as TaskResult;
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? new AbortError();
    throw new WorkerCrashedError('A worker thread stopped while it processed a partition', {
      partition: task.partition,
      value: describePartition(task.source),
      fix: 'Check the worker module or the model for code that exits the thread; ' +
        'run with fewer workers if the machine ran out of memory',
      cause: error,
    });
  }
  if (!result.ok) throw deserializeError(result.error);
  const { ok: _ok, ...rest } = result;
  return rest;
}

function summarize(
  results: Completed[],
  runId: string,
  output: string,
  spec: RunSpec,
  started: number,
): RunSummary {
  const timings: StageTimings = { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 };
  const workers = new Map<number, WorkerStats>();
  let rowsIn = 0;
  let rowsOut = 0;
  let rowsRejected = 0;
  for (const result of results) {
    rowsIn += result.rowsIn;
    rowsOut += result.rowsOut;
    rowsRejected += result.rowsRejected;
    for (const key of Object.keys(timings) as (keyof StageTimings)[]) {
      timings[key] += result.timings[key];
    }
    const stats = workers.get(result.threadId) ??
      { threadId: result.threadId, sessionsCreated: 0, partitions: 0 };
    stats.partitions += 1;
    stats.sessionsCreated = Math.max(stats.sessionsCreated, result.sessionsCreated);
    workers.set(result.threadId, stats);
  }
  const durationMs = performance.now() - started;
  return {
    runId,
    output,
    files: results.map((result) => result.file),
    partitions: results.length,
    rowsIn,
    rowsOut,
    rowsRejected,
    rejectedFiles: rejectedNames(results).map((name) => `${REJECTED_DIR}/${name}`),
    ...spec.labels,
    durationMs,
    rowsPerSecond: durationMs > 0 ? (rowsIn / durationMs) * 1000 : 0,
    timings,
    workers: [...workers.values()].sort((a, b) => a.threadId - b.threadId),
  };
}

function rejectedNames(results: Completed[]): string[] {
  return results
    .filter((result) => result.rejectedWritten)
    .map((result) => `${partName(result.partition)}.jsonl`);
}

/**
 * Fails the run when the rejected rows of all partitions together exceed the budget.
 * Each worker checks its own partition; only the main thread sees the total.
 */
function checkRejectedTotal(summary: RunSummary, maxRejectedRows: number): void {
  if (summary.rowsRejected <= maxRejectedRows) return;
  throw new DataError(
    'ERR_VALUE_CONVERSION',
    `${summary.rowsRejected} rows were rejected, more than maxRejectedRows (${maxRejectedRows})`,
    { fix: 'Read the reasons in the rejected rows, fix the input, or raise maxRejectedRows' },
  );
}

/** Checks that every row is accounted for: rows in = rows out + rows rejected. */
function checkRowBalance(summary: RunSummary, spec: RunSpec): void {
  if (spec.handler.kind !== 'score') return;
  if (summary.rowsIn === summary.rowsOut + summary.rowsRejected) return;
  throw new BatchscoreError(
    'ERR_INFERENCE',
    `Rows do not add up: ${summary.rowsIn} read, ${summary.rowsOut} written and ` +
      `${summary.rowsRejected} rejected`,
    { fix: 'This is a bug in batchscore; please report it with the input that caused it' },
  );
}

/** The `_SUCCESS` manifest: what was committed, from what, by which run. */
function manifest(summary: RunSummary, results: Completed[]) {
  return {
    batchscoreVersion: VERSION,
    runId: summary.runId,
    committedAt: new Date().toISOString(),
    scoredAt: summary.scoredAt,
    model: summary.modelSha256 === undefined
      ? undefined
      : { version: summary.modelVersion, sha256: summary.modelSha256 },
    rows: { in: summary.rowsIn, out: summary.rowsOut, rejected: summary.rowsRejected },
    parts: results.map((result) => ({
      file: result.file,
      partition: result.partition,
      input: result.description,
      rows: result.rowsOut,
      rejected: result.rowsRejected,
      bytes: result.bytes,
      sha256: result.sha256,
    })),
    rejected: summary.rejectedFiles,
  };
}
