import type { ConsumedRecord, KafkaClientFactory } from './kafka-client.js';
import type { StreamEvent } from './events.js';

/**
 * Delivery guarantee of the scorer.
 * - `at-least-once`: results are produced and acknowledged before the offsets of their
 *   events are committed. A crash or a rebalance may score an event again, so readers may
 *   see a result twice, never zero times.
 * - `exactly-once`: results, dead letters, late events, window results and the consumer
 *   offsets are written in one Kafka transaction per step. Readers that use
 *   `isolation.level=read_committed` see each result once.
 */
export type DeliveryGuarantee = 'at-least-once' | 'exactly-once';

/** Where a group that has no committed offset for a partition starts reading it. */
export type StartPosition = 'earliest' | 'latest';

/**
 * Turns a record into the event's fields. Throw to send the record to the dead-letter
 * topic; a {@link BatchscoreError} keeps its code, any other error gets
 * `ERR_INPUT_CORRUPT`.
 */
export type EventDecoder = (record: ConsumedRecord) => Record<string, unknown>;

/** Default number of events in one micro-batch. */
export const DEFAULT_MAX_BATCH_EVENTS = 500;
/** Default time the first event of a micro-batch waits for more, in milliseconds. */
export const DEFAULT_MAX_BATCH_WAIT_MS = 100;
/** Default number of events read but not yet delivered that the scorer holds. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 20_000;
/** Default session timeout of the group membership, in milliseconds. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
/** Default interval between heartbeats, in milliseconds. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
/** Default time the group waits for members to rejoin during a rebalance, in milliseconds. */
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
/** Default longest wait of one fetch for new records, in milliseconds. */
export const DEFAULT_FETCH_MAX_WAIT_MS = 500;
/** Default upper bound of the bytes fetched per partition and request. */
export const DEFAULT_FETCH_PARTITION_MAX_BYTES = 1024 * 1024;
/** Default transaction timeout for exactly-once delivery, in milliseconds. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;
/** Default retries of a micro-batch whose scoring failed, before events are tried alone. */
export const DEFAULT_STREAM_MAX_RETRIES = 2;
/** Default delay before the first retry of a micro-batch, in milliseconds. */
export const DEFAULT_STREAM_RETRY_DELAY_MS = 200;
/** Default time a micro-batch may spend on a worker before the worker is stopped. */
export const DEFAULT_BATCH_TIMEOUT_MS = 60_000;
/** Default bound of how far event times may go back before the newest one, in milliseconds. */
export const DEFAULT_MAX_OUT_OF_ORDERNESS_MS = 5_000;
/** Default time a partition may go without events before its watermark follows the clock. */
export const DEFAULT_IDLE_PARTITION_TIMEOUT_MS = 30_000;
/** Default interval of `metrics` events, in milliseconds. */
export const DEFAULT_METRICS_INTERVAL_MS = 5_000;
/** Default time the scorer waits for in-flight micro-batches when it stops, in milliseconds. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/** Event-time settings: the watermark of each partition and which events are late. */
export interface EventTimeOptions {
  /**
   * Event field holding the event time, as milliseconds since the Unix epoch or an ISO 8601
   * text. An event without a valid time then goes to the dead-letter topic.
   * @defaultValue the record timestamp
   */
  field?: string;
  /**
   * How far event times may run behind the newest one seen in the same partition. The
   * partition's watermark is the newest event time minus this bound.
   * @defaultValue {@link DEFAULT_MAX_OUT_OF_ORDERNESS_MS}. Minimum 0.
   */
  maxOutOfOrdernessMs?: number;
  /**
   * How far behind the watermark an event may be and still count. An event older than
   * `watermark - allowedLatenessMs` is late: it goes to `lateTopic` (or is scored but left
   * out of every window, when `lateTopic` is not set) and is counted. A window closes when
   * the watermark passes its end plus this time.
   * @defaultValue `0`. Minimum 0.
   */
  allowedLatenessMs?: number;
  /**
   * Time without events after which a partition is idle. The watermark of an idle
   * partition then moves forward with the wall clock from its newest event time, so that
   * its windows close even when no event arrives.
   * @defaultValue {@link DEFAULT_IDLE_PARTITION_TIMEOUT_MS}. Minimum 1.
   */
  idlePartitionTimeoutMs?: number;
}

/** The windowed aggregate: a mean of scores per key over tumbling windows. */
export interface WindowOptions {
  /** Topic that receives one record per key and window when the window closes. */
  topic: string;
  /** Window length, in milliseconds. Windows start at multiples of it since the Unix epoch. */
  sizeMs: number;
  /**
   * Result column averaged.
   * @defaultValue `probability_1` (or the last `probability_<class>` column) for a
   * classifier, else the first result column.
   */
  scoreColumn?: string;
}

