/**
 * Pieces shared by the CSV and JSON Lines planners: the range type, the collector that
 * groups rows into ranges, chunked scanning and option checks.
 */

import { InvalidOptionError } from '../errors.js';
import { COLUMN_TYPES } from '../read/columns.js';
import { describe, readAt, type InputFile } from '../read/input-file.js';
import type { ColumnType, TextSchema } from '../read/types.js';

/** Rows read from the start of a file to infer its column types. */
export const DEFAULT_SAMPLE_ROWS = 1000;

/**
 * Bytes read per step while scanning a file for row boundaries. The scan keeps one chunk
 * at a time, so its memory does not grow with the file.
 */
export const SCAN_CHUNK_BYTES = 1 << 20;

/** A byte range of a text file that starts at a row start and ends just after a row end. */
export interface PartitionRange {
  /** Offset of the first byte of the range's first row. */
  start: number;
  /** Offset just after the line ending of the range's last row (exclusive). */
  end: number;
  /** One-based data row number of the range's first row (the header is not counted). */
  firstRow: number;
  /** Rows in the range. Blank lines are not rows. */
  rows: number;
}

/** Options that every text planner accepts. */
export interface TextPlanOptions {
  /**
   * Bytes per range. A range closes at the first row end at or after this many bytes, so
   * ranges are at least this long (except the last) and exceed it by less than one row.
   */
  targetBytes: number;
  /**
   * Rows read from the start of the file to infer column types. A value seen only after
   * them does not change the inferred type, and a row whose value then does not parse is
   * rejected when read. The sampled rows are read into memory at once.
   * @defaultValue {@link DEFAULT_SAMPLE_ROWS}
   */
  sampleRows?: number;
  /**
   * Column types that replace the inferred ones, by column name. A name that is not a
   * column of the file is an `InvalidOptionError`.
   */
  columnTypes?: Record<string, ColumnType> | undefined;
}

/** Groups consecutive rows into ranges of about `targetBytes`. */
export class RangeCollector {
  /** Closed ranges, in file order. */
  readonly ranges: PartitionRange[] = [];
  /** Rows added so far. */
  rows = 0;
  private start = 0;
  private end = 0;
  private rangeRows = 0;

  constructor(private readonly targetBytes: number) {}

  /** Adds the row at bytes `[start, end)`, closing the current range when it is full. */
  addRow(start: number, end: number): void {
    if (this.rangeRows === 0) this.start = start;
    this.rangeRows++;
    this.rows++;
    this.end = end;
    if (end - this.start >= this.targetBytes) this.close();
  }

  /** Closes the last range and returns all of them. */
  finish(): PartitionRange[] {
    if (this.rangeRows > 0) this.close();
    return this.ranges;
  }

  private close(): void {
    const firstRow = this.rows - this.rangeRows + 1;
    this.ranges.push({ start: this.start, end: this.end, firstRow, rows: this.rangeRows });
    this.rangeRows = 0;
  }
}

/**
 * Reads the file from `from` to its end in chunks of {@link SCAN_CHUNK_BYTES}, passing
 * each chunk and the file offset of its first byte to `visit`.
 */
export async function scanChunks(
  input: InputFile,
  path: string,
  from: number,
  visit: (chunk: Buffer, offset: number) => void | Promise<void>,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
  for (let offset = from; offset < input.size; ) {
    const length = Math.min(SCAN_CHUNK_BYTES, input.size - offset);
    const bytesRead = await readAt(input, path, buffer, length, offset);
    if (bytesRead === 0) break;
    await visit(buffer.subarray(0, bytesRead), offset);
    offset += bytesRead;
  }
}

/** Reads bytes `[start, end)` of an open file into a new buffer. */
export async function readBytes(
  input: InputFile,
  path: string,
  start: number,
  end: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(end - start);
  const bytesRead = await readAt(input, path, buffer, end - start, start);
  return buffer.subarray(0, bytesRead);
}

/** Length of the UTF-8 byte order mark EF BB BF. */
export const BOM_BYTES = 3;

/** Returns true when the file starts with the UTF-8 byte order mark EF BB BF. */
export function startsWithBom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** Throws an `InvalidOptionError` unless the sizing options are positive integers. */
export function validatePlanOptions(options: TextPlanOptions): void {
  for (const name of ['targetBytes', 'sampleRows'] as const) {
    const value = options[name];
    if (value === undefined && name === 'sampleRows') continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new InvalidOptionError(
        `expected \`${name}\` to be a positive integer, got ${describe(value)}`,
      );
    }
  }
}

/**
 * Returns `schema` with the types in `columnTypes` put in place of the inferred ones.
 * Throws an `InvalidOptionError` for a name that is not a column or an unknown type.
 */
export function applyColumnTypes(
  schema: TextSchema,
  columnTypes: Record<string, ColumnType> | undefined,
  unknownFix: string,
): TextSchema {
  if (columnTypes === undefined) return schema;
  const types = [...schema.types];
  for (const [name, type] of Object.entries(columnTypes)) {
    const index = schema.names.indexOf(name);
    if (index === -1) {
      throw new InvalidOptionError(
        `\`columnTypes\` names column "${name}", which the input does not have`,
        { column: name, fix: unknownFix },
      );
    }
    if (!COLUMN_TYPES.includes(type)) {
      throw new InvalidOptionError(
        `expected \`columnTypes["${name}"]\` to be one of ${COLUMN_TYPES.join(', ')}, ` +
          `got ${describe(type)}`,
      );
    }
    types[index] = type;
  }
  return { names: schema.names, types };
}
