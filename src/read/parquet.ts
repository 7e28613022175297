import { openAsBlob } from 'node:fs';
import { tableFromIPC, type Table } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { InputError } from '../errors.js';

/**
 * Opens a Parquet file for reading by row group. The file is wrapped in a file-backed
 * `Blob`, so only the footer and the requested row groups are read from disk.
 */
export async function openParquet(path: string): Promise<ParquetFile> {
  try {
    return await ParquetFile.fromFile(await openAsBlob(path));
  } catch (error) {
    throw corruptParquet(path, error);
  }
}

/** Reads row groups of an open Parquet file into an Arrow table. */
export async function readRowGroups(
  file: ParquetFile,
  path: string,
  rowGroups: number[],
  slice?: { offset: number; limit: number },
): Promise<Table> {
  try {
    const table = await file.read({ rowGroups, ...slice });
    return tableFromIPC(table.intoIPCStream());
  } catch (error) {
    throw corruptParquet(path, error);
  }
}

/** Reads the Arrow schema of an open Parquet file, as an empty table. */
export function readParquetSchema(file: ParquetFile): Table {
  return tableFromIPC(file.schema().intoIPCStream());
}

function corruptParquet(path: string, error: unknown): InputError {
  const detail = error instanceof Error ? error.message : String(error);
  return new InputError('ERR_INPUT_CORRUPT', `Cannot read Parquet file: ${detail}`, {
    file: path,
    fix: 'Check that the file is complete Parquet (it ends with the PAR1 magic); ' +
      'rewrite it if it was truncated',
    cause: error,
  });
}
