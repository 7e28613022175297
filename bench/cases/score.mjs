/**
 * Case: one batchscore run, `scorePartitioned` or `mapPartitions`, with the options given.
 * Prints the run's figures from its summary and the size of the part files.
 *
 * Params: `{ api: 'score' | 'map', options }`, where `options` are passed as they are
 * (paths absolute). The output directory is deleted afterwards.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mapPartitions, scorePartitioned } from '../../dist/index.js';
import { cpuTimer, runAsChild } from '../lib/child.mjs';

await runAsChild(async ({ api, options }) => {
  await rm(options.output, { recursive: true, force: true });
  const run = api === 'map' ? mapPartitions : scorePartitioned;
  const cpuSeconds = cpuTimer();
  const summary = await run({ ...options, mode: 'overwrite' });
  const cpu = cpuSeconds();
  const sizes = await Promise.all(summary.files.map((file) => stat(join(summary.output, file))));
  await rm(options.output, { recursive: true, force: true });
  return {
    rows: summary.rowsIn,
    durationMs: summary.durationMs,
    rowsPerSecond: summary.rowsPerSecond,
    cpuSeconds: cpu,
    partitions: summary.partitions,
    timings: summary.timings,
    sessions: summary.workers.reduce((sum, worker) => sum + worker.sessionsCreated, 0),
    outputBytes: sizes.reduce((sum, each) => sum + each.size, 0),
  };
});
