import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type { Table } from 'apache-arrow';
import { BatchscoreError, OutputError } from '../errors.js';
import type { OutputFormat, ParquetCompression, ParquetEngine } from '../options.js';
import { encodeArrowFile } from './arrow-ipc.js';
import { encodeParquetWasm } from './parquet-wasm.js';
import { writeParquetjs } from './parquetjs.js';

/** How part files are encoded. */
export interface PartFormat {
  format: OutputFormat;
  engine: ParquetEngine;
  compression: ParquetCompression;
}

/** Size and checksum of a written part file. */
export interface WrittenPart {
  bytes: number;
  /** Hex sha256 of the file's bytes. */
  sha256: string;
}

/** File extension of a part file. */
export function partExtension(format: OutputFormat): string {
  return format === 'parquet' ? '.parquet' : '.arrow';
}

/**
 * Writes a part file and flushes it to disk before returning, so that a later rename
 * into the output cannot expose a file whose data is still only in the page cache.
 */
export async function writePart(
  table: Table,
  path: string,
  format: PartFormat,
  metadata: Record<string, string>,
): Promise<WrittenPart> {
  try {
    if (format.format === 'parquet' && format.engine === 'parquetjs-lite') {
      await writeParquetjs(table, path, format.compression, metadata);
      return await syncFile(path);
    }
    const bytes = format.format === 'parquet'
      ? encodeParquetWasm(table, format.compression, metadata)
      : encodeArrowFile(table, metadata);
    const handle = await open(path, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    return { bytes: bytes.byteLength, sha256: sha256(bytes) };
  } catch (error) {
    if (error instanceof BatchscoreError) throw error;
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', `Cannot write part file: ${messageOf(error)}`, {
      file: path,
      fix: 'Check free disk space and that the output directory is writable',
      cause: error,
    });
  }
}

async function syncFile(path: string): Promise<WrittenPart> {
  const handle = await open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const bytes = await readFile(path);
  return { bytes: bytes.byteLength, sha256: sha256(bytes) };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
