/**
 * The cases of the suite, as plain descriptions that bench/run.mjs runs one by one in
 * child processes. A case names the workload (model), the input format, the pipeline that
 * processes it, and how to start it.
 */
import { join } from 'node:path';
import { FEATURES } from './scoring.mjs';

/** Models of bench/models/train.py: compute-bound, I/O-bound, in between. */
export const MODELS = ['forest', 'logistic', 'mlp'];
/** Sections that `--only` accepts besides model names. */
export const SECTIONS = ['main', 'python', 'sweeps', 'writers', 'rss'];
export const INPUTS = ['csv', 'parquet'];

const MIB = 1024 * 1024;
const WORKERS_SWEEP = 'workers × intraOpThreads';
/** Values of each sweep; the library's defaults are among them. */
export const SWEEPS = {
  batchRows: [4096, 16_384, 65_536, 262_144],
  partitionBytes: [4 * MIB, 16 * MIB, 32 * MIB, 64 * MIB],
  writer: [
    ['parquet-wasm', 'none'],
    ['parquet-wasm', 'snappy'],
    ['parquet-wasm', 'zstd'],
    ['parquet-wasm', 'gzip'],
    ['parquetjs-lite', 'none'],
    ['parquetjs-lite', 'snappy'],
  ],
};

/**
 * Builds every case of the sections and models selected.
 *
 * @param paths - `bench`, `models`, `out` folders and `input(rows, format)`
 * @param selection - `{ sections: Set, models: Set, cases: Set | undefined, core: boolean }`.
 *   When `cases` is set, only the cases of those ids run. When `core` is true, only the
 *   cases that feed a target run, as above a million rows.
 */
export function buildCases(rows, paths, selection) {
  const cases = [];
  const add = (entry) => {
    if (!selection.sections.has(entry.section)) return;
    if (entry.model !== undefined && !selection.models.has(entry.model)) return;
    if (selection.core && entry.core !== true) return;
    if (selection.cases !== undefined && !selection.cases.has(entry.id)) return;
    cases.push({ ...entry, rows });
  };
  const context = { rows, paths, add };
  for (const model of MODELS) mainCases(context, model);
  for (const input of INPUTS) add(floorCase(context, input));
  for (const model of MODELS) pythonCases(context, model);
  sweepCases(context);
  add(writersCase(context));
  return cases;
}

function mainCases({ paths, add }, model) {
  const modelPath = join(paths.models, `${model}.onnx`);
  const core = model === 'forest' || model === 'logistic';
  add({
    id: `${model}/parquet/ceiling`, section: 'main', model, input: 'parquet',
    pipeline: 'inference ceiling', core: model === 'forest',
    script: 'ceiling.mjs',
    params: { model: modelPath, input: paths.input('parquet'), workers: 2, batchRows: 65_536 },
  });
  for (const input of INPUTS) {
    const base = { section: 'main', model, input };
    add({
      ...base, id: `${model}/${input}/batchscore`, pipeline: 'batchscore', core,
      alsoInSweep: input === 'parquet' ? WORKERS_SWEEP : undefined, value: '2 × 1 (default)',
      ...scoreCase(paths, model, input, {}),
    });
    // At 10M rows the naive loop over CSV keeps every row in JS arrays and runs for
    // minutes, so runs above 1M rows keep only its Parquet case.
    add({
      ...base, id: `${model}/${input}/naive`, pipeline: 'naive loop',
      core: model === 'forest' && input === 'parquet',
      script: 'naive.mjs',
      params: { model: modelPath, input: paths.input(input), format: input, batchRows: 65_536 },
    });
    add({
      ...base, id: `${model}/${input}/session-per-partition`, pipeline: 'session per partition',
      ...sessionPerPartitionCase(paths, model, input, {}),
    });
    add({
      ...base, id: `${model}/${input}/one-session`, pipeline: '1 worker × 2 intra-op threads',
      alsoInSweep: input === 'parquet' ? WORKERS_SWEEP : undefined, value: '1 × 2',
      ...scoreCase(paths, model, input, { workers: 1, intraOpThreads: 2 }),
    });
  }
}

function floorCase({ paths }, input) {
  return {
    id: `io-floor/${input}`, section: 'main', model: 'logistic', input,
    pipeline: 'I/O floor (no model)', core: true, script: 'score.mjs',
    params: {
      api: 'map',
      options: { input: paths.input(input), worker: join(paths.bench, 'workers', 'identity.mjs') },
    },
  };
}

