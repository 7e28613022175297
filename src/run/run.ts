import { randomUUID } from 'node:crypto';
import { mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { outputLayout, partName, REJECTED_DIR, type OutputLayout } from '../commit/layout.js';
import { lockOutput } from '../commit/lock.js';
import type { PartRecord } from '../commit/manifest.js';
import {
  publishVersion,
  readExisting,
  reusePart,
  writeMarker,
  type ExistingOutput,
} from '../commit/publish.js';
import { OutputError } from '../errors.js';
import type { RunSummary, ScoreEvent } from '../events.js';
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_WRITE_MODE,
  type PartitionedRunOptions,
  type WriteMode,
} from '../options.js';
import type { InputPlan, PartitionSource } from '../plan/types.js';
import { VERSION } from '../version.js';
import type { HandlerSpec, PartitionTask, TaskResult, WorkerConfig } from '../worker/protocol.js';
import { partExtension } from '../write/part.js';
import { dispatch } from './dispatch.js';
import { Fingerprinter, hashJson } from './fingerprint.js';
import { resolvePartFormat, settingsKey } from './settings-key.js';
import { exists, prepareVersion, type PreparedVersion } from './resume.js';
import { workerCount } from './settings.js';
import {
  buildManifest,
  checkRejectedTotal,
  checkRowBalance,
  summarize,
  type Completed,
  type RejectBudget,
  type RunLabels,
} from './summary.js';

export { planRunInput, validateRunOptions } from './settings.js';

/** Run settings that a public entry point adds: the worker's handler and the output's labels. */
export interface RunSpec {
  handler: HandlerSpec;
  /** Fields of the `batchscore` metadata entry, besides the run id, version and scored_at. */
  metadata: Record<string, string>;
  rejectBudget: RejectBudget;
  labels: { modelVersion?: string; modelSha256?: string };
  /** The run's `scored_at`, for scoring runs; `pinned` when the user set it. */
  scoredAt?: { value: Date; pinned: boolean };
  /** Everything besides the input that shapes the output; parts are reused only when equal. */
  settings: unknown;
}

const WORKER_URL = new URL('../worker/worker.js', import.meta.url);

/**
 * Runs every partition of `plan` on a worker pool, writes the parts into a new version
 * of the output and publishes it. Nothing is published unless every partition succeeds.
 */
export async function runPartitioned(
  options: PartitionedRunOptions,
  plan: InputPlan,
  spec: RunSpec,
): Promise<RunSummary> {
  const started = performance.now();
  const emit = eventEmitter(options.onEvent);
  options.signal?.throwIfAborted();
  const mode = options.mode ?? DEFAULT_WRITE_MODE;
  const layout = outputLayout(resolve(options.output));
  const format = resolvePartFormat(options);
  const key = settingsKey(spec.settings, format);

  await checkOverlap(layout, plan.files);
  await createParent(layout);
  const lock = await lockOutput(layout.lock, options.runId ?? 'starting');
  try {
    const existing = await readExisting(layout);
    checkMode(mode, existing, layout);
    const prepared = await prepareVersion(layout, mode, existing, {
      runId: options.runId ?? defaultRunId(spec, key),
      settingsKey: key,
      scoredAt: spec.scoredAt,
    });
    const labels: RunLabels = {
      runId: prepared.runId,
      output: layout.output,
      settingsKey: key,
      ...spec.labels,
      scoredAt: prepared.scoredAt?.toISOString(),
    };
    const config: WorkerConfig = {
      handler: withScoredAt(spec.handler, prepared.scoredAt),
      ...format,
      metadata: partMetadata(spec, labels),
      maxRejectedRows: spec.rejectBudget.maxFraction === undefined
        ? spec.rejectBudget.maxRows
        : undefined,
    };
    emit({ type: 'run-start', runId: labels.runId, partitions: plan.partitionCount ?? 0, rowsPlanned: plan.rows });

    const workers = workerCount(options);
    const results = await runPool(options, plan, config, prepared, labels, workers, emit, started);
    const summary = summarize(results, labels, started, workers);
    checkRejectedTotal(summary, spec.rejectBudget, prepared.version.rejectedDir);
    checkRowBalance(summary, spec.handler.kind === 'score');
    await publishVersion(layout, prepared.version, buildManifest(summary, results, labels), existing);
    emit({ type: 'commit', files: summary.files.length });
    emit({ type: 'run-end', summary });
    return summary;
  } catch (error) {
    // The staged parts stay in the hidden versions folder, where a `resume` run picks
    // them up and the next successful run deletes them.
    const typed = error instanceof Error ? error : new Error(String(error));
    emit({ type: 'run-failed', error: typed });
    throw typed;
  } finally {
    await lock.release();
  }
}

