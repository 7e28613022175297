import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchscoreError, scorePartitioned, type ScoreOptions } from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { tempDir } from './helpers/output.js';

let dir: string;
let csv: string;
let csvLines: string[];

beforeAll(async () => {
  dir = await tempDir();
  csv = join(dir, 'customers.csv');
  generateCustomers(csv, 3000);
  csvLines = (await readFile(csv, 'utf8')).trimEnd().split('\n');
});

/** Runs a scoring job expected to fail and returns its error. */
async function failure(options: Partial<ScoreOptions>): Promise<BatchscoreError> {
  const output = options.output ?? join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const error = await scorePartitioned({ model: churnModel, input: csv, output, ...options })
    .then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(BatchscoreError);
  return error as BatchscoreError;
}

/** Writes the generated CSV with line `row` (one-based data row) replaced by `edit(line)`. */
async function csvWithRow(name: string, row: number, edit: (fields: string[]) => string[]) {
  const lines = [...csvLines];
  lines[row] = edit((lines[row] as string).split(',')).join(',');
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('input errors', () => {
  it('names a missing input file', async () => {
    const error = await failure({ input: join(dir, 'missing.csv') });
    expect(error.code).toBe('ERR_INPUT_NOT_FOUND');
    expect(error.location.file).toBe(join(dir, 'missing.csv'));
  });

  it('names a glob that matches nothing', async () => {
    const error = await failure({ input: join(dir, 'none-*.csv') });
    expect(error.code).toBe('ERR_INPUT_NOT_FOUND');
    expect(error.message).toContain('none-*.csv');
  });

  it('rejects an unknown extension', async () => {
    const path = join(dir, 'customers.txt');
    await copyFile(csv, path);
    const error = await failure({ input: path });
    expect(error.code).toBe('ERR_UNSUPPORTED_FORMAT');
    expect(error.fix).toContain('format');
  });

  it('names a truncated Parquet file', async () => {
    const path = join(dir, 'truncated.parquet');
    await writeFile(path, Buffer.from('PAR1 this is not parquet at all'));
    const error = await failure({ input: path });
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.location.file).toBe(path);
  });

  it('names a model input with no column', async () => {
    const path = await csvWithRow('no-region.csv', 0, (fields) =>
      fields.map((field) => (field === 'region' ? 'area' : field)));
    const error = await failure({ input: path });
    expect(error.code).toBe('ERR_MISSING_COLUMN');
    expect(error.message).toContain('region');
  });

  it('names the row, column and value that cannot be converted', async () => {
    const path = await csvWithRow('bad-age.csv', 2500, (fields) => {
      fields[1] = 'forty';
      return fields;
    });
    const output = join(dir, 'bad-age-out');
    const error = await failure({ input: path, output, partitionBytes: 30_000 });
    expect(error.code).toBe('ERR_VALUE_CONVERSION');
    expect(error.location).toMatchObject({ file: path, row: 2500, column: 'age', value: 'forty' });
    expect(error.fix).toContain('maxRejectedRows');
    // Nothing of the failed run is visible: the output path was never created.
    expect(existsSync(output)).toBe(false);
  });
});

describe('rejected rows', () => {
  it('writes rows that cannot be scored to _rejected/ within the budget', async () => {
    let path = await csvWithRow('two-bad.csv', 10, (fields) => {
      fields[3] = 'n/a';
      return fields;
    });
    csvLines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    path = await csvWithRow('two-bad.csv', 20, (fields) => fields.slice(0, 4));
    csvLines = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    const output = join(dir, 'rejected-out');
    const summary = await scorePartitioned({
      model: churnModel, input: path, output, maxRejectedRows: 5,
    });
    expect(summary.rowsRejected).toBe(2);
    expect(summary.rowsOut).toBe(2998);
    expect(summary.rowsIn).toBe(3000);
    const lines: { row: number; code: string; column?: string; value?: string }[] = [];
    for (const name of summary.rejectedFiles) {
      const text = await readFile(join(output, name), 'utf8');
      lines.push(...text.trim().split('\n').map((line) => JSON.parse(line)));
    }
    lines.sort((a, b) => a.row - b.row);
    expect(lines.map((line) => line.row)).toEqual([10, 20]);
    expect(lines[0]).toMatchObject({ code: 'ERR_VALUE_CONVERSION', column: 'monthly_charges', value: 'n/a' });
    expect(lines[1]?.code).toBe('ERR_INPUT_CORRUPT');
  });

  it('fails when the rejected rows exceed the budget', async () => {
    const path = await csvWithRow('one-bad.csv', 7, (fields) => {
      fields[3] = 'oops';
      return fields;
    });
    const error = await failure({ input: path, maxRejectedRows: 0 });
    expect(error.code).toBe('ERR_VALUE_CONVERSION');
    expect(error.location.row).toBe(7);
  });
});

describe('model and output errors', () => {
  it('names a model file that is not ONNX', async () => {
    const path = join(dir, 'garbage.onnx');
    await writeFile(path, 'not a model');
    const error = await failure({ model: path });
    expect(error.code).toBe('ERR_MODEL_LOAD');
    expect(error.location.file).toBe(path);
  });

  it('names an output directory that cannot be created', async () => {
    const error = await failure({ output: join(csv, 'below-a-file') });
    expect(error.code).toBe('ERR_OUTPUT_NOT_WRITABLE');
  });

  it('rejects invalid options with the option name', async () => {
    const error = await failure({ workers: 0 });
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('`workers`');
    expect(error.message).toContain('0 (number)');
  });

  it('commits nothing when aborted', async () => {
    const output = join(dir, 'aborted');
    const controller = new AbortController();
    const run = scorePartitioned({
      model: churnModel, input: csv, output, partitionBytes: 2_000, workers: 1,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'partition-end') controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(existsSync(output)).toBe(false);
  });
});
