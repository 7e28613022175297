/**
 * Maps table columns to model inputs and turns a table of rows into onnxruntime feeds.
 *
 * Columns are matched in one of two ways. By name, each model input is fed from the column
 * of the same name, as skl2onnx exports one `[N, 1]` input per column. The `features`
 * option instead packs the listed columns, in order, into the model's single `[N, F]` input.
 */
import type * as arrow from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { DataError, InputError, InvalidOptionError, ModelError } from '../errors.js';
import type { ModelInfo, ValueInfo } from '../model/inspect.js';
import type { RejectedRow } from '../read/types.js';
import { castColumn, type FeatureArray, type FeatureType } from './cast.js';
import { readColumn, unsupportedTypeFix } from './columns.js';

export type { FeatureType } from './cast.js';

/** Binding of one model input to the columns that feed it. Plain data, safe to post. */
export interface InputBinding {
  /** Model input name. */
  input: string;
  /** Element type of the tensor fed to the input. */
  type: FeatureType;
  /** Columns whose values fill each row of the tensor, in order. */
  columns: string[];
  /** Tensor shape with -1 for the batch dimension, such as `[-1, 1]`, `[-1, 11]` or `[-1]`. */
  shape: number[];
}

/** Bindings of every model input, as {@link resolveFeatures} returns them. */
export interface FeatureMapping {
  /** `by-name` when each input is fed from its namesake column, else `features`. */
  mode: 'by-name' | 'features';
  /** One binding per model input, in the model's input order. */
  inputs: InputBinding[];
}

/** A column of the input schema. */
export interface ColumnInfo {
  name: string;
  type: arrow.DataType;
}

/** Source of a table's rows, used to locate rejected rows. */
export interface FeedContext {
  /** One-based source row number of table row `index`. */
  rowNumber(index: number): number;
  /** Source file, when the input is a file. */
  file?: string;
}

/** Feeds for one table, built by {@link buildFeeds}. */
export interface Feeds {
  /** One tensor per model input, holding the kept rows only. */
  feeds: Record<string, ort.Tensor>;
  /** Table row indexes of the kept rows, ascending; null when every row is kept. */
  keep: Uint32Array | null;
  /** Number of kept rows, the batch size of every feed. */
  rows: number;
  /** Rows that could not be converted, one entry per row, in table order. */
  rejected: RejectedRow[];
}

const FEATURE_TYPES = new Set<string>([
  'float32', 'float64', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string',
] satisfies FeatureType[]);

/**
 * Decides which columns feed which model inputs.
 *
 * @param model - the model, from `inspectModel`
 * @param columns - the columns of the input, in schema order
 * @param features - columns to pack, in order, into the model's single `[N, F]` input.
 *   When omitted, each model input is fed from the column with its exact name.
 * @throws {@link ModelError} `ERR_MODEL_UNSUPPORTED` when an input is not a tensor of a
 *   type listed in {@link FeatureType}, or has a shape no table row can fill.
 * @throws {@link InvalidOptionError} when `features` is empty, is given for a model with
 *   several inputs, or lists a number of columns the input's fixed width rules out.
 * @throws {@link DataError} `ERR_MISSING_COLUMN` when a needed column does not exist.
 * @throws {@link InputError} `ERR_UNSUPPORTED_COLUMN_TYPE` when a needed column's Arrow
 *   type cannot be converted: temporal, nested and union types.
 */
export function resolveFeatures(
  model: ModelInfo,
  columns: readonly ColumnInfo[],
  features?: readonly string[],
): FeatureMapping {
  if (model.inputs.length === 0) {
    throw new ModelError('ERR_MODEL_UNSUPPORTED', 'The model has no inputs to feed');
  }
  const mapping = features === undefined
    ? matchByName(model.inputs, columns)
    : matchFeatures(model.inputs, columns, features);
  checkColumnTypes(mapping, columns);
  return mapping;
}

function matchByName(inputs: ValueInfo[], columns: readonly ColumnInfo[]): FeatureMapping {
  const names = new Set(columns.map((column) => column.name));
  const missing = inputs.filter((input) => !names.has(input.name));
  if (missing.length > 0) throw missingInputs(missing, inputs.length, columns);

  const bindings = inputs.map((input) => {
    const shape = tensorShape(input, 1);
    if (shape === null) {
      throw new DataError('ERR_MISSING_COLUMN',
        `Model input "${input.name}" (${input.type}) takes more than one value per row, ` +
          'so one column cannot feed it', {
          column: input.name,
          fix: 'Pass `features` with the columns to pack into it, in the order the model expects',
        });
    }
    return { input: input.name, type: featureType(input), columns: [input.name], shape };
  });
  return { mode: 'by-name', inputs: bindings };
}

