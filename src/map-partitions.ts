import { resolve } from 'node:path';
import type { RunSummary } from './events.js';
import type { MapPartitionsOptions } from './options.js';
import { checkModuleExists, hashFile } from './run/fingerprint.js';
import { planRunInput, runPartitioned, validateRunOptions } from './run/run.js';
import { checkString } from './validate.js';

/**
 * Applies a user's worker module to every partition of the input, in the style of Dask's
 * `map_partitions`, and writes one part file per partition with the same commit protocol
 * as {@link scorePartitioned}.
 *
 * @example
 * ```ts
 * // double.mjs
 * import { tableFromArrays } from 'apache-arrow';
 * export function processPartition(table) {
 *   const x = table.getChild('x').toArray();
 *   return tableFromArrays({ x, doubled: x.map((v) => v * 2) });
 * }
 * // main.ts
 * await mapPartitions({ input: 'in.parquet', output: 'out/', worker: './double.mjs' });
 * ```
 */
export async function mapPartitions(options: MapPartitionsOptions): Promise<RunSummary> {
  validateRunOptions(options);
  checkString('worker', options.worker, false);
  await checkModuleExists(options.worker, 'worker');
  const plan = await planRunInput(options);
  const module = resolve(options.worker);
  return runPartitioned(options, plan, {
    handler: { kind: 'map', module, options: options.workerOptions },
    metadata: {},
    rejectBudget: { maxRows: 0, maxFraction: undefined },
    labels: {},
    settings: { module, moduleSha256: await hashFile(module), options: options.workerOptions },
  });
}