async function runPool(
  options: PartitionedRunOptions,
  plan: InputPlan,
  config: WorkerConfig,
  prepared: PreparedVersion,
  labels: RunLabels,
  workers: number,
  emit: (event: ScoreEvent) => void,
  started: number,
): Promise<Completed[]> {
  const pool = new Piscina({
    filename: WORKER_URL.href,
    minThreads: workers,
    maxThreads: workers,
    workerData: config,
    // Workers await onnxruntime and file I/O between tasks, so they must keep an event loop.
    atomics: 'disabled',
    idleTimeout: Number.MAX_SAFE_INTEGER,
  });
  const parts = new PartBook(prepared, labels, partExtension(config.format));
  try {
    return await dispatch({
      pool,
      plan,
      workers,
      retry: {
        maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
        retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
        maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
        partitionTimeoutMs: options.partitionTimeoutMs,
      },
      signal: options.signal,
      emit,
      started,
      task: (partition, source, attempt) => parts.task(partition, source, attempt),
      reuse: (partition, source) => parts.reuse(partition, source),
      complete: (partition, source, result, attempts, latencyMs) =>
        parts.complete(partition, source, result, attempts, latencyMs),
    });
  } finally {
    await pool.destroy();
  }
}

/**
 * Keeps the records of a version's parts: builds worker tasks, writes a completion
 * marker for each finished part and finds parts that need not be computed again.
 */
class PartBook {
  private readonly fingerprints: Fingerprinter;

  constructor(
    private readonly prepared: PreparedVersion,
    private readonly labels: RunLabels,
    private readonly extension: string,
  ) {
    this.fingerprints = new Fingerprinter(labels.settingsKey);
  }

  task(partition: number, source: PartitionSource, attempt: number): PartitionTask {
    const name = partName(partition);
    return {
      partition,
      source,
      partPath: join(this.prepared.version.dir, `${name}${this.extension}`),
      rejectedPath: join(this.prepared.version.rejectedDir, `${name}.jsonl`),
      attempt,
    };
  }

  async reuse(partition: number, source: PartitionSource): Promise<Completed | null> {
    const input = await this.fingerprints.fingerprint(source);
    const key = this.fingerprints.key(input);
    if (key === null) return null;
    const file = `${partName(partition)}${this.extension}`;
    const { version, finished, committed } = this.prepared;

    // 1. A part that the interrupted run being continued already finished.
    const done = finished.get(file);
    if (done?.key === key && (await exists(join(version.dir, file), done.bytes))) {
      return reusedResult(done);
    }

    // 2. A part of the committed output computed from the same input and settings.
    const previous = committed?.parts.get(key);
    if (committed == null || previous === undefined) return null;
    if (!(await exists(join(committed.dir, previous.file), previous.bytes))) return null;
    await reusePart(committed.dir, previous, version, file);
    const record: PartRecord = {
      ...previous,
      file,
      partition,
      input,
      rejectedFile: previous.rejectedFile === undefined ? undefined : rejectedName(partition),
    };
    await writeMarker(version, record);
    return reusedResult(record);
  }

  async complete(
    partition: number,
    source: PartitionSource,
    result: Extract<TaskResult, { ok: true }>,
    attempts: number,
    latencyMs: number,
  ): Promise<Completed> {
    const input = await this.fingerprints.fingerprint(source);
    const record: PartRecord = {
      file: `${partName(partition)}${this.extension}`,
      partition,
      key: this.fingerprints.key(input),
      input,
      rowsIn: result.rowsIn,
      rowsOut: result.rowsOut,
      rowsRejected: result.rowsRejected,
      bytes: result.bytes,
      sha256: result.sha256,
      runId: this.labels.runId,
    };
    if (result.rejectedWritten) record.rejectedFile = rejectedName(partition);
    if (this.labels.scoredAt !== undefined) record.scoredAt = this.labels.scoredAt;
    await writeMarker(this.prepared.version, record);
    return {
      record,
      partition,
      rowsIn: result.rowsIn,
      rowsOut: result.rowsOut,
      rowsRejected: result.rowsRejected,
      bytes: result.bytes,
      threadId: result.threadId,
      timings: result.timings,
      reused: false,
      attempts,
      latencyMs,
      sessionsCreated: result.sessionsCreated,
    };
  }
}

