import { open, type FileHandle } from 'node:fs/promises';
import {
  Message,
  RecordBatchReader,
  Table,
  tableToIPC,
  type RecordBatch,
} from 'apache-arrow';
import { InputError } from '../errors.js';
import type { ArrowFilePartition, InputColumn, IpcPartition } from './types.js';

/** Record-batch partitions of one Arrow IPC file and its columns. */
export interface ArrowFilePlan {
  columns: InputColumn[];
  /** Partitions of a file in the random-access format; null for the stream format. */
  partitions: ArrowFilePartition[] | null;
  rows: number | null;
}

interface FileBlock {
  offset: number | bigint;
  metaDataLength: number;
  bodyLength: number | bigint;
}

interface FooterView {
  numRecordBatches: number;
  getRecordBatch(index: number): FileBlock | null;
}

/**
 * Plans an Arrow IPC file. The random-access format is split into groups of record
 * batches of about `targetBytes`, counting rows from each batch's message header so that
 * no batch body is read. The stream format has no footer, so it is read in order by
 * {@link streamArrowFile} instead.
 */
export async function planArrowFile(path: string, targetBytes: number): Promise<ArrowFilePlan> {
  const handle = await open(path, 'r');
  try {
    const reader = await openReader(handle, path);
    const columns = reader.schema.fields.map((field) => ({ name: field.name, type: field.type }));
    if (!reader.isFile()) return { columns, partitions: null, rows: null };
    const footer = (reader as unknown as { footer: FooterView }).footer;
    return { columns, ...(await groupBatches(handle, path, footer, targetBytes)) };
  } finally {
    await handle.close();
  }
}

async function openReader(handle: FileHandle, path: string) {
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    return reader;
  } catch (error) {
    throw corruptArrow(path, error);
  }
}

async function groupBatches(
  handle: FileHandle,
  path: string,
  footer: FooterView,
  targetBytes: number,
): Promise<{ partitions: ArrowFilePartition[]; rows: number }> {
  const partitions: ArrowFilePartition[] = [];
  let current: ArrowFilePartition | undefined;
  let currentBytes = 0;
  let rows = 0;
  for (let index = 0; index < footer.numRecordBatches; index++) {
    const block = footer.getRecordBatch(index);
    if (block === null) throw corruptArrow(path, new Error(`record batch ${index} is missing`));
    if (current === undefined || currentBytes >= targetBytes) {
      current = { kind: 'arrow-file', file: path, batches: [], firstRow: rows + 1, rows: 0 };
      currentBytes = 0;
      partitions.push(current);
    }
    const batchRows = await readBatchRowCount(handle, path, block);
    current.batches.push(index);
    current.rows += batchRows;
    currentBytes += Number(block.bodyLength);
    rows += batchRows;
  }
  return { partitions, rows };
}

/**
 * Reads a record batch's row count from its message header. Each block starts with the
 * 0xFFFFFFFF continuation marker and the metadata length, as in the Arrow IPC format's
 * "Encapsulated message format" section.
 */
async function readBatchRowCount(handle: FileHandle, path: string, block: FileBlock) {
  const buffer = Buffer.alloc(block.metaDataLength);
  await handle.read(buffer, 0, block.metaDataLength, Number(block.offset));
  const length = buffer.readInt32LE(4);
  const message = Message.decode(buffer.subarray(8, 8 + length));
  const header = message.header() as { length?: number | bigint } | null;
  if (header?.length === undefined) {
    throw corruptArrow(path, new Error('a footer block does not point at a record batch'));
  }
  return Number(header.length);
}

/**
 * Reads an Arrow IPC stream file in order and yields partitions of about `targetRows`
 * rows, each serialized for transfer to a worker.
 */
export async function* streamArrowFile(
  path: string,
  targetRows: number,
): AsyncGenerator<IpcPartition> {
  const handle = await open(path, 'r');
  try {
    const reader = await openReader(handle, path);
    yield* partitionBatches(reader, targetRows, path);
  } finally {
    await handle.close();
  }
}

/** Groups record batches into IPC partitions of about `targetRows` rows. */
export async function* partitionBatches(
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
  targetRows: number,
  file?: string,
): AsyncGenerator<IpcPartition> {
  let pending: RecordBatch[] = [];
  let pendingRows = 0;
  let firstRow = 1;
  const flush = (): IpcPartition => {
    const bytes = tableToIPC(new Table(pending), 'stream');
    const partition: IpcPartition = { kind: 'ipc', bytes, firstRow, rows: pendingRows };
    if (file !== undefined) partition.file = file;
    firstRow += pendingRows;
    pending = [];
    pendingRows = 0;
    return partition;
  };
  for await (const batch of batches) {
    // Slice big batches so that one huge batch does not become one huge partition.
    let offset = 0;
    while (offset < batch.numRows) {
      const take = Math.min(targetRows - pendingRows, batch.numRows - offset);
      pending.push(batch.slice(offset, offset + take));
      pendingRows += take;
      offset += take;
      if (pendingRows >= targetRows) yield flush();
    }
  }
  if (pendingRows > 0) yield flush();
}

/** Wraps an Arrow read failure in a typed error naming the file. */
export function corruptArrow(path: string, error: unknown): InputError {
  const detail = error instanceof Error ? error.message : String(error);
  return new InputError('ERR_INPUT_CORRUPT', `Cannot read Arrow IPC file: ${detail}`, {
    file: path,
    fix: 'Check that the file is complete Arrow IPC (file or stream format); ' +
      'rewrite it if it was truncated',
    cause: error,
  });
}
