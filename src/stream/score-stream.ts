import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { InputError, InvalidOptionError, ModelError, OutputError } from '../errors.js';
import { inspectModel, type ModelInfo } from '../model/inspect.js';
import { planOutputs, type OutputPlan } from '../model/output-plan.js';
import { DEFAULT_INTRA_OP_THREADS } from '../options.js';
import { checkStreamOptions } from './check-options.js';
import { decodeJson, featureFields } from './decode.js';
import type { StreamEvent, StreamSummary } from './events.js';
import type { KafkaClient } from './kafka-client.js';
import * as defaults from './options.js';
import type { StreamOptions } from './options.js';
import { createPlatformaticClient } from './platformatic-client.js';
import { RESULT_FIELDS } from './records.js';
import { StreamScorer, type ScorerSettings } from './scorer.js';
import { ScoringPool } from './scoring-pool.js';

/**
 * Scores a Kafka topic with an ONNX model as one member of a consumer group, until
 * `signal` aborts, and returns a summary.
 *
 * Events are read in micro-batches, scored on a pool of worker threads that each load
 * the model once, and each scored event becomes one JSON result on `outputTopic`, keyed
 * like the event. Run more members with the same `groupId` to share the partitions.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGTERM', () => controller.abort());
 * const summary = await scoreStream({
 *   brokers: ['127.0.0.1:9092'],
 *   groupId: 'churn-scorer',
 *   inputTopic: 'customers',
 *   outputTopic: 'churn-scores',
 *   model: 'churn.onnx',
 *   signal: controller.signal,
 * });
 * ```
 * @throws {@link InvalidOptionError} for invalid options, {@link ModelError} when the model
 *   cannot be loaded, {@link InputError} `ERR_INPUT_NOT_FOUND` or {@link OutputError} when a
 *   topic does not exist, and {@link InputError} `ERR_INPUT_UNREADABLE` when the brokers
 *   cannot be reached.
 */
export async function scoreStream(options: StreamOptions): Promise<StreamSummary> {
  checkStreamOptions(options);
  const modelPath = typeof options.model === 'string' ? resolve(options.model) : undefined;
  const modelBytes = await readModel(options.model, modelPath);
  const info = inspectOrFail(modelBytes, modelPath);
  const plan = planOutputs(info);
  const settings = scorerSettings(options, info, plan);
  const emit = eventEmitter(options.onEvent);
  const workers = options.workers ?? availableParallelism();

  let scorer: StreamScorer | undefined;
  const client = createClient(options, settings, (error, fatal) => {
    if (scorer === undefined) emit({ type: 'warning', message: error.message, error });
    else scorer.handleClientError(error, fatal);
  });
  const pool = new ScoringPool({
    workers,
    handler: {
      kind: 'score',
      model: modelPath ?? sharedCopy(modelBytes),
      modelVersion: settings.modelVersion,
      features: options.features,
      passthrough: 'none',
      transform: options.transform === undefined ? undefined : resolve(options.transform),
      intraOpThreads: options.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS,
      batchRows: settings.maxBatchEvents,
      scoredAtMicros: '0',
    },
    fields: settings.decode.fields,
    resultColumns: plan.columns.map((column) => column.name),
    maxRetries: settings.maxRetries,
    retryDelayMs: options.retryDelayMs ?? defaults.DEFAULT_STREAM_RETRY_DELAY_MS,
    batchTimeoutMs: options.batchTimeoutMs ?? defaults.DEFAULT_BATCH_TIMEOUT_MS,
  });

  try {
    await checkTopics(client, settings, options.brokers);
    await pool.load();
    scorer = new StreamScorer(settings, client, pool, emit);
    emit({
      type: 'stream-start',
      groupId: settings.groupId,
      modelVersion: settings.modelVersion,
      workers,
    });
    const summary = await scorer.run(options.signal);
    emit({ type: 'stream-end', summary });
    return summary;
  } catch (error) {
    emit({
      type: 'stream-failed',
      error: error instanceof Error ? error : new Error(String(error)),
    });
    throw error;
  } finally {
    await client.close().catch((error: unknown) => {
      emit({ type: 'warning', message: 'Closing the Kafka client failed', error: error as Error });
    });
    await pool.destroy();
  }
}

