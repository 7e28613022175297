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
 * What to do when the output already exists.
 * - `fail-if-exists`: raise `ERR_OUTPUT_EXISTS` and write nothing.
 * - `overwrite`: write a new output beside the old one, then swap them atomically.
 * - `resume`: like `overwrite`, but reuse every part whose input and settings are
 *   unchanged, from the committed output or from an interrupted run, and compute only
 *   the rest. After a crash, this continues the interrupted run with its `scored_at`.
 */
export type WriteMode = 'fail-if-exists' | 'overwrite' | 'resume';

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
/** Default number of retries of a partition whose worker crashed or hit a transient error. */
export const DEFAULT_MAX_RETRIES = 3;
/** Default delay before the first retry, in milliseconds; each retry doubles it. */
export const DEFAULT_RETRY_DELAY_MS = 250;
/** Default upper bound of the delay between retries, in milliseconds. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 10_000;

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
   * When neither this nor `partitionRows` is set, each file or table is split into up to
   * 8 partitions (of at least 1 MiB, or 10,000 rows for a table) so that a small input
   * still keeps several workers busy. This depends on the input alone, so the same input
   * splits the same way on every machine and a rerun can reuse its parts.
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
  /**
   * Parquet codec. snappy is the default because it writes about twice as fast as zstd
   * with parquet-wasm; zstd makes files about 40% smaller (see docs/benchmarks.md).
   * @defaultValue {@link DEFAULT_COMPRESSION}
   */
  compression?: ParquetCompression;
  /**
   * Run id written to the output metadata.
   * @defaultValue a random UUID, or, when `scoredAt` is pinned, an id derived from it and
   * the model, so that a rerun writes byte-identical files.
   */
  runId?: string;
  /**
   * Retries of a partition whose worker crashed, timed out or hit a transient I/O error
   * (EIO, EAGAIN, EBUSY, EMFILE, ENFILE, ETIMEDOUT). Errors in the data or the model are
   * not retried. Each retry runs on a fresh worker after an exponential backoff.
   * @defaultValue {@link DEFAULT_MAX_RETRIES}. Minimum 0.
   */
  maxRetries?: number;
  /**
   * Delay before the first retry, in milliseconds, doubled for each further retry up to
   * `maxRetryDelayMs`. @defaultValue {@link DEFAULT_RETRY_DELAY_MS}
   */
  retryDelayMs?: number;
  /** @defaultValue {@link DEFAULT_MAX_RETRY_DELAY_MS} */
  maxRetryDelayMs?: number;
  /**
   * Time a partition may take before its worker is stopped and the partition retried,
   * in milliseconds. @defaultValue no limit
   */
  partitionTimeoutMs?: number;
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
   * @defaultValue `0`, unless `maxRejectedFraction` is set
   */
  maxRejectedRows?: number;
  /**
   * Fraction of the rows read (0 to 1) that may be rejected, checked when the run ends
   * and, per partition, as soon as a partition is done. Applies together with
   * `maxRejectedRows`: the run fails when either limit is exceeded.
   * @defaultValue no limit beyond `maxRejectedRows`
   */
  maxRejectedFraction?: number;
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
