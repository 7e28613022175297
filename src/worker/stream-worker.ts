/**
 * Entry module of the stream scorer's pool threads. Piscina loads it once per thread, so
 * the ScoreHandler below, and its onnxruntime session, serve every micro-batch the thread
 * scores. A micro-batch arrives as Arrow IPC bytes and leaves as Arrow IPC bytes, both
 * transferred instead of copied.
 */
import { threadId } from 'node:worker_threads';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { Piscina, workerData } from 'piscina';
import { serializeError, type SerializedError } from '../errors.js';
import type { StageTimings } from '../events.js';
import { constantTimestamp } from './assemble.js';
import type { HandlerSpec, RejectedRecord } from './protocol.js';
import { ScoreHandler } from './score.js';

/** Data that every stream worker receives once, as `workerData`. */
export interface StreamWorkerConfig {
  handler: Extract<HandlerSpec, { kind: 'score' }>;
}

/** A task: load the model, or score one micro-batch. */
export type StreamTask =
  | { kind: 'load' }
  | {
      kind: 'score';
      /** Features of the micro-batch, an Arrow IPC stream with one row per event. */
      ipc: Uint8Array;
      /** Identifies the micro-batch in error locations. */
      batch: number;
    };

/** Result of a task, as a worker returns it. */
export type StreamTaskResult =
  | {
      ok: true;
      /**
       * Scored rows as an Arrow IPC stream: the result columns, `model_version` and
       * `scored_at`, in event order, without the rejected rows. Empty for `load`.
       */
      ipc: Uint8Array;
      /** Rows that could not be converted; `row` is one-based within the micro-batch. */
      rejected: RejectedRecord[];
      /** When inference ended, in milliseconds since the Unix epoch. */
      scoredAt: number;
      timings: StageTimings;
      threadId: number;
      sessionsCreated: number;
    }
  | { ok: false; error: SerializedError; threadId: number };

const config = workerData as StreamWorkerConfig;
const handler = new ScoreHandler(config.handler);

// The model is loaded by the first task, not when the thread starts: a pool destroyed
// while onnxruntime still creates a session aborts the process (onnxruntime-node 1.31
// throws a Napi::Error that nothing catches).

/** Runs one task. Failures are returned, never thrown, because the catch below takes all. */
export default async function runStreamTask(task: StreamTask): Promise<unknown> {
  try {
    return task.kind === 'load' ? await load() : await score(task.ipc, task.batch);
  } catch (error) {
    const failed: StreamTaskResult = { ok: false, error: serializeError(error), threadId };
    return failed;
  }
}

async function load() {
  await handler.init();
  const result: StreamTaskResult = {
    ok: true,
    ipc: new Uint8Array(0),
    rejected: [],
    scoredAt: Date.now(),
    timings: { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 },
    threadId,
    sessionsCreated: handler.sessionsCreated,
  };
  return result;
}

async function score(ipc: Uint8Array, batch: number) {
  const timings: StageTimings = { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 };
  let started = performance.now();
  const table = tableFromIPC(ipc);
  timings.readMs = performance.now() - started;

  const read = { table, firstRow: 1, rejected: [] };
  const scored = await handler.process(
    read,
    { partition: batch, file: undefined, firstRow: 1 },
    timings,
  );

  // ScoreHandler stamps the time its worker started; a stream needs each batch's own.
  started = performance.now();
  const scoredAt = Date.now();
  const stamp = constantTimestamp(BigInt(scoredAt) * 1000n, scored.table.numRows);
  const output = scored.table.assign(new Table({ scored_at: stamp }));
  const bytes = tableToIPC(output, 'stream');
  timings.writeMs += performance.now() - started;

  const result: StreamTaskResult = {
    ok: true,
    ipc: bytes,
    rejected: scored.rejected,
    scoredAt,
    timings,
    threadId,
    sessionsCreated: handler.sessionsCreated,
  };
  return Piscina.move(transferable(result, [bytes.buffer as ArrayBuffer]) as never);
}

/** Wraps `value` so that Piscina transfers `buffers` instead of copying them. */
function transferable<T>(value: T, buffers: ArrayBuffer[]) {
  return {
    get [Piscina.transferableSymbol]() {
      return buffers;
    },
    get [Piscina.valueSymbol]() {
      return value;
    },
  };
}
