import { readFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFeeds, resolveFeatures } from '../src/convert/features.js';
import { predictionColumns } from '../src/convert/predictions.js';
import { BatchscoreError, ModelError } from '../src/errors.js';
import { inspectModel, type ModelInfo } from '../src/model/inspect.js';
import { planOutputs, type OutputPlan } from '../src/model/output-plan.js';
import { readFields } from '../src/model/protobuf.js';
import { exposeZipMapProbabilities } from '../src/model/zipmap.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

function loadModel(file: string): { bytes: Uint8Array; info: ModelInfo } {
  const bytes = new Uint8Array(readFileSync(sharedPath('models', file)));
  return { bytes, info: inspectModel(bytes) };
}

/** Field numbers of a message, and its bytes without the fields numbered `skip`. */
function splitFields(bytes: Uint8Array, skip: number): { numbers: number[]; rest: Buffer } {
  const fields = [...readFields(bytes)];
  const kept = fields.filter((field) => field.number !== skip).map((field) => field.raw);
  return { numbers: fields.map((field) => field.number), rest: Buffer.concat(kept) };
}

function graphOf(model: Uint8Array): Uint8Array {
  const graph = [...readFields(model)].find((field) => field.number === 7);
  if (graph === undefined) throw new Error('model without graph');
  return graph.value;
}

/** Checks each row's probabilities sum to 1 and its label is the most probable class. */
function expectConsistent(columns: Record<string, arrow.Vector>, plan: OutputPlan): void {
  const labels = plan.classLabels!;
  const label = columns.label!;
  const probabilities = labels.map((value) => columns[`probability_${value}`]!);
  expect(label.length).toBeGreaterThan(0);
  for (let row = 0; row < label.length; row++) {
    const values = probabilities.map((column) => column.get(row) as number);
    const sum = values.reduce((total, value) => total + value, 0);
    expect(sum).toBeCloseTo(1, 5);
    const best = values.indexOf(Math.max(...values));
    expect(label.get(row)).toBe(labels[best]);
  }
}

describe.skipIf(!hasSharedData)('exposeZipMapProbabilities', () => {
  const classifiers = [
    'telco_churn_okua1_skl2onnx.onnx',
    'titanic_pipeline_skl2onnx.onnx',
    'lightgbm_pipeline_skl2onnx.onnx',
  ];

  it.each(classifiers)('adds the ZipMap input of %s as a float output', (file) => {
    const { bytes, info } = loadModel(file);
    const exposed = inspectModel(exposeZipMapProbabilities(bytes, info));
    const zipMap = info.zipMaps[0]!;
    expect(exposed.outputs.slice(0, -1)).toEqual(info.outputs);
    expect(exposed.outputs.at(-1)).toEqual({
      name: zipMap.input,
      kind: 'tensor',
      elemType: 'float32',
      dims: [null, zipMap.classLabels.length],
      type: `float32[?,${zipMap.classLabels.length}]`,
    });
    expect(exposed.inputs).toEqual(info.inputs);
  });

  it.each(classifiers)('changes nothing else in %s', (file) => {
    const { bytes, info } = loadModel(file);
    const exposed = exposeZipMapProbabilities(bytes, info);
    const before = splitFields(bytes, 7);
    const after = splitFields(exposed, 7);
    expect(after.numbers).toEqual(before.numbers);
    expect(after.rest.equals(before.rest)).toBe(true);

    // The graph gains one output field right after its last output and is otherwise equal.
    const graph = [...readFields(graphOf(exposed))];
    const original = [...readFields(graphOf(bytes))];
    const added = original.map((field) => field.number).lastIndexOf(12) + 1;
    expect(graph).toHaveLength(original.length + 1);
    expect(graph[added]?.number).toBe(12);
    const withoutAdded = Buffer.concat(graph.filter((_, i) => i !== added).map((f) => f.raw));
    expect(withoutAdded.equals(graphOf(bytes))).toBe(true);
  });

  it('returns a model without ZipMap unchanged', () => {
    const { bytes, info } = loadModel('xgboost_regressor_onnxmltools.onnx');
    expect(exposeZipMapProbabilities(bytes, info)).toBe(bytes);
  });

  it('leaves the model alone when the probabilities are already an output', () => {
    const { bytes, info } = loadModel('lightgbm_pipeline_skl2onnx.onnx');
    const once = exposeZipMapProbabilities(bytes, info);
    expect(exposeZipMapProbabilities(once, inspectModel(once))).toBe(once);
  });
});

