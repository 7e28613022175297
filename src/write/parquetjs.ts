import { createRequire } from 'node:module';
import {
  DataType,
  TimeUnit,
  type Field,
  type Table,
  type Timestamp,
  type Vector,
} from 'apache-arrow';
import { InvalidOptionError, OutputError } from '../errors.js';
import type { ParquetCompression } from '../options.js';

interface ParquetjsWriter {
  setMetadata(key: string, value: string): void;
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

interface Parquetjs {
  ParquetSchema: new (fields: Record<string, unknown>) => unknown;
  ParquetWriter: {
    openFile(schema: unknown, path: string, options: Record<string, unknown>): Promise<ParquetjsWriter>;
  };
}

// parquetjs-lite is CommonJS without type declarations.
const parquetjs = createRequire(import.meta.url)('parquetjs-lite') as Parquetjs;

const CODECS: Record<ParquetCompression, string | undefined> = {
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  none: 'UNCOMPRESSED',
  zstd: undefined,
};

/**
 * Writes a table as Parquet with parquetjs-lite, row by row. Kept as an alternative
 * engine; it is much slower than parquet-wasm (see docs/benchmarks.md).
 */
export async function writeParquetjs(
  table: Table,
  path: string,
  compression: ParquetCompression,
  metadata: Record<string, string>,
): Promise<void> {
  const codec = CODECS[compression];
  if (codec === undefined) {
    throw new InvalidOptionError(
      `Expected \`compression\` to be snappy, gzip or none with parquetjs-lite, got ${compression}`,
      { fix: 'Use parquetEngine "parquet-wasm" for zstd' },
    );
  }
  const fields = table.schema.fields;
  const schema = new parquetjs.ParquetSchema(
    Object.fromEntries(fields.map((field) => [field.name, fieldSchema(field, codec)])),
  );
  const writer = await parquetjs.ParquetWriter.openFile(schema, path, {});
  for (const [key, value] of Object.entries(metadata)) writer.setMetadata(key, value);
  for (const batch of table.batches) {
    const readers = fields.map((field, index) => valueReader(field, batch.getChildAt(index)));
    for (let row = 0; row < batch.numRows; row++) {
      const record: Record<string, unknown> = {};
      fields.forEach((field, index) => {
        const value = readers[index]?.(row);
        if (value !== undefined) record[field.name] = value;
      });
      await writer.appendRow(record);
    }
  }
  await writer.close();
}

function fieldSchema(field: Field, compression: string): Record<string, unknown> {
  return { type: parquetjsType(field), optional: true, compression };
}

function parquetjsType(field: Field): string {
  const type = field.type;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'UTF8';
  if (DataType.isBool(type)) return 'BOOLEAN';
  if (DataType.isFloat(type)) return type.precision === 1 ? 'FLOAT' : 'DOUBLE';
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'INT64' : 'INT32';
  if (DataType.isTimestamp(type)) return 'TIMESTAMP_MICROS';
  if (DataType.isDictionary(type)) return 'UTF8';
  throw new InvalidOptionError(
    `parquetjs-lite cannot write column "${field.name}" of type ${String(type)}`,
    { fix: 'Use parquetEngine "parquet-wasm", which writes every Arrow type' },
  );
}

/** Function that returns a row of one column as a parquetjs-lite value, or undefined for null. */
type ValueReader = (row: number) => unknown;

function valueReader(field: Field, vector: Vector | null): ValueReader {
  if (vector === null) return () => undefined;
  const type = field.type;
  if (DataType.isTimestamp(type)) return timestampReader(field, type, vector);
  if (DataType.isFloat(type)) {
    return (row) => {
      const value = vector.get(row) as number | null;
      // NOTE: NaN is written as null. parquetjs-lite 0.8.7 rejects NaN for FLOAT and
      // DOUBLE ("invalid value for FLOAT: NaN"), so only parquet-wasm keeps NaN.
      return value === null || Number.isNaN(value) ? undefined : value;
    };
  }
  return (row) => {
    const value: unknown = vector.get(row);
    if (value === null || value === undefined) return undefined;
    // NOTE: parquetjs-lite converts INT64 with parseInt, so integers beyond 2^53 lose precision.
    return typeof value === 'bigint' ? Number(value) : value;
  };
}

/**
 * Reads timestamps as exact epoch microseconds from the column's int64 values, because
 * `Vector.get` in apache-arrow 21 returns epoch milliseconds as a number, which
 * parquetjs-lite's TIMESTAMP_MICROS would take as microseconds. Nanoseconds are rounded
 * down to whole microseconds.
 *
 * NOTE: parquetjs-lite writes only the legacy TIMESTAMP_MICROS converted type, which the
 * Parquet format defines as adjusted to UTC. A column without a time zone keeps its stored
 * values, but readers such as parquet-wasm and pyarrow read it back with time zone UTC.
 */
function timestampReader(field: Field, type: Timestamp, vector: Vector): ValueReader {
  const values = vector.data[0]?.values as BigInt64Array | undefined;
  if (values === undefined) return () => undefined;
  return (row) => {
    if (!vector.isValid(row)) return undefined;
    const micros = toMicroseconds(values[row] ?? 0n, type.unit);
    // parquetjs-lite 0.8.7 throws on a negative TIMESTAMP_MICROS value.
    if (micros < 0n) {
      throw new OutputError(
        'ERR_UNSUPPORTED_COLUMN_TYPE',
        `parquetjs-lite cannot write timestamps before 1970, got ${micros} µs in column ` +
          `"${field.name}"`,
        { column: field.name, fix: 'Use parquetEngine "parquet-wasm" for timestamps before 1970' },
      );
    }
    return micros;
  };
}

function toMicroseconds(value: bigint, unit: TimeUnit): bigint {
  switch (unit) {
    case TimeUnit.SECOND:
      return value * 1_000_000n;
    case TimeUnit.MILLISECOND:
      return value * 1000n;
    case TimeUnit.MICROSECOND:
      return value;
    case TimeUnit.NANOSECOND: {
      // BigInt division truncates towards zero, so step down for negative remainders.
      const micros = value / 1000n;
      return value % 1000n < 0n ? micros - 1n : micros;
    }
  }
}
