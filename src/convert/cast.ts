/**
 * Casts a column read by `columns.ts` to the element type of a model input. A value that
 * cannot be cast is reported through a callback and its slot left at 0 or "", because
 * the caller drops that row from every feed. A row may be reported more than once (an
 * invalid UTF-8 value is also a missing one); the caller keeps the first report.
 */
import type {
  BigIntColumn,
  BoolColumn,
  NumberColumn,
  SourceColumn,
  TextColumn,
} from './columns.js';

/** Model input element types that batchscore can feed. */
export type FeatureType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

/** Values of one column cast to a {@link FeatureType}; `bool` is one byte per value. */
export type FeatureArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** Reports that row `row` cannot be cast; `value` is the offending value as text. */
export type RejectRow = (row: number, value: string | undefined, reason: string) => void;

/** Casts `source` to `type`. See each cast below for its rules. */
export function castColumn(
  source: SourceColumn,
  type: FeatureType,
  reject: RejectRow,
): FeatureArray {
  if (source.kind === 'text' && source.invalid !== null) {
    for (const [row, hex] of source.invalid) {
      reject(row, `0x${hex}`, 'binary value is not valid UTF-8');
    }
  }
  if (type === 'float32' || type === 'float64') return castToFloat(source, type, reject);
  if (type === 'string') return castToString(source, reject);
  if (type === 'bool') return castToBool(source, reject);
  return castToInteger(source, type, reject);
}

/**
 * Casts to float32 or float64. A missing value is NaN, never 0: null, NaN, blank or
 * whitespace-only text, and `nan` in any case. Booleans are 0 and 1. Text must be a
 * decimal number (`12`, `-1.5e3`, `.5`) or `inf`/`infinity` with an optional sign;
 * anything else, such as `1,234` or `0x1A`, rejects the row.
 */
function castToFloat(source: SourceColumn, type: 'float32' | 'float64', reject: RejectRow) {
  const length = source.values.length;
  const out = type === 'float32' ? new Float32Array(length) : new Float64Array(length);
  if (source.kind === 'text') {
    source.values.forEach((text, row) => {
      const value = text === null ? NaN : parseNumber(text);
      if (value === undefined) reject(row, text ?? undefined, `invalid number for ${type} input`);
      else out[row] = value;
    });
    return out;
  }
  const valid = source.valid;
  for (let row = 0; row < length; row++) {
    out[row] = valid !== null && valid[row] === 0 ? NaN : Number(source.values[row]);
  }
  return out;
}

const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NAMED_NUMBERS: Record<string, number> = {
  nan: NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
};

/**
 * Parses number text. Returns NaN for blank text and `nan`, undefined for text that is
 * no number. `Number()` alone would read blank text as 0 and accept hex and binary.
 */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return NaN;
  if (DECIMAL_NUMBER.test(trimmed)) return Number(trimmed);
  const named = NAMED_NUMBERS[trimmed.toLowerCase()];
  return Object.hasOwn(NAMED_NUMBERS, trimmed.toLowerCase()) ? named : undefined;
}

/**
 * Casts to string. Null and NaN are missing values and reject the row. Otherwise:
 * - text is kept as is, without trimming;
 * - integers are written in decimal (`0`, `1`), because skl2onnx models often take a 0/1
 *   column as a string category;
 * - float64 values use JavaScript's shortest round-trip form (`0.1`, `1e-7`), and float32
 *   values the shortest form that reads back as the same float32;
 * - booleans become `True` and `False`, as Python's `str(bool)` writes them in the data
 *   that scikit-learn pipelines are trained on.
 */
function castToString(source: SourceColumn, reject: RejectRow): string[] {
  const missing = 'missing value for string input';
  if (source.kind === 'text') {
    return source.values.map((text, row) => {
      if (text === null) reject(row, undefined, missing);
      return text ?? '';
    });
  }
  const out = new Array<string>(source.values.length).fill('');
  for (let row = 0; row < out.length; row++) {
    if (source.valid !== null && source.valid[row] === 0) {
      reject(row, undefined, missing);
    } else if (source.kind === 'number' && Number.isNaN(source.values[row])) {
      reject(row, 'NaN', missing);
    } else {
      out[row] = formatValue(source, row);
    }
  }
  return out;
}

