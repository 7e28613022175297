import type { ErrorCode } from '../errors.js';
import type { TopicPartition } from './kafka-client.js';

/** Latency percentiles, in milliseconds; null when nothing was measured. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** Progress of one assigned partition. */
export interface PartitionLag extends TopicPartition {
  /** Last offset committed by this member (the next event to read), or null before any. */
  committed: bigint | null;
  /** End of the partition at the last fetch, or null before any fetch. */
  endOffset: bigint | null;
  /** `endOffset - committed`: events not yet delivered. Null while either is unknown. */
  lag: bigint | null;
  /** Watermark in milliseconds since the Unix epoch, or null before the first event. */
  watermark: number | null;
}

/** Counters and gauges of a running scorer. Counts are totals since the start. */
export interface StreamMetrics {
  /** Milliseconds since the scorer started. */
  elapsedMs: number;
  /** Events read from the input topic, a re-read after a rebalance included. */
  eventsIn: number;
  /** Results produced. */
  eventsScored: number;
  deadLettered: number;
  late: number;
  windowsEmitted: number;
  batches: number;
  /** Micro-batches dropped because their partition was revoked or reset. */
  batchesAbandoned: number;
  /** Scoring retries of micro-batches. */
  retries: number;
  /** Assignments received, the first one included. */
  rebalances: number;
  transactionsCommitted: number;
  transactionsAborted: number;
  /** Results per second since the previous `metrics` event. */
  eventsPerSecond: number;
  /** Results per second since the start. */
  eventsPerSecondOverall: number;
  /** From sealing a micro-batch to the acknowledgement of its results and offsets. */
  batchLatencyMs: LatencySummary;
  /**
   * From each event's timestamp to the acknowledgement of its result. Includes the time
   * the event waited in the topic and any clock offset of its producer.
   */
  endToEndLatencyMs: LatencySummary;
  partitions: PartitionLag[];
}

/** Work done by one worker thread of the scorer. */
export interface StreamWorkerStats {
  threadId: number;
  /** onnxruntime sessions the worker created: 1, unless the worker was replaced. */
  sessionsCreated: number;
  /** Micro-batches scored, retries and single-event tries included. */
  batches: number;
}

/** Summary returned when the scorer stops. */
export interface StreamSummary extends StreamMetrics {
  groupId: string;
  /** Member id in the last generation, or null when the member never joined. */
  memberId: string | null;
  modelVersion: string;
  modelSha256: string;
  delivery: 'at-least-once' | 'exactly-once';
  workers: StreamWorkerStats[];
}

/** Source position of a dead-lettered or late event. */
export interface EventOrigin extends TopicPartition {
  offset: bigint;
  /** Record timestamp, in milliseconds since the Unix epoch. */
  timestamp: number;
}

/** Events emitted by {@link scoreStream}, starting with `stream-start`. */
export type StreamEvent =
  | { type: 'stream-start'; groupId: string; modelVersion: string; workers: number }
  | {
      type: 'assignment';
      generation: number;
      memberId: string;
      partitions: TopicPartition[];
      /** Partitions this member held before and no longer holds. */
      revoked: TopicPartition[];
    }
  | {
      type: 'batch';
      partition: TopicPartition;
      /** Offsets `[firstOffset, nextOffset)` were delivered and committed. */
      firstOffset: bigint;
      nextOffset: bigint;
      scored: number;
      deadLettered: number;
      late: number;
      latencyMs: number;
    }
  | {
      type: 'dead-letter';
      origin: EventOrigin;
      code: ErrorCode;
      message: string;
      attempts: number;
    }
  | { type: 'late'; origin: EventOrigin; eventTime: number; watermark: number }
  | { type: 'window'; key: string | null; start: number; end: number; count: number; mean: number }
  | { type: 'retry'; partition: TopicPartition; attempt: number; error: Error }
  | { type: 'batch-abandoned'; partition: TopicPartition; events: number; reason: string }
  | { type: 'transaction-aborted'; error: Error }
  | { type: 'warning'; message: string; error?: Error }
  | { type: 'metrics'; metrics: StreamMetrics }
  | { type: 'stream-end'; summary: StreamSummary }
  | { type: 'stream-failed'; error: Error };
