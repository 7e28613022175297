/**
 * Reads what batchscore needs from an ONNX model without loading it into onnxruntime:
 * inputs, outputs, opsets, producer, metadata and the ZipMap node of a classifier.
 *
 * Field numbers are those of `onnx/onnx.proto` (ONNX IR, proto2); each reader below
 * names the message and the fields it reads.
 */
import { createHash } from 'node:crypto';
import { ModelError } from '../errors.js';
import {
  ProtobufError,
  fieldInt64s,
  fieldNumber,
  fieldString,
  readFields,
  type ProtoField,
} from './protobuf.js';
import { readValueInfo, type ValueInfo } from './value-info.js';

export type { ElemType, ValueInfo, ValueKind } from './value-info.js';

/** A ZipMap node (`ai.onnx.ml` domain), which turns a `[N, C]` float tensor into maps. */
export interface ZipMapInfo {
  /** Name of the node output, a `seq(map(...))` value. */
  output: string;
  /** Name of the `[N, C]` float tensor the node reads: the class probabilities. */
  input: string;
  /** Class of each of the C columns, from `classlabels_int64s` or `classlabels_strings`. */
  classLabels: string[] | bigint[];
}

/** A classifier node of the `ai.onnx.ml` domain and its class labels. */
export interface ClassifierNodeInfo {
  /** Operator, such as `TreeEnsembleClassifier`. */
  opType: string;
  /** Class labels, in the order of the node's score columns. */
  classLabels: string[] | bigint[];
}

/** An operator set the model imports (`OperatorSetIdProto`). */
export interface OpsetImport {
  /** Domain; the default ONNX domain, stored as the empty string, is `ai.onnx`. */
  domain: string;
  version: number;
}

/** Interface and metadata of a model, as {@link inspectModel} reads them. */
export interface ModelInfo {
  /** SHA-256 of the model bytes, lowercase hex. */
  sha256: string;
  /** Size of the model in bytes. */
  byteLength: number;
  irVersion: number;
  /** Name of the tool that wrote the model, such as `skl2onnx`; empty when absent. */
  producerName: string;
  /** Version of that tool; empty when absent. */
  producerVersion: string;
  /** `ModelProto.model_version`; 0 when absent. */
  modelVersion: number;
  /** Name of the main graph; empty when absent. */
  graphName: string;
  opsetImports: OpsetImport[];
  /** `metadata_props` as key-value pairs. A repeated key keeps its last value. */
  metadata: Record<string, string>;
  /** Inputs the caller must feed: graph inputs that have no initializer. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** ZipMap nodes of the main graph whose output is a graph output, in graph order. */
  zipMaps: ZipMapInfo[];
  /**
   * The classifier node of the main graph, when it has exactly one (LinearClassifier,
   * SVMClassifier or TreeEnsembleClassifier) with class labels; null otherwise.
   */
  classifier: ClassifierNodeInfo | null;
  /** True when an initializer keeps its data in an external file (`data_location` 1). */
  externalData: boolean;
}

/** A node as read from `NodeProto`, attributes still encoded. */
interface RawNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Uint8Array[];
}

interface RawGraph {
  name: string;
  nodes: RawNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Set<string>;
  externalData: boolean;
}

const ML_DOMAIN = 'ai.onnx.ml';
const CLASSIFIER_OPS = new Set(['LinearClassifier', 'SVMClassifier', 'TreeEnsembleClassifier']);

/**
 * Parses an ONNX model (a serialized `ModelProto`) and describes its interface.
 * @throws {@link ModelError} `ERR_MODEL_LOAD` when the bytes are not an ONNX model.
 */
export function inspectModel(bytes: Uint8Array): ModelInfo {
  if (bytes.length === 0) throw loadError('The model file is empty');
  try {
    return readModel(bytes);
  } catch (error) {
    if (error instanceof ProtobufError) {
      throw loadError(`The model is not a valid ONNX protobuf: ${error.message}`, error);
    }
    throw error;
  }
}

function loadError(message: string, cause?: unknown): ModelError {
  return new ModelError('ERR_MODEL_LOAD', message, {
    fix: 'Check that the file is an ONNX model (.onnx) and that it was copied completely',
    cause,
  });
}

/** Reads `ModelProto`. */
function readModel(bytes: Uint8Array): ModelInfo {
  let irVersion: number | undefined;
  let graph: RawGraph | undefined;
  const info = { producerName: '', producerVersion: '', modelVersion: 0 };
  const opsetImports: OpsetImport[] = [];
  const metadata: [string, string][] = [];
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1: irVersion = fieldNumber(field); break; // ir_version
      case 2: info.producerName = fieldString(field); break; // producer_name
      case 3: info.producerVersion = fieldString(field); break; // producer_version
      case 5: info.modelVersion = fieldNumber(field); break; // model_version
      case 7: graph = readGraph(field.value); break; // graph
      case 8: opsetImports.push(readOpset(field.value)); break; // opset_import
      case 14: metadata.push(readStringEntry(field.value)); break; // metadata_props
    }
  }
  if (irVersion === undefined || graph === undefined) {
    throw loadError('The file has no ONNX graph or IR version, so it is not an ONNX model');
  }

  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    byteLength: bytes.length,
    irVersion,
    ...info,
    graphName: graph.name,
    opsetImports,
    // fromEntries defines own properties, so a key such as "__proto__" stays a key.
    metadata: Object.fromEntries(metadata),
    // Before IR 4, every initializer had to be listed as a graph input too. From IR 4, an
    // input with an initializer is optional and defaults to it. Neither is a feature.
    inputs: graph.inputs.filter((input) => !graph.initializers.has(input.name)),
    outputs: graph.outputs,
    zipMaps: findZipMaps(graph),
    classifier: findClassifier(graph),
    externalData: graph.externalData,
  };
}