function formatValue(source: NumberColumn | BigIntColumn | BoolColumn, row: number): string {
  const value = source.values[row]!;
  if (source.kind === 'bool') return value === 1 ? 'True' : 'False';
  if (source.kind === 'number' && source.format === 'float32') {
    return shortestFloat32(value as number);
  }
  return String(value);
}

/** Formats `value` as the shortest decimal text that reads back as the same float32. */
export function shortestFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // 9 significant digits always round-trip a float32 (IEEE 754-2008, section 5.12.2).
  for (let digits = 1; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

/**
 * Casts to bool (one byte per value). Accepts booleans, the numbers 0 and 1, and the text
 * `true`, `false`, `1`, `0` in any case and with surrounding spaces. Null rejects the row.
 */
function castToBool(source: SourceColumn, reject: RejectRow): Uint8Array {
  const out = new Uint8Array(source.values.length);
  for (let row = 0; row < out.length; row++) {
    const value = readBool(source, row);
    if (value === null) reject(row, undefined, 'missing value for bool input');
    else if (value === undefined) {
      reject(row, String(source.values[row]), 'invalid boolean for bool input');
    } else out[row] = value;
  }
  return out;
}

/** Row `row` as 0 or 1; null when missing, undefined when it is no boolean. */
function readBool(source: SourceColumn, row: number): 0 | 1 | null | undefined {
  if (source.kind === 'text') {
    const text = source.values[row];
    if (text === null || text === undefined) return null;
    const word = text.trim().toLowerCase();
    if (word === '') return null;
    if (word === 'true' || word === '1') return 1;
    if (word === 'false' || word === '0') return 0;
    return undefined;
  }
  if (source.valid !== null && source.valid[row] === 0) return null;
  const value = Number(source.values[row]);
  if (Number.isNaN(value)) return null;
  if (value === 0 || value === 1) return value;
  return undefined;
}

type IntegerType = Exclude<FeatureType, 'float32' | 'float64' | 'bool' | 'string'>;

const INTEGER_RANGES: Record<IntegerType, [bigint, bigint]> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

const INTEGER_ARRAYS = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
} as const;

/**
 * Casts to an integer type. Accepts integers, floats and text that are whole numbers
 * (`3`, `3.0`, `3e2`) within the type's range, and booleans as 0 and 1. Null, NaN and
 * blank text are missing values and reject the row, since an integer has no NaN.
 */
function castToInteger(source: SourceColumn, type: IntegerType, reject: RejectRow) {
  const out = new INTEGER_ARRAYS[type](source.values.length);
  const [min, max] = INTEGER_RANGES[type];
  const wide = type === 'int64' || type === 'uint64';
  for (let row = 0; row < out.length; row++) {
    const value = readInteger(source, row);
    if (typeof value === 'bigint' && value >= min && value <= max) {
      out[row] = (wide ? value : Number(value)) as never;
      continue;
    }
    const text = source.kind === 'text' ? source.values[row] ?? undefined
      : String(source.values[row]);
    if (value === null) reject(row, undefined, `missing value for ${type} input`);
    else if (value === 'invalid') reject(row, text, `invalid integer for ${type} input`);
    else if (value === 'fraction') reject(row, text, `not a whole number for ${type} input`);
    else reject(row, text, `out of range for ${type} input`);
  }
  return out;
}

/** Row `row` as an exact integer, null when missing, or why it is not one. */
function readInteger(source: SourceColumn, row: number): bigint | null | 'invalid' | 'fraction' {
  if (source.kind === 'text') return parseInteger(source, row);
  if (source.valid !== null && source.valid[row] === 0) return null;
  if (source.kind !== 'number') return BigInt(source.values[row]!);
  const value = source.values[row]!;
  if (Number.isNaN(value)) return null;
  if (!Number.isFinite(value)) return 'invalid';
  return Number.isInteger(value) ? BigInt(value) : 'fraction';
}

const INTEGER_TEXT = /^[+-]?\d+$/;

function parseInteger(source: TextColumn, row: number): bigint | null | 'invalid' | 'fraction' {
  const text = source.values[row];
  if (text === null || text === undefined) return null;
  const trimmed = text.trim();
  if (INTEGER_TEXT.test(trimmed)) return BigInt(trimmed);
  const value = parseNumber(trimmed);
  if (value === undefined) return 'invalid';
  if (Number.isNaN(value)) return null;
  if (!Number.isFinite(value)) return 'invalid';
  return Number.isInteger(value) ? BigInt(value) : 'fraction';
}
