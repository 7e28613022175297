import { createRequire } from 'node:module';
import { DataType, type Field, type Table } from 'apache-arrow';
import { InvalidOptionError } from '../errors.js';
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
  const columns = fields.map((field) => table.getChild(field.name));
  for (let row = 0; row < table.numRows; row++) {
    const record: Record<string, unknown> = {};
    fields.forEach((field, index) => {
      const value: unknown = columns[index]?.get(row);
      if (value !== null && value !== undefined) record[field.name] = toParquetjsValue(value);
    });
    await writer.appendRow(record);
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

function toParquetjsValue(value: unknown): unknown {
  // NOTE: parquetjs-lite converts INT64 with parseInt, so integers beyond 2^53 lose precision.
  if (typeof value === 'bigint') return Number(value);
  return value;
}
