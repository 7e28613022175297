/**
 * Scoring steps shared by the hand-written baselines (the naive loop and the
 * session-per-partition worker): pack features, run a session batch by batch, and build
 * an output table with the columns that batchscore writes for the benchmark's models.
 */
import {
  Table,
  TimestampMicrosecond,
  Utf8,
  makeData,
  makeVector,
} from 'apache-arrow';
import * as ort from 'onnxruntime-node';

/** Feature columns, packed in this order into the models' `features` input. */
export const FEATURES = Array.from({ length: 10 }, (_, index) => `f${index}`);

/** Session options of batchscore's workers, so that baselines run the same kernels. */
export function sessionOptions(intraOpThreads = 1) {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/** Returns a column as float64 values; int64 values are converted, nulls are not expected. */
export function columnAsFloat64(table, name) {
  const vector = table.getChild(name);
  if (vector === null) throw new Error(`column "${name}" not found`);
  if (vector.nullCount > 0) {
    throw new Error(`column "${name}" has nulls, which the baselines do not handle`);
  }
  const values = vector.toArray();
  return values instanceof BigInt64Array ? Float64Array.from(values, Number) : values;
}

/** Packs rows `start` to `end` of the columns into one row-major float32 array. */
export function packRows(columns, start, end) {
  const width = columns.length;
  const packed = new Float32Array((end - start) * width);
  for (let j = 0; j < width; j++) {
    const column = columns[j];
    for (let row = start, k = j; row < end; row++, k += width) packed[k] = column[row];
  }
  return packed;
}

/**
 * Scores every row of `table` with one `session.run` per `batchRows` rows. Returns the
 * label and the two class probabilities as whole columns. When `timings` is given, the
 * time spent packing features is added to its `convertMs` and the time in `session.run`
 * to its `inferMs`.
 */
export async function scoreTable(session, table, batchRows, timings = undefined) {
  let started = performance.now();
  const rows = table.numRows;
  const columns = FEATURES.map((name) => columnAsFloat64(table, name));
  const label = new BigInt64Array(rows);
  const probability0 = new Float32Array(rows);
  const probability1 = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const packed = packRows(columns, start, end);
    const input = new ort.Tensor('float32', packed, [end - start, FEATURES.length]);
    if (timings !== undefined) timings.convertMs += performance.now() - started;

    started = performance.now();
    const outputs = await session.run({ features: input });
    if (timings !== undefined) timings.inferMs += performance.now() - started;

    started = performance.now();
    label.set(outputs.label.data, start);
    const probabilities = outputs.probabilities.data;
    for (let k = 0; k < end - start; k++) {
      probability0[start + k] = probabilities[2 * k];
      probability1[start + k] = probabilities[2 * k + 1];
    }
  }
  if (timings !== undefined) timings.convertMs += performance.now() - started;
  return { label, probability0, probability1 };
}

/** Builds the output table: the input columns, the predictions and the two label columns. */
export function outputTable(table, predictions, modelVersion, scoredAtMicros) {
  const rows = table.numRows;
  const columns = {};
  for (const field of table.schema.fields) columns[field.name] = table.getChild(field.name);
  columns.label = makeVector(predictions.label);
  columns.probabilities_0 = makeVector(predictions.probability0);
  columns.probabilities_1 = makeVector(predictions.probability1);
  columns.model_version = repeatedText(modelVersion, rows);
  columns.scored_at = makeVector(makeData({
    type: new TimestampMicrosecond('UTC'),
    length: rows,
    data: new BigInt64Array(rows).fill(scoredAtMicros),
  }));
  return new Table(columns);
}

function repeatedText(text, rows) {
  const bytes = new TextEncoder().encode(text);
  const data = new Uint8Array(bytes.length * rows);
  const offsets = new Int32Array(rows + 1);
  for (let row = 0; row < rows; row++) {
    data.set(bytes, row * bytes.length);
    offsets[row + 1] = (row + 1) * bytes.length;
  }
  return makeVector(makeData({ type: new Utf8(), length: rows, valueOffsets: offsets, data }));
}