function scorerSettings(options: StreamOptions, info: ModelInfo, plan: OutputPlan): ScorerSettings {
  const fields = featureFields(info, options.features);
  const resultColumns = plan.columns.map((column) => column.name);
  const passthrough = options.passthrough ?? [];
  checkPassthrough(passthrough, resultColumns);
  const eventTime = options.eventTime ?? {};
  const window = options.window;
  const maxBatchEvents = options.maxBatchEvents ?? defaults.DEFAULT_MAX_BATCH_EVENTS;
  return {
    groupId: options.groupId,
    inputTopic: options.inputTopic,
    outputTopic: options.outputTopic,
    deadLetterTopic: options.deadLetterTopic ?? `${options.inputTopic}-dlq`,
    lateTopic: options.lateTopic,
    window:
      window === undefined
        ? null
        : {
            topic: window.topic,
            sizeMs: window.sizeMs,
            scoreColumn: scoreColumn(plan, window.scoreColumn),
          },
    modelVersion: options.modelVersion ?? `sha256:${info.sha256.slice(0, 12)}`,
    modelSha256: info.sha256,
    delivery: options.delivery ?? 'at-least-once',
    startFrom: options.startFrom ?? 'earliest',
    maxBatchEvents,
    maxBatchWaitMs: options.maxBatchWaitMs ?? defaults.DEFAULT_MAX_BATCH_WAIT_MS,
    maxBufferedEvents:
      options.maxBufferedEvents ?? Math.max(defaults.DEFAULT_MAX_BUFFERED_EVENTS, maxBatchEvents),
    fetchMaxWaitMs: options.fetchMaxWaitMs ?? defaults.DEFAULT_FETCH_MAX_WAIT_MS,
    fetchPartitionMaxBytes:
      options.fetchPartitionMaxBytes ?? defaults.DEFAULT_FETCH_PARTITION_MAX_BYTES,
    metricsIntervalMs: options.metricsIntervalMs ?? defaults.DEFAULT_METRICS_INTERVAL_MS,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? defaults.DEFAULT_SHUTDOWN_TIMEOUT_MS,
    maxRetries: options.maxRetries ?? defaults.DEFAULT_STREAM_MAX_RETRIES,
    eventTime: {
      maxOutOfOrdernessMs:
        eventTime.maxOutOfOrdernessMs ?? defaults.DEFAULT_MAX_OUT_OF_ORDERNESS_MS,
      allowedLatenessMs: eventTime.allowedLatenessMs ?? 0,
      idlePartitionTimeoutMs:
        eventTime.idlePartitionTimeoutMs ?? defaults.DEFAULT_IDLE_PARTITION_TIMEOUT_MS,
    },
    decode: {
      fields,
      decode: options.decode ?? decodeJson,
      passthrough,
      eventTimeField: eventTime.field,
    },
  };
}

function createClient(
  options: StreamOptions,
  settings: ScorerSettings,
  onError: (error: Error, fatal: boolean) => void,
): KafkaClient {
  const factory = options.kafkaClient ?? createPlatformaticClient;
  const exactlyOnce = settings.delivery === 'exactly-once';
  return factory({
    brokers: [...options.brokers],
    clientId: options.clientId ?? `batchscore-${options.groupId}`,
    groupId: options.groupId,
    sessionTimeoutMs: options.sessionTimeoutMs ?? defaults.DEFAULT_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? defaults.DEFAULT_HEARTBEAT_INTERVAL_MS,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? defaults.DEFAULT_REBALANCE_TIMEOUT_MS,
    isolation: options.isolation ?? 'read_committed',
    ...(exactlyOnce
      ? { transactionalId: options.transactionalId ?? `${options.groupId}-${randomUUID()}` }
      : {}),
    transactionTimeoutMs: options.transactionTimeoutMs ?? defaults.DEFAULT_TRANSACTION_TIMEOUT_MS,
    onError,
  });
}

