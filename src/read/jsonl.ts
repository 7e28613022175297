/**
 * Reads one planned byte range of a JSON Lines file into Arrow columns.
 *
 * Values map to columns strictly by JSON type: an int64 column takes integers from -2^63
 * to 2^63 - 1, float64 any number, bool a boolean. A utf8 column takes a string as is and
 * any other value as its JSON text. `JSON.parse` rounds numbers beyond ±2^53 to doubles,
 * so for those the int64 and utf8 columns use the number's source text instead. A
 * missing key or `null` is null. An empty string stays an empty string, because JSON
 * distinguishes it from null. Keys that are not in the schema are ignored.
 *
 * NOTE: only direct values of a line's object keep their source text. A utf8 column that
 * takes a nested object or array gets `JSON.stringify` text, with numbers beyond ±2^53
 * rounded.
 */

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
import { LF, isBlankLineByte } from './csv-fields.js';
import { readRange, validateRange } from './input-file.js';
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

/** Magnitude from which `JSON.parse` may have rounded an integer: 2^53. */
const DOUBLE_EXACT_LIMIT = 2 ** 53;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Digits of the largest int64 magnitude, 9223372036854775808. */
const INT64_DIGITS = 19;
/** A JSON number: sign, integer digits, fraction digits and exponent. */
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Exact value of a JSON number's source text, as far as an int64 column needs it. */
export type JsonInteger =
  | { kind: 'int64'; value: bigint }
  | { kind: 'out-of-range' }
  | { kind: 'not-integer' };

/**
 * Reads the source text of a JSON number exactly, without rounding through a double.
 * `1.0`, `1e2` and `100e-2` are integers, as JSON has one number type.
 */
export function readJsonInteger(text: string): JsonInteger {
  const match = JSON_NUMBER.exec(text);
  if (match === null) return { kind: 'not-integer' };
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const allDigits = (whole + fraction).replace(/^0+/, '');
  const digits = allDigits.replace(/0+$/, '');
  if (digits === '') return { kind: 'int64', value: 0n };
  // Value = digits × 10^exponent, with trailing zeros moved into the exponent.
  const exponent = Number(exponentText) - fraction.length + (allDigits.length - digits.length);
  if (exponent < 0) return { kind: 'not-integer' };
  if (digits.length + exponent > INT64_DIGITS) return { kind: 'out-of-range' };
  const magnitude = BigInt(digits) * 10n ** BigInt(exponent);
  const value = sign === '-' ? -magnitude : magnitude;
  if (value < INT64_MIN || value > INT64_MAX) return { kind: 'out-of-range' };
  return { kind: 'int64', value };
}

/**
 * Returns the source text of every number that is a direct value of the JSON object on
 * `line`, by key. `line` must be an object that `JSON.parse` accepted. A repeated key keeps
 * its last value, as in `JSON.parse`.
 */
export function jsonNumberTexts(line: string): Map<string, string> {
  const texts = new Map<string, string>();
  let i = skipJsonSpace(line, line.indexOf('{') + 1);
  while (i < line.length && line[i] !== '}') {
    const keyEnd = jsonStringEnd(line, i);
    const key = JSON.parse(line.slice(i, keyEnd)) as string;
    // Skip the colon and the space around it.
    i = skipJsonSpace(line, skipJsonSpace(line, keyEnd) + 1);
    const valueEnd = jsonValueEnd(line, i);
    const first = line[i] ?? '';
    if (first === '-' || (first >= '0' && first <= '9')) texts.set(key, line.slice(i, valueEnd));
    else texts.delete(key);
    i = skipJsonSpace(line, valueEnd);
    if (line[i] === ',') i = skipJsonSpace(line, i + 1);
  }
  return texts;
}

function skipJsonSpace(text: string, start: number): number {
  let i = start;
  while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  return i;
}

/** Returns the index just after the string that starts with the quote at `start`. */
function jsonStringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Returns the index just after the JSON value that starts at `start`. */
function jsonValueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return jsonStringEnd(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    let i = start;
    while (i < text.length) {
      const char = text[i];
      if (char === '"') {
        i = jsonStringEnd(text, i);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      if (char === '}' || char === ']') depth--;
      i++;
      if (depth === 0) return i;
    }
    return i;
  }
  // A number, true, false or null ends at a delimiter or space.
  let i = start;
  while (i < text.length && !',}] \t\r\n'.includes(text[i] ?? '')) i++;
  return i;
}

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
  /** The line being read, for the source text of numbers that `JSON.parse` rounded. */
  private line = '';
  /** Source texts of the current line's numbers, computed on first use. */
  private numberTexts: Map<string, string> | undefined;

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
    return readResult(table, firstRow, rowIndex, rejected, rejectedIndexes);
  }

  /** Writes the object on `line` to the columns at index `length` and returns why it failed. */
  private readLine(line: string): Failure | undefined {
    this.line = line;
    this.numberTexts = undefined;
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
        return this.readInteger(c, column as Int64Column, value);
      case 'float64':
        if (typeof value !== 'number') return this.failure(c, value, `is ${jsonKind(value)}`);
        (column as Float64Column).set(index, value);
        return undefined;
      case 'bool':
        if (typeof value !== 'boolean') return this.failure(c, value, `is ${jsonKind(value)}`);
        (column as BoolColumn).set(index, value);
        return undefined;
      default: {
        let text: string;
        if (typeof value === 'string') text = value;
        else if (typeof value === 'number') text = this.numberText(c, value);
        else text = JSON.stringify(value);
        (column as Utf8Column).setString(index, text);
        return undefined;
      }
    }
  }

  /** Writes the number `value` of column `c` to an int64 column, exactly. */
  private readInteger(c: number, column: Int64Column, value: number): Failure | undefined {
    if (Number.isSafeInteger(value)) {
      column.setSafeInteger(this.length, value);
      return undefined;
    }
    if (Math.abs(value) < DOUBLE_EXACT_LIMIT) return this.failure(c, value, 'is not an integer');
    // `JSON.parse` may have rounded `value`, so decide from the source text.
    const text = this.numberText(c, value);
    const integer = readJsonInteger(text);
    switch (integer.kind) {
      case 'int64':
        column.setBigInt(this.length, integer.value);
        return undefined;
      case 'out-of-range':
        return this.failure(c, value, 'is outside the int64 range', text);
      default:
        return this.failure(c, value, 'is not an integer', text);
    }
  }

  /**
   * Returns the text of the number `value` of column `c`: its source text when
   * `JSON.parse` may have rounded it, and otherwise the shortest text of the double.
   */
  private numberText(c: number, value: number): string {
    if (Math.abs(value) < DOUBLE_EXACT_LIMIT) return JSON.stringify(value);
    this.numberTexts ??= jsonNumberTexts(this.line);
    return this.numberTexts.get(this.names[c] ?? '') ?? String(value);
  }

  private failure(c: number, value: unknown, problem: string, text?: string): Failure {
    const column = this.names[c] ?? '';
    return {
      code: 'ERR_VALUE_CONVERSION',
      column,
      value: text ?? JSON.stringify(value),
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
