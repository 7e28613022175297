#!/usr/bin/env node
// Measures the stream scorer against the local test broker (scripts/kafka.sh), with the
// churn model:
//
// 1. Throughput: a backlog of events is written first, then one member with a worker
//    per core scores it; events per second count from the assignment to the last result.
// 2. Latency: events are written at a fixed rate while the member runs, and a reader of
//    the output topic takes, for each result, its arrival time minus the event's
//    timestamp. Producer, scorer and reader share one clock.
//
//   npm run build && node bench/stream-bench.mjs [--events N] [--rate N] [--seconds N]
//
// Starts the broker with scripts/kafka.sh when it is not running, and stops it at the
// end in that case. Prints a table on stderr and the figures as JSON on stdout.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Admin, Producer } from '@platformatic/kafka';
import { createPlatformaticClient, scoreStream } from '../dist/stream/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const model = join(root, 'examples', 'churn', 'model', 'churn.onnx');
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
    partitions: { type: 'string', default: '4' },
  },
});
const settings = {
  events: Number(values.events),
  rate: Number(values.rate),
  seconds: Number(values.seconds),
  partitions: Number(values.partitions),
  workers: availableParallelism(),
};
const brokers = ['127.0.0.1:19092'];
const run = Date.now().toString(36);

const startedBroker = await ensureBroker();
try {
  const customers = generateCustomers(10_000);
  const throughput = await measureThroughput(customers);
  const latency = await measureLatency(customers);
  const report = {
    command:
      `node bench/stream-bench.mjs --events ${settings.events} --rate ${settings.rate} ` +
      `--seconds ${settings.seconds} --partitions ${settings.partitions}`,
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      broker: 'Apache Kafka 4.4.0, one node on 127.0.0.1 (scripts/kafka.sh)',
    },
    settings,
    throughput,
    latency,
  };
  printTable(report);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  if (startedBroker) {
    execFileSync('bash', [join(root, 'scripts', 'kafka.sh'), 'stop'], { stdio: 'inherit' });
  }
}

async function measureThroughput(customers) {
  const topics = await createTopics('throughput');
  progress(`writing ${settings.events} events`);
  const producer = newProducer();
  for (let start = 0; start < settings.events; start += 2000) {
    const messages = [];
    for (let index = start; index < Math.min(start + 2000, settings.events); index++) {
      messages.push(message(topics.input, customers[index % customers.length], index));
    }
    await producer.send({ messages });
  }
  await producer.close();

  progress(`scoring them on ${settings.workers} workers`);
  const controller = new AbortController();
  let assignedAt = 0;
  let doneAt = 0;
  let scored = 0;
  const summary = await scoreStream({
    ...memberOptions(topics),
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === 'assignment' && assignedAt === 0) assignedAt = performance.now();
      if (event.type !== 'batch') return;
      scored += event.scored;
      if (scored >= settings.events) {
        doneAt = performance.now();
        controller.abort();
      }
    },
  });
  const seconds = (doneAt - assignedAt) / 1000;
  return {
    events: scored,
    seconds: round(seconds),
    eventsPerSecond: Math.round(scored / seconds),
    batchLatencyMs: summary.batchLatencyMs,
  };
}

async function measureLatency(customers) {
  const topics = await createTopics('latency');
  const controller = new AbortController();
  let assigned;
  const assignment = new Promise((resolve) => (assigned = resolve));
  const member = scoreStream({
    ...memberOptions(topics),
    signal: controller.signal,
    onEvent: (event) => event.type === 'assignment' && assigned(),
  });
  await assignment;

  const reader = readLatencies(topics.output);
  progress(`writing ${settings.rate} events/s for ${settings.seconds} s`);
  const sent = await writeAtRate(topics.input, customers);
  const latencies = await reader.until(sent);
  controller.abort();
  const summary = await member;
  latencies.sort((a, b) => a - b);
  return {
    rate: settings.rate,
    events: sent,
    results: latencies.length,
    endToEndMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? null,
    },
    scorerEndToEndMs: summary.endToEndLatencyMs,
    batchLatencyMs: summary.batchLatencyMs,
  };
}

