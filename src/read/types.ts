import type { Table } from 'apache-arrow';
import type { ErrorCode } from '../errors.js';

/** Arrow-backed type that a text column (CSV, JSON Lines) is parsed into. */
export type ColumnType = 'int64' | 'float64' | 'bool' | 'utf8';

/** Column names and types of a text input, fixed once per run so every part has one schema. */
export interface TextSchema {
  names: string[];
  types: ColumnType[];
}

/** A row that could not be read or scored, kept for the dead-letter output. */
export interface RejectedRow {
  /** One-based data row number in the source file (the header row is not counted). */
  row: number;
  /** Source file, when the input is a file. */
  file?: string;
  /** Column that caused the rejection, when one did. */
  column?: string;
  /** The offending value as text, when one did. */
  value?: string;
  /** Stable code of the failure, from the error table. */
  code: ErrorCode;
  /** Human-readable reason. */
  reason: string;
}

/** Rows read from one partition, with the rows that could not be read. */
export interface ReadResult {
  /** Rows read, as Arrow columns. */
  table: Table;
  /**
   * One-based source row number of each table row. Absent when the table rows are
   * exactly `firstRow, firstRow + 1, ...`.
   */
  rowNumbers?: Float64Array;
  /** One-based source row number of the partition's first row. */
  firstRow: number;
  /** Rows that could not be read. */
  rejected: RejectedRow[];
}

/** Returns the one-based source row number of table row `index`. */
export function sourceRowNumber(result: Pick<ReadResult, 'rowNumbers' | 'firstRow'>, index: number): number {
  return result.rowNumbers?.[index] ?? result.firstRow + index;
}
