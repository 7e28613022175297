/**
 * Turns the tensors that a session run returned into Arrow result columns, following an
 * output plan.
 */
import * as arrow from 'apache-arrow';
import type * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import type { OutputPlan, ResultColumn, ResultType } from '../model/output-plan.js';
import { halfToNumber } from './columns.js';

type NumericResultType = Exclude<ResultType, 'bool' | 'utf8'>;

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
} as const;

type ColumnValues = InstanceType<(typeof ARRAYS)[NumericResultType]> | string[] | boolean[];

/**
 * Builds the result columns of one batch.
 *
 * Probabilities stay float32, the type classifiers compute them in (ZipMap's input is
 * `tensor(float)`): widening to float64 would double their size and add no precision.
 *
 * @param outputs - what `InferenceSession.run` returned for `plan.fetch`
 * @param plan - from `planOutputs`
 * @param rows - the batch size fed to the model; checked against every output when given
 * @returns one Arrow vector per plan column, keyed by column name, in plan order
 * @throws {@link ModelError} `ERR_INFERENCE` when an output is missing, is not a tensor,
 *   or has another row count or row width than planned.
 */
export function predictionColumns(
  outputs: ort.InferenceSession.OnnxValueMapType,
  plan: OutputPlan,
  rows?: number,
): Record<string, arrow.Vector> {
  const columns: Record<string, arrow.Vector> = {};
  for (const column of plan.columns) {
    const tensor = outputTensor(outputs, column, rows);
    const values = column.argmaxLabels === undefined
      ? extractColumn(tensor, column)
      : argmaxColumn(tensor, column, column.argmaxLabels);
    columns[column.name] = toVector(values, column.type);
  }
  return columns;
}

/** Returns the tensor of `column.output` after checking its row count and width. */
function outputTensor(
  outputs: ort.InferenceSession.OnnxValueMapType,
  column: ResultColumn,
  rows: number | undefined,
): ort.Tensor {
  const tensor = outputs[column.output];
  if (tensor === undefined || !('dims' in tensor) || !('data' in tensor)) {
    throw inferenceError(`The model returned no tensor for output "${column.output}"`);
  }
  const [count, ...rest] = tensor.dims;
  if (count === undefined) {
    throw inferenceError(`Output "${column.output}" is a scalar, not a batch of rows`);
  }
  if (rows !== undefined && count !== rows) {
    throw inferenceError(`Output "${column.output}" has ${count} rows for a batch of ${rows}`);
  }
  const width = rest.reduce((product, dim) => product * dim, 1);
  if (width !== column.width) {
    throw inferenceError(
      `Output "${column.output}" has ${width} values per row ` +
        `(shape [${tensor.dims.join(', ')}]), ` +
        `but ${column.width} were planned from the shape the model declares`,
    );
  }
  return tensor;
}

function inferenceError(message: string): ModelError {
  return new ModelError('ERR_INFERENCE', message, {
    fix: 'Check that the model declares the shapes and types its outputs really have',
  });
}

/** Takes value `column.index` of every row of `tensor`, as the column's type. */
function extractColumn(tensor: ort.Tensor, column: ResultColumn): ColumnValues {
  const { width, index, type } = column;
  const data = tensor.data as ArrayLike<unknown>;
  const rows = tensor.dims[0] ?? 0;
  if (type === 'utf8' || type === 'bool') {
    const out = new Array<unknown>(rows);
    for (let k = 0; k < rows; k++) out[k] = data[k * width + index];
    return type === 'utf8' ? out.map(String) : out.map(Boolean);
  }

  // onnxruntime-node returns float16 as 16-bit words (a Uint16Array) on Node 20.
  const decode = tensor.type === 'float16' && data instanceof Uint16Array;
  if (width === 1 && !decode && data instanceof ARRAYS[type]) return data as ColumnValues;
  const out = new ARRAYS[type](rows);
  try {
    for (let k = 0; k < rows; k++) {
      const value = data[k * width + index];
      out[k] = (decode ? halfToNumber(value as number) : value) as never;
    }
  } catch (cause) {
    throw new ModelError('ERR_INFERENCE',
      `Output "${column.output}" is ${tensor.type}, not ${type} as planned`, { cause });
  }
  return out;
}

/** Finds the class label of the highest probability of each row; null for a row of NaN. */
function argmaxColumn(
  tensor: ort.Tensor,
  column: ResultColumn,
  labels: string[] | bigint[],
): (string | bigint | null)[] {
  const data = tensor.data as ArrayLike<number>;
  const rows = tensor.dims[0] ?? 0;
  const out = new Array<string | bigint | null>(rows);
  for (let k = 0; k < rows; k++) {
    let best = -1;
    let max = -Infinity;
    for (let j = 0; j < column.width; j++) {
      const value = data[k * column.width + j]!;
      if (value > max || (best === -1 && value === max)) {
        best = j;
        max = value;
      }
    }
    out[k] = best === -1 ? null : labels[best] ?? null;
  }
  return out;
}

function toVector(values: ColumnValues | (string | bigint | null)[], type: ResultType) {
  if (!Array.isArray(values)) return arrow.makeVector(values);
  switch (type) {
    case 'utf8': return arrow.vectorFromArray(values as (string | null)[], new arrow.Utf8());
    case 'bool': return arrow.vectorFromArray(values as boolean[], new arrow.Bool());
    case 'int64': return arrow.vectorFromArray(values as (bigint | null)[], new arrow.Int64());
    default: throw new TypeError(`Cannot build a ${type} column from an array of values`);
  }
}
