/**
 * Case: the raw inference ceiling. Each of `workers` worker threads creates its own
 * session (one intra-op thread, as batchscore's workers) and runs it over its share of
 * the rows, prebuilt as float32 tensors of `batchRows` rows before timing starts. Only
 * `session.run` is timed, so no pipeline over the same cores can score faster.
 *
 * Params: `{ model, input (Parquet), workers, batchRows, intraOpThreads }`.
 */
import { openAsBlob } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { tableFromIPC } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { cpuTimer, runAsChild } from '../lib/child.mjs';
import { FEATURES, columnAsFloat64, packRows } from '../lib/scoring.mjs';

const WORKER_URL = new URL('./ceiling-worker.mjs', import.meta.url);

await runAsChild(async ({ model, input, workers, batchRows, intraOpThreads = 1 }) => {
  const features = await readFeatures(input);
  const rows = features.length / FEATURES.length;

  // Start every worker, wait until all have built their tensors and warmed up, then
  // start them together so that they compete for the cores as a pool does.
  const threads = [];
  for (let index = 0; index < workers; index++) {
    const first = Math.floor((rows * index) / workers);
    const last = Math.floor((rows * (index + 1)) / workers);
    threads.push(startWorker({ model, features, first, last, batchRows, intraOpThreads }));
  }
  const sessionCreateMs = await Promise.all(threads.map((thread) => thread.ready));
  const cpuSeconds = cpuTimer();
  for (const thread of threads) thread.worker.postMessage('go');
  const results = await Promise.all(threads.map((thread) => thread.done));
  const cpu = cpuSeconds();

  const runMs = Math.max(...results.map((result) => result.runMs));
  return {
    rows,
    durationMs: runMs,
    // The sum of each worker's own rate: a worker that finishes early does not count as idle.
    rowsPerSecond: results.reduce((sum, result) => sum + (result.rows / result.runMs) * 1000, 0),
    wallRowsPerSecond: (rows / runMs) * 1000,
    cpuSeconds: cpu,
    sessionCreateMs,
    perWorker: results,
    partitions: workers,
    sessions: workers,
  };
});

/** Reads the feature columns of a Parquet file, row group by row group, packed as float32. */
async function readFeatures(path) {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  try {
    const groups = file.metadata().rowGroups();
    const rows = groups.reduce((sum, group) => sum + group.numRows(), 0);
    const packed = new Float32Array(new SharedArrayBuffer(rows * FEATURES.length * 4));
    let offset = 0;
    for (let index = 0; index < groups.length; index++) {
      const wasmTable = await file.read({
        rowGroups: [index],
        columns: FEATURES,
        batchSize: 65_536,
      });
      const table = tableFromIPC(wasmTable.intoIPCStream());
      const columns = FEATURES.map((name) => columnAsFloat64(table, name));
      packed.set(packRows(columns, 0, table.numRows), offset);
      offset += table.numRows * FEATURES.length;
    }
    return packed;
  } finally {
    file.free();
  }
}

function startWorker(workerData) {
  const worker = new Worker(WORKER_URL, { workerData });
  let ready;
  const readyPromise = new Promise((resolve) => (ready = resolve));
  const done = new Promise((resolve, reject) => {
    worker.on('message', (message) => {
      if (message.type === 'ready') ready(message.sessionCreateMs);
      else resolve(message);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`ceiling worker exited with ${code}`)));
  });
  return { worker, ready: readyPromise, done };
}
