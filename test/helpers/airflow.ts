import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessResult } from './output.js';
import { repoRoot } from './shared-data.js';

/** Virtualenv made by scripts/airflow-env.sh; BATCHSCORE_AIRFLOW_VENV moves it. */
export const airflowVenv =
  process.env.BATCHSCORE_AIRFLOW_VENV ?? join(repoRoot, '.cache', 'airflow', '.venv');

/** The virtualenv's `airflow` executable. */
export const airflowBin = join(airflowVenv, 'bin', 'airflow');

/** True when the Airflow virtualenv exists. */
export const hasAirflow = existsSync(airflowBin);

/** True when a missing Airflow virtualenv must fail the test instead of skipping it. */
export const requireAirflow = process.env.BATCHSCORE_REQUIRE_AIRFLOW === '1';

/** Folder of the example DAGs. */
export const dagsFolder = join(repoRoot, 'examples', 'airflow', 'dags');

/**
 * Shell command that runs the batchscore CLI, as the DAG's BATCHSCORE_CLI: the built CLI
 * of this checkout, unless BATCHSCORE_CLI is set.
 */
export const batchscoreCli = process.env.BATCHSCORE_CLI ??
  [process.execPath, join(repoRoot, 'dist', 'cli', 'main.js')].map(shellQuote).join(' ');

/**
 * Environment of an Airflow command: its own AIRFLOW_HOME (configuration and SQLite
 * database), no example DAGs, and the DAG folder of this repository.
 */
export function airflowEnv(home: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_FOLDER: dagsFolder,
    ...extra,
  };
}

/** Output of an Airflow command and its wall time. */
export interface TimedResult extends ProcessResult {
  seconds: number;
}

/** Runs `airflow` with `args` and collects its output. */
export function runAirflow(args: string[], env: NodeJS.ProcessEnv): Promise<TimedResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(airflowBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
