import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatchscoreError, ModelError } from '../src/errors.js';
import { inspectModel } from '../src/model/inspect.js';
import {
  concatBytes,
  encodeBytesField,
  encodeStringField,
  encodeVarint,
  encodeVarintField,
} from '../src/model/protobuf.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

// Small encoders for hand-built models. Field numbers are those of onnx.proto.
const FLOAT = 1;
const STRING = 8;

function tensorType(elemType: number, dims: (number | string | null)[] | null): Uint8Array {
  const parts = [encodeVarintField(1, elemType)];
  if (dims !== null) {
    const encoded = dims.map((dim) => {
      if (dim === null) return encodeBytesField(1, new Uint8Array(0));
      if (typeof dim === 'number') return encodeBytesField(1, encodeVarintField(1, dim));
      return encodeBytesField(1, encodeStringField(2, dim));
    });
    parts.push(encodeBytesField(2, concatBytes(encoded)));
  }
  return encodeBytesField(1, concatBytes(parts)); // TypeProto.tensor_type
}

function valueInfo(name: string, type: Uint8Array): Uint8Array {
  return concatBytes([encodeStringField(1, name), encodeBytesField(2, type)]);
}

function node(
  op: string,
  domain: string,
  inputs: string[],
  outputs: string[],
  attrs: Uint8Array[],
): Uint8Array {
  return concatBytes([
    ...inputs.map((name) => encodeStringField(1, name)),
    ...outputs.map((name) => encodeStringField(2, name)),
    encodeStringField(4, op),
    ...attrs.map((attr) => encodeBytesField(5, attr)),
    encodeStringField(7, domain),
  ]);
}

function model(graph: Uint8Array[], irVersion = 8, extra: Uint8Array[] = []): Uint8Array {
  return concatBytes([
    encodeVarintField(1, irVersion),
    encodeStringField(2, 'hand'),
    encodeStringField(3, '1.0'),
    encodeBytesField(7, concatBytes(graph)),
    encodeBytesField(8, concatBytes([encodeStringField(1, ''), encodeVarintField(2, 13)])),
    encodeBytesField(8, concatBytes([encodeStringField(1, 'ai.onnx.ml'), encodeVarintField(2, 3)])),
    ...extra,
  ]);
}

const seqMapType = encodeBytesField(4, encodeBytesField(1, encodeBytesField(5, concatBytes([
  encodeVarintField(1, 7),
  encodeBytesField(2, tensorType(FLOAT, null)),
]))));

function zipMapModel(attribute: string, labels: Uint8Array): Uint8Array {
  const attr = concatBytes([encodeStringField(1, attribute), labels]);
  return model([
    encodeBytesField(1, node('ZipMap', 'ai.onnx.ml', ['probs'], ['zipped'], [attr])),
    encodeBytesField(11, valueInfo('x', tensorType(FLOAT, [null, 2]))),
    encodeBytesField(12, valueInfo('zipped', seqMapType)),
  ]);
}

function expectLoadError(bytes: Uint8Array, message: string): void {
  try {
    inspectModel(bytes);
    expect.unreachable('inspectModel should throw');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    expect((error as BatchscoreError).code).toBe('ERR_MODEL_LOAD');
    expect((error as BatchscoreError).fix).toBe(
      'Check that the file is an ONNX model (.onnx) and that it was copied completely',
    );
    expect((error as Error).message).toContain(message);
  }
}

