import { tableToIPC, type Table } from 'apache-arrow';
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
 */
export function encodeParquetWasm(
  table: Table,
  compression: ParquetCompression,
  metadata: Record<string, string>,
): Uint8Array {
  const wasmTable = WasmTable.fromIPCStream(tableToIPC(table, 'stream'));
  const properties = new WriterPropertiesBuilder()
    .setCompression(CODECS[compression])
    .setKeyValueMetadata(new Map(Object.entries(metadata)))
    .setCreatedBy('batchscore')
    .build();
  return writeParquet(wasmTable, properties);
}