/** Writes events every 10 ms so that the mean rate is `settings.rate`; returns the count. */
async function writeAtRate(topic, customers) {
  const producer = newProducer();
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < settings.seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * settings.rate);
    if (due > sent) {
      const messages = [];
      for (let index = sent; index < due; index++) {
        messages.push(message(topic, customers[index % customers.length], index));
      }
      await producer.send({ messages });
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await producer.close();
  return sent;
}

/** Reads the output topic from its end and records each result's latency. */
function readLatencies(topic) {
  const client = createPlatformaticClient({
    brokers,
    clientId: 'stream-bench-reader',
    groupId: `bench-reader-${run}`,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 10_000,
    isolation: 'read_uncommitted',
    transactionTimeoutMs: 10_000,
    onError: () => {},
  });
  const latencies = [];
  let target = Infinity;
  const partitions = Array.from({ length: settings.partitions }, (_, partition) => ({
    topic,
    partition,
  }));
  const loop = (async () => {
    const start = await client.listOffsets(partitions, 'latest');
    const positions = partitions.map((p) => ({
      ...p,
      offset: start.get(`${topic}:${p.partition}`),
    }));
    const deadline = () => performance.now() > stopAfter;
    let stopAfter = Infinity;
    while (latencies.length < target && !deadline()) {
      if (target !== Infinity && stopAfter === Infinity) stopAfter = performance.now() + 60_000;
      const fetched = await client.fetch({
        positions,
        maxWaitMs: 50,
        partitionMaxBytes: 1024 * 1024,
      });
      const now = Date.now();
      for (const part of fetched) {
        if (part.error !== undefined) continue;
        positions.find((p) => p.partition === part.partition).offset = part.nextOffset;
        for (const record of part.records) latencies.push(now - record.timestamp);
      }
    }
    await client.close();
  })();
  return {
    async until(count) {
      target = count;
      await loop;
      return latencies;
    },
  };
}

function memberOptions(topics) {
  return {
    brokers,
    groupId: `bench-${topics.input}`,
    inputTopic: topics.input,
    outputTopic: topics.output,
    deadLetterTopic: topics.deadLetter,
    model,
    workers: settings.workers,
  };
}

async function createTopics(name) {
  const topics = {
    input: `bench-${name}-in-${run}`,
    output: `bench-${name}-out-${run}`,
    deadLetter: `bench-${name}-dlq-${run}`,
  };
  const admin = new Admin({ clientId: 'stream-bench', bootstrapBrokers: brokers });
  await admin.createTopics({
    topics: Object.values(topics),
    partitions: settings.partitions,
    replicas: 1,
  });
  await admin.close();
  return topics;
}

function newProducer() {
  return new Producer({
    clientId: 'stream-bench',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: -1,
  });
}

function message(topic, customer, index) {
  return {
    topic,
    key: Buffer.from(`c${index}`),
    value: Buffer.from(JSON.stringify(customer)),
    timestamp: BigInt(Date.now()),
  };
}

function generateCustomers(rows) {
  const script = join(root, 'examples', 'churn', 'generate.mjs');
  const jsonl = execFileSync(
    process.execPath,
    [script, '--rows', String(rows), '--format', 'jsonl', '--quiet'],
    {
      maxBuffer: 256 * 1024 * 1024,
    },
  ).toString();
  return jsonl
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

async function ensureBroker() {
  const open = await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 19092 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (open) return false;
  execFileSync('bash', [join(root, 'scripts', 'kafka.sh'), 'start'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return true;
}

function percentile(sorted, fraction) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

function round(value) {
  return Math.round(value * 100) / 100;
}

function progress(text) {
  process.stderr.write(`stream-bench: ${text}\n`);
}

function printTable(report) {
  const { throughput, latency } = report;
  const lines = [
    '',
    `| measure | value |`,
    `| --- | --- |`,
    `| throughput, ${throughput.events} events backlog | ${throughput.eventsPerSecond} events/s |`,
    `| batch latency p50 / p99 (backlog) | ${throughput.batchLatencyMs.p50} / ` +
      `${throughput.batchLatencyMs.p99} ms |`,
    `| end-to-end p50 at ${latency.rate} events/s | ${latency.endToEndMs.p50} ms |`,
    `| end-to-end p99 at ${latency.rate} events/s | ${latency.endToEndMs.p99} ms |`,
    `| results read / events sent | ${latency.results} / ${latency.events} |`,
    '',
  ];
  process.stderr.write(lines.join('\n'));
}
