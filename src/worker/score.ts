import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Table, vectorFromArray, type Vector } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { BatchscoreError, ModelError } from '../errors.js';
import type { StageTimings } from '../events.js';
import { buildFeeds, resolveFeatures, type FeatureMapping } from '../convert/features.js';
import { predictionColumns } from '../convert/predictions.js';
import { inspectModel, type ModelInfo } from '../model/inspect.js';
import { arrowType, planOutputs, type OutputPlan } from '../model/output-plan.js';
import { exposeZipMapProbabilities } from '../model/zipmap.js';
import { sourceRowNumber, type ReadResult } from '../read/types.js';
import { constantTimestamp, constantUtf8, keepRows } from './assemble.js';
import type { PartitionContext } from './map.js';
import type { HandlerSpec, RejectedRecord } from './protocol.js';

type ScoreSpec = Extract<HandlerSpec, { kind: 'score' }>;
type Transform = (table: Table) => Table | Promise<Table>;

interface Loaded {
  session: ort.InferenceSession;
  info: ModelInfo;
  plan: OutputPlan;
  transform: Transform | undefined;
}

/** Scores partitions with one onnxruntime session, created on first use. */
export class ScoreHandler {
  /** Sessions this worker created; stays 1 however many partitions it scores. */
  sessionsCreated = 0;
  private loading: Promise<Loaded> | undefined;
  private readonly scoredAt: bigint;

  constructor(private readonly spec: ScoreSpec) {
    this.scoredAt = BigInt(spec.scoredAtMicros);
  }

  /** Creates the session and loads the transform. Runs once; later calls share it. */
  init(): Promise<Loaded> {
    return (this.loading ??= this.load());
  }

  /** Transforms, converts, scores and assembles one partition. */
  async process(read: ReadResult, context: PartitionContext, timings: StageTimings) {
    const loaded = await this.init();

    let started = performance.now();
    const table = await this.applyTransform(loaded, read.table, context);
    const mapping = resolveFeatures(loaded.info, columnsOf(table), this.spec.features);
    timings.convertMs += performance.now() - started;

    const chunks: Table[] = [];
    const rejected: RejectedRecord[] = [];
    for (let offset = 0; offset < table.numRows || chunks.length === 0; offset += this.spec.batchRows) {
      const chunk = table.slice(offset, offset + this.spec.batchRows);
      chunks.push(await this.scoreChunk(loaded, chunk, mapping, read, offset, context, timings, rejected));
    }
    started = performance.now();
    const [head, ...rest] = chunks as [Table, ...Table[]];
    const output = rest.length === 0 ? head : head.concat(...rest);
    timings.writeMs += performance.now() - started;
    return { table: output, rejected };
  }

  private async scoreChunk(
    loaded: Loaded,
    chunk: Table,
    mapping: FeatureMapping,
    read: ReadResult,
    offset: number,
    context: PartitionContext,
    timings: StageTimings,
    rejected: RejectedRecord[],
  ): Promise<Table> {
    // 1. Convert columns to tensors; rows whose values cannot be converted are set aside.
    let started = performance.now();
    const rowNumber = (index: number) => sourceRowNumber(read, offset + index);
    const converted = buildFeeds(chunk, mapping, { rowNumber, file: context.file });
    for (const row of converted.rejected) rejected.push(withValues(row, chunk, rowNumber));
    const kept = keepRows(chunk, converted.keep);
    timings.convertMs += performance.now() - started;

    // 2. Run the model, unless every row was rejected: a zero-row tensor is not valid input
    //    for every operator.
    started = performance.now();
    let predictions: Record<string, Vector>;
    if (kept.numRows === 0) {
      predictions = emptyColumns(loaded.plan);
    } else {
      const outputs = await this.run(loaded, converted.feeds, context);
      predictions = predictionColumns(outputs, loaded.plan, kept.numRows);
    }
    timings.inferMs += performance.now() - started;

    // 3. Assemble the output rows.
    started = performance.now();
    const table = new Table({
      ...this.passthroughColumns(kept),
      ...predictions,
      model_version: constantUtf8(this.spec.modelVersion, kept.numRows),
      scored_at: constantTimestamp(this.scoredAt, kept.numRows),
    });
    timings.writeMs += performance.now() - started;
    return table;
  }

  private async run(loaded: Loaded, feeds: Record<string, ort.Tensor>, context: PartitionContext) {
    try {
      return await loaded.session.run(feeds, loaded.plan.fetch);
    } catch (error) {
      throw new ModelError('ERR_INFERENCE', `The model failed on this partition: ${messageOf(error)}`, {
        file: context.file,
        partition: context.partition,
        fix: 'Check that the input columns hold what the model was trained on',
        cause: error,
      });
    }
  }

