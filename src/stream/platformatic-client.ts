/**
 * {@link KafkaClient} on `@platformatic/kafka`. Three clients share the work:
 *
 * - a group consumer that joins the group, heartbeats, commits and reads committed offsets;
 * - a fetcher, a second consumer that never joins, so that a fetch waiting on the broker
 *   does not delay a heartbeat or a commit queued behind it on the same connection;
 * - a producer, idempotent, and transactional when exactly-once delivery is on.
 *
 * The scorer tracks fetch positions itself instead of using the library's message
 * stream. That stream re-reads committed offsets on every rebalance while a fetch may
 * still be in flight, so it can move a partition's position behind the scorer's back.
 */
import {
  Consumer,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  Producer,
  offsetFetchV8,
  type ClusterMetadata,
  type Message,
} from '@platformatic/kafka';
import { OutputError } from '../errors.js';
import { parseFetch, toMessage, type FetchResponse } from './platformatic-records.js';
import {
  partitionKey,
  type FetchedPartition,
  type FetchRequest,
  type GroupAssignment,
  type GroupMember,
  type KafkaClient,
  type KafkaClientSettings,
  type PartitionOffset,
  type ProducedRecord,
  type TopicPartition,
} from './kafka-client.js';

type FetchTopics = Parameters<Consumer['fetch']>[0]['topics'];

/** Upper bound of the bytes of one fetch response, over all partitions. */
const FETCH_MAX_BYTES = 50 * 1024 * 1024;
/** Tries to register the transactional id before the scorer gives up. */
const FENCE_ATTEMPTS = 20;
/** Delay between two reads of committed offsets that a transaction still holds. */
const UNSTABLE_OFFSET_RETRY_MS = 100;

/** Creates the default client. */
export function createPlatformaticClient(settings: KafkaClientSettings): KafkaClient {
  return new PlatformaticClient(settings);
}

class PlatformaticClient implements KafkaClient {
  private readonly group: Consumer;
  private readonly fetcher: Consumer;
  private readonly producer: Producer;
  private readonly isolation: number;

  constructor(private readonly settings: KafkaClientSettings) {
    const base = { bootstrapBrokers: settings.brokers, groupId: settings.groupId };
    this.group = new Consumer({
      ...base,
      clientId: settings.clientId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      autocommit: false,
    });
    // The scorer's fetch loop retries on its own, with the positions it tracks.
    this.fetcher = new Consumer({ ...base, clientId: `${settings.clientId}-fetch`, retries: 0 });
    this.producer = new Producer({
      bootstrapBrokers: settings.brokers,
      clientId: `${settings.clientId}-producer`,
      idempotent: true,
      acks: -1,
      // InitProducerId must send -1 for a producer that has no id yet. With the library's
      // default of 0, the broker returns PRODUCER_FENCED when a restarted process reuses
      // a transactional id (checked with 1.35.0 against Kafka 4.4.0).
      producerId: -1n,
      producerEpoch: -1,
      autocreateTopics: false,
      // The library sends this value as the transaction timeout of InitProducerId.
      timeout: settings.transactionTimeoutMs,
      ...(settings.transactionalId === undefined
        ? {}
        : { transactionalId: settings.transactionalId }),
    });
    this.isolation =
      settings.isolation === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED;

    // An EventEmitter throws an 'error' event that has no listener, so every client
    // gets one. The group consumer emits 'error' when it failed to rejoin after a
    // heartbeat error and is no longer a member.
    this.group.on('error', (error: Error) => settings.onError(error, true));
    this.fetcher.on('error', (error: Error) => settings.onError(error, false));
    this.producer.on('error', (error: Error) => settings.onError(error, false));
    this.group.on('consumer:heartbeat:error', ({ error }: { error: Error }) => {
      settings.onError(error, false);
    });
  }

