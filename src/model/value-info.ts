/**
 * Reads `ValueInfoProto`, the name and type of a graph input or output, from an ONNX
 * model. Field numbers are those of `onnx/onnx.proto`.
 */
import { fieldNumber, fieldString, readFields } from './protobuf.js';

/**
 * Element type of a tensor, from `TensorProto.DataType`. Names follow onnxruntime's
 * tensor type names where onnxruntime has one.
 */
export type ElemType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'complex64'
  | 'complex128'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'uint4'
  | 'int4'
  | 'float4e2m1'
  | 'undefined';

/** `TensorProto.DataType` enum values 0 to 23, in order. */
const ELEM_TYPES: readonly ElemType[] = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64',
  'string', 'bool', 'float16', 'float64', 'uint32', 'uint64', 'complex64', 'complex128',
  'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz',
  'uint4', 'int4', 'float4e2m1',
];

/** Kind of a graph input or output, from the `TypeProto.value` oneof. */
export type ValueKind = 'tensor' | 'sequence' | 'map' | 'other';

/** A graph input or output (`ValueInfoProto`). */
export interface ValueInfo {
  /** Name that feeds and fetches use. */
  name: string;
  /** Tensor, sequence, map, or another type (optional, sparse tensor, opaque, none). */
  kind: ValueKind;
  /** Element type of a tensor; null for the other kinds. */
  elemType: ElemType | null;
  /**
   * Shape of a tensor: a number for a fixed dimension, a string for a named symbolic one
   * (`dim_param`), null for a dimension with neither. Null when no shape is declared or
   * the value is not a tensor.
   */
  dims: (number | string | null)[] | null;
  /** The type as text, such as `float32[N,1]` or `seq(map(int64,float32))`, for messages. */
  type: string;
}

/** Reads a `ValueInfoProto`: name = 1, type = 2. */
export function readValueInfo(bytes: Uint8Array): ValueInfo {
  let name = '';
  let type: Omit<ValueInfo, 'name'> = { kind: 'other', elemType: null, dims: null, type: '?' };
  for (const field of readFields(bytes)) {
    if (field.number === 1) name = fieldString(field);
    else if (field.number === 2) type = readType(field.value);
  }
  return { name, ...type };
}

/**
 * Reads `TypeProto`, whose `value` oneof is tensor_type = 1, sequence_type = 4,
 * map_type = 5, opaque_type = 7, sparse_tensor_type = 8, optional_type = 9.
 */
function readType(bytes: Uint8Array): Omit<ValueInfo, 'name'> {
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1: return readTensorType(field.value);
      case 4: return other('sequence', `seq(${readSequenceType(field.value)})`);
      case 5: return other('map', readMapType(field.value));
      case 7: return other('other', 'opaque');
      case 8: return other('other', `sparse_tensor(${readTensorType(field.value).type})`);
      case 9: return other('other', `optional(${readSequenceType(field.value)})`);
    }
  }
  return other('other', '?');
}

function other(kind: ValueKind, type: string): Omit<ValueInfo, 'name'> {
  return { kind, elemType: null, dims: null, type };
}

/** Reads `TypeProto.Tensor`: elem_type = 1, shape = 2. */
function readTensorType(bytes: Uint8Array): Omit<ValueInfo, 'name'> {
  let elemType: ElemType = 'undefined';
  let dims: ValueInfo['dims'] = null;
  for (const field of readFields(bytes)) {
    if (field.number === 1) elemType = elemTypeName(fieldNumber(field));
    else if (field.number === 2) dims = readShape(field.value);
  }
  const shape = dims === null ? '' : `[${dims.map((dim) => dim ?? '?').join(',')}]`;
  return { kind: 'tensor', elemType, dims, type: `${elemType}${shape}` };
}

function elemTypeName(code: number): ElemType {
  return ELEM_TYPES[code] ?? 'undefined';
}

/** Reads `TensorShapeProto` (dim = 1) and its `Dimension`s: dim_value = 1, dim_param = 2. */
function readShape(bytes: Uint8Array): (number | string | null)[] {
  const dims: (number | string | null)[] = [];
  for (const field of readFields(bytes)) {
    if (field.number !== 1) continue;
    let dim: number | string | null = null;
    for (const part of readFields(field.value)) {
      if (part.number === 1) dim = fieldNumber(part);
      else if (part.number === 2) dim = fieldString(part);
    }
    dims.push(dim);
  }
  return dims;
}

/** Reads `TypeProto.Sequence` or `TypeProto.Optional` (elem_type = 1) as type text. */
function readSequenceType(bytes: Uint8Array): string {
  for (const field of readFields(bytes)) {
    if (field.number === 1) return readType(field.value).type;
  }
  return '?';
}

/** Reads `TypeProto.Map` (key_type = 1, value_type = 2) as type text. */
function readMapType(bytes: Uint8Array): string {
  let key = '?';
  let value = '?';
  for (const field of readFields(bytes)) {
    if (field.number === 1) key = elemTypeName(fieldNumber(field));
    else if (field.number === 2) value = readType(field.value).type;
  }
  return `map(${key},${value})`;
}
