import type { RecordBatch, Table } from 'apache-arrow';
import type { ColumnType } from './read/types.js';
import type { ScoreEvent } from './events.js';

/** Input formats that batchscore reads. */
export type InputFormat = 'parquet' | 'arrow' | 'csv' | 'jsonl';

/** Output formats that batchscore writes. */
export type OutputFormat = 'parquet' | 'arrow';

/** Parquet writer implementations. */
export type ParquetEngine = 'parquet-wasm' | 'parquetjs-lite';

/** Parquet compression codecs that every engine supports. */
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'none';

/**
 * What to do when the output directory already holds a committed output.
 * - `fail-if-exists`: raise `ERR_OUTPUT_EXISTS` and write nothing.
 * - `overwrite`: write the new output beside the old one, then swap them.
 */
export type WriteMode = 'fail-if-exists' | 'overwrite';

/**
 * Data to score: a file path, a glob, a list of paths, an in-memory Arrow table, or an
 * async iterable of Arrow record batches.
 */
export type InputSource = string | readonly string[] | Table | AsyncIterable<RecordBatch>;

/** Default target size of a file partition, in bytes of input. */
export const DEFAULT_PARTITION_BYTES = 32 * 1024 * 1024;
/** Default target size of a partition of an in-memory table or a batch stream, in rows. */
export const DEFAULT_PARTITION_ROWS = 250_000;
/** Default number of rows passed to one inference call. */
export const DEFAULT_BATCH_ROWS = 65_536;
/** Default intra-op threads of each worker's onnxruntime session. */
export const DEFAULT_INTRA_OP_THREADS = 1;
/** Default Parquet compression. */
export const DEFAULT_COMPRESSION: ParquetCompression = 'snappy';
/** Default Parquet writer. */
export const DEFAULT_PARQUET_ENGINE: ParquetEngine = 'parquet-wasm';
/** Default write mode. */
export const DEFAULT_WRITE_MODE: WriteMode = 'fail-if-exists';

/** Options shared by {@link scorePartitioned} and {@link mapPartitions}. */
export interface PartitionedRunOptions {
  /** Data to read. A string may be a glob such as `data/*.parquet`. */
  input: InputSource;
  /**
   * Input format. By default it follows each file's extension: `.parquet`, `.arrow`,
   * `.feather`, `.ipc`, `.arrows` (Arrow IPC stream), `.csv`, `.jsonl` and `.ndjson`.
   */
  format?: InputFormat;
  /** Output directory. Part files are written as `part-00000.<ext>`, one per partition. */
  output: string;
  /** @defaultValue `'parquet'` */
  outputFormat?: OutputFormat;
  /** @defaultValue {@link DEFAULT_WRITE_MODE} */
  mode?: WriteMode;
  /**
   * Worker threads in the pool.
   * @defaultValue `os.availableParallelism()`. Minimum 1.
   */
  workers?: number;
  /**
   * Target input bytes per partition for CSV, JSON Lines, Parquet and Arrow IPC files. A
   * partition never splits a CSV row, a Parquet row group or an Arrow record batch, so
   * real sizes vary around it.
   *
   * When neither this nor `partitionRows` is set, a small input is split into at least
   * two partitions per worker (of at least 1 MiB, or 10,000 rows for a table) so that
   * every worker has work.
   * @defaultValue {@link DEFAULT_PARTITION_BYTES}. Minimum 1.
   */
  partitionBytes?: number;
  /**
   * Target rows per partition for in-memory tables, batch streams and Arrow IPC stream
   * files. Automatic sizing applies as for `partitionBytes`.
   * @defaultValue {@link DEFAULT_PARTITION_ROWS}. Minimum 1.
   */
  partitionRows?: number;
  /** CSV field delimiter, one character. @defaultValue `','` */
  delimiter?: string;
  /** Column types for CSV and JSON Lines input, overriding the types inferred from a sample. */
  columnTypes?: Record<string, ColumnType>;
  /** @defaultValue {@link DEFAULT_PARQUET_ENGINE} */
  parquetEngine?: ParquetEngine;
  /** @defaultValue {@link DEFAULT_COMPRESSION} */
  compression?: ParquetCompression;
  /**
   * Run id written to the output metadata. @defaultValue a random UUID.
   */
  runId?: string;
  /** Stops the run. Nothing of a stopped run is committed. */
  signal?: AbortSignal;
  /** Receives progress events. Must not throw. */
  onEvent?: (event: ScoreEvent) => void;
}

/** Options of {@link scorePartitioned}. */
export interface ScoreOptions extends PartitionedRunOptions {
  /** Path of an `.onnx` model file, or its bytes. */
  model: string | Uint8Array;
  /**
   * Model version written in the `model_version` column and the file metadata.
   * @defaultValue `sha256:` followed by the first 12 hex digits of the model's sha256.
   */
  modelVersion?: string;
  /**
   * Columns packed in this order into the model's single `[N, F]` input. Without it,
   * each model input is fed from the column of the same name.
   */
  features?: readonly string[];
  /**
   * Input columns copied into the output beside the predictions.
   * @defaultValue `'all'`
   */
  passthrough?: 'all' | 'none' | readonly string[];
  /**
   * Path of an ES module run in each worker before the model, whose default export (or
   * `transform` export) takes and returns an Arrow `Table`, for example to scale features
   * that the model file does not scale itself.
   */
  transform?: string;
  /**
   * Intra-op threads of each worker's onnxruntime session. Workers × threads should not
   * exceed the cores.
   * @defaultValue {@link DEFAULT_INTRA_OP_THREADS}
   */
  intraOpThreads?: number;
  /**
   * Rows per inference call. Larger calls amortise per-call overhead but hold bigger
   * tensors. @defaultValue {@link DEFAULT_BATCH_ROWS}. Minimum 1.
   */
  batchRows?: number;
  /**
   * Time written in the `scored_at` column. Pin it to make a rerun write identical files.
   * @defaultValue the time the run starts.
   */
  scoredAt?: Date;
  /**
   * Rows that cannot be scored (a value that cannot be converted, a ragged CSV row) that
   * the run tolerates. Tolerated rows are written to `_rejected/` with the reason. One
   * more fails the run.
   * @defaultValue `0`
   */
  maxRejectedRows?: number;
}

/** Options of {@link mapPartitions}. */
export interface MapPartitionsOptions extends PartitionedRunOptions {
  /**
   * Path of an ES module run in each worker. It exports `processPartition(table, context)`,
   * returning the output `Table`, and optionally `setup(options)`, awaited once per worker.
   */
  worker: string;
  /** Structured-clonable value passed to the worker module's `setup`. */
  workerOptions?: unknown;
}
