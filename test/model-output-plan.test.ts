import { readFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { BatchscoreError, ModelError } from '../src/errors.js';
import { inspectModel, type ModelInfo, type ValueInfo } from '../src/model/inspect.js';
import { planOutputs, resultFields, rowWidth } from '../src/model/output-plan.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

function tensor(name: string, elemType: ValueInfo['elemType'], dims: ValueInfo['dims']) {
  return { name, kind: 'tensor', elemType, dims, type: `${elemType}` } satisfies ValueInfo;
}

const seqMap: Omit<ValueInfo, 'name'> = {
  kind: 'sequence', elemType: null, dims: null, type: 'seq(map(int64,float32))',
};

function modelInfo(outputs: ValueInfo[], extra: Partial<ModelInfo> = {}): ModelInfo {
  return {
    sha256: '', byteLength: 0, irVersion: 8, producerName: '', producerVersion: '',
    modelVersion: 0, graphName: '', opsetImports: [], metadata: {}, externalData: false,
    inputs: [tensor('x', 'float32', [null, 2])], outputs, zipMaps: [], classifier: null,
    ...extra,
  };
}

function names(info: ModelInfo): string[] {
  return planOutputs(info).columns.map((column) => column.name);
}

function expectUnsupported(info: ModelInfo, message: string): void {
  try {
    planOutputs(info);
    expect.unreachable('planOutputs should throw');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    expect((error as BatchscoreError).code).toBe('ERR_MODEL_UNSUPPORTED');
    expect((error as Error).message).toContain(message);
  }
}

describe('planOutputs for regressors and other tensors', () => {
  it('names a single [N] output prediction', () => {
    const plan = planOutputs(modelInfo([tensor('y', 'float64', [null])]));
    expect(plan).toEqual({
      fetch: ['y'],
      columns: [{ name: 'prediction', type: 'float64', output: 'y', width: 1, index: 0 }],
      classLabels: null,
      exposesZipMap: false,
    });
  });

  it('numbers the columns of a single wide output', () => {
    expect(names(modelInfo([tensor('y', 'float32', ['n', 3])])))
      .toEqual(['prediction_0', 'prediction_1', 'prediction_2']);
  });

  it('flattens trailing dims in row-major order', () => {
    const plan = planOutputs(modelInfo([tensor('y', 'float32', [null, 2, 2])]));
    expect(plan.columns.map((column) => [column.name, column.width, column.index])).toEqual([
      ['prediction_0', 4, 0],
      ['prediction_1', 4, 1],
      ['prediction_2', 4, 2],
      ['prediction_3', 4, 3],
    ]);
  });

  it('names several outputs after themselves', () => {
    const info = modelInfo([tensor('mean', 'float32', [null, 1]), tensor('q', 'int32', [null, 2])]);
    expect(names(info)).toEqual(['mean', 'q_0', 'q_1']);
    expect(planOutputs(info).fetch).toEqual(['mean', 'q']);
    expect(planOutputs(info).columns.map((column) => column.type))
      .toEqual(['float32', 'int32', 'int32']);
  });

  it('plans float16 outputs as float32', () => {
    expect(planOutputs(modelInfo([tensor('y', 'float16', [null])])).columns[0]?.type)
      .toBe('float32');
  });

  it('plans one column for an output of unknown width', () => {
    expect(names(modelInfo([tensor('y', 'float32', null)]))).toEqual(['prediction']);
  });

  it('rejects a non-tensor output that is no ZipMap output', () => {
    expectUnsupported(modelInfo([{ name: 'scores', ...seqMap }]),
      'Output "scores" is a seq(map(int64,float32)), not a tensor');
  });

  it('rejects an output type without an Arrow equivalent', () => {
    expectUnsupported(modelInfo([tensor('y', 'bfloat16', [null])]),
      'Output "y" has element type bfloat16');
  });
});

describe('planOutputs for classifiers', () => {
  const label = tensor('output_label', 'int64', [null]);

  it('plans a ZipMap classifier with string classes', () => {
    const info = modelInfo([tensor('output_label', 'string', [null]),
      { name: 'output_probability', ...seqMap }], {
      zipMaps: [{ output: 'output_probability', input: 'probs', classLabels: ['No', 'Yes'] }],
    });
    const plan = planOutputs(info);
    expect(plan.fetch).toEqual(['output_label', 'probs']);
    expect(plan.exposesZipMap).toBe(true);
    expect(plan.classLabels).toEqual(['No', 'Yes']);
    expect(plan.columns).toEqual([
      { name: 'label', type: 'utf8', output: 'output_label', width: 1, index: 0 },
      { name: 'probability_No', type: 'float32', output: 'probs', width: 2, index: 0 },
      { name: 'probability_Yes', type: 'float32', output: 'probs', width: 2, index: 1 },
    ]);
  });

  it('computes the label by argmax when there is no label output', () => {
    const info = modelInfo([{ name: 'zipped', ...seqMap }], {
      zipMaps: [{ output: 'zipped', input: 'probs', classLabels: [3n, 5n] }],
    });
    const plan = planOutputs(info);
    expect(plan.fetch).toEqual(['probs']);
    expect(plan.columns[0]).toEqual({
      name: 'label', type: 'int64', output: 'probs', width: 2, index: 0, argmaxLabels: [3n, 5n],
    });
    expect(names(info)).toEqual(['label', 'probability_3', 'probability_5']);
  });

  it('needs no rewrite when the ZipMap input is already an output', () => {
    const info = modelInfo([label, { name: 'zipped', ...seqMap },
      tensor('probs', 'float32', [null, 2])], {
      zipMaps: [{ output: 'zipped', input: 'probs', classLabels: [0n, 1n] }],
    });
    const plan = planOutputs(info);
    expect(plan.exposesZipMap).toBe(false);
    expect(plan.fetch).toEqual(['output_label', 'probs']);
    expect(names(info)).toEqual(['label', 'probability_0', 'probability_1']);
  });

  it('plans skl2onnx zipmap=False outputs with the classifier node labels', () => {
    const info = modelInfo([label, tensor('output_probability', 'float32', [null, 2])], {
      classifier: { opType: 'TreeEnsembleClassifier', classLabels: ['a', 'b'] },
    });
    const plan = planOutputs(info);
    expect(plan.fetch).toEqual(['output_label', 'output_probability']);
    expect(plan.exposesZipMap).toBe(false);
    expect(names(info)).toEqual(['label', 'probability_a', 'probability_b']);
  });

  it('numbers classes when no node gives their labels', () => {
    const info = modelInfo([label, tensor('output_probability', 'float64', [null, 3])]);
    expect(names(info)).toEqual(['label', 'probability_0', 'probability_1', 'probability_2']);
    expect(planOutputs(info).columns[1]?.type).toBe('float64');
  });

  it('keeps further tensor outputs as their own columns', () => {
    const score = tensor('score', 'float32', [null]);
    const info = modelInfo([label, { name: 'zipped', ...seqMap }, score], {
      zipMaps: [{ output: 'zipped', input: 'probs', classLabels: [0n, 1n] }],
    });
    expect(names(info)).toEqual(['label', 'probability_0', 'probability_1', 'score']);
    expect(planOutputs(info).fetch).toEqual(['output_label', 'probs', 'score']);
  });

  it('rejects two ZipMap outputs', () => {
    const zipMap = { output: 'a', input: 'pa', classLabels: [0n, 1n] };
    const info = modelInfo([{ name: 'a', ...seqMap }, { name: 'b', ...seqMap }], {
      zipMaps: [zipMap, { ...zipMap, output: 'b', input: 'pb' }],
    });
    expectUnsupported(info, 'The model has 2 ZipMap outputs (a, b)');
  });

  it('rejects colliding column names', () => {
    const clash = tensor('label', 'float32', [null]);
    const info = modelInfo([label, { name: 'zipped', ...seqMap }, clash], {
      zipMaps: [{ output: 'zipped', input: 'probs', classLabels: [0n, 1n] }],
    });
    expectUnsupported(info, 'Two result columns would both be named "label"');
  });
});

describe('result schema', () => {
  it('gives Arrow fields in column order', () => {
    const info = modelInfo([tensor('output_label', 'string', [null]),
      tensor('output_probability', 'float32', [null, 2])]);
    const fields = resultFields(planOutputs(info));
    expect(fields.map((field) => field.name)).toEqual(['label', 'probability_0', 'probability_1']);
    expect(fields[0]?.type).toBeInstanceOf(arrow.Utf8);
    expect(fields[1]?.type).toBeInstanceOf(arrow.Float32);
    expect(fields.every((field) => field.nullable)).toBe(true);
  });

  it('computes row widths', () => {
    expect(rowWidth({ dims: [null] })).toBe(1);
    expect(rowWidth({ dims: ['n', 3, 2] })).toBe(6);
    expect(rowWidth({ dims: ['n', 'k'] })).toBeNull();
    expect(rowWidth({ dims: null })).toBeNull();
    expect(rowWidth({ dims: [] })).toBeNull();
  });
});

describe.skipIf(!hasSharedData)('planOutputs on exported models', () => {
  const plan = (file: string) =>
    planOutputs(inspectModel(readFileSync(sharedPath('models', file))));

  it('plans the Telco classifier', () => {
    const telco = plan('telco_churn_okua1_skl2onnx.onnx');
    expect(telco.fetch).toEqual(['output_label', 'probabilities']);
    expect(telco.exposesZipMap).toBe(true);
    expect(telco.columns.map((column) => `${column.name}:${column.type}`))
      .toEqual(['label:int64', 'probability_0:float32', 'probability_1:float32']);
  });

  it('plans the LightGBM classifier with three classes', () => {
    const columns = plan('lightgbm_pipeline_skl2onnx.onnx').columns;
    expect(columns.map((column) => column.name))
      .toEqual(['label', 'probability_0', 'probability_1', 'probability_2']);
  });

  it('plans the regressors', () => {
    expect(plan('xgboost_regressor_onnxmltools.onnx').columns).toEqual([
      { name: 'prediction', type: 'float32', output: 'variable', width: 1, index: 0 },
    ]);
    expect(plan('bank_churn_mlp_tf2onnx.onnx').columns).toEqual([
      { name: 'prediction', type: 'float32', output: 'output_0', width: 1, index: 0 },
    ]);
  });
});
