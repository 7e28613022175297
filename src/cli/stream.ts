/**
 * `batchscore stream`: scores a Kafka topic until SIGINT or SIGTERM, printing one
 * progress line per `metrics` event and each dead letter on stderr, and the summary as
 * JSON on stdout.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { scoreStream } from '../stream/score-stream.js';
import type { StreamEvent, StreamMetrics } from '../stream/events.js';
import type { DeliveryGuarantee, StreamOptions } from '../stream/options.js';

/** Help text of `batchscore stream`. */
export const STREAM_HELP = `Usage: batchscore stream --brokers LIST --group ID \\
         --input-topic TOPIC --output-topic TOPIC --model FILE [options]

Scores each event of a Kafka topic as a member of a consumer group and writes one JSON
result per event to the output topic, until SIGINT or SIGTERM. Events are JSON objects
whose fields are the model's features. Topics must exist; the scorer creates none.

Required:
  --brokers HOST:PORT,...     bootstrap brokers
  --group ID                  consumer group; run more members to share the partitions
  --input-topic TOPIC         topic to read events from
  --output-topic TOPIC        topic for the results
  --model FILE                ONNX model file

Topics:
  --dead-letter-topic TOPIC   events that cannot be scored (default: <input-topic>-dlq)
  --late-topic TOPIC          late events (default: late events are scored and counted)
  --window-topic TOPIC        mean score per key and tumbling window (default: off)
  --window-size-ms N          window length in milliseconds (required with --window-topic)
  --window-score-column NAME  result column to average (default: probability_1 or the
                              first numeric result column)

Model:
  --model-version TEXT        value of model_version (default: sha256:<12 hex>)
  --features A,B,...          fields packed in order into the model's single [N, F] input
  --passthrough A,B,...       event fields copied into each result
  --transform FILE            ES module run in each worker before the model

Delivery:
  --delivery MODE             at-least-once or exactly-once (default: at-least-once)
  --transactional-id ID       transactional id of this member for exactly-once; reuse it
                              when the member restarts (default: <group>-<random UUID>)
  --start-from POS            earliest or latest, for partitions without a committed
                              offset (default: earliest)

Batching and workers:
  --max-batch-events N        events per micro-batch (default: 500)
  --max-batch-wait-ms N       longest wait of a micro-batch for more events (default: 100)
  --workers N                 worker threads (default: available cores)
  --intra-op-threads N        onnxruntime threads per worker (default: 1)
  --max-retries N             retries of a failed micro-batch before its events are tried
                              one by one (default: 2)

Event time:
  --event-time-field NAME     field with the event time (default: the record timestamp)
  --max-out-of-orderness-ms N watermark = newest event time - N (default: 5000)
  --allowed-lateness-ms N     how far behind the watermark an event still counts (default: 0)
  --idle-partition-timeout-ms N  time without events before a partition's watermark
                              follows the clock (default: 30000)

Group:
  --session-timeout-ms N      group session timeout (default: 30000)
  --heartbeat-interval-ms N   heartbeat interval (default: 3000)
  --client-id ID              client id sent to the brokers (default: batchscore-<group>)

Reporting:
  --metrics-interval-ms N     time between progress lines (default: 5000)
  --quiet                     no progress on stderr
  --log-json FILE             append one JSON line per event to FILE

Prints the summary as JSON on stdout when it stops. Exits 1 on failure, printing the
error code, and 2 on invalid arguments.
`;

/** Parsed `batchscore stream` arguments. */
export interface StreamArgs {
  options: StreamOptions;
  quiet: boolean;
  logJson: string | undefined;
}

/** Parses the arguments of `batchscore stream`. */
export function parseStreamArgs(argv: string[]): StreamArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: FLAGS,
  });
  const text = (name: keyof typeof FLAGS) => values[name] as string | undefined;
  const number = (name: keyof typeof FLAGS) => integer(text(name), `--${name}`);
  const windowTopic = text('window-topic');
  const windowSize = number('window-size-ms');
  if (windowTopic !== undefined && windowSize === undefined) {
    throw new InvalidOptionError('Missing --window-size-ms', {
      fix: 'Pass it with --window-topic',
    });
  }
  const options: StreamOptions = {
    brokers: list(required(text('brokers'), '--brokers')) ?? [],
    groupId: required(text('group'), '--group'),
    inputTopic: required(text('input-topic'), '--input-topic'),
    outputTopic: required(text('output-topic'), '--output-topic'),
    model: required(text('model'), '--model'),
    deadLetterTopic: text('dead-letter-topic'),
    lateTopic: text('late-topic'),
    window:
      windowTopic === undefined
        ? undefined
        : { topic: windowTopic, sizeMs: windowSize!, scoreColumn: text('window-score-column') },
    modelVersion: text('model-version'),
    features: list(text('features')),
    passthrough: list(text('passthrough')),
    transform: text('transform'),
    delivery: text('delivery') as DeliveryGuarantee | undefined,
    transactionalId: text('transactional-id'),
    startFrom: text('start-from') as StreamOptions['startFrom'],
    maxBatchEvents: number('max-batch-events'),
    maxBatchWaitMs: number('max-batch-wait-ms'),
    workers: number('workers'),
    intraOpThreads: number('intra-op-threads'),
    maxRetries: number('max-retries'),
    eventTime: {
      field: text('event-time-field'),
      maxOutOfOrdernessMs: number('max-out-of-orderness-ms'),
      allowedLatenessMs: number('allowed-lateness-ms'),
      idlePartitionTimeoutMs: number('idle-partition-timeout-ms'),
    },
    sessionTimeoutMs: number('session-timeout-ms'),
    heartbeatIntervalMs: number('heartbeat-interval-ms'),
    clientId: text('client-id'),
    metricsIntervalMs: number('metrics-interval-ms'),
  };
  return { options, quiet: values.quiet === true, logJson: text('log-json') };
}

