import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Float32, Table, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { BatchscoreError, mapPartitions, scorePartitioned } from '../dist/index.js';
import { numbers, readOutput, runCli, tempDir } from './helpers/output.js';
import { hasSharedData, repoRoot, sharedPath } from './helpers/shared-data.js';

const identityWorker = join(repoRoot, 'test', 'fixtures', 'workers', 'identity.mjs');

describe.skipIf(!hasSharedData)('third-party data', () => {
  it('scores the Telco CSV with its skl2onnx model from the CLI', async () => {
    const output = join(await tempDir(), 'telco');
    const result = await runCli([
      'score',
      '--model', sharedPath('models', 'telco_churn_okua1_skl2onnx.onnx'),
      '--input', sharedPath('telco-churn.csv'),
      '--output', output,
      '--scored-at', '2026-01-31T02:00:00Z',
    ]);
    expect(result.code).toBe(0);
    const scored = await readOutput(output);
    expect(scored.numRows).toBe(7043);
    const names = scored.schema.fields.map((field) => field.name);
    for (const name of ['customerID', 'label', 'probability_0', 'probability_1', 'model_version', 'scored_at']) {
      expect(names).toContain(name);
    }
    const labels = numbers(scored, 'label');
    const p1 = numbers(scored, 'probability_1');
    labels.forEach((label, i) => expect(label).toBe((p1[i] as number) > 0.5 ? 1 : 0));
    expect(numbers(scored, 'scored_at')[0]).toBe(Date.parse('2026-01-31T02:00:00Z'));
    // The 11 customers with tenure 0 have a blank TotalCharges, read as missing.
    const total = scored.getChild('TotalCharges');
    expect([...(total ?? [])].filter((value) => value === null).length).toBe(11);
  });

  it('scores input of its own shape with every shared model', async () => {
    const dir = await tempDir();
    const rows = 50;
    const floats = (seed: number) => vectorFromArray(
      Array.from({ length: rows }, (_, i) => ((i * 7 + seed) % 13) / 3),
      new Float32(),
    );
    const strings = (values: string[]) => vectorFromArray(
      Array.from({ length: rows }, (_, i) => values[i % values.length] as string),
    );
    const cases: { model: string; table: Table; features?: string[]; columns: string[] }[] = [
      {
        model: 'titanic_pipeline_skl2onnx.onnx',
        table: new Table({
          pclass: strings(['1', '2', '3']), sex: strings(['male', 'female']),
          age: floats(20), fare: floats(5), embarked: strings(['S', 'C', 'Q']),
        }),
        columns: ['label', 'probability_0', 'probability_1'],
      },
      {
        model: 'lightgbm_pipeline_skl2onnx.onnx',
        table: new Table({ a: floats(1), b: floats(2) }),
        features: ['a', 'b'],
        columns: ['label'],
      },
      {
        model: 'xgboost_regressor_onnxmltools.onnx',
        table: new Table({ a: floats(1), b: floats(2), c: floats(3), d: floats(4) }),
        features: ['a', 'b', 'c', 'd'],
        columns: ['prediction'],
      },
      {
        model: 'bank_churn_mlp_tf2onnx.onnx',
        table: new Table(Object.fromEntries(
          Array.from({ length: 11 }, (_, i) => [`x${i}`, floats(i)]),
        )),
        features: Array.from({ length: 11 }, (_, i) => `x${i}`),
        columns: ['prediction'],
      },
    ];
    for (const { model, table, features, columns } of cases) {
      const output = join(dir, model);
      const summary = await scorePartitioned({
        model: sharedPath('models', model), input: table, output, features, workers: 1,
      });
      expect(summary.rowsOut, model).toBe(rows);
      const scored = await readOutput(output);
      for (const column of columns) {
        const values = numbers(scored, column);
        expect(values.every(Number.isFinite), `${model} ${column}`).toBe(true);
      }
    }
  });

  it('reads every parquet-testing file or names the column type it cannot score', async () => {
    const dir = await tempDir();
    const folder = sharedPath('parquet-testing');
    const files = (await readdir(folder)).filter((name) => name.endsWith('.parquet'));
    expect(files.length).toBeGreaterThan(10);
    const outcomes: Record<string, string> = {};
    for (const name of files) {
      const input = join(folder, name);
      const copied = await mapPartitions({
        input, output: join(dir, `read-${name}`), worker: identityWorker, workers: 1,
      });
      expect(copied.rowsOut, `${name} read in full`).toBe(copied.rowsIn);
      const { tableFromIPC } = await import('apache-arrow');
      const { ParquetFile } = await import('parquet-wasm');
      const { openAsBlob } = await import('node:fs');
      const file = await ParquetFile.fromFile(await openAsBlob(input));
      const schema = tableFromIPC(file.schema().intoIPCStream()).schema;
      file.free();
      const numeric = schema.fields.filter((field) =>
        /^(Int|Uint|Float|Bool|Decimal)/.test(String(field.type)));
      const candidates = numeric.length > 0 ? numeric : schema.fields;
      const features = Array.from({ length: 4 }, (_, i) => candidates[i % candidates.length]?.name as string);
      const output = join(dir, name);
      try {
        const summary = await scorePartitioned({
          model: sharedPath('models', 'xgboost_regressor_onnxmltools.onnx'),
          input,
          output,
          features,
          workers: 1,
        });
        const scored = await readOutput(output);
        expect(scored.numRows, name).toBe(summary.rowsIn - summary.rowsRejected);
        outcomes[name] = `scored ${summary.rowsOut}`;
      } catch (error) {
        expect(error, name).toBeInstanceOf(BatchscoreError);
        const typed = error as BatchscoreError;
        // A column of an unsupported type is refused as a whole; a text column used as a
        // numeric feature is refused at its first value.
        expect(['ERR_UNSUPPORTED_COLUMN_TYPE', 'ERR_VALUE_CONVERSION'], `${name}: ${typed.message}`)
          .toContain(typed.code);
        expect(typed.location.column, name).toBeDefined();
        outcomes[name] = typed.code;
      }
    }
    await writeFile(join(dir, 'outcomes.json'), JSON.stringify(outcomes, null, 2));
    // Every file with a numeric column must be scored, not refused.
    expect(outcomes['alltypes_plain.parquet']).toBe('scored 8');
    expect(outcomes['alltypes_tiny_pages.parquet']).toBe('scored 7300');
    expect(outcomes['byte_stream_split.zstd.parquet']).toBe('scored 300');
    expect(outcomes['hadoop_lz4_compressed.parquet']).toBe('scored 4');
    expect(outcomes['column_chunk_key_value_metadata.parquet']).toBe('scored 0');
    expect(outcomes['int96_from_spark.parquet']).toBe('ERR_UNSUPPORTED_COLUMN_TYPE');
    expect(outcomes['unknown-logical-type.parquet']).toBe('ERR_VALUE_CONVERSION');
  });
});