describe('inspectModel on hand-built models', () => {
  it('reads producer, IR version, opsets and tensor types', () => {
    const info = inspectModel(model([
      encodeStringField(2, 'g'),
      encodeBytesField(11, valueInfo('x', tensorType(FLOAT, ['batch', 3]))),
      encodeBytesField(11, valueInfo('s', tensorType(STRING, [null]))),
      encodeBytesField(12, valueInfo('y', tensorType(FLOAT, null))),
    ]));
    expect(info.irVersion).toBe(8);
    expect(info.producerName).toBe('hand');
    expect(info.producerVersion).toBe('1.0');
    expect(info.graphName).toBe('g');
    expect(info.opsetImports).toEqual([
      { domain: 'ai.onnx', version: 13 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(info.inputs).toEqual([
      {
        name: 'x', kind: 'tensor', elemType: 'float32', dims: ['batch', 3],
        type: 'float32[batch,3]',
      },
      { name: 's', kind: 'tensor', elemType: 'string', dims: [null], type: 'string[?]' },
    ]);
    expect(info.outputs).toEqual([
      { name: 'y', kind: 'tensor', elemType: 'float32', dims: null, type: 'float32' },
    ]);
    expect(info.zipMaps).toEqual([]);
    expect(info.classifier).toBeNull();
    expect(info.externalData).toBe(false);
  });

  it('leaves initializer inputs out of an IR 3 model', () => {
    const weight = concatBytes([encodeVarintField(2, FLOAT), encodeStringField(8, 'w')]);
    const info = inspectModel(model([
      encodeBytesField(5, weight),
      encodeBytesField(11, valueInfo('x', tensorType(FLOAT, [null, 1]))),
      encodeBytesField(11, valueInfo('w', tensorType(FLOAT, [1]))),
      encodeBytesField(12, valueInfo('y', tensorType(FLOAT, [null, 1]))),
    ], 3));
    expect(info.irVersion).toBe(3);
    expect(info.inputs.map((input) => input.name)).toEqual(['x']);
  });

  it('flags initializers stored in external files', () => {
    const weight = concatBytes([encodeStringField(8, 'w'), encodeVarintField(14, 1)]);
    const info = inspectModel(model([
      encodeBytesField(5, weight),
      encodeBytesField(11, valueInfo('x', tensorType(FLOAT, [null, 1]))),
    ]));
    expect(info.externalData).toBe(true);
  });

  it('reads metadata_props, keeping a __proto__ key as data', () => {
    const entry = (key: string, value: string) =>
      encodeBytesField(14, concatBytes([encodeStringField(1, key), encodeStringField(2, value)]));
    const info = inspectModel(model([], 8, [entry('author', 'ana'), entry('__proto__', 'x')]));
    expect(Object.keys(info.metadata)).toEqual(['author', '__proto__']);
    expect(info.metadata.author).toBe('ana');
    expect(Object.getOwnPropertyDescriptor(info.metadata, '__proto__')?.value).toBe('x');
  });

  it('describes sequence, map and optional outputs', () => {
    const mapType = encodeBytesField(5, concatBytes([
      encodeVarintField(1, STRING),
      encodeBytesField(2, tensorType(FLOAT, null)),
    ]));
    const optionalType = encodeBytesField(9, encodeBytesField(1, tensorType(FLOAT, [2])));
    const info = inspectModel(model([
      encodeBytesField(12, valueInfo('a', seqMapType)),
      encodeBytesField(12, valueInfo('b', mapType)),
      encodeBytesField(12, valueInfo('c', optionalType)),
    ]));
    expect(info.outputs.map((output) => [output.kind, output.type])).toEqual([
      ['sequence', 'seq(map(int64,float32))'],
      ['map', 'map(string,float32)'],
      ['other', 'optional(float32[2])'],
    ]);
    expect(info.outputs.every((output) => output.elemType === null)).toBe(true);
  });

  it('reads unpacked negative ZipMap labels', () => {
    const labels = concatBytes([encodeVarintField(8, -1n), encodeVarintField(8, 1n)]);
    const info = inspectModel(zipMapModel('classlabels_int64s', labels));
    expect(info.zipMaps).toEqual([{ output: 'zipped', input: 'probs', classLabels: [-1n, 1n] }]);
  });

  it('reads packed ZipMap labels', () => {
    const labels = encodeBytesField(8, concatBytes([encodeVarint(4), encodeVarint(9)]));
    const info = inspectModel(zipMapModel('classlabels_int64s', labels));
    expect(info.zipMaps[0]?.classLabels).toEqual([4n, 9n]);
  });

  it('reads string ZipMap labels', () => {
    const labels = concatBytes([encodeStringField(9, 'No'), encodeStringField(9, 'Yes')]);
    const info = inspectModel(zipMapModel('classlabels_strings', labels));
    expect(info.zipMaps[0]?.classLabels).toEqual(['No', 'Yes']);
  });
});

describe('inspectModel on invalid bytes', () => {
  it('rejects an empty file', () => {
    expectLoadError(new Uint8Array(0), 'The model file is empty');
  });

  it('rejects text', () => {
    expectLoadError(new TextEncoder().encode('this is not a model'), 'not a valid ONNX protobuf');
  });

  it('rejects a protobuf message without a graph', () => {
    expectLoadError(encodeVarintField(1, 7), 'no ONNX graph or IR version');
  });

  it.skipIf(!hasSharedData)('rejects a truncated model', () => {
    const bytes = readFileSync(sharedPath('models', 'titanic_pipeline_skl2onnx.onnx'));
    expectLoadError(bytes.subarray(0, 1000), 'runs past the end');
  });
});

describe.skipIf(!hasSharedData)('inspectModel on exported models', () => {
  const load = (file: string) => inspectModel(readFileSync(sharedPath('models', file)));

  it('reads the Telco churn pipeline', () => {
    const info = load('telco_churn_okua1_skl2onnx.onnx');
    expect(info.sha256).toBe('e7d65de8886e7c211d047356049e96d61bd23267ea3d25e66e86e9446cea86a4');
    expect(info.byteLength).toBe(689_396);
    expect(info.irVersion).toBe(8);
    expect([info.producerName, info.producerVersion]).toEqual(['skl2onnx', '1.14.0']);
    expect(info.opsetImports).toEqual([
      { domain: 'ai.onnx', version: 14 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(info.metadata).toEqual({});
    expect(info.inputs).toHaveLength(19);
    const floats = info.inputs.filter((input) => input.elemType === 'float32');
    expect(floats.map((input) => input.name)).toEqual(['tenure', 'MonthlyCharges', 'TotalCharges']);
    expect(info.inputs.filter((input) => input.elemType === 'string')).toHaveLength(16);
    expect(info.inputs.every((input) => input.dims?.join() === ',1')).toBe(true);
    expect(info.outputs.map((output) => output.type)).toEqual([
      'int64[?]',
      'seq(map(int64,float32))',
    ]);
    expect(info.zipMaps).toEqual([
      { output: 'output_probability', input: 'probabilities', classLabels: [0n, 1n] },
    ]);
    expect(info.classifier).toEqual({ opType: 'TreeEnsembleClassifier', classLabels: [0n, 1n] });
  });

  it('reads the titanic pipeline', () => {
    const info = load('titanic_pipeline_skl2onnx.onnx');
    expect(info.inputs.map((input) => `${input.name}:${input.type}`)).toEqual([
      'pclass:string[?,1]',
      'sex:string[?,1]',
      'age:float32[?,1]',
      'fare:float32[?,1]',
      'embarked:string[?,1]',
    ]);
    expect(info.irVersion).toBe(7);
    expect(info.zipMaps[0]?.classLabels).toEqual([0n, 1n]);
    expect(info.classifier?.opType).toBe('LinearClassifier');
  });

  it('reads the LightGBM pipeline', () => {
    const info = load('lightgbm_pipeline_skl2onnx.onnx');
    expect(info.inputs.map((input) => `${input.name}:${input.type}`))
      .toEqual(['input:float32[?,2]']);
    expect(info.opsetImports).toEqual([
      { domain: 'ai.onnx', version: 9 },
      { domain: 'ai.onnx.ml', version: 1 },
    ]);
    expect(info.zipMaps).toEqual([
      { output: 'output_probability', input: 'probability_tensor', classLabels: [0n, 1n, 2n] },
    ]);
  });

  it('reads the XGBoost regressor', () => {
    const info = load('xgboost_regressor_onnxmltools.onnx');
    expect([info.producerName, info.producerVersion, info.irVersion])
      .toEqual(['OnnxMLTools', '1.6.5.99', 6]);
    expect(info.opsetImports).toEqual([{ domain: 'ai.onnx.ml', version: 1 }]);
    expect(info.inputs.map((input) => `${input.name}:${input.type}`)).toEqual(['X:float32[?,4]']);
    expect(info.outputs.map((output) => `${output.name}:${output.type}`))
      .toEqual(['variable:float32[?,1]']);
    expect(info.zipMaps).toEqual([]);
    expect(info.classifier).toBeNull();
  });

  it('reads the tf2onnx MLP with named symbolic dims', () => {
    const info = load('bank_churn_mlp_tf2onnx.onnx');
    expect(info.producerName).toBe('tf2onnx');
    expect(info.inputs).toEqual([{
      name: 'input_layer', kind: 'tensor', elemType: 'float32', dims: ['unk__6', 11],
      type: 'float32[unk__6,11]',
    }]);
    expect(info.outputs[0]?.dims).toEqual(['unk__7', 1]);
  });
});
