import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  scoreStream,
  type StreamEvent,
  type StreamOptions,
  type StreamSummary,
} from '../dist/stream/index.js';
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
} from './helpers/kafka.js';
import { tempDir } from './helpers/output.js';

const kafka = await ensureKafka();
if (!kafka.available) process.stderr.write(`Skipping the stream tests: ${kafka.reason}\n`);
afterAll(() => releaseKafka(kafka));

describe.skipIf(!kafka.available)('scoreStream group members', () => {
  it('two members share the partitions', async () => {
    const events = 2000;
    const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics([input, output, dlq], 4);
    await produceEvents(
      input,
      Array.from({ length: events }, (_, index) => ({
        key: `k${index}`,
        value: customer(index),
      })),
    );
    const slow = await slowTransform(50);
    const options = {
      brokers,
      groupId: uniqueName('group'),
      inputTopic: input,
      outputTopic: output,
      deadLetterTopic: dlq,
      model: churnModel,
      transform: slow,
      workers: 1,
      maxBatchEvents: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    } satisfies Partial<StreamOptions>;

    // 1. The first member takes every partition, then shares them when the second joins.
    const first = startMember(options);
    await until(() => first.events.some((event) => event.type === 'batch'), 30_000);
    const second = startMember(options);
    await until(() => second.events.some((event) => event.type === 'batch'), 30_000);

    // 2. Stop both once every event has a result.
    let results: Awaited<ReturnType<typeof readTopic>> = [];
    await until(async () => {
      results = await readTopic(output, { count: events, timeoutMs: 2000 });
      return sources(results).size >= events;
    }, 60_000);
    first.controller.abort();
    second.controller.abort();
    const [firstSummary, secondSummary] = await Promise.all([first.done, second.done]);

    // 3. In the generation that the second member joined, the two split the partitions.
    const joined = assignments(second.events)[0]!;
    const shared = assignments(first.events).find((a) => a.generation === joined.generation);
    expect(shared).toBeDefined();
    expect(joined.partitions).toHaveLength(2);
    expect(shared!.partitions).toHaveLength(2);
    expect(new Set([...joined.partitions, ...shared!.partitions]).size).toBe(4);
    expect(firstSummary.eventsScored).toBeGreaterThan(0);
    expect(secondSummary.eventsScored).toBeGreaterThan(0);
    expect(sources(results).size).toBe(events);
    expect(firstSummary.rebalances).toBeGreaterThanOrEqual(2);
  });

  it('writes each result once across rebalances', async () => {
    // A second member joins and the first one leaves while micro-batches are in flight;
    // in exactly-once mode no result is lost or written twice.
    const events = 3000;
    const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics([input, output, dlq], 4);
    await produceEvents(
      input,
      Array.from({ length: events }, (_, index) => ({ key: `k${index}`, value: customer(index) })),
    );
    const options = {
      brokers,
      groupId: uniqueName('group'),
      inputTopic: input,
      outputTopic: output,
      deadLetterTopic: dlq,
      model: churnModel,
      transform: await slowTransform(100),
      workers: 1,
      maxBatchEvents: 50,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      delivery: 'exactly-once',
    } satisfies Partial<StreamOptions>;

    const first = startMember({ ...options, transactionalId: `${input}-first` });
    await until(() => scoredBy(first) >= 300, 30_000);
    const second = startMember({ ...options, transactionalId: `${input}-second` });
    await until(() => scoredBy(second) >= 300, 30_000);
    first.controller.abort();
    await first.done;

    let results: Awaited<ReturnType<typeof readTopic>> = [];
    await until(async () => {
      results = await readTopic(output, { count: events, timeoutMs: 2000 });
      return sources(results).size >= events;
    }, 90_000);
    second.controller.abort();
    await second.done;
    results = await readTopic(output, { count: events * 2, timeoutMs: 3000 });

    expect(sources(results).size).toBe(events);
    expect(results).toHaveLength(events);
    expect(scoredBy(second)).toBeGreaterThan(300);
  });

  it('keeps its membership while slow micro-batches run', async () => {
    // Each micro-batch takes 8 s, longer than the 6 s session timeout: heartbeats go on
    // because inference runs on a worker thread.
    const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics([input, output, dlq], 1);
    await produceEvents(
      input,
      Array.from({ length: 4 }, (_, index) => ({ key: `k${index}`, value: customer(index) })),
    );
    const member = startMember({
      brokers,
      groupId: uniqueName('group'),
      inputTopic: input,
      outputTopic: output,
      deadLetterTopic: dlq,
      model: churnModel,
      transform: await slowTransform(8000),
      workers: 1,
      maxBatchEvents: 2,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });

    await until(() => member.events.filter((event) => event.type === 'batch').length >= 2, 40_000);
    member.controller.abort();
    const summary = await member.done;

    expect(summary.rebalances).toBe(1);
    expect(summary.eventsScored).toBe(4);
    expect(member.events.filter((event) => event.type === 'warning')).toEqual([]);
  });
});

interface Member {
  controller: AbortController;
  events: StreamEvent[];
  done: Promise<StreamSummary>;
}

function startMember(options: Omit<StreamOptions, 'signal' | 'onEvent'>): Member {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  const done = scoreStream({
    ...options,
    signal: controller.signal,
    onEvent: (event) => events.push(event),
  });
  done.catch(() => {});
  return { controller, events, done };
}

async function slowTransform(ms: number): Promise<string> {
  const path = join(await tempDir(), 'slow.mjs');
  await writeFile(
    path,
    'export default async function (table) {\n' +
      `  await new Promise((resolve) => setTimeout(resolve, ${ms}));\n` +
      '  return table;\n}\n',
  );
  return path;
}

function scoredBy(member: Member): number {
  let scored = 0;
  for (const event of member.events) {
    if (event.type === 'batch') scored += event.scored;
  }
  return scored;
}

function assignments(events: StreamEvent[]) {
  return events.flatMap((event) =>
    event.type === 'assignment'
      ? [
          {
            generation: event.generation,
            partitions: event.partitions.map((p) => `${p.topic}:${p.partition}`),
          },
        ]
      : [],
  );
}

function sources(results: { headers: Record<string, string> }[]): Set<string> {
  return new Set(
    results.map(
      (r) => `${r.headers['batchscore.source.partition']}:${r.headers['batchscore.source.offset']}`,
    ),
  );
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
