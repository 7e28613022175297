/** Per-stage time spent by workers, summed over partitions, in milliseconds. */
export interface StageTimings {
  /** Reading and parsing input. */
  readMs: number;
  /** The user transform and the conversion of columns to tensors. */
  convertMs: number;
  /** Model inference. */
  inferMs: number;
  /** Building output columns and writing the part file. */
  writeMs: number;
}

/** Result of one partition, as reported by its worker. */
export interface PartitionResult {
  /** Zero-based partition index. */
  partition: number;
  /** Rows read. */
  rowsIn: number;
  /** Rows written. */
  rowsOut: number;
  /** Rows rejected. */
  rowsRejected: number;
  /** Bytes of the staged part file. */
  bytes: number;
  /** Worker thread that handled the partition; -1 for a reused part. */
  threadId: number;
  /** Per-stage timings. */
  timings: StageTimings;
  /** True when the part was reused from an earlier run instead of being computed. */
  reused: boolean;
  /** Attempts made, 1 when the first one succeeded; 0 for a reused part. */
  attempts: number;
  /** Milliseconds from the partition's dispatch to its result, retries included. */
  latencyMs: number;
}

/** Events emitted during a run, in order: one `run-start`, partition events, `run-end`. */
export type ScoreEvent =
  | { type: 'run-start'; runId: string; partitions: number; rowsPlanned: number | null }
  | { type: 'partition-start'; partition: number; description: string }
  | {
      type: 'partition-end';
      result: PartitionResult;
      partitionsDone: number;
      partitions: number;
      rowsDone: number;
      rowsPlanned: number | null;
      elapsedMs: number;
    }
  | {
      type: 'rejected';
      partition: number;
      rows: number;
      /** Rejected-rows file, relative to the output. */
      file: string;
    }
  | { type: 'retry'; partition: number; attempt: number; delayMs: number; error: Error }
  | { type: 'commit'; files: number }
  | { type: 'run-end'; summary: RunSummary }
  | { type: 'run-failed'; error: Error };

/** Work done by one worker thread. */
export interface WorkerStats {
  threadId: number;
  /** onnxruntime sessions this worker created. One per worker for a scoring run. */
  sessionsCreated: number;
  partitions: number;
}

/** Summary returned by a finished run. */
export interface RunSummary {
  runId: string;
  /** Output directory. */
  output: string;
  /** Committed part files, in partition order, relative to `output`. */
  files: string[];
  partitions: number;
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  /** Rejected-row files, relative to `output`. Empty when no row was rejected. */
  rejectedFiles: string[];
  /** Set for scoring runs. */
  modelVersion?: string;
  /** Set for scoring runs. */
  modelSha256?: string;
  /** ISO 8601 time written in `scored_at`. Set for scoring runs. */
  scoredAt?: string;
  durationMs: number;
  /** Rows read per second of wall time, reused parts included. */
  rowsPerSecond: number;
  /** Worker time per stage, summed over partitions. */
  timings: StageTimings;
  workers: WorkerStats[];
  /** Parts reused from an earlier run (write mode `resume`). */
  reusedPartitions: number;
  /** Retries made, over all partitions. */
  retries: number;
  /** Latency of computed partitions, from dispatch to result, in milliseconds. */
  partitionLatencyMs: LatencyPercentiles;
  /**
   * Share of the workers' wall time spent on partitions, from 0 to 1: worker busy time
   * divided by workers × run duration.
   */
  workerUtilization: number;
}

/** Percentiles of a set of durations, in milliseconds; all 0 when the set is empty. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
