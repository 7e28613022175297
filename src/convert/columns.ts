/**
 * Reads an Arrow column into one of four plain forms (numbers, 64-bit integers, booleans,
 * text) that the casts to model input types start from. Reading walks the chunks' buffers
 * instead of calling `Vector.get` per cell.
 *
 * Buffer layout in apache-arrow 21: `Data.values` and `Data.valueOffsets` are already
 * sliced to the chunk, while the validity bitmap and boolean values are bit-addressed from
 * `Data.offset`.
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer';
import * as arrow from 'apache-arrow';

/** A column of numbers, with the format to write them in when a model expects text. */
export interface NumberColumn {
  kind: 'number';
  values: Float64Array;
  /** 1 for a present value, 0 for null; null when no value is null. */
  valid: Uint8Array | null;
  /** Source type family: integers print as integers, float32 as its shortest text. */
  format: 'integer' | 'float32' | 'float64';
}

/** A column of Arrow Int64 or Uint64 values, kept exact. */
export interface BigIntColumn {
  kind: 'bigint';
  values: BigInt64Array | BigUint64Array;
  valid: Uint8Array | null;
}

/** A column of booleans as 0 and 1. */
export interface BoolColumn {
  kind: 'bool';
  values: Uint8Array;
  valid: Uint8Array | null;
}

/** A column of text: Utf8, binary containing UTF-8, or decimals written out. */
export interface TextColumn {
  kind: 'text';
  values: (string | null)[];
  /** Rows whose binary value is not valid UTF-8, with a hex preview of the bytes. */
  invalid: Map<number, string> | null;
}

/** A column in the form the casts start from. */
export type SourceColumn = NumberColumn | BigIntColumn | BoolColumn | TextColumn;

/**
 * Checks that a column of this Arrow type can feed a model input.
 * @returns null when it can; else what to do instead.
 */
export function unsupportedTypeFix(type: arrow.DataType): string | null {
  if (arrow.DataType.isDictionary(type)) return unsupportedTypeFix(type.dictionary);
  if (isScalar(type)) return null;
  if (
    arrow.DataType.isDate(type) ||
    arrow.DataType.isTimestamp(type) ||
    arrow.DataType.isTime(type) ||
    arrow.DataType.isDuration(type) ||
    arrow.DataType.isInterval(type)
  ) {
    return 'Convert it to a number, such as epoch seconds, before scoring';
  }
  return 'Flatten it into columns of numbers or text before scoring';
}

function isScalar(type: arrow.DataType): boolean {
  return (
    arrow.DataType.isNull(type) ||
    arrow.DataType.isInt(type) ||
    arrow.DataType.isFloat(type) ||
    arrow.DataType.isBool(type) ||
    arrow.DataType.isDecimal(type) ||
    arrow.DataType.isUtf8(type) ||
    arrow.DataType.isLargeUtf8(type) ||
    arrow.DataType.isUtf8View(type) ||
    arrow.DataType.isBinary(type) ||
    arrow.DataType.isLargeBinary(type) ||
    arrow.DataType.isBinaryView(type)
  );
}

/**
 * Reads every row of `vector`. The type must pass {@link unsupportedTypeFix}.
 * @throws TypeError for a type that does not.
 */
export function readColumn(vector: arrow.Vector): SourceColumn {
  return readChunks(vector.type, vector.data, vector.length);
}

function readChunks(type: arrow.DataType, chunks: readonly arrow.Data[], length: number) {
  if (arrow.DataType.isDictionary(type)) return readDictionary(chunks, length);
  if (arrow.DataType.isNull(type)) {
    return { kind: 'number', values: new Float64Array(length), valid: new Uint8Array(length),
      format: 'float64' } satisfies NumberColumn;
  }
  if (arrow.DataType.isBool(type)) return readBools(chunks, length);
  if (arrow.DataType.isInt(type) && type.bitWidth === 64) return readBigInts(type, chunks, length);
  if (arrow.DataType.isInt(type) || arrow.DataType.isFloat(type)) {
    return readNumbers(type, chunks, length);
  }
  if (isScalar(type)) return readText(type, chunks, length);
  throw new TypeError(`Cannot read an Arrow ${String(type)} column`);
}

