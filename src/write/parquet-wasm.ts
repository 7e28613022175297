import { DataType, tableToIPC, type Table } from 'apache-arrow';
import {
  Compression,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';
import type { ParquetCompression } from '../options.js';

const CODECS: Record<ParquetCompression, Compression> = {
  snappy: Compression.SNAPPY,
  zstd: Compression.ZSTD,
  gzip: Compression.GZIP,
  none: Compression.UNCOMPRESSED,
};

/**
 * Encodes a table as Parquet with parquet-wasm (the Rust `parquet` crate compiled to
 * WebAssembly). The Arrow schema travels in the footer, so readers get the same types.
 *
 * Dictionary encoding is on for text columns only. Numeric columns such as probabilities
 * have nearly as many distinct values as rows, so building a dictionary for them costs
 * time and is then dropped; see docs/benchmarks.md for the measurement.
 */
export function encodeParquetWasm(
  table: Table,
  compression: ParquetCompression,
  metadata: Record<string, string>,
): Uint8Array {
  const wasmTable = WasmTable.fromIPCStream(tableToIPC(table, 'stream'));
  let builder = new WriterPropertiesBuilder()
    .setCompression(CODECS[compression])
    .setDictionaryEnabled(false)
    .setKeyValueMetadata(new Map(Object.entries(metadata)))
    .setCreatedBy('batchscore');
  for (const field of table.schema.fields) {
    if (isText(field.type)) builder = builder.setColumnDictionaryEnabled(field.name, true);
  }
  return writeParquet(wasmTable, builder.build());
}

function isText(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isDictionary(type);
}
