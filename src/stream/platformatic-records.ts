/**
 * Conversions between `@platformatic/kafka` records and the scorer's record types.
 */
import {
  FetchIsolationLevels,
  IS_CONTROL,
  type ClusterMetadata,
  type Consumer,
} from '@platformatic/kafka';
import type {
  ConsumedRecord,
  FetchedPartition,
  PartitionOffset,
  ProducedRecord,
} from './kafka-client.js';

/** A fetch response, as `Consumer.fetch` resolves it. */
export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

/** Reads the records and positions of each requested partition from a fetch response. */
export function parseFetch(
  response: FetchResponse,
  positions: PartitionOffset[],
  metadata: ClusterMetadata,
  isolation: number,
): FetchedPartition[] {
  const names = new Map([...metadata.topics].map(([name, topic]) => [topic.id, name]));
  const fetched: FetchedPartition[] = [];
  for (const topicResponse of response.responses) {
    const topic = names.get(topicResponse.topicId);
    if (topic === undefined) continue;
    for (const partitionResponse of topicResponse.partitions) {
      const partition = partitionResponse.partitionIndex;
      const requested = positions.find((p) => p.topic === topic && p.partition === partition);
      if (requested === undefined) continue;
      const end =
        isolation === FetchIsolationLevels.READ_COMMITTED
          ? partitionResponse.lastStableOffset
          : partitionResponse.highWatermark;
      const { records, nextOffset } = readBatches(
        topic,
        partition,
        requested.offset,
        partitionResponse,
      );
      fetched.push({ topic, partition, records, nextOffset, endOffset: end >= 0n ? end : null });
    }
  }
  return fetched;
}

function readBatches(
  topic: string,
  partition: number,
  from: bigint,
  response: FetchResponse['responses'][number]['partitions'][number],
): { records: ConsumedRecord[]; nextOffset: bigint } {
  const records: ConsumedRecord[] = [];
  let nextOffset = from;
  for (const batch of response.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last + 1n > nextOffset) nextOffset = last + 1n;
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      // A compressed batch is returned whole, so it may start before the requested offset.
      if (offset < from) continue;
      records.push({
        topic,
        partition,
        offset,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers.map(
          ([name, value]: [Buffer | null, Buffer | null]) =>
            [name?.toString('utf8') ?? '', value ?? Buffer.alloc(0)] as const,
        ),
      });
    }
  }
  return { records, nextOffset };
}

/** Converts a record to the message form that the library's producer takes. */
export function toMessage(record: ProducedRecord) {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of record.headers) headers.set(Buffer.from(name), value);
  return {
    topic: record.topic,
    key: record.key ?? undefined,
    value: record.value ?? undefined,
    headers,
    ...(record.timestamp === undefined ? {} : { timestamp: BigInt(record.timestamp) }),
  };
}
