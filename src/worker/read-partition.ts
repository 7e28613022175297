import { open } from 'node:fs/promises';
import { RecordBatchReader, Table, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { corruptArrow } from '../plan/arrow.js';
import type { ArrowFilePartition, ParquetPartition, PartitionSource } from '../plan/types.js';
import { readCsvRange } from '../read/csv.js';
import { readJsonlRange } from '../read/jsonl.js';
import { openParquet, readParquetSchema, readRowGroups } from '../read/parquet.js';
import type { ReadResult } from '../read/types.js';

/** Reads one partition inside a worker. */
export async function readPartition(source: PartitionSource): Promise<ReadResult> {
  switch (source.kind) {
    case 'csv':
      return readCsvRange(source.file, source, source.schema, { delimiter: source.delimiter });
    case 'jsonl':
      return readJsonlRange(source.file, source, source.schema);
    case 'parquet':
      return { table: await readParquetPartition(source), firstRow: source.firstRow, rejected: [] };
    case 'arrow-file':
      return { table: await readArrowPartition(source), firstRow: source.firstRow, rejected: [] };
    case 'ipc':
      return { table: tableFromIPC(source.bytes), firstRow: source.firstRow, rejected: [] };
  }
}

async function readParquetPartition(source: ParquetPartition): Promise<Table> {
  const file = await openParquet(source.file);
  try {
    if (source.rowGroups.length === 0) return readParquetSchema(file);
    const slice = source.offset === undefined
      ? undefined
      : { offset: source.offset, limit: source.rows };
    return await readRowGroups(file, source.file, source.rowGroups, slice);
  } finally {
    file.free();
  }
}

async function readArrowPartition(source: ArrowFilePartition): Promise<Table> {
  const handle = await open(source.file, 'r');
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    if (!reader.isFile()) throw new Error('the file is no longer in the Arrow IPC file format');
    const batches: RecordBatch[] = [];
    for (const index of source.batches) {
      const batch = await reader.readRecordBatch(index);
      if (batch === null) throw new Error(`record batch ${index} cannot be read`);
      batches.push(batch);
    }
    return new Table(reader.schema, batches);
  } catch (error) {
    throw corruptArrow(source.file, error);
  } finally {
    await handle.close();
  }
}