describe.skipIf(!hasSharedData)('scoring classifiers through the exposed probabilities', () => {
  it('cannot fetch the original ZipMap output', async () => {
    const { bytes } = loadModel('lightgbm_pipeline_skl2onnx.onnx');
    const session = await ort.InferenceSession.create(bytes);
    const input = new ort.Tensor('float32', Float32Array.from([1, 2]), [1, 2]);
    await expect(session.run({ input }, ['output_probability'])).rejects.toThrow(
      'Non tensor type is temporarily not supported',
    );
  });

  it('scores the LightGBM pipeline', async () => {
    const { bytes, info } = loadModel('lightgbm_pipeline_skl2onnx.onnx');
    const plan = planOutputs(info);
    const session = await ort.InferenceSession.create(exposeZipMapProbabilities(bytes, info));
    const values = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0, 0, 10, -10, 5.5, 2.25]);
    const input = new ort.Tensor('float32', values, [6, 2]);
    const outputs = await session.run({ input }, plan.fetch);
    const columns = predictionColumns(outputs, plan, 6);
    expect(Object.keys(columns))
      .toEqual(['label', 'probability_0', 'probability_1', 'probability_2']);
    expect(columns.label?.type).toBeInstanceOf(arrow.Int64);
    expect(columns.probability_0?.type).toBeInstanceOf(arrow.Float32);
    expect(columns.label?.length).toBe(6);
    expectConsistent(columns, plan);
  });

  it('computes the label by argmax when the label output is left out', async () => {
    const { bytes, info } = loadModel('lightgbm_pipeline_skl2onnx.onnx');
    const outputs = info.outputs.filter((output) => output.name !== 'output_label');
    const withoutLabel = { ...info, outputs };
    const plan = planOutputs(withoutLabel);
    expect(plan.fetch).toEqual(['probability_tensor']);
    const session = await ort.InferenceSession.create(exposeZipMapProbabilities(bytes, info));
    const input = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, -1, 0.5]), [3, 2]);
    const fetched = await session.run({ input }, ['output_label', ...plan.fetch]);
    const columns = predictionColumns(fetched, plan, 3);
    expect([...columns.label!]).toEqual([...(fetched.output_label!.data as BigInt64Array)]);
    expectConsistent(columns, plan);
  });

  it('scores the titanic pipeline with a missing age', async () => {
    const { bytes, info } = loadModel('titanic_pipeline_skl2onnx.onnx');
    const plan = planOutputs(info);
    const session = await ort.InferenceSession.create(exposeZipMapProbabilities(bytes, info));
    const strings = (values: string[]) => new ort.Tensor('string', values, [3, 1]);
    const floats = (values: number[]) =>
      new ort.Tensor('float32', Float32Array.from(values), [3, 1]);
    const feeds = {
      pclass: strings(['1', '3', '2']),
      sex: strings(['female', 'male', 'male']),
      age: floats([29, NaN, 40]),
      fare: floats([211.34, 7.25, 13]),
      embarked: strings(['S', 'Q', 'C']),
    };
    const columns = predictionColumns(await session.run(feeds, plan.fetch), plan, 3);
    expectConsistent(columns, plan);
    // A first-class woman is far likelier to survive than a third-class man.
    expect(columns.probability_1!.get(0)).toBeGreaterThan(columns.probability_1!.get(1));
  });
});

describe.skipIf(!hasSharedData)('scoring Telco rows end to end', () => {
  const INT_COLUMNS = new Set(['SeniorCitizen', 'tenure']);
  let header: string[];
  let rows: string[][];
  let model: { bytes: Uint8Array; info: ModelInfo };
  let session: ort.InferenceSession;
  let plan: OutputPlan;

  beforeAll(async () => {
    // The file has no quoted fields, so a split on commas reads it.
    const lines = readFileSync(sharedPath('telco-churn.csv'), 'utf8').split('\n');
    header = lines[0]!.split(',');
    // The first 12 data rows, then data row 489, one of the rows whose TotalCharges is " ".
    rows = [...lines.slice(1, 13), lines[489]!].map((line) => line.split(','));
    model = loadModel('telco_churn_okua1_skl2onnx.onnx');
    plan = planOutputs(model.info);
    session = await ort.InferenceSession.create(
      exposeZipMapProbabilities(model.bytes, model.info),
    );
  });

  /** Builds a table typed as a CSV reader would: 0/1 and tenure as int64, charges as text. */
  function table(): arrow.Table {
    const vectors: Record<string, arrow.Vector> = {};
    header.forEach((name, j) => {
      const cells = rows.map((row) => row[j]!);
      if (INT_COLUMNS.has(name)) {
        vectors[name] = arrow.makeVector(BigInt64Array.from(cells, (cell) => BigInt(cell)));
      } else if (name === 'MonthlyCharges') {
        vectors[name] = arrow.makeVector(Float64Array.from(cells, Number));
      } else {
        vectors[name] = arrow.vectorFromArray(cells, new arrow.Utf8());
      }
    });
    return new arrow.Table(vectors);
  }

  /** Builds feeds by hand, the way the model's source repository does. */
  function handFeeds(): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of model.info.inputs) {
      const j = header.indexOf(input.name);
      const cells = rows.map((row) => row[j]!);
      feeds[input.name] = input.elemType === 'string'
        ? new ort.Tensor('string', cells, [cells.length, 1])
        : new ort.Tensor('float32', Float32Array.from(cells, (cell) =>
          (cell.trim() === '' ? NaN : Number(cell))), [cells.length, 1]);
    }
    return feeds;
  }

  it('builds one [N, 1] feed per model input', () => {
    const data = table();
    const mapping = resolveFeatures(model.info, data.schema.fields);
    expect(mapping.mode).toBe('by-name');
    expect(mapping.inputs).toHaveLength(19);
    const { feeds, keep, rejected, rows: count } = buildFeeds(data, mapping, {
      rowNumber: (index) => index + 1,
    });
    expect(rejected).toEqual([]);
    expect(keep).toBeNull();
    expect(count).toBe(13);
    expect(feeds.SeniorCitizen?.data).toEqual(rows.map((row) => row[2]));
    expect(feeds.SeniorCitizen?.dims).toEqual([13, 1]);
    expect(feeds.tenure?.type).toBe('float32');
    expect(Number.isNaN((feeds.TotalCharges?.data as Float32Array)[12])).toBe(true);
  });

  it('scores like hand-built feeds and gives consistent labels', async () => {
    const data = table();
    const mapping = resolveFeatures(model.info, data.schema.fields);
    const { feeds } = buildFeeds(data, mapping, { rowNumber: (index) => index + 1 });
    const columns = predictionColumns(await session.run(feeds, plan.fetch), plan, 13);
    const expected = predictionColumns(await session.run(handFeeds(), plan.fetch), plan, 13);
    for (const name of ['label', 'probability_0', 'probability_1']) {
      expect([...columns[name]!]).toEqual([...expected[name]!]);
    }
    expect(columns.label!.length).toBe(13);
    expectConsistent(columns, plan);
  });
});

