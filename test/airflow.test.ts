import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  airflowBin,
  airflowEnv,
  batchscoreCli,
  hasAirflow,
  requireAirflow,
  runAirflow,
  type TimedResult,
} from './helpers/airflow.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { partFiles, readManifest, readOutput, tempDir } from './helpers/output.js';

const DAG_ID = 'batchscore_churn_daily';
const DS = '2026-01-05';
const ROWS = 1000;
// Each `airflow dags test` starts Airflow, parses the DAG and runs one task, which took 13
// to 20 s on a 2-core machine.
const AIRFLOW_TIMEOUT_MS = 300_000;

if (!hasAirflow && !requireAirflow) {
  process.stderr.write(
    `Skipping the Airflow test: ${airflowBin} does not exist. Run scripts/airflow-env.sh ` +
      'to create it, or set BATCHSCORE_REQUIRE_AIRFLOW=1 to fail instead of skipping.\n',
  );
}

/** Returns the column values as text, every column but `scored_at`, the run's time. */
function rows(table: Table): Record<string, string[]> {
  const columns: Record<string, string[]> = {};
  for (const field of table.schema.fields) {
    if (field.name === 'scored_at') continue;
    columns[field.name] = [...(table.getChild(field.name) ?? [])].map((value) => String(value));
  }
  return columns;
}

function explain(result: TimedResult): string {
  const output = `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`;
  return `airflow exited with ${result.code}:\n${output}`;
}

describe.skipIf(!hasAirflow && !requireAirflow)('Airflow example DAG', () => {
  let env: NodeJS.ProcessEnv;
  let dataDir: string;
  const output = () => join(dataDir, 'scored', `dt=${DS}`);

  beforeAll(async () => {
    if (!hasAirflow) return;
    dataDir = await tempDir('batchscore-airflow-data-');
    generateCustomers(join(dataDir, `customers_${DS}.csv`), ROWS);
    env = airflowEnv(await tempDir('batchscore-airflow-home-'), {
      BATCHSCORE_CLI: batchscoreCli,
      BATCHSCORE_CHURN_DIR: dataDir,
      BATCHSCORE_CHURN_MODEL: churnModel,
    });
    const migrate = await runAirflow(['db', 'migrate'], env);
    if (migrate.code !== 0) throw new Error(explain(migrate));
  }, AIRFLOW_TIMEOUT_MS);

  it('finds the Airflow virtualenv', () => {
    expect(hasAirflow, `${airflowBin} is missing; run scripts/airflow-env.sh`).toBe(true);
  });

  it('scores the logical date into its own partition', async () => {
    const result = await runAirflow(['dags', 'test', DAG_ID, DS], env);
    expect(result.code, explain(result)).toBe(0);
    process.stderr.write(`airflow dags test ${DAG_ID} ${DS}: ${result.seconds.toFixed(1)} s\n`);

    expect((await lstat(output())).isSymbolicLink()).toBe(true);
    const counts = { in: ROWS, out: ROWS, rejected: 0 };
    expect(await readManifest(output())).toMatchObject({ rows: counts });
    expect((await readOutput(output())).numRows).toBe(ROWS);
    expect(await readdir(join(dataDir, 'scored'))).toEqual([`.dt=${DS}.versions`, `dt=${DS}`]);
  }, AIRFLOW_TIMEOUT_MS);

  it('reruns the date without scoring it again', async () => {
    const before = await readManifest(output());
    const beforeRows = rows(await readOutput(output()));
    const result = await runAirflow(['dags', 'test', DAG_ID, DS], env);
    expect(result.code, explain(result)).toBe(0);

    // The date was up to date, so the task skipped it: the same committed run.
    expect((await readManifest(output())).runId).toBe(before.runId);
    expect(rows(await readOutput(output()))).toEqual(beforeRows);
    expect(await readdir(join(dataDir, 'scored'))).toEqual([`.dt=${DS}.versions`, `dt=${DS}`]);
  }, AIRFLOW_TIMEOUT_MS);

  it('replaces the partition when forced to reprocess', async () => {
    const before = await readManifest(output());
    const beforeParts = await partFiles(output());
    const beforeRows = rows(await readOutput(output()));
    const conf = JSON.stringify({ reprocess: 'all' });
    const result = await runAirflow(['dags', 'test', DAG_ID, DS, '--conf', conf], env);
    expect(result.code, explain(result)).toBe(0);

    // A new run replaced the output: one link, the same rows, no added part. The replaced
    // version stays beside the new one until the next publish.
    expect((await readManifest(output())).runId).not.toBe(before.runId);
    expect(await partFiles(output())).toEqual(beforeParts);
    expect(rows(await readOutput(output()))).toEqual(beforeRows);
    expect((await readOutput(output())).numRows).toBe(ROWS);
    expect(await readdir(join(dataDir, 'scored'))).toEqual([`.dt=${DS}.versions`, `dt=${DS}`]);
    expect(await readdir(join(dataDir, 'scored', `.dt=${DS}.versions`))).toHaveLength(2);
  }, AIRFLOW_TIMEOUT_MS);
});
