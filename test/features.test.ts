import { readFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { parseNumber, shortestFloat32 } from '../src/convert/cast.js';
import { decimalText, halfToNumber } from '../src/convert/columns.js';
import {
  buildFeeds,
  resolveFeatures,
  type FeatureMapping,
  type FeatureType,
} from '../src/convert/features.js';
import {
  BatchscoreError,
  DataError,
  InputError,
  InvalidOptionError,
  ModelError,
} from '../src/errors.js';
import { inspectModel, type ModelInfo, type ValueInfo } from '../src/model/inspect.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

function input(name: string, elemType: ValueInfo['elemType'], dims: ValueInfo['dims']): ValueInfo {
  const shape = dims === null ? '' : `[${dims.map((dim) => dim ?? '?').join(',')}]`;
  return { name, kind: 'tensor', elemType, dims, type: `${elemType}${shape}` };
}

function modelWith(inputs: ValueInfo[]): ModelInfo {
  return {
    sha256: '', byteLength: 0, irVersion: 8, producerName: '', producerVersion: '',
    modelVersion: 0, graphName: '', opsetImports: [], metadata: {}, externalData: false,
    inputs, outputs: [], zipMaps: [], classifier: null,
  };
}

/** Maps column `x` alone to a `[N, 1]` input of `type`. */
function single(type: FeatureType): FeatureMapping {
  return { mode: 'by-name', inputs: [{ input: 'x', type, columns: ['x'], shape: [-1, 1] }] };
}

const context = { rowNumber: (index: number) => 100 + index, file: 'data.csv' };

/** Feeds `vector` as column `x` to an input of `type`; returns values and rejections. */
function feed(vector: arrow.Vector, type: FeatureType) {
  const result = buildFeeds(new arrow.Table({ x: vector }), single(type), context);
  return { ...result, values: Array.from(result.feeds.x!.data as ArrayLike<unknown>) };
}

function utf8(values: (string | null)[]): arrow.Vector {
  return arrow.vectorFromArray(values, new arrow.Utf8());
}

function caught(action: () => unknown): BatchscoreError {
  try {
    action();
  } catch (error) {
    if (error instanceof BatchscoreError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('float inputs', () => {
  it('reads blank and whitespace-only text as NaN', () => {
    const { values, rejected } = feed(utf8(['1.5', ' ', '', '\t', null, 'nan', '-2e3']), 'float32');
    expect(values).toEqual([1.5, NaN, NaN, NaN, NaN, NaN, -2000]);
    expect(rejected).toEqual([]);
  });

  it('rejects non-numeric text with its source row number', () => {
    const text = utf8(['1', 'abc', '2', '0x1A', '1,5']);
    const { values, rejected, keep, rows } = feed(text, 'float64');
    expect(values).toEqual([1, 2]);
    expect(rows).toBe(2);
    expect([...keep!]).toEqual([0, 2]);
    expect(rejected).toEqual([
      { row: 101, file: 'data.csv', column: 'x', value: 'abc', code: 'ERR_VALUE_CONVERSION',
        reason: 'invalid number for float64 input' },
      { row: 103, file: 'data.csv', column: 'x', value: '0x1A', code: 'ERR_VALUE_CONVERSION',
        reason: 'invalid number for float64 input' },
      { row: 104, file: 'data.csv', column: 'x', value: '1,5', code: 'ERR_VALUE_CONVERSION',
        reason: 'invalid number for float64 input' },
    ]);
  });

  it('reads null numbers as NaN, never 0', () => {
    const ints = arrow.vectorFromArray([3, null, -1], new arrow.Int32());
    expect(feed(ints, 'float32').values).toEqual([3, NaN, -1]);
    const floats = arrow.vectorFromArray([1.5, null], new arrow.Float64());
    expect(feed(floats, 'float64').values).toEqual([1.5, NaN]);
  });

  it('reads int64, bool, float16 and decimal columns as numbers', () => {
    const int64 = arrow.vectorFromArray([2n ** 40n, null], new arrow.Int64());
    expect(feed(int64, 'float64').values).toEqual([2 ** 40, NaN]);
    const bools = arrow.vectorFromArray([true, false, null], new arrow.Bool());
    expect(feed(bools, 'float32').values).toEqual([1, 0, NaN]);
    const half = arrow.makeVector(arrow.makeData({
      type: new arrow.Float16(), length: 2, data: Uint16Array.from([0x3e00, 0xc000]),
    }));
    expect(feed(half, 'float32').values).toEqual([1.5, -2]);
    expect(feed(decimals(), 'float64').values).toEqual([12.5, -0.05, 0]);
  });

  it('rounds to float32', () => {
    const { values } = feed(arrow.vectorFromArray([0.1], new arrow.Float64()), 'float32');
    expect(values).toEqual([Math.fround(0.1)]);
  });
});

/** Decimal(10, 2) values 12.50, -0.05 and 0.00 as 128-bit two's complement words. */
function decimals(): arrow.Vector {
  const words = Uint32Array.from([1250, 0, 0, 0, 0xfffffffb, 0xffffffff, 0xffffffff, 0xffffffff,
    0, 0, 0, 0]);
  return arrow.makeVector(arrow.makeData({ type: new arrow.Decimal(2, 10, 128), length: 3,
    data: words }));
}

describe('string inputs', () => {
  it('writes integers in decimal', () => {
    expect(feed(arrow.vectorFromArray([0n, 1n], new arrow.Int64()), 'string').values)
      .toEqual(['0', '1']);
    expect(feed(arrow.vectorFromArray([0, 1, -7], new arrow.Int32()), 'string').values)
      .toEqual(['0', '1', '-7']);
  });

  it('rejects a null string as a missing value', () => {
    const { values, rejected } = feed(utf8(['Yes', null, 'No']), 'string');
    expect(values).toEqual(['Yes', 'No']);
    expect(rejected).toEqual([{ row: 101, file: 'data.csv', column: 'x',
      code: 'ERR_VALUE_CONVERSION', reason: 'missing value for string input' }]);
  });

  it('keeps text as is, spaces included', () => {
    expect(feed(utf8([' a ', '']), 'string').values).toEqual([' a ', '']);
  });

  it('writes floats in their shortest form', () => {
    expect(feed(arrow.vectorFromArray([0.1, 1, 2.5], new arrow.Float32()), 'string').values)
      .toEqual(['0.1', '1', '2.5']);
    expect(feed(arrow.vectorFromArray([0.1, 1e-7, 3], new arrow.Float64()), 'string').values)
      .toEqual(['0.1', '1e-7', '3']);
  });

  it('rejects NaN as a missing value', () => {
    const { rejected } = feed(arrow.vectorFromArray([NaN, 1], new arrow.Float64()), 'string');
    expect(rejected.map((row) => [row.row, row.value, row.reason]))
      .toEqual([[100, 'NaN', 'missing value for string input']]);
  });

  it('writes booleans as Python does', () => {
    expect(feed(arrow.vectorFromArray([true, false], new arrow.Bool()), 'string').values)
      .toEqual(['True', 'False']);
  });

  it('writes decimals exactly', () => {
    expect(feed(decimals(), 'string').values).toEqual(['12.50', '-0.05', '0.00']);
  });

  it('reads dictionary-encoded text', () => {
    const type = new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32());
    const { values, rejected } = feed(arrow.vectorFromArray(['a', 'b', null, 'a'], type), 'string');
    expect(values).toEqual(['a', 'b', 'a']);
    expect(rejected.map((row) => row.row)).toEqual([102]);
  });

  it('reads UTF-8 binary and rejects other bytes', () => {
    const binary = arrow.makeVector(arrow.makeData({
      type: new arrow.Binary(), length: 2, valueOffsets: Int32Array.from([0, 2, 4]),
      data: Uint8Array.from([0x68, 0x69, 0xff, 0xfe]),
    }));
    const { values, rejected } = feed(binary, 'string');
    expect(values).toEqual(['hi']);
    expect(rejected).toEqual([{ row: 101, file: 'data.csv', column: 'x', value: '0xfffe',
      code: 'ERR_VALUE_CONVERSION', reason: 'binary value is not valid UTF-8' }]);
  });
});

describe('integer and bool inputs', () => {
  it('casts whole numbers to int64', () => {
    const { values, rejected } = feed(utf8(['42', ' -3 ', '3.0', '2.5', '', 'x']), 'int64');
    expect(values).toEqual([42n, -3n, 3n]);
    expect(rejected.map((row) => [row.row, row.reason])).toEqual([
      [103, 'not a whole number for int64 input'],
      [104, 'missing value for int64 input'],
      [105, 'invalid integer for int64 input'],
    ]);
  });

  it('rejects null and fractions from float columns', () => {
    const floats = arrow.vectorFromArray([3, null, 2.5, NaN], new arrow.Float64());
    const { values, rejected } = feed(floats, 'int64');
    expect(values).toEqual([3n]);
    expect(rejected.map((row) => row.reason)).toEqual([
      'missing value for int64 input',
      'not a whole number for int64 input',
      'missing value for int64 input',
    ]);
  });

  it('rejects values out of range', () => {
    const ints = arrow.vectorFromArray([255, 256, -1], new arrow.Int32());
    const { values, rejected } = feed(ints, 'uint8');
    expect(values).toEqual([255]);
    expect(rejected.map((row) => [row.value, row.reason])).toEqual([
      ['256', 'out of range for uint8 input'],
      ['-1', 'out of range for uint8 input'],
    ]);
  });

  it('keeps int64 values exact beyond 2^53', () => {
    const big = arrow.vectorFromArray([2n ** 62n + 1n], new arrow.Int64());
    expect(feed(big, 'int64').values).toEqual([2n ** 62n + 1n]);
  });

  it('casts text and 0/1 to bool', () => {
    const { values, rejected } = feed(utf8(['True', ' false ', '1', '0', 'yes']), 'bool');
    expect(values).toEqual([1, 0, 1, 0]);
    expect(rejected.map((row) => [row.value, row.reason]))
      .toEqual([['yes', 'invalid boolean for bool input']]);
    const ints = arrow.vectorFromArray([1, 0, 2], new arrow.Int8());
    expect(feed(ints, 'bool').values).toEqual([1, 0]);
  });
});

describe('buildFeeds', () => {
  it('drops a rejected row from every feed', () => {
    const table = new arrow.Table({
      a: arrow.vectorFromArray([1, 2, 3], new arrow.Float64()),
      b: utf8(['x', null, 'z']),
    });
    const mapping: FeatureMapping = { mode: 'by-name', inputs: [
      { input: 'a', type: 'float32', columns: ['a'], shape: [-1, 1] },
      { input: 'b', type: 'string', columns: ['b'], shape: [-1] },
    ] };
    const { feeds, keep, rejected } = buildFeeds(table, mapping, context);
    expect([...keep!]).toEqual([0, 2]);
    expect([...(feeds.a!.data as Float32Array)]).toEqual([1, 3]);
    expect(feeds.a!.dims).toEqual([2, 1]);
    expect(feeds.b!.data).toEqual(['x', 'z']);
    expect(feeds.b!.dims).toEqual([2]);
    expect(rejected.map((row) => row.row)).toEqual([101]);
  });

  it('keeps the first rejection of a row', () => {
    const table = new arrow.Table({ a: utf8(['?', '1']), b: utf8(['!', '2']) });
    const mapping: FeatureMapping = { mode: 'features', inputs: [
      { input: 'x', type: 'float32', columns: ['a', 'b'], shape: [-1, 2] },
    ] };
    const { rejected } = buildFeeds(table, mapping, context);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.column).toBe('a');
  });

  it('packs feature columns row by row', () => {
    const table = new arrow.Table({
      a: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()),
      b: utf8(['10', 'oops', '30']),
      c: arrow.vectorFromArray([0.5, 0.25, null], new arrow.Float64()),
    });
    const mapping: FeatureMapping = { mode: 'features', inputs: [
      { input: 'x', type: 'float32', columns: ['c', 'a', 'b'], shape: [-1, 3] },
    ] };
    const { feeds, rows } = buildFeeds(table, mapping, context);
    expect(rows).toBe(2);
    expect(feeds.x!.dims).toEqual([2, 3]);
    expect([...(feeds.x!.data as Float32Array)]).toEqual([0.5, 1, 10, NaN, 3, 30]);
  });

  it('reads a sliced table from the right offsets', () => {
    const table = new arrow.Table({
      n: arrow.vectorFromArray([1, null, 3, null, 5], new arrow.Float64()),
      s: utf8(['a', 'b', null, 'd', 'e']),
      t: arrow.vectorFromArray([true, false, true, false, true], new arrow.Bool()),
    }).slice(1, 4);
    const floats = buildFeeds(table, { mode: 'by-name', inputs: [
      { input: 'n', type: 'float64', columns: ['n'], shape: [-1, 1] },
      { input: 't', type: 'string', columns: ['t'], shape: [-1, 1] },
    ] }, context);
    expect([...(floats.feeds.n!.data as Float64Array)]).toEqual([NaN, 3, NaN]);
    expect(floats.feeds.t!.data).toEqual(['False', 'True', 'False']);
    const strings = buildFeeds(table, { mode: 'by-name', inputs: [
      { input: 's', type: 'string', columns: ['s'], shape: [-1, 1] },
    ] }, context);
    expect(strings.feeds.s!.data).toEqual(['b', 'd']);
    expect(strings.rejected.map((row) => row.row)).toEqual([101]);
  });

  it('reads every chunk of a column', () => {
    const first = arrow.vectorFromArray([1, null], new arrow.Float64());
    const second = arrow.vectorFromArray([3, 4], new arrow.Float64());
    const vector = first.concat(second);
    expect(vector.data).toHaveLength(2);
    expect(feed(vector, 'float64').values).toEqual([1, NaN, 3, 4]);
  });

  it('reports a column missing from the table', () => {
    const error = caught(() => buildFeeds(new arrow.Table({ y: utf8(['a']) }), single('string'),
      context));
    expect(error).toBeInstanceOf(DataError);
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.location).toEqual({ file: 'data.csv', column: 'x' });
  });
});

