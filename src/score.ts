import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DataError, InvalidOptionError, ModelError } from './errors.js';
import type { RunSummary } from './events.js';
import { resolveFeatures } from './convert/features.js';
import { inspectModel, type ModelInfo } from './model/inspect.js';
import { planOutputs } from './model/output-plan.js';
import { DEFAULT_BATCH_ROWS, DEFAULT_INTRA_OP_THREADS, type ScoreOptions } from './options.js';
import type { InputColumn } from './plan/types.js';
import { checkModuleExists, hashFile } from './run/fingerprint.js';
import type { ScoreSettings } from './run/settings-key.js';
import { planRunInput, runPartitioned, validateRunOptions } from './run/run.js';
import type { HandlerSpec } from './worker/protocol.js';
import { checkInteger, checkString, describe } from './validate.js';

/** Columns that every scored row gets besides the predictions. */
export const LABEL_COLUMNS = ['model_version', 'scored_at'] as const;

/**
 * Scores every row of a dataset with an ONNX model on a pool of worker threads and
 * writes one part file per partition, committed only when every partition succeeded.
 *
 * Each worker creates its onnxruntime session once and reuses it for every partition
 * it handles. Workers read and write their own partitions, so the main thread never keeps
 * the dataset in memory.
 *
 * @example
 * ```ts
 * const summary = await scorePartitioned({
 *   model: 'churn.onnx',
 *   input: 'customers/*.csv',
 *   output: 'scored/',
 * });
 * console.log(summary.rowsOut, summary.files);
 * ```
 */
export async function scorePartitioned(options: ScoreOptions): Promise<RunSummary> {
  validateScoreOptions(options);
  const modelPath = typeof options.model === 'string' ? resolve(options.model) : undefined;
  const modelBytes = await loadModelBytes(options.model);
  const info = inspectOrFail(modelBytes, modelPath);
  const outputs = planOutputs(info);

  if (options.transform !== undefined) await checkModuleExists(options.transform, 'transform');
  const plan = await planRunInput(options);
  // A transform may add or rename columns, so the mapping is then checked in the workers.
  if (options.transform === undefined) {
    resolveFeatures(info, plan.columns, options.features);
    checkPassthrough(options.passthrough, plan.columns, outputs.columns.map((c) => c.name));
  }

  const modelVersion = options.modelVersion ?? `sha256:${info.sha256.slice(0, 12)}`;
  const scoredAt = options.scoredAt ?? new Date();
  const transform = options.transform === undefined ? undefined : resolve(options.transform);
  const handler: HandlerSpec = {
    kind: 'score',
    model: modelPath ?? sharedCopy(modelBytes),
    modelVersion,
    features: options.features,
    passthrough: options.passthrough ?? 'all',
    transform,
    intraOpThreads: options.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS,
    batchRows: options.batchRows ?? DEFAULT_BATCH_ROWS,
    scoredAtMicros: (BigInt(scoredAt.getTime()) * 1000n).toString(),
  };
  return runPartitioned(options, plan, {
    handler,
    metadata: {
      model_version: modelVersion,
      model_sha256: info.sha256,
    },
    rejectBudget: {
      maxRows: options.maxRejectedRows ?? (options.maxRejectedFraction === undefined ? 0 : undefined),
      maxFraction: options.maxRejectedFraction,
    },
    labels: { modelVersion, modelSha256: info.sha256 },
    scoredAt: { value: scoredAt, pinned: options.scoredAt !== undefined },
    settings: {
      modelSha256: info.sha256,
      modelVersion,
      features: options.features ?? null,
      passthrough: handler.passthrough,
      transform: transform === undefined ? null : { path: transform, sha256: await hashFile(transform) },
    } satisfies ScoreSettings,
  });
}

function validateScoreOptions(options: ScoreOptions): void {
  validateRunOptions(options);
  if (typeof options.model !== 'string' && !(options.model instanceof Uint8Array)) {
    throw new InvalidOptionError(
      `Expected \`model\` to be a file path or a Uint8Array, got ${describe(options.model)}`,
    );
  }
  checkString('modelVersion', options.modelVersion);
  checkString('transform', options.transform);
  checkInteger('intraOpThreads', options.intraOpThreads, 1);
  checkInteger('batchRows', options.batchRows, 1);
  checkInteger('maxRejectedRows', options.maxRejectedRows, 0);
  const fraction = options.maxRejectedFraction;
  if (fraction !== undefined && !(typeof fraction === 'number' && fraction >= 0 && fraction <= 1)) {
    throw new InvalidOptionError(
      `Expected \`maxRejectedFraction\` to be a number from 0 to 1, got ${describe(fraction)}`,
    );
  }
  if (
    options.scoredAt !== undefined &&
    (!(options.scoredAt instanceof Date) || Number.isNaN(options.scoredAt.getTime()))
  ) {
    throw new InvalidOptionError(`Expected \`scoredAt\` to be a valid Date, got ${describe(options.scoredAt)}`);
  }
  if (options.features !== undefined && options.features.length === 0) {
    throw new InvalidOptionError('Expected `features` to list at least one column, got an empty list');
  }
}

async function loadModelBytes(model: string | Uint8Array): Promise<Uint8Array> {
  if (typeof model !== 'string') return model;
  try {
    return await readFile(model);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError('ERR_MODEL_LOAD', missing ? 'Model file not found' : 'Cannot read model file', {
      file: resolve(model),
      fix: 'Check the --model path',
      cause: error,
    });
  }
}

function inspectOrFail(bytes: Uint8Array, path: string | undefined): ModelInfo {
  try {
    return inspectModel(bytes);
  } catch (error) {
    if (error instanceof ModelError && path !== undefined && error.location.file === undefined) {
      throw new ModelError(error.code, error.message, { file: path, fix: error.fix, cause: error });
    }
    throw error;
  }
}

function checkPassthrough(
  passthrough: ScoreOptions['passthrough'],
  columns: InputColumn[],
  predictionNames: string[],
): void {
  const available = columns.map((column) => column.name);
  let copied: readonly string[];
  if (passthrough === undefined || passthrough === 'all') copied = available;
  else if (passthrough === 'none') copied = [];
  else copied = passthrough;
  for (const name of copied) {
    if (!available.includes(name)) {
      throw new DataError('ERR_MISSING_COLUMN', 'A passthrough column is not in the input', {
        column: name,
        fix: `Use columns of the input: ${available.join(', ')}`,
      });
    }
  }
  const reserved = [...predictionNames, ...LABEL_COLUMNS];
  const clash = copied.find((name) => reserved.includes(name));
  if (clash !== undefined) {
    throw new InvalidOptionError(`Input column "${clash}" has the name of an output column`, {
      fix: `Rename it, or pass passthrough without it; output columns are ${reserved.join(', ')}`,
    });
  }
}

/** Copies model bytes into shared memory so every worker reads one copy. */
function sharedCopy(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}