/** Reads the validity of each row as bytes; null when no row of any chunk is null. */
function readValidity(chunks: readonly arrow.Data[], length: number): Uint8Array | null {
  if (chunks.every((chunk) => chunk.nullCount === 0)) return null;
  const valid = new Uint8Array(length).fill(1);
  let base = 0;
  for (const chunk of chunks) {
    const bitmap = chunk.nullBitmap;
    if (chunk.nullCount > 0 && bitmap !== undefined && bitmap !== null) {
      for (let i = 0; i < chunk.length; i++) {
        const bit = chunk.offset + i;
        valid[base + i] = (bitmap[bit >> 3]! >> (bit & 7)) & 1;
      }
    } else if (chunk.nullCount > 0) {
      // A Null-typed chunk has no bitmap: every row is null.
      valid.fill(0, base, base + chunk.length);
    }
    base += chunk.length;
  }
  return valid;
}

function readNumbers(
  type: arrow.Int | arrow.Float,
  chunks: readonly arrow.Data[],
  length: number,
): NumberColumn {
  const values = new Float64Array(length);
  const half = arrow.DataType.isFloat(type) && type.precision === arrow.Precision.HALF;
  let base = 0;
  for (const chunk of chunks) {
    const source = chunk.values as ArrayLike<number>;
    if (half) {
      for (let i = 0; i < chunk.length; i++) values[base + i] = halfToNumber(source[i]!);
    } else {
      values.set((source as Float64Array).subarray(0, chunk.length), base);
    }
    base += chunk.length;
  }
  let format: NumberColumn['format'] = 'integer';
  if (arrow.DataType.isFloat(type)) {
    format = type.precision === arrow.Precision.DOUBLE ? 'float64' : 'float32';
  }
  return { kind: 'number', values, valid: readValidity(chunks, length), format };
}

/** Decodes an IEEE 754 binary16 value from its 16 bits. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function readBigInts(type: arrow.Int, chunks: readonly arrow.Data[], length: number) {
  const values = type.isSigned ? new BigInt64Array(length) : new BigUint64Array(length);
  let base = 0;
  for (const chunk of chunks) {
    const source = chunk.values as BigInt64Array;
    values.set(source.subarray(0, chunk.length) as never, base);
    base += chunk.length;
  }
  return { kind: 'bigint', values, valid: readValidity(chunks, length) } satisfies BigIntColumn;
}

function readBools(chunks: readonly arrow.Data[], length: number): BoolColumn {
  const values = new Uint8Array(length);
  let base = 0;
  for (const chunk of chunks) {
    const bits = chunk.values as Uint8Array;
    for (let i = 0; i < chunk.length; i++) {
      const bit = chunk.offset + i;
      values[base + i] = (bits[bit >> 3]! >> (bit & 7)) & 1;
    }
    base += chunk.length;
  }
  return { kind: 'bool', values, valid: readValidity(chunks, length) };
}

/** Reads Utf8, LargeUtf8, binary, view and decimal columns as text. */
function readText(type: arrow.DataType, chunks: readonly arrow.Data[], length: number) {
  const column: TextColumn = { kind: 'text', values: new Array(length).fill(null), invalid: null };
  const valid = readValidity(chunks, length);
  let base = 0;
  for (const chunk of chunks) {
    if (arrow.DataType.isDecimal(type)) readDecimalChunk(type, chunk, base, column);
    else if (chunk.valueOffsets === undefined || chunk.valueOffsets === null) {
      readViewChunk(chunk, base, column);
    } else readOffsetChunk(type, chunk, base, column);
    base += chunk.length;
  }
  if (valid !== null) {
    for (let i = 0; i < length; i++) if (valid[i] === 0) column.values[i] = null;
  }
  return column;
}

function readOffsetChunk(
  type: arrow.DataType,
  chunk: arrow.Data,
  base: number,
  column: TextColumn,
): void {
  const offsets = chunk.valueOffsets as ArrayLike<number | bigint>;
  const bytes = chunk.values as Uint8Array;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = Number(offsets[0] ?? 0);
  const last = Number(offsets[chunk.length] ?? first);

  // ASCII text, the common case, is decoded in one call; each value is then a slice of it,
  // which costs far less than one decoder call per value.
  if (isAscii(buffer.subarray(first, last))) {
    const text = buffer.toString('latin1', first, last);
    for (let i = 0; i < chunk.length; i++) {
      const start = Number(offsets[i]!) - first;
      column.values[base + i] = text.slice(start, Number(offsets[i + 1]!) - first);
    }
    return;
  }

  const binary = arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type);
  for (let i = 0; i < chunk.length; i++) {
    const value = buffer.subarray(Number(offsets[i]!), Number(offsets[i + 1]!));
    if (binary && !isUtf8(value)) {
      (column.invalid ??= new Map()).set(base + i, value.subarray(0, 16).toString('hex'));
    } else {
      column.values[base + i] = value.toString('utf8');
    }
  }
}