const FLAGS = {
  brokers: { type: 'string' },
  group: { type: 'string' },
  'input-topic': { type: 'string' },
  'output-topic': { type: 'string' },
  model: { type: 'string' },
  'dead-letter-topic': { type: 'string' },
  'late-topic': { type: 'string' },
  'window-topic': { type: 'string' },
  'window-size-ms': { type: 'string' },
  'window-score-column': { type: 'string' },
  'model-version': { type: 'string' },
  features: { type: 'string' },
  passthrough: { type: 'string' },
  transform: { type: 'string' },
  delivery: { type: 'string' },
  'transactional-id': { type: 'string' },
  'start-from': { type: 'string' },
  'max-batch-events': { type: 'string' },
  'max-batch-wait-ms': { type: 'string' },
  workers: { type: 'string' },
  'intra-op-threads': { type: 'string' },
  'max-retries': { type: 'string' },
  'event-time-field': { type: 'string' },
  'max-out-of-orderness-ms': { type: 'string' },
  'allowed-lateness-ms': { type: 'string' },
  'idle-partition-timeout-ms': { type: 'string' },
  'session-timeout-ms': { type: 'string' },
  'heartbeat-interval-ms': { type: 'string' },
  'client-id': { type: 'string' },
  'metrics-interval-ms': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'log-json': { type: 'string' },
} as const;

/**
 * Runs `batchscore stream` with `argv` (the arguments after `stream`) and returns the
 * exit code. Rejects with the scorer's error; the caller prints it.
 */
export async function runStream(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(STREAM_HELP);
    return 0;
  }
  const { options, quiet, logJson } = parseStreamArgs(argv);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const summary = await scoreStream({
      ...options,
      signal: controller.signal,
      onEvent: (event) => {
        if (!quiet) printProgress(event);
        if (logJson !== undefined) {
          appendFileSync(logJson, `${JSON.stringify(logRecord(event), jsonValue)}\n`);
        }
      },
    });
    process.stdout.write(`${JSON.stringify(summary, jsonValue, 2)}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function printProgress(event: StreamEvent): void {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  if (event.type === 'stream-start') {
    write(
      `Scoring for group ${event.groupId} with model ${event.modelVersion} ` +
        `on ${event.workers} workers`,
    );
  } else if (event.type === 'assignment') {
    const partitions =
      event.partitions.map((p) => `${p.topic}:${p.partition}`).join(', ') || 'none';
    write(`Generation ${event.generation}: assigned ${partitions}`);
  } else if (event.type === 'metrics') {
    write(statusLine(event.metrics));
  } else if (event.type === 'dead-letter') {
    const { topic, partition, offset } = event.origin;
    write(`Dead letter ${topic}:${partition}@${offset}: ${event.code}: ${event.message}`);
  } else if (event.type === 'warning' || event.type === 'transaction-aborted') {
    const message = event.type === 'warning' ? event.message : 'Transaction aborted';
    write(`${message}${event.error === undefined ? '' : `: ${describeError(event.error)}`}`);
  } else if (event.type === 'stream-end') {
    write(statusLine(event.summary));
  }
}

/** Formats an error's message, followed by those of the errors an AggregateError contains. */
function describeError(error: Error): string {
  const inner =
    error instanceof AggregateError
      ? error.errors.map((e: unknown) => describeError(e as Error))
      : [];
  return inner.length === 0 ? error.message : `${error.message} (${inner.join('; ')})`;
}

function statusLine(metrics: StreamMetrics): string {
  let lag = 0n;
  for (const partition of metrics.partitions) lag += partition.lag ?? 0n;
  const p99 = metrics.batchLatencyMs.p99 === null ? '-' : `${metrics.batchLatencyMs.p99} ms`;
  return (
    `${metrics.eventsScored} scored (${metrics.eventsPerSecond}/s), lag ${lag}, ` +
    `${metrics.deadLettered} dead-lettered, ${metrics.late} late, batch p99 ${p99}`
  );
}

function logRecord(event: StreamEvent): Record<string, unknown> {
  const time = new Date().toISOString();
  if ('error' in event && event.error !== undefined) {
    const { error, ...rest } = event;
    return {
      time,
      ...rest,
      error: { name: error.name, message: error.message, code: codeOf(error) },
    };
  }
  return { time, ...event };
}

function codeOf(error: Error): string | undefined {
  return (error as { code?: string }).code;
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') {
    throw new InvalidOptionError(`Missing ${flag}`, {
      fix: `Pass ${flag}; see batchscore stream --help`,
    });
  }
  return value;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidOptionError(
      `Expected ${flag} to be a whole number, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}
