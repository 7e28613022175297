/**
 * The Kafka operations that the stream scorer needs, kept small so that another client
 * library can replace the default one (`platformatic-client.ts`). Offsets are bigints
 * and always name the next record to read, as Kafka's committed offsets do.
 */

/** A partition of a topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A partition with an offset: the next record to read or commit. */
export interface PartitionOffset extends TopicPartition {
  offset: bigint;
}

/** A record read from a topic. */
export interface ConsumedRecord extends TopicPartition {
  offset: bigint;
  /** Record timestamp, in milliseconds since the Unix epoch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Headers in record order; a header may repeat. */
  headers: ReadonlyArray<readonly [string, Buffer]>;
}

/** A record to produce. */
export interface ProducedRecord {
  topic: string;
  key: Buffer | null;
  /** Value; null writes a tombstone. */
  value: Buffer | null;
  headers: ReadonlyArray<readonly [string, Buffer]>;
  /** Record timestamp in milliseconds; the broker's time when absent. */
  timestamp?: number;
}

/** Records and positions that one fetch returned for one partition. */
export interface FetchedPartition extends TopicPartition {
  /** Records from the requested offset on, in offset order, without control records. */
  records: ConsumedRecord[];
  /** Offset to request next: past the last record returned, control records included. */
  nextOffset: bigint;
  /**
   * End of the partition as the reader sees it: the last stable offset when reading
   * committed records, else the high watermark. Null when the broker did not report it.
   */
  endOffset: bigint | null;
  /**
   * Set when the partition could not be read: `offset-out-of-range` when the requested
   * offset is no longer (or not yet) in the log, `retriable` for leader changes and other
   * transient errors.
   */
  error?: 'offset-out-of-range' | 'retriable';
}

/** A member of the group in one generation. */
export interface GroupMember {
  generation: number;
  memberId: string;
}

/** The partitions that the group assigned to this member in one generation. */
export interface GroupAssignment {
  generation: number;
  memberId: string;
  partitions: TopicPartition[];
}

/** Settings with which the scorer creates its client. */
export interface KafkaClientSettings {
  /** Bootstrap brokers as `host:port`. */
  brokers: string[];
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** Isolation of reads from the input topic. */
  isolation: 'read_committed' | 'read_uncommitted';
  /** Set for exactly-once delivery: results and offsets are then written in transactions. */
  transactionalId?: string;
  /** Time before the broker aborts an open transaction, in milliseconds. */
  transactionTimeoutMs: number;
  /** Receives errors that the client recovered from, or could not attribute to a call. */
  onError: (error: Error, fatal: boolean) => void;
}

/** Options of one fetch. */
export interface FetchRequest {
  positions: PartitionOffset[];
  /** Maximum time the broker may wait for new records, in milliseconds. */
  maxWaitMs: number;
  /** Upper bound of the bytes returned per partition. */
  partitionMaxBytes: number;
}

/**
 * A group member that reads, commits and produces. One instance serves one scorer;
 * calls may overlap, except that transactions never overlap each other.
 */
export interface KafkaClient {
  /** Returns the partition count of each of `topics` that exists. */
  describeTopics(topics: readonly string[]): Promise<Map<string, number>>;
  /**
   * Joins the consumer group with a subscription to `topic`. `onAssignment` is called for
   * every generation that this member takes part in, the first one included, before any
   * record of that generation is fetched. With a `transactionalId`, first aborts any
   * transaction that an earlier producer with that id left open.
   */
  joinGroup(topic: string, onAssignment: (assignment: GroupAssignment) => void): Promise<void>;
  /**
   * Returns the committed offset of each partition, or null where the group has none.
   * Waits while a transaction that commits offsets of these partitions is still open.
   */
  committedOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, bigint | null>>;
  /** Returns the first or the next-to-be-written offset of each partition. */
  listOffsets(
    partitions: readonly TopicPartition[],
    at: 'earliest' | 'latest',
  ): Promise<Map<string, bigint>>;
  fetch(request: FetchRequest): Promise<FetchedPartition[]>;
  /** Commits offsets for the group, outside any transaction. */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  /** Produces records and resolves when every broker acknowledged them (acks=all). */
  send(records: readonly ProducedRecord[]): Promise<void>;
  /**
   * Produces `records` and commits `offsets` for the group in one transaction, as
   * `member`: the broker rejects the offsets when the group has moved to another
   * generation since. Aborts the transaction and rejects when any step fails: with an
   * `OutputError` when another producer took over the transactional id, so that this one
   * must stop. Needs `transactionalId`.
   */
  sendInTransaction(
    records: readonly ProducedRecord[],
    offsets: readonly PartitionOffset[],
    member: GroupMember,
  ): Promise<void>;
  /** Leaves the group and closes every connection. */
  close(): Promise<void>;
}

/** Creates a {@link KafkaClient}; pass one as `kafkaClient` to use another library. */
export type KafkaClientFactory = (settings: KafkaClientSettings) => KafkaClient;

/** Returns the map key of a partition, `topic:partition`. */
export function partitionKey(partition: TopicPartition): string {
  return `${partition.topic}:${partition.partition}`;
}
