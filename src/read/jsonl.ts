/**
 * Reads one planned byte range of a JSON Lines file into Arrow columns.
 *
 * Values map to columns strictly by JSON type: an int64 column takes integers within
 * ±2^53 (beyond that `JSON.parse` has already rounded them), float64 any number, bool a
 * boolean. A utf8 column takes a string as is and any other value as its JSON text. A
 * missing key or `null` is null. An empty string stays an empty string, because JSON
 * distinguishes it from null. Keys that are not in the schema are ignored.
 */

import {
  buildTable,
  createColumn,
  keptRowNumbers,
  validateSchema,
  type BoolColumn,
  type ColumnBuilder,
  type Float64Column,
  type Int64Column,
  type Utf8Column,
} from './columns.js';
import { LF, isBlankLineByte } from './csv-fields.js';
import { readRange, validateRange } from './input-file.js';
import { MAX_INFERRED_INTEGER } from './text-values.js';
import type { ColumnType, ReadResult, RejectedRow, TextSchema } from './types.js';

/** A byte range of a JSON Lines file, as planned by `planJsonl`. */
export interface JsonlRange {
  /** Offset of the range's first byte, at the start of a line. */
  start: number;
  /** Offset just after the range's last line (exclusive). */
  end: number;
  /** One-based row number of the range's first non-blank line. */
  firstRow: number;
  /** Number of rows in the range, used to size the columns up front when given. */
  rows?: number;
}

type Failure = Omit<RejectedRow, 'row' | 'file'>;

/**
 * Reads the lines in bytes `[range.start, range.end)` of the JSON Lines file at `path`
 * into an Arrow table typed by `schema`. Blank lines are skipped. A line that is not a
 * JSON object is rejected with `ERR_INPUT_CORRUPT`, and a value of the wrong JSON type with
 * `ERR_VALUE_CONVERSION`. Rejected rows are left out of the table and listed in `rejected`,
 * and `rowNumbers` then maps each table row to its source row.
 */
export async function readJsonlRange(
  path: string,
  range: JsonlRange,
  schema: TextSchema,
): Promise<ReadResult> {
  validateRange(range);
  validateSchema(schema);
  const bytes = await readRange(path, range.start, range.end);
  return new JsonlRangeReader(bytes, schema, range.rows).read(path, range.firstRow);
}

/** Parses the lines of one range buffer into column builders. */
class JsonlRangeReader {
  private readonly names: string[];
  private readonly types: ColumnType[];
  /** Whether a name is also an `Object.prototype` property, so lookups must check ownership. */
  private readonly inherited: boolean[];
  private readonly columns: ColumnBuilder[];
  private capacity: number;
  private length = 0;

  constructor(
    private readonly bytes: Buffer,
    schema: TextSchema,
    rows: number | undefined,
  ) {
    this.names = schema.names;
    this.types = schema.types;
    this.inherited = schema.names.map((name) => name in Object.prototype);
    this.capacity = Math.max(16, rows ?? Math.ceil(bytes.length / 64));
    const textBytes = Math.min(bytes.length, Math.ceil((2 * bytes.length) / this.names.length));
    this.columns = schema.types.map((type) => createColumn(type, this.capacity, textBytes));
  }

  /** Parses every line of the buffer, numbering the first non-blank one `firstRow`. */
  read(file: string, firstRow: number): ReadResult {
    const { bytes } = this;
    const rejected: RejectedRow[] = [];
    const rejectedIndexes: number[] = [];
    let rowIndex = 0;
    for (let pos = 0; pos < bytes.length; ) {
      const lf = bytes.indexOf(LF, pos);
      const lineEnd = lf === -1 ? bytes.length : lf;
      const lineStart = pos;
      pos = lineEnd + 1;
      if (isBlankLine(bytes, lineStart, lineEnd)) continue;

      if (this.length === this.capacity) this.grow();
      const failure = this.readLine(bytes.toString('utf8', lineStart, lineEnd));
      if (failure === undefined) {
        this.length++;
      } else {
        rejected.push({ row: firstRow + rowIndex, file, ...failure });
        rejectedIndexes.push(rowIndex);
      }
      rowIndex++;
    }

    const table = buildTable(this.names, this.columns, this.length);
    const result: ReadResult = { table, firstRow, rejected };
    if (rejected.length > 0) {
      result.rowNumbers = keptRowNumbers(firstRow, rowIndex, rejectedIndexes);
    }
    return result;
  }

  /** Writes the object on `line` to the columns at index `length` and returns why it failed. */
  private readLine(line: string): Failure | undefined {
    let object: unknown;
    try {
      object = JSON.parse(line);
    } catch (error) {
      const reason = `line is not valid JSON: ${(error as Error).message}`;
      return { code: 'ERR_INPUT_CORRUPT', value: line, reason };
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      const reason = `line is ${jsonKind(object)}, not a JSON object`;
      return { code: 'ERR_INPUT_CORRUPT', value: line, reason };
    }
    const record = object as Record<string, unknown>;
    for (let c = 0; c < this.names.length; c++) {
      const name = this.names[c] ?? '';
      const own = !this.inherited[c] || Object.hasOwn(record, name);
      const failure = this.readValue(c, own ? record[name] : undefined);
      if (failure !== undefined) return failure;
    }
    return undefined;
  }

  /** Writes `value` to column `c` at index `length` and returns why it failed. */
  private readValue(c: number, value: unknown): Failure | undefined {
    const index = this.length;
    const column = this.columns[c] as ColumnBuilder;
    if (value === undefined || value === null) {
      column.setNull(index);
      return undefined;
    }
    switch (this.types[c]) {
      case 'int64':
        if (typeof value !== 'number') return this.failure(c, value, `is ${jsonKind(value)}`);
        if (!Number.isInteger(value)) return this.failure(c, value, 'is not an integer');
        if (Math.abs(value) > MAX_INFERRED_INTEGER) {
          return this.failure(c, value, 'is outside ±2^53, where JSON numbers lose precision');
        }
        (column as Int64Column).setSafeInteger(index, value);
        return undefined;
      case 'float64':
        if (typeof value !== 'number') return this.failure(c, value, `is ${jsonKind(value)}`);
        (column as Float64Column).set(index, value);
        return undefined;
      case 'bool':
        if (typeof value !== 'boolean') return this.failure(c, value, `is ${jsonKind(value)}`);
        (column as BoolColumn).set(index, value);
        return undefined;
      default: {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        (column as Utf8Column).setString(index, text);
        return undefined;
      }
    }
  }

  private failure(c: number, value: unknown, problem: string): Failure {
    const column = this.names[c] ?? '';
    return {
      code: 'ERR_VALUE_CONVERSION',
      column,
      value: JSON.stringify(value),
      reason: `value ${problem}, but column "${column}" is ${this.types[c]}`,
    };
  }

  private grow(): void {
    this.capacity *= 2;
    for (const column of this.columns) column.grow(this.capacity);
  }
}

function isBlankLine(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (!isBlankLineByte(bytes[i] ?? 0, -1)) return false;
  }
  return true;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
