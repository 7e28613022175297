import type { DataType } from 'apache-arrow';
import type { TextSchema } from '../read/types.js';

/** Byte range of a CSV or JSON Lines file that starts and ends on row boundaries. */
export interface TextPartition {
  kind: 'csv' | 'jsonl';
  file: string;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
  /** One-based data row number of the first row. */
  firstRow: number;
  /** Rows in the range, counted by the planner. */
  rows: number;
  schema: TextSchema;
  delimiter: string;
}

/** Row groups of one Parquet file, or a slice of rows of one large row group. */
export interface ParquetPartition {
  kind: 'parquet';
  file: string;
  rowGroups: number[];
  firstRow: number;
  rows: number;
  /** Rows to skip in the selected row group, for a slice of a large row group. */
  offset?: number;
}

/** Record batches of one Arrow IPC file (the random-access format). */
export interface ArrowFilePartition {
  kind: 'arrow-file';
  file: string;
  batches: number[];
  firstRow: number;
  rows: number;
}

/**
 * Rows that the main thread read, sent to a worker as an Arrow IPC stream whose buffer
 * is transferred, not copied. Used for in-memory tables, batch streams and IPC streams.
 */
export interface IpcPartition {
  kind: 'ipc';
  /** Source file, when the rows came from one. */
  file?: string;
  bytes: Uint8Array;
  firstRow: number;
  rows: number;
}

/** What a worker reads for one partition. */
export type PartitionSource = TextPartition | ParquetPartition | ArrowFilePartition | IpcPartition;

/** A column of the input, as the model's feature mapping sees it. */
export interface InputColumn {
  name: string;
  type: DataType;
}

/** The partitions of an input and what is known of it before any partition is read. */
export interface InputPlan {
  /** Partitions in input order. A stream input yields them as it is read. */
  partitions: AsyncIterable<PartitionSource>;
  /** Partitions, when known before reading. */
  partitionCount: number | null;
  /** Rows, when known before reading. */
  rows: number | null;
  /** Columns of the input, used to check the feature mapping before any work starts. */
  columns: InputColumn[];
  /** Input files; empty for in-memory tables and batch streams. */
  files: string[];
}

/** Describes a partition in one line, for events and error messages. */
export function describePartition(source: PartitionSource): string {
  switch (source.kind) {
    case 'csv':
    case 'jsonl':
      return `${source.file} bytes ${source.start}-${source.end}`;
    case 'parquet':
      return source.offset === undefined
        ? `${source.file} row groups ${source.rowGroups.join(',')}`
        : `${source.file} row group ${source.rowGroups.join(',')} rows ` +
          `${source.offset + 1}-${source.offset + source.rows}`;
    case 'arrow-file':
      return `${source.file} record batches ${source.batches.join(',')}`;
    case 'ipc':
      return source.file === undefined
        ? `in-memory rows ${source.firstRow}-${source.firstRow + source.rows - 1}`
        : `${source.file} rows ${source.firstRow}-${source.firstRow + source.rows - 1}`;
  }
}
