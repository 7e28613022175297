/**
 * Growable Arrow column builders for the text readers. Each builder writes row `i` in
 * place. A reader that rejects a row halfway through writes the next row at the same
 * index, so nothing has to be undone.
 */

import { endianness } from 'node:os';
import {
  Bool,
  Field,
  Float64,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  type Data,
} from 'apache-arrow';
import { InvalidOptionError } from '../errors.js';
import type { ColumnType, ReadResult, RejectedRow, TextSchema } from './types.js';

const TWO_TO_32 = 2 ** 32;
/** Writing an int64 as two 32-bit words assumes the platform's byte order is little-endian. */
const LITTLE_ENDIAN = endianness() === 'LE';
/** Set bits in each byte value, for counting nulls. */
const BIT_COUNTS = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let bits = byte; bits !== 0; bits >>= 1) count += bits & 1;
  return count;
});

/** Validity bitmap shared by every builder: bit `i` is set when row `i` is not null. */
abstract class NullableColumn {
  protected validity: Uint8Array;

  constructor(capacity: number) {
    this.validity = new Uint8Array(bitmapBytes(capacity));
  }

  /** Marks row `index` as null. */
  setNull(index: number): void {
    this.validity[index >> 3]! &= ~(1 << (index & 7));
  }

  /** Makes room for `capacity` rows, keeping rows already written. */
  grow(capacity: number): void {
    this.validity = resized(this.validity, bitmapBytes(capacity));
  }

  /** Returns the first `length` rows as Arrow data. */
  abstract finish(length: number): Data;

  protected setValid(index: number): void {
    this.validity[index >> 3]! |= 1 << (index & 7);
  }

  /** Returns the null count and, when it is non-zero, the bitmap to store. */
  protected nulls(length: number): { nullCount: number; nullBitmap?: Uint8Array } {
    let valid = 0;
    const full = length >> 3;
    for (let i = 0; i < full; i++) valid += BIT_COUNTS[this.validity[i] ?? 0] ?? 0;
    const rest = length & 7;
    if (rest > 0) valid += BIT_COUNTS[(this.validity[full] ?? 0) & ((1 << rest) - 1)] ?? 0;
    const nullCount = length - valid;
    if (nullCount === 0) return { nullCount };
    return { nullCount, nullBitmap: this.validity.subarray(0, bitmapBytes(length)) };
  }
}

/** Builder of an Arrow `Int64` column. */
export class Int64Column extends NullableColumn {
  private values: BigInt64Array;
  private words: Uint32Array;

  constructor(capacity: number) {
    super(capacity);
    this.values = new BigInt64Array(capacity);
    this.words = new Uint32Array(this.values.buffer);
  }

  /** Writes a safe integer to row `index` without creating a BigInt. */
  setSafeInteger(index: number, value: number): void {
    if (LITTLE_ENDIAN) {
      const high = Math.floor(value / TWO_TO_32);
      this.words[2 * index] = value - high * TWO_TO_32;
      this.words[2 * index + 1] = high >>> 0;
    } else {
      this.values[index] = BigInt(value);
    }
    this.setValid(index);
  }

  /** Writes an integer already within the int64 range to row `index`. */
  setBigInt(index: number, value: bigint): void {
    this.values[index] = value;
    this.setValid(index);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    const values = new BigInt64Array(capacity);
    values.set(this.values);
    this.values = values;
    this.words = new Uint32Array(values.buffer);
  }

  finish(length: number): Data {
    const data = this.values.subarray(0, length);
    return makeData({ type: new Int64(), length, ...this.nulls(length), data });
  }
}

/** Builder of an Arrow `Float64` column. */
export class Float64Column extends NullableColumn {
  private values: Float64Array;

