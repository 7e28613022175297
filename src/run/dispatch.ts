import { setTimeout as sleep } from 'node:timers/promises';
import type { Piscina } from 'piscina';
import {
  AbortError,
  BatchscoreError,
  WorkerCrashedError,
  deserializeError,
} from '../errors.js';
import type { ScoreEvent } from '../events.js';
import type { InputPlan, PartitionSource } from '../plan/types.js';
import { describePartition } from '../plan/types.js';
import type { PartitionTask, TaskResult } from '../worker/protocol.js';
import type { Completed } from './summary.js';

type Emit = (event: ScoreEvent) => void;
type Success = Extract<TaskResult, { ok: true }>;

/** Retry settings of failed attempts. */
export interface RetryPolicy {
  maxRetries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Per-attempt time limit, in milliseconds; undefined for none. */
  partitionTimeoutMs: number | undefined;
}

/** Pool, plan and callbacks that the dispatcher works with. */
export interface DispatchContext {
  pool: Piscina;
  plan: InputPlan;
  workers: number;
  retry: RetryPolicy;
  signal: AbortSignal | undefined;
  emit: Emit;
  started: number;
  /** Builds the task of a partition, for a given attempt. */
  task(partition: number, source: PartitionSource, attempt: number): PartitionTask;
  /** Returns a reused part for the partition, or null when it must be computed. */
  reuse(partition: number, source: PartitionSource): Promise<Completed | null>;
  /** Turns a worker's result into a finished partition and records it. */
  complete(
    partition: number,
    source: PartitionSource,
    result: Success,
    attempts: number,
    latencyMs: number,
  ): Promise<Completed>;
}

/**
 * Feeds partitions to the pool with at most two per worker in flight, so a stream input
 * is read only as fast as it is scored and its buffers do not pile up in the main thread.
 * Stops at the first failure that retries cannot overcome, and waits for the partitions
 * in flight before it rejects.
 */
export async function dispatch(context: DispatchContext): Promise<Completed[]> {
  const { plan, signal, emit } = context;
  const results: Completed[] = [];
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  const stop = () => abort.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  let failure: unknown;
  let rowsDone = 0;
  let done = 0;
  let index = 0;

  const finish = (completed: Completed) => {
    results[completed.partition] = completed;
    const { rejectedFile } = completed.record;
    if (rejectedFile !== undefined && !completed.reused) {
      emit({ type: 'rejected', partition: completed.partition, rows: completed.rowsRejected, file: rejectedFile });
    }
    rowsDone += completed.rowsIn;
    done += 1;
    emit({
      type: 'partition-end',
      result: completed,
      partitionsDone: done,
      partitions: plan.partitionCount ?? index,
      rowsDone,
      rowsPlanned: plan.rows,
      elapsedMs: performance.now() - context.started,
    });
  };

  try {
    for await (const source of plan.partitions) {
      if (failure !== undefined || abort.signal.aborted) break;
      const partition = index++;
      emit({ type: 'partition-start', partition, description: describePartition(source) });
      const running = processPartition(context, partition, source, abort.signal)
        .then(finish)
        .catch((error: unknown) => {
          failure ??= error;
          abort.abort(error);
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
      while (inFlight.size >= context.workers * 2) await Promise.race(inFlight);
    }
  } catch (error) {
    // The input itself failed while it was being read (an Arrow stream, a batch iterator).
    failure ??= error;
    abort.abort(error);
  }
  await Promise.all(inFlight);
  signal?.removeEventListener('abort', stop);

  if (signal?.aborted === true) throw new AbortError(undefined, { cause: signal.reason });
  if (failure !== undefined) throw failure;
  return results;
}

async function processPartition(
  context: DispatchContext,
  partition: number,
  source: PartitionSource,
  signal: AbortSignal,
): Promise<Completed> {
  const reused = await context.reuse(partition, source);
  if (reused !== null) return reused;
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await runAttempt(context, context.task(partition, source, attempt), signal);
      return await context.complete(partition, source, result, attempt + 1, performance.now() - started);
    } catch (error) {
      if (!isRetryable(error) || attempt >= context.retry.maxRetries || signal.aborted) throw error;
      const delayMs = backoff(context.retry, attempt);
      context.emit({ type: 'retry', partition, attempt: attempt + 1, delayMs, error: error as Error });
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** Exponential backoff with full jitter, so retries of many partitions spread out. */
function backoff(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxRetryDelayMs, policy.retryDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

const RETRYABLE = new WeakSet<object>();

function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has(error);
}

function retryable<T extends object>(error: T): T {
  RETRYABLE.add(error);
  return error;
}

async function runAttempt(context: DispatchContext, task: PartitionTask, runSignal: AbortSignal) {
  const { partitionTimeoutMs } = context.retry;
  // Only a time-out stops a running task. When the run is aborted or another partition
  // fails, tasks in flight finish first: terminating a worker thread while onnxruntime
  // runs a session aborts the whole process (onnxruntime-node 1.31 throws a Napi::Error
  // that nothing catches).
  // NOTE: a time-out still terminates its worker, so it carries the same risk when the
  // partition is stuck inside onnxruntime rather than in JavaScript or I/O.
  const timeout = partitionTimeoutMs === undefined ? undefined : AbortSignal.timeout(partitionTimeoutMs);
  if (runSignal.aborted) throw runSignal.reason ?? new AbortError();
  // Transfer a copy: the original stays here in case the attempt has to be retried.
  const transferList = task.source.kind === 'ipc' ? [copyBuffer(task)] : undefined;
  let result: TaskResult;
  try {
    result = (await context.pool.run(task, { signal: timeout, transferList })) as TaskResult;
  } catch (error) {
    if (timeout?.aborted === true) {
      throw retryable(new BatchscoreError('ERR_PARTITION_TIMEOUT', 'A partition took too long', {
        partition: task.partition,
        value: `${partitionTimeoutMs} ms`,
        fix: 'Raise partitionTimeoutMs, or use smaller partitions',
        cause: error,
      }));
    }
    throw retryable(new WorkerCrashedError('A worker thread stopped while it processed a partition', {
      partition: task.partition,
      value: describePartition(task.source),
      fix: 'Check the worker module or the model for code that exits the thread; ' +
        'run with fewer workers if the machine ran out of memory',
      cause: error,
    }));
  }
  if (!result.ok) {
    const error = deserializeError(result.error);
    throw result.retryable ? retryable(error) : error;
  }
  return result;
}

function copyBuffer(task: PartitionTask): ArrayBuffer {
  if (task.source.kind !== 'ipc') throw new Error('only IPC partitions carry a buffer');
  const copy = task.source.bytes.slice();
  task.source = { ...task.source, bytes: copy };
  return copy.buffer;
}