function reusedResult(record: PartRecord): Completed {
  return {
    record,
    partition: record.partition,
    rowsIn: record.rowsIn,
    rowsOut: record.rowsOut,
    rowsRejected: record.rowsRejected,
    bytes: record.bytes,
    threadId: -1,
    timings: { readMs: 0, convertMs: 0, inferMs: 0, writeMs: 0 },
    reused: true,
    attempts: 0,
    latencyMs: 0,
    sessionsCreated: 0,
  };
}

function rejectedName(partition: number): string {
  return `${REJECTED_DIR}/${partName(partition)}.jsonl`;
}

function checkMode(mode: WriteMode, existing: ExistingOutput, layout: OutputLayout): void {
  // batchscore replaces only what it wrote: a link to a version folder. A folder of other
  // files at the output path is never moved or deleted, in any mode.
  if (existing.kind === 'directory' && existing.entries.length > 0) {
    throw new OutputError('ERR_OUTPUT_EXISTS', 'The output path is a directory that batchscore did not write', {
      file: layout.output,
      value: existing.entries.slice(0, 3).join(', '),
      fix: 'Choose a new output path, or empty or remove that directory yourself',
    });
  }
  if (mode === 'fail-if-exists' && existing.kind === 'version') {
    throw new OutputError('ERR_OUTPUT_EXISTS', 'The output already exists', {
      file: layout.output,
      fix: 'Pass mode "overwrite" (--mode overwrite) to replace it, "resume" to reuse ' +
        'unchanged parts, or choose another directory',
    });
  }
}

/**
 * Rejects an output that would swallow its own input or the working directory: a
 * publish deletes older versions, and a link cannot replace a folder in use.
 */
async function checkOverlap(layout: OutputLayout, files: readonly string[]): Promise<void> {
  const roots = [layout.output, layout.versions];
  const inside = (path: string) => roots.some((root) => {
    const rel = relative(root, path);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  const real = await Promise.all(files.map((file) => realpath(file).catch(() => file)));
  const clash = [...files, ...real].find(inside);
  if (clash !== undefined) {
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', 'An input file is inside the output', {
      file: clash,
      fix: 'Write the output to a path outside the input files',
    });
  }
  if (inside(process.cwd()) || relative(layout.output, process.cwd()) === '') {
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', 'The output is the working directory or contains it', {
      file: layout.output,
      fix: 'Choose an output path below the working directory, such as ./scored',
    });
  }
}

async function createParent(layout: OutputLayout): Promise<void> {
  try {
    await mkdir(dirname(layout.output), { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', `Cannot create the output's parent: ${reason}`, {
      file: layout.output,
      fix: 'Choose an output path whose parent this user can create and write',
      cause: error,
    });
  }
}

/**
 * Returns a random run id, or one derived from a pinned `scored_at` and the settings, so
 * that a rerun with the same pinned time writes byte-identical part files.
 */
function defaultRunId(spec: RunSpec, settingsKey: string): string {
  if (spec.scoredAt?.pinned !== true) return randomUUID();
  const hex = hashJson({ scoredAt: spec.scoredAt.value.toISOString(), settingsKey });
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)]
    .join('-');
}

function withScoredAt(handler: HandlerSpec, scoredAt: Date | undefined): HandlerSpec {
  if (handler.kind !== 'score' || scoredAt === undefined) return handler;
  return { ...handler, scoredAtMicros: (BigInt(scoredAt.getTime()) * 1000n).toString() };
}

/**
 * Builds the key-value metadata of every part: one `batchscore` entry holding a JSON
 * object. One entry, because parquet-wasm 0.8 writes several entries in an order that
 * depends on what its WebAssembly instance did before, so reruns would differ in bytes.
 */
function partMetadata(spec: RunSpec, labels: RunLabels): Record<string, string> {
  const fields: Record<string, string> = { ...spec.metadata, version: VERSION, run_id: labels.runId };
  if (labels.scoredAt !== undefined) fields.scored_at = labels.scoredAt;
  return { batchscore: JSON.stringify(fields) };
}

function eventEmitter(listener: ((event: ScoreEvent) => void) | undefined) {
  return (event: ScoreEvent): void => {
    try {
      listener?.(event);
    } catch {
      // A listener's failure must not fail or corrupt the run; listeners are documented
      // as not throwing.
    }
  };
}