  async describeTopics(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const topic of new Set(topics)) {
      try {
        const metadata = await this.fetcher.metadata({ topics: [topic], forceUpdate: true });
        const found = metadata.topics.get(topic);
        if (found !== undefined) counts.set(topic, found.partitionsCount);
      } catch (error) {
        // @platformatic/kafka 1.35.0 turns UNKNOWN_TOPIC_OR_PARTITION in a metadata
        // response into a UserError with this message and no code of its own.
        if ((error as Error).message !== `Unknown topic ${topic}.`) throw error;
      }
    }
    return counts;
  }

  async joinGroup(
    topic: string,
    onAssignment: (assignment: GroupAssignment) => void,
  ): Promise<void> {
    this.group.on('consumer:group:join', (payload) => {
      const partitions: TopicPartition[] = [];
      for (const assigned of payload.assignments ?? []) {
        for (const partition of assigned.partitions) {
          partitions.push({ topic: assigned.topic, partition });
        }
      }
      onAssignment({
        generation: payload.generationId ?? 0,
        memberId: payload.memberId,
        partitions,
      });
    });
    if (this.settings.transactionalId !== undefined) await this.fencePreviousProducer();
    this.group.topics.track(topic);
    await this.group.joinGroup({});
  }

  /**
   * Registers the transactional id with the broker (InitProducerId), which aborts any
   * transaction that an earlier process with the same id left open. Until then that
   * transaction would hold back the committed offsets this member needs. The library
   * registers the id only in its first `beginTransaction`, so one is begun and dropped.
   */
  private async fencePreviousProducer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const transaction = await this.producer.beginTransaction();
        await transaction.cancel();
        return;
      } catch (error) {
        await this.producer.transaction?.cancel();
        // The broker returns CONCURRENT_TRANSACTIONS while it aborts the old transaction.
        if (attempt >= FENCE_ATTEMPTS || !isProtocolError(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * Reads committed offsets with `require_stable` set, which the library's own
   * `listCommittedOffsets` does not set. Without it the broker returns the offsets from
   * before a transaction that has committed but whose markers are not written yet, and a
   * new owner of the partition would score those records a second time.
   */
  async committedOffsets(partitions: readonly TopicPartition[]) {
    const topics = groupByTopic(partitions).map(([name, indexes]) => ({
      name,
      partitionIndexes: indexes,
    }));
    const request = [{ groupId: this.settings.groupId, memberId: null, memberEpoch: -1, topics }];
    for (;;) {
      try {
        const connection = await this.coordinatorConnection();
        const response = await offsetFetchV8.api.async(connection, request, true);
        const offsets = new Map<string, bigint | null>();
        for (const group of response.groups) {
          for (const topic of group.topics) {
            for (const { partitionIndex, committedOffset } of topic.partitions) {
              const key = partitionKey({ topic: topic.name, partition: partitionIndex });
              offsets.set(key, committedOffset < 0n ? null : committedOffset);
            }
          }
        }
        return offsets;
      } catch (error) {
        if (!isProtocolError(error, 'UNSTABLE_OFFSET_COMMIT')) throw error;
        await new Promise((resolve) => setTimeout(resolve, UNSTABLE_OFFSET_RETRY_MS));
      }
    }
  }

  async listOffsets(partitions: readonly TopicPartition[], at: 'earliest' | 'latest') {
    const grouped = groupByTopic(partitions);
    const listed = await this.fetcher.listOffsets({
      topics: grouped.map(([topic]) => topic),
      partitions: Object.fromEntries(grouped),
      timestamp: at === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
      isolationLevel: this.isolation,
    });
    const offsets = new Map<string, bigint>();
    for (const { topic, partition } of partitions) {
      const offset = listed.get(topic)?.[partition];
      if (offset !== undefined) offsets.set(partitionKey({ topic, partition }), offset);
    }
    return offsets;
  }

  async fetch(request: FetchRequest): Promise<FetchedPartition[]> {
    const topics = [...new Set(request.positions.map((position) => position.topic))];
    const metadata = await this.fetcher.metadata({ topics });
    const byLeader = new Map<number, PartitionOffset[]>();
    for (const position of request.positions) {
      const leader = metadata.topics.get(position.topic)?.partitions[position.partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), position]);
    }
    const fetched = await Promise.all(
      [...byLeader].map(([node, positions]) => this.fetchFrom(node, positions, metadata, request)),
    );
    return fetched.flat();
  }

  private async fetchFrom(
    node: number,
    positions: PartitionOffset[],
    metadata: ClusterMetadata,
    request: FetchRequest,
  ): Promise<FetchedPartition[]> {
    const topics: FetchTopics = groupByTopic(positions).map(([topic, indexes]) => ({
      topicId: metadata.topics.get(topic)!.id,
      partitions: indexes.map((partition) => ({
        partition,
        fetchOffset: positions.find((p) => p.topic === topic && p.partition === partition)!.offset,
        partitionMaxBytes: request.partitionMaxBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })),
    }));
    let response: FetchResponse;
    try {
      response = await this.fetcher.fetch({
        node,
        topics,
        maxWaitTime: request.maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH_MAX_BYTES,
        isolationLevel: this.isolation,
      });
    } catch (error) {
      // A partition error fails the whole response. Nothing of it is used, so that
      // aborted transactional records are never let through unfiltered; each partition
      // is retried from the same offset.
      if (!isProtocolError(error)) throw error;
      this.fetcher.clearMetadata();
      const outOfRange = isProtocolError(error, 'OFFSET_OUT_OF_RANGE');
      return positions.map((position) => ({
        topic: position.topic,
        partition: position.partition,
        records: [],
        nextOffset: position.offset,
        endOffset: null,
        error: outOfRange ? 'offset-out-of-range' : 'retriable',
      }));
    }
    return parseFetch(response, positions, metadata, this.isolation);
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    await this.group.commit({
      offsets: offsets.map(({ topic, partition, offset }) => ({
        topic,
        partition,
        offset,
        leaderEpoch: -1,
      })),
    });
  }

  async send(records: readonly ProducedRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({ messages: records.map(toMessage) });
  }

  async sendInTransaction(
    records: readonly ProducedRecord[],
    offsets: readonly PartitionOffset[],
    member: GroupMember,
  ): Promise<void> {
    let transaction: Awaited<ReturnType<Producer['beginTransaction']>>;
    try {
      transaction = await this.producer.beginTransaction();
    } catch (error) {
      // The library keeps a transaction whose InitProducerId failed as the active one,
      // and rejects every later begin, unless it is cancelled.
      await this.producer.transaction?.cancel();
      throw error;
    }
    try {
      if (records.length > 0) await transaction.send({ messages: records.map(toMessage) });
      if (offsets.length > 0) {
        await transaction.addConsumer(this.group);
        for (const offset of offsets) {
          await transaction.addOffset(this.offsetMessage(offset, member));
        }
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => transaction.cancel());
      if (isFenced(error)) {
        throw new OutputError(
          'ERR_OUTPUT_NOT_WRITABLE',
          `Another producer took over transactional id "${this.settings.transactionalId}"`,
          {
            fix: 'Give each member of the group its own transactionalId',
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /**
   * Builds the message from which the library's `addOffset` reads the offset to commit
   * (it commits `offset + 1`) and the group generation that fences a stale member.
   */
  private offsetMessage(offset: PartitionOffset, member: GroupMember): Message {
    return {
      topic: offset.topic,
      partition: offset.partition,
      offset: offset.offset - 1n,
      metadata: {
        consumer: {
          groupId: this.group.groupId,
          generationId: member.generation,
          memberId: member.memberId,
          coordinatorId: this.group.coordinatorId,
        },
      },
    } as unknown as Message;
  }

  private async coordinatorConnection() {
    const coordinator = await this.group.findGroupCoordinator();
    const metadata = await this.group.metadata({ topics: [] });
    const broker = metadata.brokers.get(coordinator);
    if (broker === undefined) {
      throw new Error(`Group coordinator ${coordinator} is not a known broker`);
    }
    return this.group.connections.get(broker);
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([
      this.group.close(),
      this.fetcher.close(),
      this.producer.close(),
    ]);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}

function groupByTopic(partitions: readonly TopicPartition[]): [string, number[]][] {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    grouped.set(topic, [...(grouped.get(topic) ?? []), partition]);
  }
  return [...grouped];
}

/** Tells whether a producer error means another producer took over the transactional id. */
function isFenced(error: unknown): boolean {
  return (
    isProtocolError(error, 'PRODUCER_FENCED') ||
    isProtocolError(error, 'INVALID_PRODUCER_EPOCH') ||
    isProtocolError(error, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED')
  );
}

/** Tells whether `error` is or wraps a Kafka protocol error, of code `id` when given. */
function isProtocolError(error: unknown, id?: string): boolean {
  const found = (error as { findBy?: (key: string, value: unknown) => unknown }).findBy;
  if (typeof found !== 'function') return false;
  if (id !== undefined) return found.call(error, 'apiId', id) != null;
  return (
    found.call(error, 'code', 'PLT_KFK_PROTOCOL') != null ||
    (error as { code?: string }).code === 'PLT_KFK_RESPONSE'
  );
}
