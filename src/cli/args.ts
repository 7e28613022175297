import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import type { ScoreOptions } from '../options.js';
import type { ColumnType } from '../read/types.js';

/** Help text of `batchscore score`. */
export const SCORE_HELP = `Usage: batchscore score --model FILE --input PATH... --output DIR [options]

Scores every row of the input with an ONNX model and writes part files to DIR.

Required:
  --model FILE            ONNX model file
  --input PATH            input file or quoted glob; repeat for several
  --output DIR            output directory

Model and features:
  --features A,B,...      columns packed in order into the model's single [N, F] input
                          (default: feed each model input from the column of its name)
  --model-version TEXT    value of the model_version column (default: sha256:<12 hex>)
  --transform FILE        ES module whose default export maps an Arrow Table to another,
                          run in each worker before the model
  --passthrough LIST      input columns to copy: all, none, or A,B,... (default: all)

Input:
  --format FMT            parquet, arrow, csv or jsonl (default: from the extension)
  --delimiter CHAR        CSV delimiter (default: ,)
  --column-types A=T,...  CSV/JSONL column types: int64, float64, bool or utf8

Output:
  --output-format FMT     parquet or arrow (default: parquet)
  --mode MODE             fail-if-exists, overwrite or resume (default: fail-if-exists);
                          resume reuses parts whose input and settings are unchanged and
                          continues a run that was killed
  --compression CODEC     snappy, zstd, gzip or none (default: snappy)
  --parquet-engine NAME   parquet-wasm or parquetjs-lite (default: parquet-wasm)
  --scored-at TIME        ISO 8601 time for scored_at (default: now); pin it to make a
                          rerun write identical files
  --run-id ID             run id for the output metadata (default: random UUID)
  --max-rejected N        rows that may fail to convert; they go to _rejected/ (default: 0)
  --max-rejected-fraction F
                          fraction of rows (0 to 1) that may fail to convert

Failures:
  --max-retries N         retries of a partition after a worker crash, a time-out or a
                          transient I/O error (default: 3)
  --retry-delay-ms N      delay before the first retry, doubled for each next one
                          (default: 250)
  --max-retry-delay-ms N  upper bound of the delay between retries (default: 10000)
  --partition-timeout-ms N
                          stop and retry a partition that takes longer (default: none)

Performance:
  --workers N             worker threads (default: available cores)
  --intra-op-threads N    onnxruntime threads per worker (default: 1)
  --partition-bytes N     input bytes per file partition (default: 33554432)
  --partition-rows N      rows per partition of an Arrow stream (default: 250000)
  --batch-rows N          rows per inference call (default: 65536)

Reporting:
  --quiet                 no progress on stderr
  --log-json FILE         append one JSON line per event to FILE

Prints progress to stderr and a JSON summary to stdout. Exits 1 on failure, printing the
error code, and 2 on invalid arguments.
`;

/** Parsed `batchscore score` arguments. */
export interface ScoreArgs {
  options: ScoreOptions;
  quiet: boolean;
  logJson: string | undefined;
}

/** Parses the arguments of `batchscore score`. */
export function parseScoreArgs(argv: string[]): ScoreArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' },
      input: { type: 'string', multiple: true },
      output: { type: 'string' },
      features: { type: 'string' },
      'model-version': { type: 'string' },
      transform: { type: 'string' },
      passthrough: { type: 'string' },
      format: { type: 'string' },
      delimiter: { type: 'string' },
      'column-types': { type: 'string' },
      'output-format': { type: 'string' },
      mode: { type: 'string' },
      compression: { type: 'string' },
      'parquet-engine': { type: 'string' },
      'scored-at': { type: 'string' },
      'run-id': { type: 'string' },
      'max-rejected': { type: 'string' },
      'max-rejected-fraction': { type: 'string' },
      'max-retries': { type: 'string' },
      'retry-delay-ms': { type: 'string' },
      'max-retry-delay-ms': { type: 'string' },
      'partition-timeout-ms': { type: 'string' },
      workers: { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'partition-bytes': { type: 'string' },
      'partition-rows': { type: 'string' },
      'batch-rows': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'log-json': { type: 'string' },
    },
  });
  const model = required(values.model, '--model');
  const input = values.input ?? [];
  if (input.length === 0) throw new InvalidOptionError('Missing --input', { fix: 'Pass --input PATH' });
  const options: ScoreOptions = {
    model,
    input: input.length === 1 ? (input[0] as string) : input,
    output: required(values.output, '--output'),
    features: list(values.features),
    modelVersion: values['model-version'],
    transform: values.transform,
    passthrough: passthrough(values.passthrough),
    format: values.format as ScoreOptions['format'],
    delimiter: values.delimiter,
    columnTypes: columnTypes(values['column-types']),
    outputFormat: values['output-format'] as ScoreOptions['outputFormat'],
    mode: values.mode as ScoreOptions['mode'],
    compression: values.compression as ScoreOptions['compression'],
    parquetEngine: values['parquet-engine'] as ScoreOptions['parquetEngine'],
    scoredAt: date(values['scored-at']),
    runId: values['run-id'],
    maxRejectedRows: integer(values['max-rejected'], '--max-rejected'),
    maxRejectedFraction: fraction(values['max-rejected-fraction'], '--max-rejected-fraction'),
    maxRetries: integer(values['max-retries'], '--max-retries'),
    retryDelayMs: integer(values['retry-delay-ms'], '--retry-delay-ms'),
    maxRetryDelayMs: integer(values['max-retry-delay-ms'], '--max-retry-delay-ms'),
    partitionTimeoutMs: integer(values['partition-timeout-ms'], '--partition-timeout-ms'),
    workers: integer(values.workers, '--workers'),
    intraOpThreads: integer(values['intra-op-threads'], '--intra-op-threads'),
    partitionBytes: integer(values['partition-bytes'], '--partition-bytes'),
    partitionRows: integer(values['partition-rows'], '--partition-rows'),
    batchRows: integer(values['batch-rows'], '--batch-rows'),
  };
  return { options, quiet: values.quiet === true, logJson: values['log-json'] };
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') {
    throw new InvalidOptionError(`Missing ${flag}`, { fix: `Pass ${flag}; see batchscore score --help` });
  }
  return value;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

function passthrough(value: string | undefined): ScoreOptions['passthrough'] {
  if (value === undefined || value === 'all' || value === 'none') return value;
  return list(value);
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidOptionError(`Expected ${flag} to be a whole number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function fraction(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !(parsed >= 0 && parsed <= 1)) {
    throw new InvalidOptionError(`Expected ${flag} to be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function date(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) {
    throw new InvalidOptionError(
      `Expected --scored-at to be an ISO 8601 time, got ${JSON.stringify(value)}`,
      { fix: 'Use a form such as 2026-01-31T02:00:00Z' },
    );
  }
  return parsed;
}

const COLUMN_TYPES: readonly ColumnType[] = ['int64', 'float64', 'bool', 'utf8'];

function columnTypes(value: string | undefined): Record<string, ColumnType> | undefined {
  if (value === undefined) return undefined;
  const types: Record<string, ColumnType> = {};
  for (const pair of list(value) ?? []) {
    const [name, type] = pair.split('=');
    if (name === undefined || !COLUMN_TYPES.includes(type as ColumnType)) {
      throw new InvalidOptionError(
        `Expected --column-types entries like name=float64, got ${JSON.stringify(pair)}`,
        { fix: `Use one of ${COLUMN_TYPES.join(', ')} as the type` },
      );
    }
    types[name] = type as ColumnType;
  }
  return types;
}
