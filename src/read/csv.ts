/**
 * Reads one planned byte range of a CSV file into Arrow columns.
 *
 * Empty and missing values: a cell that is empty or only spaces and tabs is null in an
 * int64, float64 or bool column (never 0 or false). In a utf8 column only an empty cell
 * (`a,,b` or `a,"",b`) is null, as in pandas and pyarrow, and a cell of spaces keeps its text.
 * `NaN`, `Inf` and `Infinity` are float64 values, not nulls.
 */

import { isUtf8 } from 'node:buffer';
import {
  buildTable,
  createColumn,
  readResult,
  validateSchema,
  type BoolColumn,
  type ColumnBuilder,
  type Float64Column,
  type Int64Column,
  type Utf8Column,
} from './columns.js';
import { CR, CsvRowTokenizer, LF, delimiterByte, skipBlankLine } from './csv-fields.js';
import { readRange, validateRange } from './input-file.js';
import {
  INT_BIG,
  INT_OUT_OF_RANGE,
  INT_SMALL,
  ValueParser,
  isBlank,
} from './text-values.js';
import type { ColumnType, ReadResult, RejectedRow, TextSchema } from './types.js';

/** Options of {@link readCsvRange}. */
export interface CsvReadOptions {
  /**
   * Field delimiter: one ASCII character other than `"`, CR or LF. Must match the one
   * the file was planned with.
   * @defaultValue `','`
   */
  delimiter?: string;
}

/** A byte range of a CSV file, as planned by `planCsv`. */
export interface CsvRange {
  /** Offset of the range's first byte, at the start of a row. */
  start: number;
  /** Offset just after the range's last row (exclusive). */
  end: number;
  /** One-based data row number of the range's first row. */
  firstRow: number;
  /** Number of rows in the range, used to size the columns up front when given. */
  rows?: number;
}

/** A rejected row before its row number and file are known. */
type Failure = Omit<RejectedRow, 'row' | 'file'>;

const INT64 = 0;
const FLOAT64 = 1;
const BOOL = 2;
const UTF8 = 3;
const TYPE_CODES: Record<ColumnType, number> = {
  int64: INT64,
  float64: FLOAT64,
  bool: BOOL,
  utf8: UTF8,
};

/**
 * Reads the rows in bytes `[range.start, range.end)` of the CSV file at `path` into an
 * Arrow table typed by `schema`. Blank lines are skipped. A row whose field count differs from the
 * schema is rejected with `ERR_INPUT_CORRUPT`. A row with a value that does not parse as
 * its column type is rejected with `ERR_VALUE_CONVERSION`. Rejected rows are left out of
 * the table and listed in `rejected`, and `rowNumbers` then maps each table row to its
 * source row. The file errors are those of `planCsv`, plus `ERR_INPUT_CORRUPT` when the
 * file is now shorter than the range.
 *
 * @example
 * ```ts
 * const plan = await planCsv('data.csv', { targetBytes: 64 * 1024 * 1024 });
 * for (const range of plan.ranges) {
 *   const { table, rejected } = await readCsvRange('data.csv', range, plan.schema);
 * }
 * ```
 */
export async function readCsvRange(
  path: string,
  range: CsvRange,
  schema: TextSchema,
  options: CsvReadOptions = {},
): Promise<ReadResult> {
  const delimiter = delimiterByte(options.delimiter);
  validateRange(range);
  validateSchema(schema);
  const bytes = await readRange(path, range.start, range.end);
  const reader = new CsvRangeReader(bytes, schema, delimiter, range.rows);
  return reader.read(path, range.firstRow);
}

/** Parses the rows of one range buffer into column builders. */
class CsvRangeReader {
  private readonly tokenizer: CsvRowTokenizer;
  private readonly parser = new ValueParser();
  private readonly names: string[];
  private readonly types: ColumnType[];
  private readonly typeCodes: number[];
  private readonly columns: ColumnBuilder[];
  /** True when the whole buffer is valid UTF-8, so text cells need no check of their own. */
  private readonly validUtf8: boolean;
  private capacity: number;
  private length = 0;

  constructor(
    private readonly bytes: Buffer,
    schema: TextSchema,
    delimiter: number,
    rows: number | undefined,
  ) {
    this.names = schema.names;
    this.types = schema.types;
    this.typeCodes = schema.types.map((type) => TYPE_CODES[type]);
    this.tokenizer = new CsvRowTokenizer(delimiter, schema.names.length + 1);
    this.capacity = Math.max(16, rows ?? Math.ceil(bytes.length / 64));
    const textBytes = Math.min(bytes.length, Math.ceil((2 * bytes.length) / this.names.length));
    this.columns = schema.types.map((type) => createColumn(type, this.capacity, textBytes));
    this.validUtf8 = isUtf8(bytes);
  }