describe('predictionColumns checks', () => {
  const plan: OutputPlan = {
    fetch: ['probs'],
    columns: [{ name: 'p', type: 'float32', output: 'probs', width: 2, index: 1 }],
    classLabels: null,
    exposesZipMap: false,
  };

  function expectInferenceError(
    outputs: Record<string, ort.Tensor>,
    message: string,
    rows?: number,
  ): void {
    try {
      predictionColumns(outputs, plan, rows);
      expect.unreachable('predictionColumns should throw');
    } catch (error) {
      expect(error).toBeInstanceOf(ModelError);
      expect((error as BatchscoreError).code).toBe('ERR_INFERENCE');
      expect((error as Error).message).toContain(message);
    }
  }

  it('takes one value of each row', () => {
    const probs = new ort.Tensor('float32', Float32Array.from([0.1, 0.9, 0.7, 0.3]), [2, 2]);
    const columns = predictionColumns({ probs }, plan, 2);
    expect([...columns.p!]).toEqual([Math.fround(0.9), Math.fround(0.3)]);
  });

  it('rejects another row width than planned', () => {
    const probs = new ort.Tensor('float32', new Float32Array(6), [2, 3]);
    expectInferenceError({ probs }, 'Output "probs" has 3 values per row (shape [2, 3])');
  });

  it('rejects another row count than the batch', () => {
    const probs = new ort.Tensor('float32', new Float32Array(4), [2, 2]);
    expectInferenceError({ probs }, 'Output "probs" has 2 rows for a batch of 3', 3);
  });

  it('rejects a missing output', () => {
    expectInferenceError({}, 'The model returned no tensor for output "probs"');
  });

  it('decodes float16 outputs', () => {
    const half: OutputPlan = { ...plan, columns: [{ ...plan.columns[0]!, width: 1, index: 0 }] };
    // 0x3c00 is 1, 0xc000 is -2 and 0x3555 is 0.333251953125 in IEEE 754 binary16.
    const probs = new ort.Tensor('float16', Uint16Array.from([0x3c00, 0xc000, 0x3555]), [3]);
    expect([...predictionColumns({ probs }, half).p!]).toEqual([1, -2, 0.333251953125]);
  });

  it('builds string and bool columns', () => {
    const both: OutputPlan = {
      fetch: ['s', 'b'],
      columns: [
        { name: 's', type: 'utf8', output: 's', width: 1, index: 0 },
        { name: 'b', type: 'bool', output: 'b', width: 1, index: 0 },
      ],
      classLabels: null,
      exposesZipMap: false,
    };
    const columns = predictionColumns({
      s: new ort.Tensor('string', ['yes', 'no'], [2]),
      b: new ort.Tensor('bool', Uint8Array.from([1, 0]), [2, 1]),
    }, both);
    expect(columns.s?.type).toBeInstanceOf(arrow.Utf8);
    expect([...columns.s!]).toEqual(['yes', 'no']);
    expect(columns.b?.type).toBeInstanceOf(arrow.Bool);
    expect([...columns.b!]).toEqual([true, false]);
  });
});