  private passthroughColumns(table: Table): Record<string, Vector> {
    const columns: Record<string, Vector> = {};
    const names = this.spec.passthrough === 'all'
      ? table.schema.fields.map((field) => field.name)
      : this.spec.passthrough === 'none' ? [] : this.spec.passthrough;
    for (const name of names) {
      const column = table.getChild(name);
      if (column !== null) columns[name] = column;
    }
    return columns;
  }

  private async applyTransform(loaded: Loaded, table: Table, context: PartitionContext) {
    if (loaded.transform === undefined) return table;
    let result: Table;
    try {
      result = await loaded.transform(table);
    } catch (error) {
      throw new BatchscoreError('ERR_TRANSFORM', `The transform failed: ${messageOf(error)}`, {
        file: this.spec.transform,
        partition: context.partition,
        cause: error,
      });
    }
    if (!(result instanceof Table) || result.numRows !== table.numRows) {
      throw new BatchscoreError('ERR_TRANSFORM', 'The transform must return a Table with as many rows', {
        file: this.spec.transform,
        partition: context.partition,
        value: result instanceof Table ? `${result.numRows} rows for ${table.numRows}` : typeof result,
        fix: 'Return one output row per input row so rejected rows keep their row numbers',
      });
    }
    return result;
  }

  private async load(): Promise<Loaded> {
    const path = typeof this.spec.model === 'string' ? this.spec.model : undefined;
    const bytes = path === undefined ? (this.spec.model as Uint8Array) : await readFile(path);
    const info = inspectModel(bytes);
    const plan = planOutputs(info);
    const modelBytes = plan.exposesZipMap ? exposeZipMapProbabilities(bytes, info) : bytes;
    let session: ort.InferenceSession;
    try {
      const options: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: this.spec.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // onnxruntime logs errors to stderr by itself; they reach the caller as errors.
        logSeverityLevel: 4,
      };
      // A model loaded from its path finds weights stored in external data files next to
      // it. NOTE: a ZipMap model with external data is loaded from bytes and fails.
      session = path !== undefined && modelBytes === bytes
        ? await ort.InferenceSession.create(path, options)
        : await ort.InferenceSession.create(copyToUnshared(modelBytes), options);
    } catch (error) {
      throw new ModelError('ERR_MODEL_LOAD', `onnxruntime cannot load the model: ${messageOf(error)}`, {
        file: path,
        fix: 'Check that the file is an ONNX model that onnxruntime-node supports',
        cause: error,
      });
    }
    this.sessionsCreated += 1;
    return { session, info, plan, transform: await loadTransform(this.spec.transform) };
  }
}

async function loadTransform(path: string | undefined): Promise<Transform | undefined> {
  if (path === undefined) return undefined;
  let loaded: { default?: unknown; transform?: unknown };
  try {
    loaded = (await import(pathToFileURL(path).href)) as typeof loaded;
  } catch (error) {
    throw new BatchscoreError('ERR_TRANSFORM', `Cannot load the transform module: ${messageOf(error)}`, {
      file: path,
      fix: 'Fix the module so that `node` can import it',
      cause: error,
    });
  }
  const transform = loaded.transform ?? loaded.default;
  if (typeof transform !== 'function') {
    throw new BatchscoreError('ERR_TRANSFORM', 'The transform module exports no function', {
      file: path,
      fix: 'Export a function `(table) => table` as default or as `transform`',
    });
  }
  return transform as Transform;
}

function emptyColumns(plan: OutputPlan): Record<string, Vector> {
  return Object.fromEntries(
    plan.columns.map((column) => [column.name, vectorFromArray([], arrowType(column.type))]),
  );
}

function columnsOf(table: Table) {
  return table.schema.fields.map((field) => ({ name: field.name, type: field.type }));
}

function withValues(
  row: RejectedRecord,
  chunk: Table,
  rowNumber: (index: number) => number,
): RejectedRecord {
  for (let index = 0; index < chunk.numRows; index++) {
    if (rowNumber(index) === row.row) return { ...row, values: chunk.get(index)?.toJSON() };
  }
  return row;
}

/** onnxruntime-node reads model bytes from an ArrayBuffer; a shared one is copied out. */
function copyToUnshared(bytes: Uint8Array): Uint8Array {
  return bytes.buffer instanceof SharedArrayBuffer ? new Uint8Array(bytes) : bytes;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
