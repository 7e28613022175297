export { scorePartitioned } from './score.js';
export { mapPartitions } from './map-partitions.js';
export type { PartitionContext, PartitionModule } from './worker/map.js';
export * from './options.js';
export type * from './events.js';
export {
  AbortError,
  BatchscoreError,
  DataError,
  InputError,
  InvalidOptionError,
  ModelError,
  OutputError,
  WorkerCrashedError,
} from './errors.js';
export type { BatchscoreErrorOptions, ErrorCode, ErrorLocation } from './errors.js';
export type { ColumnType } from './read/types.js';
export { VERSION } from './version.js';
export * from './stream/index.js';
export * from './schedule/index.js';
