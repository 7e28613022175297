import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Folder of third-party test data (the Telco churn CSV, exported ONNX models and
 * apache/parquet-testing files). Set BATCHSCORE_SHARED_DATA to use another copy.
 */
export const sharedDataDir = process.env.BATCHSCORE_SHARED_DATA ?? join(repoRoot, '..', 'shared', 'data');

/** True when the shared data folder exists. Tests that need it skip otherwise. */
export const hasSharedData = existsSync(sharedDataDir);

if (!hasSharedData) {
  process.stderr.write(
    `Skipping tests on third-party data: ${sharedDataDir} does not exist. ` +
      'Set BATCHSCORE_SHARED_DATA to the folder that holds telco-churn.csv, models/ ' +
      'and parquet-testing/.\n',
  );
}

/** Absolute path of a file in the shared data folder. */
export function sharedPath(...parts: string[]): string {
  return join(sharedDataDir, ...parts);
}

export { repoRoot };