function pythonCases({ paths, add }, model) {
  const pipelines = [
    ['dask-csv', 'csv', 'Dask map_partitions'],
    ['dask-parquet', 'parquet', 'Dask map_partitions'],
    ['pandas-csv', 'csv', 'pandas read_csv chunks'],
  ];
  for (const [pipeline, input, label] of pipelines) {
    add({
      id: `${model}/${input}/${pipeline.split('-')[0]}`, section: 'python', model, input,
      pipeline: label, core: pipeline.startsWith('dask') && model !== 'mlp',
      python: [
        '--pipeline', pipeline,
        '--model', join(paths.models, `${model}.pkl`),
        '--input', paths.input(input),
        '--workers', '2',
      ],
    });
  }
}

function sweepCases({ paths, add }) {
  for (const model of MODELS) {
    // 2 × 1 and 1 × 2 run in the main section. Three workers on two cores tests whether
    // a worker's waits (reads, fsync) leave a core idle that a third worker could use.
    for (const workers of [1, 3]) {
      add({
        id: `${model}/parquet/workers-${workers}x1`, section: 'sweeps', model, input: 'parquet',
        sweep: WORKERS_SWEEP, value: `${workers} × 1`, pipeline: 'batchscore',
        ...scoreCase(paths, model, 'parquet', { workers, intraOpThreads: 1 }),
      });
    }
    for (const batchRows of SWEEPS.batchRows) {
      add({
        id: `${model}/parquet/batch-${batchRows}`, section: 'sweeps', model, input: 'parquet',
        sweep: 'batchRows', value: batchRows, pipeline: 'batchscore',
        ...scoreCase(paths, model, 'parquet', { batchRows }),
      });
    }
  }
  for (const model of ['forest', 'logistic']) {
    for (const input of INPUTS) {
      for (const partitionBytes of SWEEPS.partitionBytes) {
        add({
          id: `${model}/${input}/partition-${partitionBytes / MIB}MiB`, section: 'sweeps', model,
          input, sweep: 'partitionBytes', value: `${partitionBytes / MIB} MiB`,
          pipeline: 'batchscore', ...scoreCase(paths, model, input, { partitionBytes }),
        });
      }
      // The classic mistake costs one session per partition, so it shows at small sizes.
      if (model === 'forest') {
        const partitionBytes = SWEEPS.partitionBytes[0];
        add({
          id: `${model}/${input}/session-per-partition-${partitionBytes / MIB}MiB`,
          section: 'sweeps', model, input, sweep: 'partitionBytes',
          value: `${partitionBytes / MIB} MiB`, pipeline: 'session per partition',
          ...sessionPerPartitionCase(paths, model, input, { partitionBytes }),
        });
      }
    }
  }
  for (const [parquetEngine, compression] of SWEEPS.writer) {
    add({
      id: `logistic/parquet/${parquetEngine}-${compression}`, section: 'sweeps',
      model: 'logistic', input: 'parquet', sweep: 'parquetEngine, compression',
      value: `${parquetEngine}, ${compression}`, pipeline: 'batchscore',
      ...scoreCase(paths, 'logistic', 'parquet', { parquetEngine, compression }),
    });
  }
}

function writersCase({ rows, paths }) {
  return {
    id: 'writers', section: 'writers', pipeline: 'tinybench', script: 'writers.mjs',
    params: {
      input: paths.input('parquet'),
      // parquetjs-lite writes about 10,000 rows/s, so a smoke run writes fewer rows.
      rows: rows < 1_000_000 ? 16_384 : 65_536,
      dir: join(paths.out, 'writers'),
      iterations: 3,
      timeMs: 2000,
    },
  };
}

/** Builds a `mapPartitions` case whose worker creates a session for every partition. */
function sessionPerPartitionCase(paths, model, input, overrides) {
  return {
    script: 'score.mjs',
    params: {
      api: 'map',
      options: {
        input: paths.input(input),
        worker: join(paths.bench, 'workers', 'session-per-partition.mjs'),
        workerOptions: {
          model: join(paths.models, `${model}.onnx`),
          batchRows: 65_536,
          modelVersion: 'bench',
          scoredAtMicros: '1700000000000000',
        },
        ...overrides,
      },
    },
  };
}

/** Builds a `scorePartitioned` case with batchscore's defaults except `overrides`. */
function scoreCase(paths, model, input, overrides) {
  return {
    script: 'score.mjs',
    params: {
      api: 'score',
      options: {
        model: join(paths.models, `${model}.onnx`),
        input: paths.input(input),
        features: FEATURES,
        ...overrides,
      },
    },
  };
}