describe('resolveFeatures', () => {
  const wide = modelWith([input('input', 'float32', [null, 2])]);
  const perColumn = modelWith([
    input('age', 'float32', [null, 1]),
    input('sex', 'string', [null, 1]),
  ]);
  const columns = [
    { name: 'age', type: new arrow.Float64() },
    { name: 'sex', type: new arrow.Utf8() },
    { name: 'fare', type: new arrow.Float64() },
  ];

  it('matches inputs to columns by name', () => {
    expect(resolveFeatures(perColumn, columns)).toEqual({ mode: 'by-name', inputs: [
      { input: 'age', type: 'float32', columns: ['age'], shape: [-1, 1] },
      { input: 'sex', type: 'string', columns: ['sex'], shape: [-1, 1] },
    ] });
  });

  it('packs the listed features into the single input', () => {
    expect(resolveFeatures(wide, columns, ['fare', 'age'])).toEqual({ mode: 'features', inputs: [
      { input: 'input', type: 'float32', columns: ['fare', 'age'], shape: [-1, 2] },
    ] });
  });

  it('takes any number of features for a symbolic width', () => {
    const model = modelWith([input('x', 'float64', ['n', 'f'])]);
    expect(resolveFeatures(model, columns, ['age', 'sex', 'fare']).inputs[0]?.shape)
      .toEqual([-1, 3]);
  });

  it('names the inputs without a column', () => {
    const error = caught(() => resolveFeatures(wide, columns));
    expect(error).toBeInstanceOf(DataError);
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.message).toContain('No column has the name of model input "input"');
    expect(error.message).toContain('available columns: age, sex, fare');
    expect(error.fix).toBe('Pass `features` with the columns to feed it, in the order the ' +
      'model expects');
  });

  it('suggests renaming columns for a model with several inputs', () => {
    const model = modelWith([input('a', 'float32', [null, 1]), input('b', 'float32', [null, 1])]);
    const error = caught(() => resolveFeatures(model, columns));
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.message).toContain('model input "a", "b"');
    expect(error.fix).toContain('Rename the columns');
  });

  it('rejects features for a model with several inputs', () => {
    const error = caught(() => resolveFeatures(perColumn, columns, ['age']));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('the model has 2 inputs (age, sex)');
  });

  it('rejects a feature count the input width rules out', () => {
    const error = caught(() => resolveFeatures(wide, columns, ['age']));
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('model input "input" (float32[?,2]) takes per row, got 1');
  });

  it('rejects an empty features list', () => {
    expect(caught(() => resolveFeatures(wide, columns, [])).code).toBe('ERR_INVALID_OPTION');
  });

  it('names features that are not columns', () => {
    const error = caught(() => resolveFeatures(wide, columns, ['age', 'Fare']));
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.location.column).toBe('Fare');
  });

  it('rejects one column for a wide input matched by name', () => {
    const sameName = [{ name: 'input', type: new arrow.Float64() }];
    const error = caught(() => resolveFeatures(wide, sameName));
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.message).toContain('takes more than one value per row');
  });

  it('rejects timestamp columns with a fix', () => {
    const model = modelWith([input('when', 'float32', [null, 1])]);
    const error = caught(() => resolveFeatures(model, [
      { name: 'when', type: new arrow.TimestampMillisecond() },
    ]));
    expect(error).toBeInstanceOf(InputError);
    expect(error.code).toBe('ERR_UNSUPPORTED_COLUMN_TYPE');
    expect(error.location.column).toBe('when');
    expect(error.message).toContain('Column of Arrow type Timestamp');
    expect(error.fix).toBe('Convert it to a number, such as epoch seconds, before scoring');
  });

  it('rejects struct and list columns', () => {
    const model = modelWith([input('s', 'string', [null, 1])]);
    const struct = new arrow.Struct([new arrow.Field('a', new arrow.Int32())]);
    const list = new arrow.List(new arrow.Field('item', new arrow.Float64()));
    for (const type of [struct, list]) {
      const error = caught(() => resolveFeatures(model, [{ name: 's', type }]));
      expect(error.code).toBe('ERR_UNSUPPORTED_COLUMN_TYPE');
      expect(error.fix).toBe('Flatten it into columns of numbers or text before scoring');
    }
  });

  it('rejects model inputs of unsupported kinds and types', () => {
    const sequence: ValueInfo = { name: 'x', kind: 'sequence', elemType: null, dims: null,
      type: 'seq(float32)' };
    for (const bad of [sequence, input('x', 'complex64', [null, 1])]) {
      const error = caught(() => resolveFeatures(modelWith([bad]), [
        { name: 'x', type: new arrow.Float64() },
      ]));
      expect(error).toBeInstanceOf(ModelError);
      expect(error.code).toBe('ERR_MODEL_UNSUPPORTED');
      expect(error.message).toContain(`Model input "x" is ${bad.type}`);
    }
  });

  it('feeds a [N] input from one column', () => {
    const model = modelWith([input('age', 'float32', [null])]);
    expect(resolveFeatures(model, columns).inputs[0]?.shape).toEqual([-1]);
  });
});