function missingInputs(
  missing: ValueInfo[],
  inputCount: number,
  columns: readonly ColumnInfo[],
): DataError {
  const names = missing.map((input) => `"${input.name}"`).join(', ');
  const fix = inputCount === 1
    ? 'Pass `features` with the columns to feed it, in the order the model expects'
    : 'Rename the columns to match the model inputs, or add a transform that creates them';
  return new DataError('ERR_MISSING_COLUMN',
    `No column has the name of model input ${names}; ` +
      `available columns: ${listColumns(columns)}`, {
      column: missing.length === 1 ? missing[0]?.name : undefined,
      fix,
    });
}

function matchFeatures(
  inputs: ValueInfo[],
  columns: readonly ColumnInfo[],
  features: readonly string[],
): FeatureMapping {
  const [input] = inputs;
  if (input === undefined || inputs.length > 1) {
    const names = inputs.map((each) => each.name).join(', ');
    throw new InvalidOptionError(
      `\`features\` packs columns into one tensor, but the model has ${inputs.length} ` +
        `inputs (${names})`,
      { fix: 'Omit `features`: each model input is then fed from the column of its name' },
    );
  }
  if (features.length === 0) {
    throw new InvalidOptionError('Expected `features` to list at least one column, got []');
  }
  const shape = tensorShape(input, features.length);
  if (shape === null) {
    throw new InvalidOptionError(
      `Expected \`features\` to list as many columns as model input "${input.name}" ` +
        `(${input.type}) takes per row, got ${features.length}`,
    );
  }
  const names = new Set(columns.map((column) => column.name));
  const missing = features.filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new DataError('ERR_MISSING_COLUMN',
      `\`features\` lists columns that do not exist: ${missing.join(', ')}; ` +
        `available columns: ${listColumns(columns)}`, {
        column: missing.length === 1 ? missing[0] : undefined,
        fix: 'Check the spelling and case of the names in `features`',
      });
  }
  return {
    mode: 'features',
    inputs: [{ input: input.name, type: featureType(input), columns: [...features], shape }],
  };
}

function listColumns(columns: readonly ColumnInfo[]): string {
  const shown = columns.slice(0, 30).map((column) => column.name).join(', ');
  return columns.length > 30 ? `${shown} and ${columns.length - 30} more` : shown;
}

function featureType(input: ValueInfo): FeatureType {
  if (input.kind === 'tensor' && input.elemType !== null && FEATURE_TYPES.has(input.elemType)) {
    return input.elemType as FeatureType;
  }
  throw new ModelError('ERR_MODEL_UNSUPPORTED',
    `Model input "${input.name}" is ${input.type}; batchscore feeds tensors of ` +
      [...FEATURE_TYPES].join(', '), { fix: 'Export the model with inputs of those types' });
}

/**
 * Computes the shape of the tensor that feeds `input` with `width` values per row, with -1
 * for the batch. Returns null when the input's fixed dims do not take `width` values.
 */
function tensorShape(input: ValueInfo, width: number): number[] | null {
  // NOTE: a fixed batch dimension, such as 1, is not enforced here; onnxruntime rejects
  // a batch of another size when the session runs.
  const dims = input.dims;
  if (dims === null) return [-1, width];
  if (dims.length === 0) {
    throw new ModelError('ERR_MODEL_UNSUPPORTED',
      `Model input "${input.name}" is a scalar (${input.type}), so it cannot take a batch ` +
        'of rows');
  }
  if (dims.length === 1) return width === 1 ? [-1] : null;
  const rest = dims.slice(1);
  if (rest.every((dim): dim is number => typeof dim === 'number')) {
    return rest.reduce((product, dim) => product * dim, 1) === width ? [-1, ...rest] : null;
  }
  if (rest.length === 1) return [-1, width];
  throw new ModelError('ERR_MODEL_UNSUPPORTED',
    `Model input "${input.name}" (${input.type}) has more than one dimension of unknown ` +
      'size after the batch, so the number of values per row is unknown');
}

function checkColumnTypes(mapping: FeatureMapping, columns: readonly ColumnInfo[]): void {
  const types = new Map(columns.map((column) => [column.name, column.type]));
  for (const binding of mapping.inputs) {
    for (const name of binding.columns) {
      const type = types.get(name);
      if (type !== undefined) checkColumnType(name, type, binding.input);
    }
  }
}

