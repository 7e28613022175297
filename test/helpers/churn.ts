import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared-data.js';

/** The churn example's committed model. */
export const churnModel = join(repoRoot, 'examples', 'churn', 'model', 'churn.onnx');

/** Writes `rows` synthetic customers with the example's deterministic generator. */
export function generateCustomers(out: string, rows: number, format: 'csv' | 'jsonl' = 'csv') {
  const script = join(repoRoot, 'examples', 'churn', 'generate.mjs');
  execFileSync(process.execPath, [
    script, '--rows', String(rows), '--seed', '7', '--out', out, '--format', format, '--quiet',
  ]);
}
