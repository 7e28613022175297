/**
 * Decides, before any row is scored, which model outputs to fetch and which result
 * columns they become, so the writer has the output schema up front.
 */
import * as arrow from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { ElemType, ModelInfo, ValueInfo, ZipMapInfo } from './inspect.js';

/** Arrow type of a result column. `utf8` is text; the others are Arrow types of that name. */
export type ResultType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'utf8';

/** One result column: value `index` of each row of the fetched tensor `output`. */
export interface ResultColumn {
  /** Column name in the output. */
  name: string;
  type: ResultType;
  /** Model output that the column is read from. */
  output: string;
  /** Values per row in that output (the product of its dims after the first). */
  width: number;
  /** Position of this column's value within each row of `output`. */
  index: number;
  /**
   * Set on a `label` column of a classifier that has no label output: the label is the
   * class, from this list, of the highest probability in `output`.
   */
  argmaxLabels?: string[] | bigint[];
}

/** Fetches and result columns of a model. Plain data, safe to post to a worker. */
export interface OutputPlan {
  /** Output names to pass to `InferenceSession.run` as fetches. */
  fetch: string[];
  /** Result columns, in output order. */
  columns: ResultColumn[];
  /** A classifier's class labels in the order of its probability columns; else null. */
  classLabels: string[] | bigint[] | null;
  /**
   * True when `fetch` names a ZipMap input, so the session must be created from the bytes
   * that `exposeZipMapProbabilities` returns.
   */
  exposesZipMap: boolean;
}

/** Output names that skl2onnx gives a classifier converted with `zipmap=False`. */
const SKL2ONNX_LABEL = 'output_label';
const SKL2ONNX_PROBABILITY = 'output_probability';

/**
 * Plans the outputs of a model.
 *
 * - Classifier, when the graph ends in a ZipMap or has the skl2onnx `output_label` and
 *   `output_probability` tensors: a `label` column (the model's label type) and a float
 *   `probability_<class>` column per class. Class names come from the ZipMap, else from the
 *   graph's only classifier node, else they are `0` to `C - 1`.
 * - One tensor output of width 1 (`[N]` or `[N, 1]`): `prediction`; of width K:
 *   `prediction_0` to `prediction_{K-1}`.
 * - Several tensor outputs: `<output>` for width 1, else `<output>_0`, `<output>_1`, ...
 *
 * Values keep the model's type, except float16, which becomes float32.
 *
 * @throws {@link ModelError} `ERR_MODEL_UNSUPPORTED` for a non-tensor output that is no
 *   ZipMap output, several ZipMap outputs, an output type with no Arrow equivalent, or
 *   result columns whose names collide.
 */
export function planOutputs(info: ModelInfo): OutputPlan {
  const plan = planClassifier(info) ?? planTensors(info.outputs, true);
  checkUniqueNames(plan.columns);
  return plan;
}

/** Maps a result type to its Arrow data type. */
export function arrowType(type: ResultType): arrow.DataType {
  switch (type) {
    case 'float32': return new arrow.Float32();
    case 'float64': return new arrow.Float64();
    case 'int8': return new arrow.Int8();
    case 'int16': return new arrow.Int16();
    case 'int32': return new arrow.Int32();
    case 'int64': return new arrow.Int64();
    case 'uint8': return new arrow.Uint8();
    case 'uint16': return new arrow.Uint16();
    case 'uint32': return new arrow.Uint32();
    case 'uint64': return new arrow.Uint64();
    case 'bool': return new arrow.Bool();
    case 'utf8': return new arrow.Utf8();
  }
}

/** Builds the Arrow fields of the result columns, in order, all nullable. */
export function resultFields(plan: OutputPlan): arrow.Field[] {
  return plan.columns.map((column) => new arrow.Field(column.name, arrowType(column.type), true));
}

/** Plans a classifier, or returns null when the model is not one. */
function planClassifier(info: ModelInfo): OutputPlan | null {
  if (info.zipMaps.length > 1) {
    const names = info.zipMaps.map((zipMap) => zipMap.output).join(', ');
    throw unsupported(`The model has ${info.zipMaps.length} ZipMap outputs (${names})`,
      'batchscore scores models with at most one classifier output');
  }
  const [zipMap] = info.zipMaps;
  if (zipMap !== undefined) return planZipMapClassifier(info, zipMap);

  const label = info.outputs.find((output) => output.name === SKL2ONNX_LABEL);
  const probability = info.outputs.find((output) => output.name === SKL2ONNX_PROBABILITY);
  if (label?.kind !== 'tensor' || probability?.kind !== 'tensor') return null;
  if (probability.elemType !== 'float32' && probability.elemType !== 'float64') return null;

  const width = rowWidth(probability) ?? info.classifier?.classLabels.length;
  if (width === undefined) {
    throw unsupported(`Output "${probability.name}" (${probability.type}) has no fixed ` +
      'number of classes, so its probability columns cannot be named before scoring');
  }
  const classLabels = info.classifier?.classLabels.length === width
    ? info.classifier.classLabels
    : Array.from({ length: width }, (_, index) => BigInt(index));
  const rest = info.outputs.filter((output) => output !== label && output !== probability);
  return classifierPlan(label, probability.name, probability.elemType, classLabels, rest);
}