/** Reads `OperatorSetIdProto`: domain = 1, version = 2. */
function readOpset(bytes: Uint8Array): OpsetImport {
  let domain = '';
  let version = 0;
  for (const field of readFields(bytes)) {
    if (field.number === 1) domain = fieldString(field);
    else if (field.number === 2) version = fieldNumber(field);
  }
  return { domain: domain === '' ? 'ai.onnx' : domain, version };
}

/** Reads `StringStringEntryProto`: key = 1, value = 2. */
function readStringEntry(bytes: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  for (const field of readFields(bytes)) {
    if (field.number === 1) key = fieldString(field);
    else if (field.number === 2) value = fieldString(field);
  }
  return [key, value];
}

/**
 * Reads `GraphProto`: node = 1, name = 2, initializer = 5, input = 11, output = 12,
 * sparse_initializer = 15.
 */
function readGraph(bytes: Uint8Array): RawGraph {
  const graph: RawGraph = {
    name: '',
    nodes: [],
    inputs: [],
    outputs: [],
    initializers: new Set(),
    externalData: false,
  };
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1: graph.nodes.push(readNode(field.value)); break;
      case 2: graph.name = fieldString(field); break;
      case 5: readInitializer(field.value, graph); break;
      case 11: graph.inputs.push(readValueInfo(field.value)); break;
      case 12: graph.outputs.push(readValueInfo(field.value)); break;
      case 15: readSparseInitializer(field.value, graph); break;
    }
  }
  return graph;
}

/** Reads the name (8) and data_location (14, where 1 is EXTERNAL) of a `TensorProto`. */
function readInitializer(bytes: Uint8Array, graph: RawGraph): void {
  for (const field of readFields(bytes)) {
    if (field.number === 8) graph.initializers.add(fieldString(field));
    else if (field.number === 14 && fieldNumber(field) === 1) graph.externalData = true;
  }
}

/** Reads `SparseTensorProto.values` (1), whose name is the initializer's name. */
function readSparseInitializer(bytes: Uint8Array, graph: RawGraph): void {
  for (const field of readFields(bytes)) {
    if (field.number === 1) readInitializer(field.value, graph);
  }
}

/**
 * Reads `NodeProto`: input = 1, output = 2, op_type = 4, attribute = 5, domain = 7.
 * Attributes stay encoded because only a few operators' attributes are read.
 */
function readNode(bytes: Uint8Array): RawNode {
  const node: RawNode = { opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1: node.inputs.push(fieldString(field)); break;
      case 2: node.outputs.push(fieldString(field)); break;
      case 4: node.opType = fieldString(field); break;
      case 5: node.attributes.push(field.value); break;
      case 7: node.domain = fieldString(field); break;
    }
  }
  return node;
}

/** ZipMap nodes of the main graph that produce a graph output. */
function findZipMaps(graph: RawGraph): ZipMapInfo[] {
  const outputNames = new Set(graph.outputs.map((output) => output.name));
  const zipMaps: ZipMapInfo[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'ZipMap' || node.domain !== ML_DOMAIN) continue;
    const [input] = node.inputs;
    const [output] = node.outputs;
    if (input === undefined || output === undefined || !outputNames.has(output)) continue;
    const classLabels = readClassLabels(node.attributes);
    if (classLabels !== null) zipMaps.push({ output, input, classLabels });
  }
  return zipMaps;
}

/** The only labelled classifier node of the main graph, or null when there are 0 or 2+. */
function findClassifier(graph: RawGraph): ClassifierNodeInfo | null {
  const found: ClassifierNodeInfo[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== ML_DOMAIN || !CLASSIFIER_OPS.has(node.opType)) continue;
    const classLabels = readClassLabels(node.attributes);
    if (classLabels !== null) found.push({ opType: node.opType, classLabels });
  }
  return found.length === 1 ? (found[0] ?? null) : null;
}

/**
 * Reads the class labels of a ZipMap or classifier node. ZipMap and TreeEnsembleClassifier
 * name the integer form `classlabels_int64s`, LinearClassifier and SVMClassifier
 * `classlabels_ints`; all four name the text form `classlabels_strings`.
 */
function readClassLabels(attributes: Uint8Array[]): string[] | bigint[] | null {
  for (const bytes of attributes) {
    const name = readAttributeName(bytes);
    if (name === 'classlabels_int64s' || name === 'classlabels_ints') {
      return readInts([...readFields(bytes)]);
    }
    if (name === 'classlabels_strings') return readStrings([...readFields(bytes)]);
  }
  return null;
}

/**
 * Reads `AttributeProto.name` (1) and stops there. Writers emit fields in number order, so
 * the large attributes of a tree ensemble, often unpacked `ints`, are not walked.
 */
function readAttributeName(bytes: Uint8Array): string | undefined {
  for (const field of readFields(bytes)) {
    if (field.number === 1) return fieldString(field);
  }
  return undefined;
}

/** Reads `AttributeProto.ints` (8), packed or not. */
function readInts(fields: ProtoField[]): bigint[] {
  return fields.filter((field) => field.number === 8).flatMap(fieldInt64s);
}

/** Reads `AttributeProto.strings` (9). */
function readStrings(fields: ProtoField[]): string[] {
  return fields.filter((field) => field.number === 9).map(fieldString);
}