describe('text helpers', () => {
  it('parses numbers strictly', () => {
    expect(parseNumber(' 12 ')).toBe(12);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('5.')).toBe(5);
    expect(parseNumber('-INF')).toBe(-Infinity);
    expect(parseNumber('Infinity')).toBe(Infinity);
    expect(parseNumber('')).toBeNaN();
    expect(parseNumber('1e')).toBeUndefined();
    expect(parseNumber('0b1')).toBeUndefined();
    expect(parseNumber('constructor')).toBeUndefined();
  });

  it('writes float32 values in their shortest form', () => {
    expect(shortestFloat32(Math.fround(0.1))).toBe('0.1');
    expect(shortestFloat32(Math.fround(16777217))).toBe('16777216');
    expect(shortestFloat32(Math.fround(3.4028234663852886e38))).toBe('3.4028235e+38');
    expect(shortestFloat32(-0)).toBe('0');
  });

  it('writes decimals and reads half floats', () => {
    expect(decimalText(-5n, 3)).toBe('-0.005');
    expect(decimalText(12n, -2)).toBe('1200');
    expect(decimalText(123n, 0)).toBe('123');
    expect(halfToNumber(0x0001)).toBe(2 ** -24);
    expect(halfToNumber(0x7c00)).toBe(Infinity);
    expect(halfToNumber(0x7e00)).toBeNaN();
  });
});

describe.skipIf(!hasSharedData)('features of exported models', () => {
  it('maps the tf2onnx MLP input from eleven listed columns', () => {
    const info = inspectModel(readFileSync(sharedPath('models', 'bank_churn_mlp_tf2onnx.onnx')));
    const names = ['CreditScore', 'Age', 'Tenure', 'Balance', 'NumOfProducts', 'HasCrCard',
      'IsActiveMember', 'EstimatedSalary', 'Geography_Germany', 'Geography_Spain', 'Gender_Male'];
    const columns = names.map((name) => ({ name, type: new arrow.Float64() }));
    const mapping = resolveFeatures(info, columns, names);
    expect(mapping.inputs).toEqual([
      { input: 'input_layer', type: 'float32', columns: names, shape: [-1, 11] },
    ]);
    const error = caught(() => resolveFeatures(info, columns, names.slice(1)));
    expect(error.message).toContain('(float32[unk__6,11]) takes per row, got 10');
  });
});
