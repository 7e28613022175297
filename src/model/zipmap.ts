/**
 * skl2onnx and onnxmltools end classifiers in a ZipMap node, whose `seq(map(...))` output
 * onnxruntime-node cannot return: fetching it fails with "Non tensor type is temporarily
 * not supported" (onnxruntime-node 1.31). The ZipMap input, the `[N, C]` float tensor of
 * class probabilities, contains the same numbers. Declaring it as one more graph output
 * lets the session fetch it instead, without the user exporting the model again.
 */
import type { ModelInfo, ZipMapInfo } from './inspect.js';
import {
  concatBytes,
  encodeBytesField,
  encodeStringField,
  encodeVarintField,
  readFields,
} from './protobuf.js';

/** `TensorProto.DataType.FLOAT`: ZipMap's input is `tensor(float)` in every version. */
const FLOAT = 1;

/**
 * Returns model bytes in which the input tensor of each ZipMap of `info.zipMaps` is also a
 * graph output, declared as a float tensor of shape `[?, C]`. The new outputs come after
 * the existing ones; every other byte of the model is kept. Returns `bytes` itself when
 * there is nothing to add.
 *
 * @param bytes - the model, a serialized `ModelProto`
 * @param info - what {@link inspectModel} returned for these bytes
 */
export function exposeZipMapProbabilities(bytes: Uint8Array, info: ModelInfo): Uint8Array {
  const existing = new Set(info.outputs.map((output) => output.name));
  const added = info.zipMaps.filter((zipMap) => !existing.has(zipMap.input));
  if (added.length === 0) return bytes;

  const outputs = added.map((zipMap) => encodeBytesField(12, probabilityValueInfo(zipMap)));
  const parts: Uint8Array[] = [];
  for (const field of readFields(bytes)) {
    // ModelProto.graph = 7
    if (field.number === 7) parts.push(encodeBytesField(7, appendOutputs(field.value, outputs)));
    else parts.push(field.raw);
  }
  return concatBytes(parts);
}

/** Re-encodes a `GraphProto` with `outputs` (encoded `output` fields, 12) after its own. */
function appendOutputs(graph: Uint8Array, outputs: Uint8Array[]): Uint8Array {
  const fields = [...readFields(graph)];
  let last = -1;
  fields.forEach((field, index) => {
    if (field.number === 12) last = index;
  });
  const parts = fields.map((field) => field.raw);
  parts.splice(last === -1 ? parts.length : last + 1, 0, ...outputs);
  return concatBytes(parts);
}

/**
 * Encodes the `ValueInfoProto` (name = 1, type = 2) of a ZipMap input. The type is a
 * `TypeProto` whose tensor_type (1) has elem_type = 1 and shape = 2; the shape has two
 * `Dimension`s (dim = 1): the batch, left unnamed, and dim_value (1) = C.
 */
function probabilityValueInfo(zipMap: ZipMapInfo): Uint8Array {
  const batch = encodeBytesField(1, new Uint8Array(0));
  const classes = encodeBytesField(1, encodeVarintField(1, zipMap.classLabels.length));
  const shape = encodeBytesField(2, concatBytes([batch, classes]));
  const tensor = concatBytes([encodeVarintField(1, FLOAT), shape]);
  const type = encodeBytesField(1, tensor);
  return concatBytes([encodeStringField(1, zipMap.input), encodeBytesField(2, type)]);
}
