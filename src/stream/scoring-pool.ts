/**
 * The worker pool of the stream scorer. A micro-batch that fails is retried with backoff,
 * and then each of its events is scored alone. So one event that breaks inference reaches
 * the dead-letter topic instead of holding back its neighbours.
 */
import { Piscina } from 'piscina';
import { BatchscoreError, WorkerCrashedError, deserializeError } from '../errors.js';
import type { HandlerSpec } from '../worker/protocol.js';
import type { StreamTask, StreamTaskResult, StreamWorkerConfig } from '../worker/stream-worker.js';
import { featureTableIpc, readResultRows, type ResultValue } from './batch-table.js';
import type { DecodedEvent, FeatureField } from './decode.js';
import type { StreamWorkerStats } from './events.js';
import type { EventFailure } from './records.js';
import { sleep } from './retry.js';

const WORKER_URL = new URL('../worker/stream-worker.js', import.meta.url);

/** Codes of failures that no retry or dead letter can fix, so they stop the scorer. */
const FATAL_CODES = new Set([
  'ERR_MODEL_LOAD',
  'ERR_MODEL_UNSUPPORTED',
  'ERR_MISSING_COLUMN',
  'ERR_UNSUPPORTED_COLUMN_TYPE',
  'ERR_INVALID_OPTION',
]);

/** The outcome of one event of a micro-batch. */
export type EventOutcome =
  | { ok: true; prediction: Record<string, ResultValue>; scoredAt: number }
  | { ok: false; failure: EventFailure };

/** Settings of a {@link ScoringPool}. */
export interface ScoringPoolSettings {
  workers: number;
  handler: Extract<HandlerSpec, { kind: 'score' }>;
  fields: readonly FeatureField[];
  /** Result columns to read from each scored micro-batch. */
  resultColumns: readonly string[];
  maxRetries: number;
  retryDelayMs: number;
  batchTimeoutMs: number;
}

/** Scores micro-batches on worker threads, each with its own onnxruntime session. */
export class ScoringPool {
  private readonly pool: Piscina;
  private readonly workerStats = new Map<number, StreamWorkerStats>();
  private nextBatch = 0;

  constructor(private readonly settings: ScoringPoolSettings) {
    const workerData: StreamWorkerConfig = { handler: settings.handler };
    this.pool = new Piscina({
      filename: WORKER_URL.href,
      minThreads: settings.workers,
      maxThreads: settings.workers,
      workerData,
      // Workers await onnxruntime between tasks, so they must keep an event loop.
      atomics: 'disabled',
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });
  }

  /** Loads the model in every worker; rejects with the model's error if it cannot load. */
  async load(): Promise<void> {
    const loads = Array.from({ length: this.settings.workers }, () => this.run({ kind: 'load' }));
    await Promise.all(loads);
  }

  /**
   * Scores `events` and returns one outcome per event, in order. `onRetry` is called
   * before each retry of the whole micro-batch.
   */
  async score(
    events: readonly DecodedEvent[],
    onRetry: (attempt: number, error: Error) => void,
  ): Promise<EventOutcome[]> {
    const { maxRetries, retryDelayMs } = this.settings;
    let lastError: Error = new Error('not run');
    for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
      try {
        return await this.scoreOnce(events);
      } catch (error) {
        lastError = checkRetriable(error);
        if (attempt <= maxRetries) {
          onRetry(attempt, lastError);
          await sleep(retryDelayMs * 2 ** (attempt - 1));
        }
      }
    }
    const attempts = maxRetries + 1;
    if (events.length === 1) return [{ ok: false, failure: failureOf(lastError, attempts) }];

    // Score each event alone once, so that the events that do not fail still get results.
    return Promise.all(
      events.map(async (event): Promise<EventOutcome> => {
        try {
          const [outcome] = await this.scoreOnce([event]);
          return outcome!;
        } catch (error) {
          return { ok: false, failure: failureOf(checkRetriable(error), attempts + 1) };
        }
      }),
    );
  }

  private async scoreOnce(events: readonly DecodedEvent[]): Promise<EventOutcome[]> {
    const ipc = featureTableIpc(this.settings.fields, events);
    const result = await this.run({ kind: 'score', ipc, batch: this.nextBatch++ });
    const rows = readResultRows(result.ipc, this.settings.resultColumns);
    const rejected = new Map(result.rejected.map((row) => [row.row - 1, row]));
    const outcomes: EventOutcome[] = [];
    let next = 0;
    for (let index = 0; index < events.length; index++) {
      const row = rejected.get(index);
      if (row === undefined) {
        outcomes.push({ ok: true, prediction: rows[next++]!, scoredAt: result.scoredAt });
        continue;
      }
      const value = row.value === undefined ? '' : ` (value ${JSON.stringify(row.value)})`;
      const message = `${row.reason} in field "${row.column ?? '?'}"${value}`;
      outcomes.push({
        ok: false,
        failure: { name: 'DataError', code: row.code, message, attempts: 1 },
      });
    }
    return outcomes;
  }

  private async run(task: StreamTask) {
    const transferList = task.kind === 'score' ? [task.ipc.buffer as ArrayBuffer] : [];
    let result: StreamTaskResult;
    try {
      result = (await this.pool.run(task, {
        transferList,
        signal: AbortSignal.timeout(this.settings.batchTimeoutMs),
      })) as StreamTaskResult;
    } catch (error) {
      // Piscina rejects when the worker exited, or when the timeout stopped it.
      throw new WorkerCrashedError(`A scoring worker failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (!result.ok) throw deserializeError(result.error);
    this.workerStats.set(result.threadId, {
      threadId: result.threadId,
      sessionsCreated: result.sessionsCreated,
      batches:
        (this.workerStats.get(result.threadId)?.batches ?? 0) + (task.kind === 'score' ? 1 : 0),
    });
    return result;
  }

  /** Work done by each worker thread so far. */
  stats(): StreamWorkerStats[] {
    return [...this.workerStats.values()].sort((a, b) => a.threadId - b.threadId);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Returns `error` as an Error when a retry may help; throws it when it is fatal. */
function checkRetriable(error: unknown): Error {
  if (error instanceof BatchscoreError && FATAL_CODES.has(error.code)) throw error;
  return error instanceof Error ? error : new Error(String(error));
}

function failureOf(error: Error, attempts: number): EventFailure {
  const code = error instanceof BatchscoreError ? error.code : 'ERR_INFERENCE';
  return { name: error.name, code, message: error.message, attempts };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
