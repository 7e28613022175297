import { Field, Schema, Table, tableToIPC, type DataType, type RecordBatch } from 'apache-arrow';
import { InvalidOptionError } from '../errors.js';
import type { InputSource, PartitionedRunOptions } from '../options.js';
import type { ColumnType } from '../read/types.js';
import { partitionBatches, planArrowFile, streamArrowFile } from './arrow.js';
import { planCsv } from './csv.js';
import { expandInputs, type InputFile } from './expand.js';
import { planJsonl } from './jsonl.js';
import { planParquet } from './parquet.js';
import { textColumns } from './text-types.js';
import type { InputColumn, InputPlan, IpcPartition, PartitionSource } from './types.js';
import { unifySchemas, type PlannedFile } from './unify.js';

/** Sizing and parsing options that planning needs, already validated. */
export interface PlanSettings {
  format: PartitionedRunOptions['format'];
  partitionBytes: number;
  partitionRows: number;
  delimiter: string;
  columnTypes: Record<string, ColumnType> | undefined;
  /**
   * Partitions to aim for in each file or table when the sizes were not set by the user,
   * so that a small input still keeps several workers busy; null to use the sizes as they
   * are. It depends on nothing but the input, so the same input always splits the same way.
   */
  minPartitions: number | null;
}

/** Smallest partition that automatic sizing makes of a file input, in bytes. */
export const MIN_AUTO_PARTITION_BYTES = 1024 * 1024;
/** Smallest partition that automatic sizing makes of an in-memory table, in rows. */
export const MIN_AUTO_PARTITION_ROWS = 10_000;

/** Partitions per file or table that automatic sizing aims for. */
export const AUTO_PARTITIONS = 8;

/** Shrinks a default partition size so that `total` splits into `minPartitions` parts. */
function autoSize(size: number, total: number, minPartitions: number | null, floor: number) {
  if (minPartitions === null) return size;
  return Math.min(size, Math.max(floor, Math.ceil(total / minPartitions)));
}

/** Splits any supported input into partitions. */
export async function planInput(input: InputSource, settings: PlanSettings): Promise<InputPlan> {
  if (input instanceof Table) {
    const rows = autoSize(
      settings.partitionRows, input.numRows, settings.minPartitions, MIN_AUTO_PARTITION_ROWS,
    );
    return planTable(input, rows);
  }
  if (typeof input === 'string') return planFiles([input], settings);
  if (isAsyncIterable(input)) return planBatchStream(input, settings.partitionRows);
  if (Array.isArray(input)) return planFiles(input as readonly string[], settings);
  throw new InvalidOptionError(
    'Expected `input` to be a path, a glob, a list of paths, an Arrow Table or an ' +
      `async iterable of RecordBatches, got ${describeValue(input)}`,
  );
}

function planTable(table: Table, partitionRows: number): InputPlan {
  return {
    partitions: partitionBatches(table.batches, partitionRows),
    partitionCount: Math.max(1, Math.ceil(table.numRows / partitionRows)),
    rows: table.numRows,
    columns: columnsOf(table.schema.fields),
    files: [],
  };
}

async function planBatchStream(
  batches: AsyncIterable<RecordBatch>,
  partitionRows: number,
): Promise<InputPlan> {
  // Read the first batch now: its schema is needed to check the features before any work.
  const iterator = batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) {
    throw new InvalidOptionError('Expected `input` to yield at least one RecordBatch, got none');
  }
  async function* replay(): AsyncGenerator<RecordBatch> {
    yield first.value;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      yield next.value;
    }
  }
  return {
    partitions: partitionBatches(replay(), partitionRows),
    partitionCount: null,
    rows: null,
    columns: columnsOf(first.value.schema.fields),
    files: [],
  };
}

async function planFiles(paths: readonly string[], settings: PlanSettings): Promise<InputPlan> {
  const files = await expandInputs(paths, settings.format);
  const planned: PlannedFile[] = [];
  for (const file of files) {
    // Each file is sized on its own, so a change to one file re-splits only that file.
    const partitionBytes = autoSize(
      settings.partitionBytes, file.size, settings.minPartitions, MIN_AUTO_PARTITION_BYTES,
    );
    const plan = await planFile(file, { ...settings, partitionBytes });
    planned.push({ path: file.path, columns: plan.columns, partitions: plan.partitions });
  }
  const columns = unifySchemas(planned);
  const known = planned.every((file) => file.partitions !== null);
  const sources = planned.flatMap((file) => file.partitions ?? []);
  const rows = known ? sources.reduce((sum, source) => sum + source.rows, 0) : null;
  // An input with no rows still gets one empty part, so its schema reaches the output.
  const empty = known && rows === 0 && !sources.some((source) => source.kind === 'parquet')
    ? emptyPartition(columns, files[0]?.path)
    : undefined;

  async function* all(): AsyncGenerator<PartitionSource> {
    if (empty !== undefined) {
      yield empty;
      return;
    }
    for (const file of planned) {
      if (file.partitions !== null) yield* file.partitions;
      else yield* streamArrowFile(file.path, settings.partitionRows);
    }
  }
  return {
    partitions: all(),
    partitionCount: known ? (empty === undefined ? sources.length : 1) : null,
    rows,
    columns,
    files: files.map((file) => file.path),
  };
}

function emptyPartition(columns: InputColumn[], file: string | undefined): IpcPartition {
  const schema = new Schema(columns.map((column) => new Field(column.name, column.type, true)));
  const partition: IpcPartition = {
    kind: 'ipc', bytes: tableToIPC(new Table(schema), 'stream'), firstRow: 1, rows: 0,
  };
  if (file !== undefined) partition.file = file;
  return partition;
}

interface FilePlan {
  columns: InputColumn[];
  /** Null for an Arrow IPC stream, which is partitioned while it is read. */
  partitions: PartitionSource[] | null;
  rows: number;
}

async function planFile(file: InputFile, settings: PlanSettings): Promise<FilePlan> {
  switch (file.format) {
    case 'parquet':
      return planParquet(file.path, settings.partitionBytes);
    case 'arrow': {
      const plan = await planArrowFile(file.path, settings.partitionBytes);
      return { columns: plan.columns, partitions: plan.partitions, rows: plan.rows ?? 0 };
    }
    case 'csv': {
      const plan = await planCsv(file.path, {
        targetBytes: settings.partitionBytes,
        delimiter: settings.delimiter,
        columnTypes: settings.columnTypes,
      });
      const partitions = plan.ranges.map((range) => ({
        kind: 'csv' as const,
        file: file.path,
        ...range,
        schema: plan.schema,
        delimiter: settings.delimiter,
      }));
      return { columns: textColumns(plan.schema), partitions, rows: plan.rows };
    }
    case 'jsonl': {
      const plan = await planJsonl(file.path, {
        targetBytes: settings.partitionBytes,
        columnTypes: settings.columnTypes,
      });
      const partitions = plan.ranges.map((range) => ({
        kind: 'jsonl' as const,
        file: file.path,
        ...range,
        schema: plan.schema,
        delimiter: '',
      }));
      return { columns: textColumns(plan.schema), partitions, rows: plan.rows };
    }
  }
}

function columnsOf(fields: ReadonlyArray<{ name: string; type: DataType }>): InputColumn[] {
  return fields.map((field) => ({ name: field.name, type: field.type }));
}

function isAsyncIterable(value: unknown): value is AsyncIterable<RecordBatch> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return `${JSON.stringify(value)} (${typeof value})`;
}
