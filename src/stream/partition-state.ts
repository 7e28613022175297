import type { DecodedEvent } from './decode.js';
import { PartitionClock, type EventTimeSettings } from './event-time.js';
import type { PartitionLag } from './events.js';
import { partitionKey, type ConsumedRecord, type TopicPartition } from './kafka-client.js';
import type { EventFailure } from './records.js';
import type { EventOutcome } from './scoring-pool.js';
import { TumblingMeans } from './window.js';

/**
 * State of one partition assigned to this member. A state lives for one stretch of
 * ownership: a revoke or a reset replaces it with a new one, and work that still refers
 * to the old state sees `active` false and is dropped.
 */
export class PartitionState {
  readonly key: string;
  /** False once the partition was revoked or reset. */
  active = true;
  /** True once `position` is the committed (or start) offset. */
  ready = false;
  /** Next offset to fetch. */
  position = 0n;
  /** Last offset committed by this member, or read as committed when assigned. */
  committed: bigint | null = null;
  endOffset: bigint | null = null;
  /** Records fetched but not yet in a micro-batch, in offset order. */
  pending: ConsumedRecord[] = [];
  /** Fires when the oldest pending record has waited `maxBatchWaitMs`. */
  timer: NodeJS.Timeout | undefined;
  readonly clock: PartitionClock;
  readonly windows: TumblingMeans | null;
  /**
   * Completion of the partition's micro-batches, chained so that each one's records are
   * produced and its offsets committed only after the previous one's.
   */
  chain: Promise<void>;

  constructor(
    readonly partition: TopicPartition,
    eventTime: EventTimeSettings,
    windowSizeMs: number | null,
    chain: Promise<void>,
  ) {
    this.key = partitionKey(partition);
    this.clock = new PartitionClock(eventTime, Date.now());
    this.windows = windowSizeMs === null ? null : new TumblingMeans(windowSizeMs);
    this.chain = chain;
  }

  lag(): PartitionLag {
    const { committed, endOffset } = this;
    return {
      ...this.partition,
      committed,
      endOffset,
      lag: committed === null || endOffset === null ? null : maxBigInt(endOffset - committed, 0n),
      watermark: this.clock.watermark,
    };
  }
}

/** Disposition of one record of a micro-batch. */
export type BatchEntry =
  | { kind: 'score'; event: DecodedEvent; late: boolean }
  | { kind: 'dead'; failure: EventFailure }
  | { kind: 'late'; eventTime: number; watermark: number };

/** A micro-batch of one partition, from sealing to delivery. */
export interface SealedBatch {
  state: PartitionState;
  records: ConsumedRecord[];
  /** One entry per record. */
  entries: BatchEntry[];
  /** Offset to commit once the batch is delivered. */
  nextOffset: bigint;
  /** Windows ending at or before this time close after the batch; null for none. */
  closeWindowsBefore: number | null;
  /** `performance.now()` when the batch was sealed. */
  sealedAt: number;
  /** Outcomes of the `score` entries, in order. */
  scoring: Promise<EventOutcome[]>;
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
