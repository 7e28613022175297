import { InputError } from '../errors.js';
import type { ColumnType, TextSchema } from '../read/types.js';
import { textColumns } from './text-types.js';
import type { InputColumn, PartitionSource } from './types.js';

/** A planned file: its columns and partitions (null for an Arrow stream, read later). */
export interface PlannedFile {
  path: string;
  columns: InputColumn[];
  partitions: PartitionSource[] | null;
}

/**
 * Gives every file of a run one schema, so all parts can be read as one dataset. Column
 * names must match, in order. Text files (CSV, JSON Lines) whose inferred types differ
 * are widened: int64 with float64 becomes float64, any other mix becomes utf8. Other
 * formats must have equal types.
 * @throws {@link InputError} `ERR_SCHEMA_MISMATCH` naming the file and the column.
 */
export function unifySchemas(files: PlannedFile[]): InputColumn[] {
  const [first, ...rest] = files;
  if (first === undefined) return [];
  for (const file of rest) checkNames(first, file);

  const texts = files.filter((file) => isText(file));
  const unified = unifyTextTypes(texts);
  for (const file of files) {
    if (isText(file)) setTextSchema(file, unified);
    else checkTypes(first, file);
  }
  const columns = isText(first) && unified !== null ? textColumnsOf(first, unified) : first.columns;
  return columns;
}

function isText(file: PlannedFile): boolean {
  const kind = file.partitions?.[0]?.kind;
  return kind === 'csv' || kind === 'jsonl';
}

function checkNames(first: PlannedFile, file: PlannedFile): void {
  const expected = first.columns.map((column) => column.name);
  const actual = file.columns.map((column) => column.name);
  const length = Math.max(expected.length, actual.length);
  for (let index = 0; index < length; index++) {
    if (expected[index] === actual[index]) continue;
    throw new InputError('ERR_SCHEMA_MISMATCH', 'An input file has other columns than the first', {
      file: file.path,
      column: actual[index] ?? expected[index],
      value: `column ${index + 1} is ${JSON.stringify(actual[index] ?? null)} here but ` +
        `${JSON.stringify(expected[index] ?? null)} in ${first.path}`,
      fix: 'Give every input file the same columns in the same order, or score them in separate runs',
    });
  }
}

function checkTypes(first: PlannedFile, file: PlannedFile): void {
  file.columns.forEach((column, index) => {
    const expected = first.columns[index];
    if (expected === undefined || String(expected.type) === String(column.type)) return;
    throw new InputError('ERR_SCHEMA_MISMATCH', 'An input column has another type than in the first file', {
      file: file.path,
      column: column.name,
      value: `${String(column.type)} here, ${String(expected.type)} in ${first.path}`,
      fix: 'Write the files with one schema (cast the column), or score them in separate runs',
    });
  });
}

function textSchemaOf(file: PlannedFile): TextSchema | undefined {
  const partition = file.partitions?.[0];
  return partition?.kind === 'csv' || partition?.kind === 'jsonl' ? partition.schema : undefined;
}

function unifyTextTypes(files: PlannedFile[]): ColumnType[] | null {
  let types: ColumnType[] | null = null;
  for (const file of files) {
    const schema = textSchemaOf(file);
    if (schema === undefined) continue;
    types = types === null ? [...schema.types] : types.map((type, i) => widen(type, schema.types[i]));
  }
  return types;
}

function widen(a: ColumnType, b: ColumnType | undefined): ColumnType {
  if (b === undefined || a === b) return a;
  if ((a === 'int64' && b === 'float64') || (a === 'float64' && b === 'int64')) return 'float64';
  return 'utf8';
}

function setTextSchema(file: PlannedFile, types: ColumnType[] | null): void {
  if (types === null) return;
  for (const partition of file.partitions ?? []) {
    if (partition.kind === 'csv' || partition.kind === 'jsonl') {
      partition.schema = { names: partition.schema.names, types };
    }
  }
}

function textColumnsOf(first: PlannedFile, types: ColumnType[]): InputColumn[] {
  const schema = textSchemaOf(first);
  return schema === undefined ? first.columns : textColumns({ names: schema.names, types });
}
