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
  /** Worker thread that handled the partition. */
  threadId: number;
  /** Per-stage timings. */
  timings: StageTimings;
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
  | { type: 'rejected'; partition: number; rows: number; file: string }
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
  rowsPerSecond: number;
  /** Worker time per stage, summed over partitions. */
  timings: StageTimings;
  workers: WorkerStats[];
}
