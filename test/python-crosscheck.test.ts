import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { scorePartitioned } from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { tempDir } from './helpers/output.js';
import { repoRoot } from './helpers/shared-data.js';

const python = join(repoRoot, '.venv', 'bin', 'python');
const checker = join(repoRoot, 'test', 'py', 'check_parts.py');
const hasPython = existsSync(python);
const required = process.env.BATCHSCORE_REQUIRE_PYTHON === '1';

if (!hasPython && !required) {
  process.stderr.write(
    'Skipping the pyarrow cross-check: .venv/bin/python does not exist. ' +
      'Run scripts/python-env.sh to create it.\n',
  );
}

interface CheckSummary {
  ok: boolean;
  rows: number;
  columns: { name: string; type: string }[];
  metadata: Record<string, string>;
}

async function checkParts(dir: string, rows: number) {
  const { stdout } = await promisify(execFile)(python, [checker, dir, '--expect-rows', String(rows)]);
  const summary = JSON.parse(stdout) as CheckSummary;
  const types = Object.fromEntries(summary.columns.map((column) => [column.name, column.type]));
  return { ...summary, types };
}

describe.skipIf(!hasPython && !required)('pyarrow reads the output', () => {
  let csv: string;
  let dir: string;

  beforeAll(async () => {
    expect(existsSync(python), 'scripts/python-env.sh must have created .venv').toBe(true);
    dir = await tempDir();
    csv = join(dir, 'customers.csv');
    generateCustomers(csv, 5000);
  });

  for (const outputFormat of ['parquet', 'arrow'] as const) {
    it(`reads ${outputFormat} parts with the right types`, async () => {
      const output = join(dir, outputFormat);
      const summary = await scorePartitioned({
        model: churnModel, input: csv, output, outputFormat, modelVersion: 'churn-v1',
        partitionBytes: 50_000,
      });
      const checked = await checkParts(output, 5000);
      expect(checked.ok).toBe(true);
      expect(checked.rows).toBe(5000);
      expect(checked.types.customer_id).toBe('string');
      expect(checked.types.age).toBe('int64');
      expect(checked.types.total_charges).toBe('double');
      expect(checked.types.label).toBe('int64');
      expect(checked.types.probability_1).toBe('float');
      expect(checked.types.model_version).toBe('string');
      expect(checked.types.scored_at).toBe('timestamp[us, tz=UTC]');
      expect(checked.metadata['batchscore.model_version']).toBe('churn-v1');
      expect(checked.metadata['batchscore.model_sha256']).toBe(summary.modelSha256);
      expect(checked.metadata['batchscore.run_id']).toBe(summary.runId);
    });
  }

  it('reads parquet parts with DuckDB through the output link', async () => {
    const output = join(dir, 'parquet');
    const query = `SELECT count(*), typeof(any_value(scored_at)), typeof(any_value(label)),
      typeof(any_value(probability_1)), count(DISTINCT model_version)
      FROM read_parquet('${output}/*.parquet')`;
    const script = `import duckdb, json; print(json.dumps(duckdb.sql(${JSON.stringify(query)}).fetchone()))`;
    const { stdout } = await promisify(execFile)(python, ['-c', script]);
    expect(JSON.parse(stdout)).toEqual([5000, 'TIMESTAMP WITH TIME ZONE', 'BIGINT', 'FLOAT', 1]);
  });
});
