import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordBatchStreamWriter, Table, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, writeParquet, WriterPropertiesBuilder } from 'parquet-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { scorePartitioned } from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { numbers, partFiles, readManifest, readOutput, tempDir } from './helpers/output.js';

const ROWS = 3000;
let dir: string;
let csvPath: string;
let reference: Table;

beforeAll(async () => {
  dir = await tempDir();
  csvPath = join(dir, 'customers.csv');
  generateCustomers(csvPath, ROWS);
  const out = join(dir, 'reference');
  await scorePartitioned({ model: churnModel, input: csvPath, output: out, workers: 1 });
  reference = await readOutput(out);
});

/** Writes the reference rows' input columns in another format. */
async function inputTable(): Promise<Table> {
  const names = reference.schema.fields
    .map((field) => field.name)
    .filter((name) => !/^(label|probability_|model_version|scored_at)/.test(name));
  return reference.select(names);
}

describe('scorePartitioned inputs', () => {
  it('scores a CSV file into one row per input row', async () => {
    expect(reference.numRows).toBe(ROWS);
    expect(numbers(reference, 'label').every((label) => label === 0 || label === 1)).toBe(true);
    const p0 = numbers(reference, 'probability_0');
    const p1 = numbers(reference, 'probability_1');
    p0.forEach((p, i) => expect(p + (p1[i] as number)).toBeCloseTo(1, 5));
  });

  it('gives the same predictions for every input format', async () => {
    const table = await inputTable();
    const inputs: Record<string, () => Promise<unknown>> = {
      parquet: async () => {
        const path = join(dir, 'customers.parquet');
        const props = new WriterPropertiesBuilder().setMaxRowGroupSize(700).build();
        await writeFile(path, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), props));
        return path;
      },
      parquetOneRowGroup: async () => {
        // One row group much larger than a partition is read in slices of rows.
        const path = join(dir, 'customers-one-group.parquet');
        await writeFile(path, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
        return path;
      },
      arrowFile: async () => {
        const path = join(dir, 'customers.arrow');
        await writeFile(path, tableToIPC(new Table(table.slice(0, 1000).batches.concat(
          table.slice(1000, 2200).batches, table.slice(2200).batches)), 'file'));
        return path;
      },
      arrowStream: async () => {
        const path = join(dir, 'customers.arrows');
        await writeFile(path, RecordBatchStreamWriter.writeAll(table).toUint8Array(true));
        return path;
      },
      jsonl: async () => {
        const path = join(dir, 'customers.jsonl');
        generateCustomers(path, ROWS, 'jsonl');
        return path;
      },
      table: async () => table,
      batches: async () => (async function* () {
        for (const batch of table.slice(0, 1234).batches) yield batch;
        for (const batch of table.slice(1234).batches) yield batch;
      })(),
    };
    for (const [name, make] of Object.entries(inputs)) {
      const output = join(dir, `out-${name}`);
      const summary = await scorePartitioned({
        model: churnModel,
        input: (await make()) as string,
        output,
        partitionRows: 800,
        partitionBytes: 20_000,
      });
      expect(summary.rowsOut, name).toBe(ROWS);
      const scored = await readOutput(output);
      expect(numbers(scored, 'label'), name).toEqual(numbers(reference, 'label'));
      expect(numbers(scored, 'probability_1'), name).toEqual(numbers(reference, 'probability_1'));
      expect(scored.getChild('customer_id')?.toArray(), name)
        .toEqual(reference.getChild('customer_id')?.toArray());
      expect(summary.partitions, name).toBeGreaterThan(1);
    }
  });

  it('names part files in input order and lists them in the manifest', async () => {
    const output = join(dir, 'ordered');
    const summary = await scorePartitioned({
      model: churnModel,
      input: csvPath,
      output,
      partitionBytes: 10_000,
    });
    const files = await partFiles(output);
    expect(files).toEqual(summary.files);
    expect(files[0]).toBe('part-00000.parquet');
    const ids = (await readOutput(output)).getChild('customer_id')?.toArray() as string[];
    expect(ids[0]).toBe('C0000001');
    expect(ids[ROWS - 1]).toBe(`C${String(ROWS).padStart(7, '0')}`);
    const manifest = await readManifest(output);
    expect((manifest.parts as unknown[]).length).toBe(files.length);
    expect(manifest.rows).toEqual({ in: ROWS, out: ROWS, rejected: 0 });
  });
});

describe('worker sessions', () => {
  it('creates one session per worker, not per partition', async () => {
    const summary = await scorePartitioned({
      model: churnModel,
      input: csvPath,
      output: join(dir, 'sessions'),
      workers: 2,
      partitionBytes: 5_000,
    });
    expect(summary.partitions).toBeGreaterThan(10);
    const sessions = summary.workers.reduce((sum, worker) => sum + worker.sessionsCreated, 0);
    expect(summary.workers.length).toBeLessThanOrEqual(2);
    expect(sessions).toBe(summary.workers.length);
    for (const worker of summary.workers) expect(worker.sessionsCreated).toBe(1);
  });
});