function checkColumnType(name: string, type: arrow.DataType, input: string): void {
  const fix = unsupportedTypeFix(type);
  if (fix === null) return;
  throw new InputError('ERR_UNSUPPORTED_COLUMN_TYPE',
    `Column of Arrow type ${String(type)} cannot feed model input "${input}"`,
    { column: name, fix });
}

/**
 * Converts the rows of `table` into one tensor per model input. Conversion follows each
 * input's element type (see `cast.ts`): a missing number is NaN, and a value that cannot
 * be converted rejects its row. A rejected row is left out of every feed, so row `k` of
 * each tensor is table row `keep[k]`.
 *
 * @throws {@link DataError} `ERR_MISSING_COLUMN` when the table lacks a mapped column.
 * @throws {@link InputError} `ERR_UNSUPPORTED_COLUMN_TYPE` for a column of a type that
 *   cannot be converted.
 */
export function buildFeeds(
  table: arrow.Table,
  mapping: FeatureMapping,
  context: FeedContext,
): Feeds {
  // Cast every mapped column once, over all rows, keeping the first rejection of each row.
  const rejections = new Map<number, RejectedRow>();
  const cast = new Map<string, FeatureArray>();
  for (const binding of mapping.inputs) {
    for (const name of binding.columns) {
      const key = `${binding.type}:${name}`;
      if (cast.has(key)) continue;
      const vector = columnOf(table, name, binding.input, context);
      cast.set(key, castColumn(readColumn(vector), binding.type, (row, value, reason) => {
        if (rejections.has(row)) return;
        rejections.set(row, rejectedRow(context, row, name, value, reason));
      }));
    }
  }

  // Pack the kept rows into one tensor per input.
  const keep = rejections.size === 0 ? null : keptRows(table.numRows, rejections);
  const rows = keep === null ? table.numRows : keep.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const binding of mapping.inputs) {
    const values = binding.columns.map((name) => cast.get(`${binding.type}:${name}`)!);
    const dims = binding.shape.map((dim) => (dim === -1 ? rows : dim));
    feeds[binding.input] = new ort.Tensor(binding.type, pack(values, keep, rows) as never, dims);
  }
  const rejected = [...rejections.entries()].sort(([a], [b]) => a - b).map(([, row]) => row);
  return { feeds, keep, rows, rejected };
}

function columnOf(table: arrow.Table, name: string, input: string, context: FeedContext) {
  const vector = table.getChild(name);
  if (vector === null) {
    throw new DataError('ERR_MISSING_COLUMN', `Column for model input "${input}" not found`,
      { file: context.file, column: name, fix: 'Give every part of the input the same columns' });
  }
  checkColumnType(name, vector.type, input);
  return vector;
}

function rejectedRow(
  context: FeedContext,
  row: number,
  column: string,
  value: string | undefined,
  reason: string,
): RejectedRow {
  const rejected: RejectedRow = {
    row: context.rowNumber(row),
    column,
    code: 'ERR_VALUE_CONVERSION',
    reason,
  };
  if (context.file !== undefined) rejected.file = context.file;
  if (value !== undefined) rejected.value = value;
  return rejected;
}

function keptRows(length: number, rejections: Map<number, RejectedRow>): Uint32Array {
  const keep = new Uint32Array(length - rejections.size);
  let next = 0;
  for (let row = 0; row < length; row++) {
    if (!rejections.has(row)) keep[next++] = row;
  }
  return keep;
}

/**
 * Interleaves columns into one row-major array over the kept rows: value `j` of kept row
 * `k` goes to index `k * columns.length + j`. A single column with every row kept is
 * returned as is.
 */
function pack(columns: FeatureArray[], keep: Uint32Array | null, rows: number): FeatureArray {
  const [first] = columns;
  if (first === undefined) throw new RangeError('An input binding has no columns');
  if (columns.length === 1 && keep === null) return first;

  const width = columns.length;
  const out = Array.isArray(first)
    ? new Array<string>(rows * width)
    : new (first.constructor as new (length: number) => Exclude<FeatureArray, string[]>)(
      rows * width,
    );
  columns.forEach((column, j) => {
    for (let k = 0; k < rows; k++) {
      out[k * width + j] = column[keep === null ? k : keep[k]!] as never;
    }
  });
  return out;
}