/** Options of {@link scoreStream}. */
export interface StreamOptions {
  /** Bootstrap brokers, as `host:port`. */
  brokers: readonly string[];
  /** Consumer group. Members of one group share the input partitions. */
  groupId: string;
  /** Topic to read events from. It must exist. */
  inputTopic: string;
  /** Topic that receives one result per scored event. It must exist. */
  outputTopic: string;
  /**
   * Topic that receives events that cannot be scored, with headers that say why. It must
   * exist. @defaultValue `<inputTopic>-dlq`
   */
  deadLetterTopic?: string;
  /** Topic that receives late events instead of the output topic. See `eventTime`. */
  lateTopic?: string;
  /** The windowed aggregate; off when not set. */
  window?: WindowOptions;
  /** Path of an `.onnx` model file, or its bytes. */
  model: string | Uint8Array;
  /**
   * Model version written in each result and in dead-letter headers.
   * @defaultValue `sha256:` followed by the first 12 hex digits of the model's sha256.
   */
  modelVersion?: string;
  /**
   * Event fields packed in this order into the model's single `[N, F]` input. Without it,
   * each model input is fed from the event field of the same name.
   */
  features?: readonly string[];
  /** Event fields copied into each result beside the predictions. @defaultValue none */
  passthrough?: readonly string[];
  /** Turns a record into the event's fields. @defaultValue JSON object in the record value */
  decode?: EventDecoder;
  /**
   * Path of an ES module run in each worker before the model, as in `scorePartitioned`.
   */
  transform?: string;
  /** @defaultValue `'at-least-once'` */
  delivery?: DeliveryGuarantee;
  /**
   * Transactional id of this member for exactly-once delivery. A restarted member that
   * reuses its id aborts the transaction its previous process left open right away;
   * with a new id, the group waits up to `transactionTimeoutMs` for the broker to abort it.
   * @defaultValue `<groupId>-` followed by a random UUID
   */
  transactionalId?: string;
  /** @defaultValue {@link DEFAULT_TRANSACTION_TIMEOUT_MS}. Minimum 1000. */
  transactionTimeoutMs?: number;
  /** @defaultValue `'earliest'` */
  startFrom?: StartPosition;
  /**
   * Isolation of reads from the input topic.
   * @defaultValue `'read_committed'`
   */
  isolation?: 'read_committed' | 'read_uncommitted';
  /** Client id sent to the brokers. @defaultValue `batchscore-<groupId>` */
  clientId?: string;
  /**
   * Most events in one micro-batch.
   * @defaultValue {@link DEFAULT_MAX_BATCH_EVENTS}. Minimum 1.
   */
  maxBatchEvents?: number;
  /**
   * Longest time the first event of a micro-batch waits for more events, in milliseconds.
   * Bounds the latency that batching adds.
   * @defaultValue {@link DEFAULT_MAX_BATCH_WAIT_MS}. Minimum 0.
   */
  maxBatchWaitMs?: number;
  /**
   * Events read but not yet delivered, over all partitions, before fetching pauses.
   * @defaultValue {@link DEFAULT_MAX_BUFFERED_EVENTS}. At least `maxBatchEvents`.
   */
  maxBufferedEvents?: number;
  /**
   * Worker threads, each with one onnxruntime session.
   * @defaultValue `os.availableParallelism()`. Minimum 1.
   */
  workers?: number;
  /** onnxruntime intra-op threads per worker. @defaultValue `1` */
  intraOpThreads?: number;
  /**
   * Retries of a micro-batch whose scoring failed (a worker crash, an inference error, a
   * timeout) before each of its events is scored alone once. An event that still fails
   * goes to the dead-letter topic. Errors in the event itself are never retried.
   * @defaultValue {@link DEFAULT_STREAM_MAX_RETRIES}. Minimum 0.
   */
  maxRetries?: number;
  /** @defaultValue {@link DEFAULT_STREAM_RETRY_DELAY_MS}, doubled at each retry */
  retryDelayMs?: number;
  /** @defaultValue {@link DEFAULT_BATCH_TIMEOUT_MS}. Minimum 1. */
  batchTimeoutMs?: number;
  /** Event-time settings. */
  eventTime?: EventTimeOptions;
  /**
   * Session timeout of the group membership, in milliseconds. The broker accepts 6000 to
   * 1800000 unless its `group.min.session.timeout.ms` and `group.max.session.timeout.ms`
   * say otherwise. @defaultValue {@link DEFAULT_SESSION_TIMEOUT_MS}
   */
  sessionTimeoutMs?: number;
  /** @defaultValue {@link DEFAULT_HEARTBEAT_INTERVAL_MS}. Less than `sessionTimeoutMs`. */
  heartbeatIntervalMs?: number;
  /** @defaultValue {@link DEFAULT_REBALANCE_TIMEOUT_MS} */
  rebalanceTimeoutMs?: number;
  /** @defaultValue {@link DEFAULT_FETCH_MAX_WAIT_MS} */
  fetchMaxWaitMs?: number;
  /** @defaultValue {@link DEFAULT_FETCH_PARTITION_MAX_BYTES} */
  fetchPartitionMaxBytes?: number;
  /** @defaultValue {@link DEFAULT_METRICS_INTERVAL_MS}. Minimum 100. */
  metricsIntervalMs?: number;
  /**
   * Time the scorer spends, after the signal aborts, delivering the micro-batches it
   * holds. Work still pending then is dropped without committing its offsets.
   * @defaultValue {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}
   */
  shutdownTimeoutMs?: number;
  /** Replaces the Kafka client library. @defaultValue `@platformatic/kafka` */
  kafkaClient?: KafkaClientFactory;
  /** Stops the scorer, which then returns its summary. */
  signal?: AbortSignal;
  /** Receives events. Must not throw. */
  onEvent?: (event: StreamEvent) => void;
}
