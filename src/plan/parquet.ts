import { openParquet, readParquetSchema } from '../read/parquet.js';
import type { InputColumn, ParquetPartition } from './types.js';

/** Row-group partitions of one Parquet file and its columns. */
export interface ParquetFilePlan {
  partitions: ParquetPartition[];
  rows: number;
  columns: InputColumn[];
}

/**
 * Groups consecutive row groups into partitions of about `targetBytes` of compressed
 * data. A row group is never split, and a file with no row group gets one empty partition
 * so that its schema still reaches the output.
 */
export async function planParquet(path: string, targetBytes: number): Promise<ParquetFilePlan> {
  const file = await openParquet(path);
  try {
    const schema = readParquetSchema(file).schema;
    const columns = schema.fields.map((field) => ({ name: field.name, type: field.type }));
    const groups = file.metadata().rowGroups();
    const partitions: ParquetPartition[] = [];
    let current: ParquetPartition | undefined;
    let currentBytes = 0;
    let rows = 0;
    groups.forEach((group, index) => {
      const groupBytes = group.compressedSize();
      if (groupBytes > 2 * targetBytes && group.numRows() > 1) {
        // A row group much larger than a partition is read in slices of rows, so that one
        // huge row group (pyarrow writes up to 1 Mi rows per group) does not make one huge
        // partition.
        partitions.push(...sliceRowGroup(path, index, group.numRows(), groupBytes, targetBytes, rows));
        rows += group.numRows();
        current = undefined;
        group.free();
        return;
      }
      if (current === undefined || currentBytes >= targetBytes) {
        current = { kind: 'parquet', file: path, rowGroups: [], firstRow: rows + 1, rows: 0 };
        currentBytes = 0;
        partitions.push(current);
      }
      current.rowGroups.push(index);
      current.rows += group.numRows();
      currentBytes += groupBytes;
      rows += group.numRows();
      group.free();
    });
    if (partitions.length === 0) {
      partitions.push({ kind: 'parquet', file: path, rowGroups: [], firstRow: 1, rows: 0 });
    }
    return { partitions, rows, columns };
  } finally {
    file.free();
  }
}

function sliceRowGroup(
  path: string,
  rowGroup: number,
  groupRows: number,
  groupBytes: number,
  targetBytes: number,
  rowsBefore: number,
): ParquetPartition[] {
  const slices = Math.min(groupRows, Math.ceil(groupBytes / targetBytes));
  const sliceRows = Math.ceil(groupRows / slices);
  const partitions: ParquetPartition[] = [];
  for (let offset = 0; offset < groupRows; offset += sliceRows) {
    const rows = Math.min(sliceRows, groupRows - offset);
    partitions.push({
      kind: 'parquet', file: path, rowGroups: [rowGroup], firstRow: rowsBefore + offset + 1, rows, offset,
    });
  }
  return partitions;
}