/** Plans a classifier whose probabilities are the input tensor of `zipMap`. */
function planZipMapClassifier(info: ModelInfo, zipMap: ZipMapInfo): OutputPlan {
  const others = info.outputs.filter(
    (output) => output.name !== zipMap.output && output.name !== zipMap.input,
  );
  const label = findLabelOutput(others);
  const rest = others.filter((output) => output !== label);
  const plan = classifierPlan(label, zipMap.input, 'float32', zipMap.classLabels, rest);
  const alreadyOutput = info.outputs.some((output) => output.name === zipMap.input);
  return { ...plan, exposesZipMap: !alreadyOutput };
}

/**
 * Finds the label output of a ZipMap classifier: skl2onnx's `output_label`, else the only
 * int64 or string tensor output of width 1.
 */
function findLabelOutput(outputs: ValueInfo[]): ValueInfo | undefined {
  const named = outputs.find((output) => output.name === SKL2ONNX_LABEL);
  if (named?.kind === 'tensor') return named;
  const candidates = outputs.filter(
    (output) =>
      output.kind === 'tensor' &&
      (output.elemType === 'int64' || output.elemType === 'string') &&
      rowWidth(output) === 1,
  );
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Builds the plan of a classifier; `rest` are further outputs kept as their own columns. */
function classifierPlan(
  label: ValueInfo | undefined,
  probability: string,
  probabilityType: ElemType,
  classLabels: string[] | bigint[],
  rest: ValueInfo[],
): OutputPlan {
  const width = classLabels.length;
  const columns: ResultColumn[] = [labelColumn(label, probability, classLabels)];
  const type = resultType({ name: probability, elemType: probabilityType, type: '' });
  classLabels.forEach((classLabel, index) => {
    columns.push({ name: `probability_${classLabel}`, type, output: probability, width, index });
  });
  const extra = planTensors(rest, false);
  const fetch = label === undefined ? [probability] : [label.name, probability];
  return {
    fetch: [...fetch, ...extra.fetch],
    columns: [...columns, ...extra.columns],
    classLabels,
    exposesZipMap: false,
  };
}

function labelColumn(
  label: ValueInfo | undefined,
  probability: string,
  classLabels: string[] | bigint[],
): ResultColumn {
  if (label !== undefined) {
    const width = rowWidth(label) ?? 1;
    return { name: 'label', type: resultType(label), output: label.name, width, index: 0 };
  }
  const type = typeof classLabels[0] === 'string' ? 'utf8' : 'int64';
  const width = classLabels.length;
  return { name: 'label', type, output: probability, width, index: 0, argmaxLabels: classLabels };
}

/**
 * Plans plain tensor outputs. With `single` set, a lone output is named `prediction`.
 */
function planTensors(outputs: ValueInfo[], single: boolean): OutputPlan {
  const columns: ResultColumn[] = [];
  for (const output of outputs) {
    if (output.kind !== 'tensor') {
      throw unsupported(`Output "${output.name}" is a ${output.type}, not a tensor`,
        'batchscore reads tensor outputs and the maps of a ZipMap classifier; ' +
          'export this output as a tensor');
    }
    const base = single && outputs.length === 1 ? 'prediction' : output.name;
    // NOTE: an output with no fixed row width is planned as one column; scoring checks
    // the real width and fails with ERR_INFERENCE when it differs.
    const width = rowWidth(output) ?? 1;
    const type = resultType(output);
    for (let index = 0; index < width; index++) {
      const name = width === 1 ? base : `${base}_${index}`;
      columns.push({ name, type, output: output.name, width, index });
    }
  }
  return { fetch: outputs.map((output) => output.name), columns, classLabels: null,
    exposesZipMap: false };
}

/**
 * Values per row of a tensor output: the product of its dims after the first (1 for a
 * `[N]` tensor). Null when a dim after the first is not fixed or no shape is declared.
 */
export function rowWidth(value: Pick<ValueInfo, 'dims'>): number | null {
  if (value.dims === null || value.dims.length === 0) return null;
  let width = 1;
  for (const dim of value.dims.slice(1)) {
    if (typeof dim !== 'number') return null;
    width *= dim;
  }
  return width;
}

const RESULT_TYPES: Partial<Record<ElemType, ResultType>> = {
  float32: 'float32',
  float64: 'float64',
  // onnxruntime-node returns float16 as raw 16-bit words; predictions decodes them.
  float16: 'float32',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'utf8',
};

function resultType(value: Pick<ValueInfo, 'name' | 'elemType' | 'type'>): ResultType {
  const type = value.elemType === null ? undefined : RESULT_TYPES[value.elemType];
  if (type === undefined) {
    throw unsupported(`Output "${value.name}" has element type ${value.elemType}, which ` +
      'has no Arrow equivalent', 'Cast the output to float32, float64 or int64 in the model');
  }
  return type;
}

function checkUniqueNames(columns: ResultColumn[]): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) {
      throw unsupported(`Two result columns would both be named "${column.name}"`,
        'Rename the model output that clashes with a classifier column');
    }
    seen.add(column.name);
  }
}

function unsupported(message: string, fix?: string): ModelError {
  return new ModelError('ERR_MODEL_UNSUPPORTED', message, { fix });
}
