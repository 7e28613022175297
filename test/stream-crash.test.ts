import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlatformaticClient } from '../dist/stream/index.js';
import { churnModel } from './helpers/churn.js';
import {
  brokers,
  createTopics,
  customer,
  ensureKafka,
  produceEvents,
  readTopic,
  releaseKafka,
  uniqueName,
  type ReadRecord,
} from './helpers/kafka.js';
import { tempDir } from './helpers/output.js';
import { repoRoot } from './helpers/shared-data.js';

const kafka = await ensureKafka();
if (!kafka.available) process.stderr.write(`Skipping the stream tests: ${kafka.reason}\n`);
afterAll(() => releaseKafka(kafka));

const EVENTS = 1500;
const PARTITIONS = 3;

describe.skipIf(!kafka.available)('scoreStream after a crash', () => {
  it('loses no event in at-least-once mode', async () => {
    const { results, summary } = await crashAndRestart('at-least-once');
    const bySource = countBySource(results);
    expect(bySource.size).toBe(EVENTS);
    for (const result of results) {
      expect(result.key).toBe(`k${result.headers['batchscore.source.offset']}`);
    }
    expect(summary.delivery).toBe('at-least-once');
  });

  it('writes each result once in exactly-once mode', async () => {
    const { results, summary } = await crashAndRestart('exactly-once');
    const bySource = countBySource(results);
    expect(bySource.size).toBe(EVENTS);
    const duplicated = [...bySource].filter(([, count]) => count > 1).map(([source]) => source);
    expect(duplicated).toEqual([]);
    expect(results).toHaveLength(EVENTS);
    expect(summary.transactionsCommitted).toBeGreaterThan(0);
  });
});

/**
 * Starts a member in a child process, kills it with SIGKILL while it scores (every
 * micro-batch takes 100 ms in a slow transform), starts a second member in the same group
 * and waits until the output covers every event. Returns the output, read committed.
 */
async function crashAndRestart(delivery: 'at-least-once' | 'exactly-once') {
  const dir = await tempDir();
  const transform = join(dir, 'slow.mjs');
  await writeFile(
    transform,
    'export default async function (table) {\n' +
      '  await new Promise((resolve) => setTimeout(resolve, 100));\n' +
      '  return table;\n' +
      '}\n',
  );
  const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
    string,
    string,
    string,
  ];
  await createTopics([input, output, dlq], PARTITIONS);
  // Event `index` lands at offset index / PARTITIONS of its partition, which its key names.
  await produceEvents(
    input,
    Array.from({ length: EVENTS }, (_, index) => ({
      key: `k${Math.floor(index / PARTITIONS)}`,
      value: customer(index),
      partition: index % PARTITIONS,
    })),
  );

  const args = [
    '--brokers',
    brokers.join(','),
    '--group',
    uniqueName('group'),
    '--input-topic',
    input,
    '--output-topic',
    output,
    '--dead-letter-topic',
    dlq,
    '--model',
    churnModel,
    '--transform',
    transform,
    '--workers',
    '1',
    '--max-batch-events',
    '50',
    '--session-timeout-ms',
    '6000',
    '--heartbeat-interval-ms',
    '1000',
    '--delivery',
    delivery,
    // The restarted member reuses the id, which aborts the transaction the killed one
    // left open instead of waiting for it to time out.
    '--transactional-id',
    `${input}-member`,
    '--metrics-interval-ms',
    '1000',
  ];

  // 1. Kill the first member once part of the output is written.
  const first = startMember(args);
  await waitFor(async () => (await outputSize(output)) >= EVENTS / 5, 60_000, first);
  first.process.kill('SIGKILL');
  await first.exited;

  // 2. A new member resumes from the committed offsets.
  const second = startMember(args);
  let results: ReadRecord[] = [];
  await waitFor(
    async () => {
      results = await readTopic(output, { count: EVENTS, timeoutMs: 3000 });
      return countBySource(results).size >= EVENTS;
    },
    120_000,
    second,
  );
  second.process.kill('SIGTERM');
  const code = await second.exited;
  expect(code, second.stderr()).toBe(0);
  results = await readTopic(output, { count: EVENTS * 2, timeoutMs: 3000 });
  const summary = JSON.parse(second.stdout()) as {
    delivery: string;
    transactionsCommitted: number;
  };
  return { results, summary };
}

interface Member {
  process: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

/** Runs `batchscore stream` in a child process through the CLI module. */
function startMember(args: string[]): Member {
  const cli = pathToFileURL(join(repoRoot, 'dist', 'cli', 'stream.js')).href;
  const code =
    `const { runStream } = await import(${JSON.stringify(cli)});\n` +
    'process.exitCode = await runStream(process.argv.slice(1));';
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { process: child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Polls `condition` until it holds; fails with the member's stderr after `timeoutMs`. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, member: Member) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (member.process.exitCode !== null) {
      throw new Error(`member exited early:\n${member.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out; member stderr:\n${member.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Records written to a topic, committed or not. */
async function outputSize(topic: string): Promise<number> {
  const client = createPlatformaticClient({
    brokers,
    clientId: 'batchscore-test-size',
    groupId: uniqueName('size'),
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 10_000,
    isolation: 'read_uncommitted',
    transactionTimeoutMs: 10_000,
    onError: () => {},
  });
  try {
    const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    const ends = await client.listOffsets(partitions, 'latest');
    let total = 0;
    for (const end of ends.values()) total += Number(end);
    return total;
  } finally {
    await client.close();
  }
}

function countBySource(results: ReadRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const result of results) {
    const partition = result.headers['batchscore.source.partition'];
    const source = `${partition}:${result.headers['batchscore.source.offset']}`;
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  return counts;
}