/** Checks that every topic the scorer reads or writes exists, since it never creates one. */
async function checkTopics(
  client: KafkaClient,
  settings: ScorerSettings,
  brokers: readonly string[],
) {
  const outputs = [settings.outputTopic, settings.deadLetterTopic];
  if (settings.lateTopic !== undefined) outputs.push(settings.lateTopic);
  if (settings.window !== null) outputs.push(settings.window.topic);
  let found: Map<string, number>;
  try {
    found = await client.describeTopics([settings.inputTopic, ...outputs]);
  } catch (error) {
    throw new InputError(
      'ERR_INPUT_UNREADABLE',
      `Cannot read topic metadata from ${brokers.join(', ')}: ` +
        `${error instanceof Error ? error.message : String(error)}`,
      {
        fix: 'Check that the brokers run and that --brokers lists their client listeners',
        cause: error,
      },
    );
  }
  if (!found.has(settings.inputTopic)) {
    throw new InputError(
      'ERR_INPUT_NOT_FOUND',
      `Input topic "${settings.inputTopic}" does not exist`,
      {
        fix: 'Create it, or check the topic name',
      },
    );
  }
  const missing = outputs.filter((topic) => !found.has(topic));
  if (missing.length > 0) {
    throw new OutputError(
      'ERR_OUTPUT_NOT_WRITABLE',
      `Topics ${missing.map((t) => `"${t}"`).join(', ')} ` + 'do not exist',
      { fix: 'Create them: the scorer never creates topics' },
    );
  }
}

/** Picks the result column that windows average. */
function scoreColumn(plan: OutputPlan, requested: string | undefined): string {
  const numeric = plan.columns.filter((column) => column.type !== 'utf8' && column.type !== 'bool');
  if (requested !== undefined) {
    if (numeric.some((column) => column.name === requested)) return requested;
    throw new InvalidOptionError(
      `Expected \`window.scoreColumn\` to name a numeric result column, ` + `got "${requested}"`,
      { fix: `Use one of ${numeric.map((column) => column.name).join(', ')}` },
    );
  }
  const probabilities = numeric.filter((column) => column.name.startsWith('probability_'));
  const positive = probabilities.find(
    (column) => column.name === 'probability_1' || column.name === 'probability_true',
  );
  const chosen = positive ?? probabilities.at(-1) ?? numeric[0];
  if (chosen === undefined) {
    throw new InvalidOptionError('The model has no numeric result column for `window` to average');
  }
  return chosen.name;
}

function checkPassthrough(passthrough: readonly string[], resultColumns: string[]): void {
  const reserved = [...resultColumns, ...RESULT_FIELDS];
  const clash = passthrough.find((name) => reserved.includes(name));
  if (clash !== undefined) {
    throw new InvalidOptionError(`Passthrough field "${clash}" has the name of a result field`, {
      fix: `Leave it out; result fields are ${reserved.join(', ')}`,
    });
  }
}

async function readModel(
  model: string | Uint8Array,
  path: string | undefined,
): Promise<Uint8Array> {
  if (path === undefined) return model as Uint8Array;
  try {
    return await readFile(path);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError(
      'ERR_MODEL_LOAD',
      missing ? 'Model file not found' : 'Cannot read model file',
      {
        file: path,
        fix: 'Check the model path',
        cause: error,
      },
    );
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

/** Copies model bytes into shared memory so every worker reads one copy. */
function sharedCopy(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

function eventEmitter(listener: ((event: StreamEvent) => void) | undefined) {
  return (event: StreamEvent) => {
    try {
      listener?.(event);
    } catch {
      // A listener's failure must not stop the scorer; listeners are documented as not
      // throwing.
    }
  };
}