/** Reads Utf8View and BinaryView chunks through the library, whose layout is involved. */
function readViewChunk(chunk: arrow.Data, base: number, column: TextColumn): void {
  const vector = arrow.makeVector(chunk);
  for (let i = 0; i < chunk.length; i++) {
    const value: unknown = vector.get(i);
    if (typeof value === 'string') column.values[base + i] = value;
    else if (value instanceof Uint8Array) {
      const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (isUtf8(buffer)) column.values[base + i] = buffer.toString('utf8');
      else (column.invalid ??= new Map()).set(base + i, buffer.subarray(0, 16).toString('hex'));
    }
  }
}

/**
 * Writes decimals out exactly, such as `-12.50` for unscaled -1250 at scale 2. Arrow keeps
 * a decimal as a little-endian two's-complement integer of `bitWidth` bits, in 32-bit words.
 */
function readDecimalChunk(
  type: arrow.Decimal,
  chunk: arrow.Data,
  base: number,
  column: TextColumn,
): void {
  const words = chunk.values as Uint32Array;
  const stride = type.bitWidth / 32;
  for (let i = 0; i < chunk.length; i++) {
    let unscaled = 0n;
    for (let k = stride - 1; k >= 0; k--) {
      unscaled = (unscaled << 32n) | BigInt(words[i * stride + k]!);
    }
    column.values[base + i] = decimalText(BigInt.asIntN(type.bitWidth, unscaled), type.scale);
  }
}

/** Writes `unscaled × 10^-scale` in plain decimal notation. */
export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? '-' : '') + digits + '0'.repeat(-scale);
  digits = digits.padStart(scale + 1, '0');
  const point = digits.length - scale;
  return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Reads dictionary-encoded chunks by reading each dictionary once and gathering. */
function readDictionary(chunks: readonly arrow.Data[], length: number): SourceColumn {
  const parts = chunks.map((chunk) => {
    const dictionary = chunk.dictionary;
    if (dictionary === undefined) throw new TypeError('Dictionary chunk without a dictionary');
    return { chunk, entries: readColumn(dictionary) };
  });
  const valid = readValidity(chunks, length);
  const first = parts[0]?.entries ?? { kind: 'text', values: [], invalid: null };
  const column = emptyLike(first, length, valid);
  let base = 0;
  for (const { chunk, entries } of parts) {
    const indices = chunk.values as ArrayLike<number | bigint>;
    for (let i = 0; i < chunk.length; i++) {
      if (valid !== null && valid[base + i] === 0) continue;
      copyEntry(entries, Number(indices[i]!), column, base + i);
    }
    base += chunk.length;
  }
  return column;
}

function emptyLike(like: SourceColumn, length: number, valid: Uint8Array | null): SourceColumn {
  // A dictionary entry may itself be null, so gathered columns always track validity.
  const rows = valid === null ? new Uint8Array(length).fill(1) : valid.slice();
  switch (like.kind) {
    case 'number': return { ...like, values: new Float64Array(length), valid: rows };
    case 'bigint': {
      const values = like.values instanceof BigInt64Array
        ? new BigInt64Array(length)
        : new BigUint64Array(length);
      return { kind: 'bigint', values, valid: rows };
    }
    case 'bool': return { kind: 'bool', values: new Uint8Array(length), valid: rows };
    case 'text': return { kind: 'text', values: new Array(length).fill(null), invalid: null };
  }
}

/** Copies dictionary entry `entry` of `from` into row `row` of `to`, a column of its kind. */
function copyEntry(from: SourceColumn, entry: number, to: SourceColumn, row: number): void {
  if (from.kind === 'text' && to.kind === 'text') {
    to.values[row] = from.values[entry] ?? null;
    const invalid = from.invalid?.get(entry);
    if (invalid !== undefined) (to.invalid ??= new Map()).set(row, invalid);
    return;
  }
  if (from.kind === 'text' || to.kind === 'text') return;
  // Both columns are of one kind, so both arrays contain numbers or both contain bigints.
  (to.values as unknown as unknown[])[row] = from.values[entry];
  if (to.valid !== null && from.valid !== null) to.valid[row] = from.valid[entry]!;
}
