/** Public API of streaming inference on Kafka. */
export { scoreStream } from './score-stream.js';
export * from './options.js';
export type * from './events.js';
export type {
  ConsumedRecord,
  FetchedPartition,
  FetchRequest,
  GroupAssignment,
  KafkaClient,
  KafkaClientFactory,
  KafkaClientSettings,
  PartitionOffset,
  ProducedRecord,
  TopicPartition,
} from './kafka-client.js';
export { createPlatformaticClient } from './platformatic-client.js';
export { decodeJson } from './decode.js';
export { HEADERS as STREAM_HEADERS } from './records.js';
