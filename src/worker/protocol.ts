import type { StageTimings } from '../events.js';
import type { SerializedError } from '../errors.js';
import type { OutputFormat, ParquetCompression, ParquetEngine } from '../options.js';
import type { PartitionSource } from '../plan/types.js';
import type { RejectedRow } from '../read/types.js';

/** Work a worker does on each partition after reading it. */
export type HandlerSpec =
  | {
      kind: 'score';
      /** Model file path, or its bytes in a shared buffer so that workers do not copy it. */
      model: string | Uint8Array;
      modelVersion: string;
      features: readonly string[] | undefined;
      passthrough: 'all' | 'none' | readonly string[];
      transform: string | undefined;
      intraOpThreads: number;
      batchRows: number;
      /** `scored_at` in microseconds since the Unix epoch, UTC. */
      scoredAtMicros: string;
    }
  | { kind: 'map'; module: string; options: unknown };

/** Data every worker of a run receives once, as `workerData`. */
export interface WorkerConfig {
  handler: HandlerSpec;
  format: OutputFormat;
  engine: ParquetEngine;
  compression: ParquetCompression;
  /** Key-value metadata written in every part file. */
  metadata: Record<string, string>;
  /**
   * Rows that a single partition may reject before the worker fails it; undefined for no
   * per-partition limit.
   */
  maxRejectedRows: number | undefined;
}

/** One partition to process. */
export interface PartitionTask {
  partition: number;
  source: PartitionSource;
  /** Path of the part file to write. */
  partPath: string;
  /** Path of the rejected-rows file, written only when rows are rejected. */
  rejectedPath: string;
  /** Zero-based attempt number; retries of a partition count up from 1. */
  attempt: number;
}

/** A rejected row with the values of the row, when they could be read. */
export interface RejectedRecord extends RejectedRow {
  values?: Record<string, unknown>;
}

/** Result a worker returns for a partition. */
export type TaskResult =
  | {
      ok: true;
      partition: number;
      rowsIn: number;
      rowsOut: number;
      rowsRejected: number;
      bytes: number;
      sha256: string;
      /** Set when rejected rows were written. */
      rejectedWritten: boolean;
      threadId: number;
      sessionsCreated: number;
      timings: StageTimings;
    }
  | {
      ok: false;
      partition: number;
      error: SerializedError;
      /** True for a transient failure, such as an I/O error, that a retry may overcome. */
      retryable: boolean;
      threadId: number;
    };
