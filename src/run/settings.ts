import { availableParallelism } from 'node:os';
import { BatchscoreError } from '../errors.js';
import {
  DEFAULT_PARTITION_BYTES,
  DEFAULT_PARTITION_ROWS,
  type PartitionedRunOptions,
} from '../options.js';
import { AUTO_PARTITIONS, planInput } from '../plan/index.js';
import type { InputPlan } from '../plan/types.js';
import { checkInteger, checkOneOf, checkString } from '../validate.js';

/** Checks the options shared by every entry point. */
export function validateRunOptions(options: PartitionedRunOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new BatchscoreError('ERR_INVALID_OPTION', 'Expected an options object');
  }
  checkString('output', options.output, false);
  checkOneOf('format', options.format, ['parquet', 'arrow', 'csv', 'jsonl']);
  checkOneOf('outputFormat', options.outputFormat, ['parquet', 'arrow']);
  checkOneOf('mode', options.mode, ['fail-if-exists', 'overwrite', 'resume']);
  checkOneOf('parquetEngine', options.parquetEngine, ['parquet-wasm', 'parquetjs-lite']);
  checkOneOf('compression', options.compression, ['snappy', 'zstd', 'gzip', 'none']);
  checkInteger('workers', options.workers, 1);
  checkInteger('partitionBytes', options.partitionBytes, 1);
  checkInteger('partitionRows', options.partitionRows, 1);
  checkInteger('maxRetries', options.maxRetries, 0);
  checkInteger('retryDelayMs', options.retryDelayMs, 0);
  checkInteger('maxRetryDelayMs', options.maxRetryDelayMs, 0);
  checkInteger('partitionTimeoutMs', options.partitionTimeoutMs, 1);
  checkString('runId', options.runId);
  if (options.runId !== undefined && !/^[\w.-]+$/.test(options.runId)) {
    throw new BatchscoreError(
      'ERR_INVALID_OPTION',
      `Expected \`runId\` to hold only letters, digits, '.', '_' and '-', got ${JSON.stringify(options.runId)}`,
      { fix: 'The run id names a folder, so it cannot hold path separators' },
    );
  }
  if (options.delimiter !== undefined && options.delimiter.length !== 1) {
    throw new BatchscoreError(
      'ERR_INVALID_OPTION',
      `Expected \`delimiter\` to be one character, got ${JSON.stringify(options.delimiter)}`,
    );
  }
}

/** Number of worker threads of a run. */
export function workerCount(options: PartitionedRunOptions): number {
  return options.workers ?? availableParallelism();
}

/** Plans the input of a run from its options. */
export function planRunInput(options: PartitionedRunOptions): Promise<InputPlan> {
  const sizedByUser = options.partitionBytes !== undefined || options.partitionRows !== undefined;
  return planInput(options.input, {
    minPartitions: sizedByUser ? null : AUTO_PARTITIONS,
    format: options.format,
    partitionBytes: options.partitionBytes ?? DEFAULT_PARTITION_BYTES,
    partitionRows: options.partitionRows ?? DEFAULT_PARTITION_ROWS,
    delimiter: options.delimiter ?? ',',
    columnTypes: options.columnTypes,
  });
}
