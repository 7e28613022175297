/**
 * Entry module of each pool thread. Piscina loads it once per thread, so everything kept
 * at module level (the model session, the user's module) lives as long as the thread and
 * serves every partition the thread handles.
 */
import { writeFile } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import type { Table } from 'apache-arrow';
import { workerData } from 'piscina';
import { DataError, OutputError, serializeError } from '../errors.js';
import { injectFault } from '../faults.js';
import type { StageTimings } from '../events.js';
import { readPartition } from './read-partition.js';
import { MapHandler } from './map.js';
import type { PartitionTask, RejectedRecord, TaskResult, WorkerConfig } from './protocol.js';
import { ScoreHandler } from './score.js';
import { writePart } from '../write/part.js';

const config = workerData as WorkerConfig;

const handler = config.handler.kind === 'score'
  ? new ScoreHandler(config.handler)
  : new MapHandler(config.handler.module, config.handler.options);

// The model is loaded by the first task, not when the thread starts. A pool destroyed
// while onnxruntime still creates a session aborts the process, because onnxruntime-node
// 1.31 throws a Napi::Error that nothing catches. The pool is destroyed only when no task
// runs.

/** Reads, processes and writes one partition. Never throws: failures are returned. */
export default async function processTask(task: PartitionTask): Promise<TaskResult> {
  try {
    return await runTask(task);
  } catch (error) {
    return {
      ok: false,
      partition: task.partition,
      error: serializeError(error),
      retryable: isTransient(error),
      threadId,
    };
  }
}

/** errno codes of failures that may pass when the same I/O is tried again. */
const TRANSIENT_CODES = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EINTR']);

function isTransient(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  }
  return false;
}

async function runTask(task: PartitionTask): Promise<TaskResult> {
  const timings: StageTimings = { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 };
  if (injectFault('crash', task.partition, task.attempt)) process.exit(70);
  if (injectFault('hang', task.partition, task.attempt)) await new Promise(() => {});

  // 1. Read the partition; rows that cannot be parsed are rejected here.
  let started = performance.now();
  const read = await readPartition(task.source);
  timings.readMs = performance.now() - started;
  const rowsIn = read.table.numRows + read.rejected.length;

  // 2. Score or transform it.
  const context = {
    partition: task.partition,
    file: 'file' in task.source ? task.source.file : undefined,
    firstRow: task.source.firstRow,
  };
  let output: Table;
  let rejected: RejectedRecord[] = read.rejected;
  if (handler instanceof ScoreHandler) {
    const scored = await handler.process(read, context, timings);
    output = scored.table;
    rejected = [...rejected, ...scored.rejected];
  } else {
    started = performance.now();
    output = await handler.process(read, context);
    timings.convertMs = performance.now() - started;
  }
  checkRejectedBudget(rejected, context.file);

  // 3. Write the part file and the rejected rows, both flushed to disk.
  started = performance.now();
  if (injectFault('write-error', task.partition, task.attempt)) throw injectedWriteError(task);
  const written = await writePart(output, task.partPath, config, config.metadata);
  if (rejected.length > 0) await writeRejected(task.rejectedPath, rejected, context.file);
  timings.writeMs += performance.now() - started;

  return {
    ok: true,
    partition: task.partition,
    rowsIn,
    rowsOut: output.numRows,
    rowsRejected: rejected.length,
    bytes: written.bytes,
    sha256: written.sha256,
    rejectedWritten: rejected.length > 0,
    threadId,
    sessionsCreated: handler instanceof ScoreHandler ? handler.sessionsCreated : 0,
    timings,
  };
}

function injectedWriteError(task: PartitionTask): OutputError {
  const cause = Object.assign(new Error('injected write failure'), { code: 'EIO' });
  return new OutputError('ERR_OUTPUT_NOT_WRITABLE', 'Cannot write part file: EIO', {
    file: task.partPath,
    cause,
  });
}

function checkRejectedBudget(rejected: RejectedRecord[], file: string | undefined): void {
  const first = rejected[0];
  const limit = config.maxRejectedRows;
  if (first === undefined || limit === undefined || rejected.length <= limit) return;
  throw new DataError(first.code, `Row cannot be scored: ${first.reason}`, {
    file: first.file ?? file,
    row: first.row,
    column: first.column,
    value: first.value,
    fix: limit === 0
      ? 'Fix the value, or set maxRejectedRows (--max-rejected) to write bad rows to ' +
        '_rejected/ and go on'
      : `More than maxRejectedRows (${limit}) rows were rejected in one ` +
        'partition; fix the input or raise the limit',
  });
}

async function writeRejected(path: string, rows: RejectedRecord[], file: string | undefined) {
  const lines = rows.map((row) => JSON.stringify({ file, ...row }, jsonValue));
  await writeFile(path, `${lines.join('\n')}\n`, { flush: true });
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
