/**
 * The Kafka broker of the stream tests: `scripts/kafka.sh` on 127.0.0.1, started here
 * when it is not running. Without Java or Maven the tests skip, unless
 * BATCHSCORE_REQUIRE_KAFKA=1, which turns a missing broker into a failure.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Admin, Producer } from '@platformatic/kafka';
import { createPlatformaticClient, type ConsumedRecord } from '../../dist/stream/index.js';
import { repoRoot } from './shared-data.js';

const port = Number(process.env.KAFKA_PORT ?? 19092);

/** Bootstrap brokers of the test broker. */
export const brokers = [`127.0.0.1:${port}`];

/** Whether the broker can be used, and why not. */
export interface KafkaAvailability {
  available: boolean;
  reason: string;
  /** True when this process started the broker, so it should stop it. */
  startedHere: boolean;
}

/**
 * Returns whether the broker accepts connections, starting it with `scripts/kafka.sh start` first
 * when it does not.
 * @throws when the broker is unavailable and BATCHSCORE_REQUIRE_KAFKA is 1.
 */
export async function ensureKafka(): Promise<KafkaAvailability> {
  if (await portOpen(port)) return { available: true, reason: 'running', startedHere: false };
  let detail: string;
  try {
    await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'kafka.sh'), 'start'], {
      timeout: 180_000,
    });
    if (await portOpen(port)) return { available: true, reason: 'started', startedHere: true };
    // The script reports success when a node already runs, maybe on another port.
    detail = `the node it reports does not listen on port ${port}`;
  } catch (error) {
    detail = (error as { stderr?: string }).stderr?.trim() || String(error);
  }
  const reason = `no Kafka broker on 127.0.0.1:${port} and scripts/kafka.sh start failed: ${detail}`;
  if (process.env.BATCHSCORE_REQUIRE_KAFKA === '1') {
    throw new Error(`BATCHSCORE_REQUIRE_KAFKA=1 but ${reason}`);
  }
  return { available: false, reason, startedHere: false };
}

/** Stops the broker if {@link ensureKafka} started it. */
export async function releaseKafka(availability: KafkaAvailability): Promise<void> {
  if (!availability.startedHere) return;
  await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'kafka.sh'), 'stop', '--clean'], {
    timeout: 120_000,
  });
}

function portOpen(portNumber: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: portNumber });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Returns a topic or group name unique to this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Creates topics with `partitions` partitions each. */
export async function createTopics(names: string[], partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'batchscore-test-admin', bootstrapBrokers: brokers });
  try {
    await admin.createTopics({ topics: names, partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** An event to produce: its value is JSON-encoded unless it is a string or a Buffer. */
export interface TestEvent {
  key: string | null;
  value: unknown;
  /** Record timestamp in epoch milliseconds; the producer's clock when absent. */
  timestamp?: number;
  partition?: number;
}

/** Produces events in order, in chunks of 500. */
export async function produceEvents(topic: string, events: TestEvent[]): Promise<void> {
  const producer = new Producer({
    clientId: 'batchscore-test-producer',
    bootstrapBrokers: brokers,
    // Idempotence lets the broker drop a batch that a retry sends a second time.
    idempotent: true,
    acks: -1,
  });
  try {
    for (let start = 0; start < events.length; start += 500) {
      const messages = events.slice(start, start + 500).map((event) => ({
        topic,
        key: event.key === null ? undefined : Buffer.from(event.key),
        value: encodeValue(event.value),
        ...(event.timestamp === undefined ? {} : { timestamp: BigInt(event.timestamp) }),
        ...(event.partition === undefined ? {} : { partition: event.partition }),
      }));
      await producer.send({ messages });
    }
  } finally {
    await producer.close();
  }
}

function encodeValue(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

/** A record read back by {@link readTopic}. */
export interface ReadRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  partition: number;
  offset: bigint;
  timestamp: number;
}

/**
 * Reads every partition of a topic from the start until `count` records arrived, or
 * until `timeoutMs` passed, and then `settleMs` more to catch records beyond `count`.
 * Reads with the scorer's own client, positioned by offset, because the library's
 * group stream may deliver a record twice around a rebalance.
 */
export async function readTopic(
  topic: string,
  options: { count: number; timeoutMs?: number; settleMs?: number; readCommitted?: boolean },
): Promise<ReadRecord[]> {
  const client = createPlatformaticClient({
    brokers,
    clientId: 'batchscore-test-reader',
    groupId: uniqueName('reader'),
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 10_000,
    isolation: options.readCommitted === false ? 'read_uncommitted' : 'read_committed',
    transactionTimeoutMs: 10_000,
    onError: () => {},
  });
  const records: ReadRecord[] = [];
  try {
    const count = (await client.describeTopics([topic])).get(topic) ?? 0;
    const partitions = Array.from({ length: count }, (_, partition) => ({ topic, partition }));
    const start = await client.listOffsets(partitions, 'earliest');
    const positions = partitions.map((p) => ({
      ...p,
      offset: start.get(`${topic}:${p.partition}`) ?? 0n,
    }));
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let settleUntil = Infinity;
    while (Date.now() < Math.min(deadline, settleUntil)) {
      const fetched = await client.fetch({
        positions,
        maxWaitMs: 200,
        partitionMaxBytes: 1024 * 1024,
      });
      for (const part of fetched) {
        const position = positions.find((p) => p.partition === part.partition)!;
        if (part.error !== undefined) continue;
        position.offset = part.nextOffset;
        records.push(...part.records.map(toReadRecord));
      }
      if (records.length >= options.count && settleUntil === Infinity) {
        settleUntil = Date.now() + (options.settleMs ?? 0);
      }
    }
  } finally {
    await client.close();
  }
  return records;
}

function toReadRecord(record: ConsumedRecord): ReadRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of record.headers) headers[name] = value.toString();
  return {
    key: record.key === null ? null : record.key.toString(),
    value: record.value?.toString() ?? '',
    headers,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
  };
}

/** Churn model features of customer `index`, deterministic and varied. */
export function customer(index: number): Record<string, unknown> {
  const contracts = ['month-to-month', 'one-year', 'two-year'];
  const payments = ['electronic check', 'mailed check', 'bank transfer', 'credit card'];
  const regions = ['north', 'south', 'east', 'west', 'central'];
  const tenure = (index * 7) % 72;
  const monthly = 20 + ((index * 13) % 100);
  return {
    customer_id: `C${String(index).padStart(7, '0')}`,
    age: 18 + ((index * 11) % 60),
    tenure_months: tenure,
    monthly_charges: monthly,
    total_charges: Math.round(tenure * monthly * 100) / 100,
    contract: contracts[index % 3],
    payment_method: payments[index % 4],
    support_calls: index % 6,
    has_fiber: index % 2 === 0 ? 'yes' : 'no',
    region: regions[index % 5],
  };
}