  /** Parses every row of the buffer, numbering the first one `firstRow`. */
  read(file: string, firstRow: number): ReadResult {
    const { bytes, tokenizer } = this;
    const rejected: RejectedRow[] = [];
    const rejectedIndexes: number[] = [];
    let rowIndex = 0;
    let pos = 0;
    while (pos < bytes.length) {
      const blankEnd = skipBlankLine(bytes, pos, tokenizer.delimiter);
      if (blankEnd !== -1) {
        pos = blankEnd;
        continue;
      }
      const rowStart = pos;
      pos = tokenizer.tokenize(bytes, pos);
      if (this.length === this.capacity) this.grow();
      const failure = this.readRow(rowStart, pos);
      if (failure === undefined) {
        this.length++;
      } else {
        rejected.push({ row: firstRow + rowIndex, file, ...failure });
        rejectedIndexes.push(rowIndex);
      }
      rowIndex++;
    }

    const table = buildTable(this.names, this.columns, this.length);
    return readResult(table, firstRow, rowIndex, rejected, rejectedIndexes);
  }

  /** Writes the tokenized row to the columns at index `length` and returns why it failed. */
  private readRow(rowStart: number, rowEnd: number): Failure | undefined {
    const shapeProblem = this.shapeProblem();
    if (shapeProblem !== undefined) {
      const value = this.rawRow(rowStart, rowEnd);
      return { code: 'ERR_INPUT_CORRUPT', value, reason: shapeProblem };
    }
    for (let c = 0; c < this.names.length; c++) {
      this.tokenizer.resolve(this.bytes, c);
      let problem: string | undefined;
      switch (this.typeCodes[c]) {
        case UTF8:
          problem = this.readText(this.columns[c] as Utf8Column);
          break;
        case INT64:
          problem = this.readInteger(this.columns[c] as Int64Column);
          break;
        case FLOAT64:
          problem = this.readFloat(this.columns[c] as Float64Column);
          break;
        default:
          problem = this.readBool(this.columns[c] as BoolColumn);
      }
      if (problem !== undefined) return this.conversionFailure(c, problem);
    }
    return undefined;
  }

  /** Returns why the tokenized row cannot be read at all, or undefined when it can. */
  private shapeProblem(): string | undefined {
    const { count, unterminated } = this.tokenizer;
    if (unterminated) return 'a quoted field in this row is never closed';
    if (count !== this.names.length) {
      return `row has ${count} fields but the header has ${this.names.length}`;
    }
    return undefined;
  }

  // Each read* method converts the field resolved last into row `length` of `column` and
  // returns what is wrong with the value, or undefined when it fits.

  private readText(column: Utf8Column): string | undefined {
    const { value, valueStart, valueEnd } = this.tokenizer;
    if (valueStart === valueEnd) {
      column.setNull(this.length);
    } else if (this.validUtf8 || isUtf8(value.subarray(valueStart, valueEnd))) {
      column.setBytes(this.length, value, valueStart, valueEnd);
    } else {
      return 'is not valid UTF-8 text';
    }
    return undefined;
  }

  private readInteger(column: Int64Column): string | undefined {
    const { value, valueStart, valueEnd } = this.tokenizer;
    if (isBlank(value, valueStart, valueEnd)) {
      column.setNull(this.length);
      return undefined;
    }
    const status = this.parser.parseInt64(value, valueStart, valueEnd);
    if (status === INT_SMALL) {
      column.setSafeInteger(this.length, this.parser.int);
    } else if (status === INT_BIG) {
      column.setBigInt(this.length, this.parser.bigInt);
    } else {
      return status === INT_OUT_OF_RANGE ? 'is outside the int64 range' : 'is not an integer';
    }
    return undefined;
  }

  private readFloat(column: Float64Column): string | undefined {
    const { value, valueStart, valueEnd } = this.tokenizer;
    if (isBlank(value, valueStart, valueEnd)) {
      column.setNull(this.length);
    } else if (this.parser.parseFloat64(value, valueStart, valueEnd)) {
      column.set(this.length, this.parser.float);
    } else {
      return 'is not a number';
    }
    return undefined;
  }

  private readBool(column: BoolColumn): string | undefined {
    const { value, valueStart, valueEnd } = this.tokenizer;
    if (isBlank(value, valueStart, valueEnd)) {
      column.setNull(this.length);
    } else if (this.parser.parseBool(value, valueStart, valueEnd)) {
      column.set(this.length, this.parser.bool);
    } else {
      return 'is not true or false';
    }
    return undefined;
  }

  private conversionFailure(c: number, problem: string): Failure {
    const { tokenizer } = this;
    const column = this.names[c] ?? '';
    const value = tokenizer.value.toString('utf8', tokenizer.valueStart, tokenizer.valueEnd);
    const reason = `value ${problem}, but column "${column}" is ${this.types[c]}`;
    return { code: 'ERR_VALUE_CONVERSION', column, value, reason };
  }

  /** Returns the text of a row without its line ending, for a rejected row's `value`. */
  private rawRow(start: number, end: number): string {
    let stop = end;
    if (this.bytes[stop - 1] === LF) stop--;
    if (this.bytes[stop - 1] === CR) stop--;
    return this.bytes.toString('utf8', start, stop);
  }

  private grow(): void {
    this.capacity *= 2;
    for (const column of this.columns) column.grow(this.capacity);
  }
}
