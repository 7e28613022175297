import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mapPartitions, scorePartitioned } from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { numbers, readOutput, tempDir } from './helpers/output.js';
import { repoRoot } from './helpers/shared-data.js';

const workers = join(repoRoot, 'test', 'fixtures', 'workers');
let dir: string;
let csv: string;

beforeAll(async () => {
  dir = await tempDir();
  csv = join(dir, 'customers.csv');
  generateCustomers(csv, 4000);
});

describe('mapPartitions', () => {
  it('runs setup once per worker and the function on every partition', async () => {
    const output = join(dir, 'ratio');
    const summary = await mapPartitions({
      input: csv,
      output,
      worker: join(workers, 'ratio.mjs'),
      workerOptions: { divisor: 4 },
      workers: 2,
      partitionBytes: 20_000,
    });
    const table = await readOutput(output);
    expect(table.numRows).toBe(4000);
    expect(summary.partitions).toBeGreaterThan(4);
    expect(new Set(numbers(table, 'setups'))).toEqual(new Set([1]));
    expect(new Set(numbers(table, 'thread')).size).toBeLessThanOrEqual(2);
    expect(numbers(table, 'partition').at(-1)).toBe(summary.partitions - 1);
    expect(numbers(table, 'first_row')[0]).toBe(1);
    const source = (await readFile(csv, 'utf8')).split('\n')[1]?.split(',') ?? [];
    expect(numbers(table, 'ratio')[0]).toBeCloseTo(Number(source[3]) / 4, 10);
  });

  it('names a worker module without processPartition', async () => {
    const path = join(dir, 'empty-worker.mjs');
    await writeFile(path, 'export const nothing = 1;\n');
    await expect(mapPartitions({ input: csv, output: join(dir, 'empty'), worker: path }))
      .rejects.toMatchObject({ code: 'ERR_TRANSFORM' });
  });
});

describe('scoring transform', () => {
  it('runs before the model in each worker', async () => {
    const transformed = join(dir, 'transformed');
    await scorePartitioned({
      model: churnModel, input: csv, output: transformed,
      transform: join(workers, 'double-charges.mjs'),
    });

    // The same rows with monthly_charges doubled by hand must score the same.
    const lines = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    const doubled = lines.map((line, index) => {
      if (index === 0) return line;
      const fields = line.split(',');
      fields[3] = String(Number(fields[3]) * 2);
      return fields.join(',');
    });
    const doubledCsv = join(dir, 'doubled.csv');
    await writeFile(doubledCsv, `${doubled.join('\n')}\n`);
    const expected = join(dir, 'expected');
    await scorePartitioned({ model: churnModel, input: doubledCsv, output: expected });

    const got = numbers(await readOutput(transformed), 'probability_1');
    const want = numbers(await readOutput(expected), 'probability_1');
    expect(got).toEqual(want);
    const plain = numbers(await readOutput(join(dir, 'transformed')), 'monthly_charges');
    expect(plain[0]).toBeCloseTo(Number(lines[1]?.split(',')[3]) * 2, 10);
  });
});
