/**
 * Case: the Parquet writers compared in one process with tinybench. Each task writes the
 * same scored table (the first `rows` rows of the input Parquet file, with prediction
 * columns added) through batchscore's own part writer. So a task costs what one worker
 * pays per part with that `parquetEngine` and `compression`. That is encoding, writing
 * the file, fsync and the file's sha256.
 *
 * Two more tasks write with parquet-wasm's default writer properties, which build a
 * dictionary for every column, to measure batchscore's choice of text-only dictionaries.
 *
 * Params: `{ input (Parquet), rows, dir, iterations, timeMs }`: each task runs at least
 * `iterations` times and for at least `timeMs`.
 */
import { openAsBlob } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  Compression,
  ParquetFile,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';
import { Bench } from 'tinybench';
import { writePart } from '../../dist/write/part.js';
import { runAsChild } from '../lib/child.mjs';
import { outputTable } from '../lib/scoring.mjs';

/**
 * Writer, engine label and codec of each task. parquetjs-lite has no zstd, and its gzip
 * is left out for time.
 */
const WRITERS = [
  ['part', 'parquet-wasm', 'none'],
  ['part', 'parquet-wasm', 'snappy'],
  ['part', 'parquet-wasm', 'zstd'],
  ['part', 'parquet-wasm', 'gzip'],
  ['all-dictionaries', 'parquet-wasm, dictionaries on all columns', 'snappy'],
  ['all-dictionaries', 'parquet-wasm, dictionaries on all columns', 'zstd'],
  ['part', 'parquetjs-lite', 'none'],
  ['part', 'parquetjs-lite', 'snappy'],
];

const CODECS = { snappy: Compression.SNAPPY, zstd: Compression.ZSTD };

await runAsChild(async ({ input, rows, dir, iterations, timeMs }) => {
  const table = await scoredTable(input, rows);
  await mkdir(dir, { recursive: true });
  const metadata = { 'batchscore.run_id': 'bench' };

  const bench = new Bench({ time: timeMs, iterations, warmupIterations: 1, throws: true });
  const fileOf = (index) => join(dir, `writer-${index}.parquet`);
  for (const [index, [writer, engine, compression]] of WRITERS.entries()) {
    const path = fileOf(index);
    const format = { format: 'parquet', engine, compression };
    bench.add(`${engine} ${compression}`, writer === 'part'
      ? () => writePart(table, path, format, metadata)
      : () => writeAllDictionaries(table, path, compression));
  }
  await bench.run();

  const writers = [];
  for (const [index, task] of bench.tasks.entries()) {
    const [, engine, compression] = WRITERS[index];
    const { size } = await stat(fileOf(index));
    const meanMs = task.result.latency.mean;
    writers.push({
      engine,
      compression,
      meanMs,
      p50Ms: task.result.latency.p50,
      moePercent: task.result.latency.rme,
      samples: task.result.latency.samplesCount,
      rowsPerSecond: (table.numRows / meanMs) * 1000,
      bytes: size,
    });
  }
  await rm(dir, { recursive: true, force: true });
  return { rows: table.numRows, columns: table.numCols, writers };
});

/** Writes like batchscore's part writer, but with parquet-wasm's default properties. */
async function writeAllDictionaries(table, path, compression) {
  const properties = new WriterPropertiesBuilder().setCompression(CODECS[compression]).build();
  const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties);
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  createHash('sha256').update(bytes).digest('hex');
}

/** Reads the first row groups of the input until `rows` rows and adds scoring columns. */
async function scoredTable(path, rows) {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  let wasmTable;
  try {
    wasmTable = await file.read({ limit: rows, batchSize: 65_536 });
  } finally {
    file.free();
  }
  const table = tableFromIPC(wasmTable.intoIPCStream());
  const count = table.numRows;
  // Deterministic stand-ins for predictions: the writers only see their bytes.
  const probability1 = Float32Array.from(
    { length: count },
    (_, row) => ((row * 7919) % 1000) / 1000,
  );
  const predictions = {
    label: BigInt64Array.from(probability1, (value) => (value >= 0.5 ? 1n : 0n)),
    probability0: probability1.map((value) => 1 - value),
    probability1,
  };
  return outputTable(table, predictions, 'sha256:0123456789ab', 1_700_000_000_000_000n);
}