  constructor(capacity: number) {
    super(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Writes `value` to row `index`. */
  set(index: number, value: number): void {
    this.values[index] = value;
    this.setValid(index);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    const values = new Float64Array(capacity);
    values.set(this.values);
    this.values = values;
  }

  finish(length: number): Data {
    const data = this.values.subarray(0, length);
    return makeData({ type: new Float64(), length, ...this.nulls(length), data });
  }
}

/** Builder of an Arrow `Bool` column. */
export class BoolColumn extends NullableColumn {
  private bits: Uint8Array;

  constructor(capacity: number) {
    super(capacity);
    this.bits = new Uint8Array(bitmapBytes(capacity));
  }

  /** Writes `value` to row `index`. */
  set(index: number, value: boolean): void {
    if (value) this.bits[index >> 3]! |= 1 << (index & 7);
    else this.bits[index >> 3]! &= ~(1 << (index & 7));
    this.setValid(index);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    this.bits = resized(this.bits, bitmapBytes(capacity));
  }

  finish(length: number): Data {
    const data = this.bits.subarray(0, bitmapBytes(length));
    return makeData({ type: new Bool(), length, ...this.nulls(length), data });
  }
}

/**
 * Builder of an Arrow `Utf8` column (never `Dictionary`). Rows must be written in order:
 * row `index` starts where row `index - 1` ended.
 */
export class Utf8Column extends NullableColumn {
  private offsets: Int32Array;
  private bytes: Buffer;

  constructor(capacity: number, byteCapacity = 16 * capacity) {
    super(capacity);
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = Buffer.allocUnsafe(Math.max(byteCapacity, 64));
  }

  /** Writes bytes `[start, end)` of `source`, which must be valid UTF-8, to row `index`. */
  setBytes(index: number, source: Uint8Array, start: number, end: number): void {
    const offset = this.offsets[index] ?? 0;
    const length = end - start;
    if (offset + length > this.bytes.length) this.growBytes(offset + length);
    const bytes = this.bytes;
    // For 10-byte values on Node 20, this loop measured about 4x faster than Buffer.copy.
    if (length < 32) {
      for (let i = 0; i < length; i++) bytes[offset + i] = source[start + i] ?? 0;
    } else {
      bytes.set(source.subarray(start, end), offset);
    }
    this.offsets[index + 1] = offset + length;
    this.setValid(index);
  }

  /** Writes `value` as UTF-8 to row `index`. Lone surrogates become U+FFFD. */
  setString(index: number, value: string): void {
    const offset = this.offsets[index] ?? 0;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (offset + 3 * value.length > this.bytes.length) this.growBytes(offset + 3 * value.length);
    const written = this.bytes.write(value, offset, 'utf8');
    this.offsets[index + 1] = offset + written;
    this.setValid(index);
  }

  override setNull(index: number): void {
    this.offsets[index + 1] = this.offsets[index] ?? 0;
    super.setNull(index);
  }

  override grow(capacity: number): void {
    super.grow(capacity);
    const offsets = new Int32Array(capacity + 1);
    offsets.set(this.offsets);
    this.offsets = offsets;
  }

  finish(length: number): Data {
    const byteLength = this.offsets[length] ?? 0;
    return makeData({
      type: new Utf8(),
      length,
      ...this.nulls(length),
      valueOffsets: this.offsets.subarray(0, length + 1),
      data: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, byteLength),
    });
  }

  private growBytes(minimum: number): void {
    const bytes = Buffer.allocUnsafe(Math.max(minimum, 2 * this.bytes.length));
    this.bytes.copy(bytes);
    this.bytes = bytes;
  }
}

/** Any column builder. */
export type ColumnBuilder = Int64Column | Float64Column | BoolColumn | Utf8Column;

/**
 * Creates an empty builder for a column of `type` with room for `capacity` rows and, for
 * `utf8`, `byteCapacity` bytes of text. Both grow when exceeded.
 */
export function createColumn(
  type: ColumnType,
  capacity: number,
  byteCapacity?: number,
): ColumnBuilder {
  switch (type) {
    case 'int64':
      return new Int64Column(capacity);
    case 'float64':
      return new Float64Column(capacity);
    case 'bool':
      return new BoolColumn(capacity);
    case 'utf8':
      return new Utf8Column(capacity, byteCapacity);
  }
}

/** Column types that a {@link TextSchema} may hold. */
export const COLUMN_TYPES: readonly ColumnType[] = ['int64', 'float64', 'bool', 'utf8'];

/** Throws an `InvalidOptionError` unless `schema` names each column once with a known type. */
export function validateSchema(schema: TextSchema): void {
  const { names, types } = schema;
  if (names.length === 0 || names.length !== types.length) {
    throw new InvalidOptionError(
      'expected `schema` to have one type per name and at least one column, ' +
        `got ${names.length} names and ${types.length} types`,
      { fix: 'Pass the schema returned by the plan of this file' },
    );
  }
  const unknown = types.find((type) => !COLUMN_TYPES.includes(type));
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      `expected \`schema.types\` to hold only ${COLUMN_TYPES.join(', ')}, got ${String(unknown)}`,
    );
  }
}

/** Assembles the first `length` rows of `columns` into a table with nullable fields. */
export function buildTable(names: string[], columns: ColumnBuilder[], length: number): Table {
  const children = columns.map((column) => column.finish(length));
  const fields = children.map((data, c) => new Field(names[c] ?? `column_${c}`, data.type, true));
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table(schema, new RecordBatch(schema, struct));
}

/**
 * Builds the result of reading a range: the kept rows as a table, the rejected rows, and
 * the source row numbers of the kept rows when any row was rejected.
 */
export function readResult(
  table: Table,
  firstRow: number,
  rowCount: number,
  rejected: RejectedRow[],
  rejectedIndexes: number[],
): ReadResult {
  const result: ReadResult = { table, firstRow, rejected };
  if (rejected.length > 0) result.rowNumbers = keptRowNumbers(firstRow, rowCount, rejectedIndexes);
  return result;
}

/**
 * Returns the one-based source row number of every row that was kept, given the indexes
 * (ascending, zero-based within the range) of the `rowCount` rows that were rejected.
 */
export function keptRowNumbers(
  firstRow: number,
  rowCount: number,
  rejected: number[],
): Float64Array {
  const numbers = new Float64Array(rowCount - rejected.length);
  let next = 0;
  let k = 0;
  for (let i = 0; i < rowCount; i++) {
    if (rejected[k] === i) k++;
    else numbers[next++] = firstRow + i;
  }
  return numbers;
}

function bitmapBytes(rows: number): number {
  return (rows + 7) >> 3;
}

function resized(array: Uint8Array, length: number): Uint8Array {
  const copy = new Uint8Array(length);
  copy.set(array.subarray(0, Math.min(array.length, length)));
  return copy;
}
