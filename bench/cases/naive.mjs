/**
 * Case: the naive single-thread loop that batchscore replaces. It reads the whole input
 * into one Arrow table, scores it with one session (one intra-op thread) and one
 * `session.run` per `batchRows` rows, and writes one Parquet file with parquet-wasm.
 * Everything runs on the main thread, one step after the other.
 *
 * Params: `{ model, input, format: 'csv' | 'parquet', output, batchRows }`.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  Table,
  Utf8,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import {
  Compression,
  Table as WasmTable,
  WriterPropertiesBuilder,
  readParquet,
  writeParquet,
} from 'parquet-wasm';
import { cpuTimer, runAsChild } from '../lib/child.mjs';
import { FEATURES, outputTable, scoreTable, sessionOptions } from '../lib/scoring.mjs';

await runAsChild(async ({ model, input, format, output, batchRows }) => {
  const started = performance.now();
  const cpuSeconds = cpuTimer();
  const timings = { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 };

  // 1. Read everything.
  let step = performance.now();
  const table = format === 'csv' ? await readCsv(input) : await readParquetFile(input);
  timings.readMs = performance.now() - step;

  // 2. Score it with one session.
  const session = await ort.InferenceSession.create(model, sessionOptions(1));
  const predictions = await scoreTable(session, table, batchRows, timings);
  await session.release();

  // 3. Add the prediction columns and write one file.
  step = performance.now();
  const scored = outputTable(table, predictions, 'naive', BigInt(Date.now()) * 1000n);
  await rm(output, { recursive: true, force: true });
  await mkdir(output, { recursive: true });
  const properties = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).build();
  const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(scored, 'stream')), properties);
  await writeFile(join(output, 'scored.parquet'), bytes);
  timings.writeMs = performance.now() - step;

  const durationMs = performance.now() - started;
  const cpu = cpuSeconds();
  await rm(output, { recursive: true, force: true });
  return {
    rows: table.numRows,
    durationMs,
    rowsPerSecond: (table.numRows / durationMs) * 1000,
    cpuSeconds: cpu,
    partitions: 1,
    timings,
    sessions: 1,
    outputBytes: bytes.byteLength,
  };
});

async function readParquetFile(path) {
  const wasmTable = readParquet(await readFile(path));
  return tableFromIPC(wasmTable.intoIPCStream());
}

/**
 * Reads the benchmark CSV line by line, as hand-written code does: split on commas, strip
 * the quotes of text fields, convert numbers with `Number`. It relies on the generated
 * file's layout (no quoted commas, no missing values).
 */
async function readCsv(path) {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let header;
  const text = { segment: [], customer: [] };
  const ids = [];
  const features = FEATURES.map(() => []);
  for await (const line of lines) {
    if (line === '') continue;
    const fields = line.split(',');
    if (header === undefined) {
      header = fields.map(unquote);
      continue;
    }
    ids.push(BigInt(fields[0]));
    text.segment.push(unquote(fields[1]));
    text.customer.push(unquote(fields[2]));
    for (let j = 0; j < FEATURES.length; j++) features[j].push(Number(fields[3 + j]));
  }
  const expected = ['id', 'segment', 'customer', ...FEATURES];
  if (header?.join(',') !== expected.join(',')) {
    throw new Error(`unexpected CSV header ${header}; expected ${expected}`);
  }

  const columns = {
    id: makeVector(BigInt64Array.from(ids)),
    segment: vectorFromArray(text.segment, new Utf8()),
    customer: vectorFromArray(text.customer, new Utf8()),
  };
  FEATURES.forEach((name, j) => (columns[name] = makeVector(Float64Array.from(features[j]))));
  return new Table(columns);
}

function unquote(field) {
  return field.startsWith('"') ? field.slice(1, -1) : field;
}
