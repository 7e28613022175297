import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scorePartitioned } from '../dist/index.js';
import { scoreStream, type StreamEvent, type StreamSummary } from '../dist/stream/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import {
  brokers,
  createTopics,
  ensureKafka,
  produceEvents,
  readTopic,
  releaseKafka,
  uniqueName,
} from './helpers/kafka.js';
import { readOutput, tempDir } from './helpers/output.js';

const kafka = await ensureKafka();
if (!kafka.available) process.stderr.write(`Skipping the stream tests: ${kafka.reason}\n`);
afterAll(() => releaseKafka(kafka));

const EVENTS = 600;

describe.skipIf(!kafka.available)('scoreStream', () => {
  it('produces one result per event', async () => {
    // 1. Generate customers with the churn example's generator and send one event each.
    const dir = await tempDir();
    const jsonl = join(dir, 'customers.jsonl');
    generateCustomers(jsonl, EVENTS, 'jsonl');
    const rows = (await readFile(jsonl, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics([input, output, dlq], 3);
    const sentAt = Date.now();
    await produceEvents(
      input,
      rows.map((row) => ({ key: String(row.customer_id), value: row })),
    );

    // 2. Score until every event has a result.
    const events: StreamEvent[] = [];
    const summary = await runUntilScored(
      {
        inputTopic: input,
        outputTopic: output,
        deadLetterTopic: dlq,
        groupId: uniqueName('group'),
        events,
      },
      EVENTS,
    );

    // 3. Every event has exactly one result, with its key and prediction.
    const results = await readTopic(output, { count: EVENTS, settleMs: 1000 });
    expect(results).toHaveLength(EVENTS);
    const offsets = new Set(
      results.map(
        (r) =>
          `${r.headers['batchscore.source.partition']}:${r.headers['batchscore.source.offset']}`,
      ),
    );
    expect(offsets.size).toBe(EVENTS);
    const first = JSON.parse(results[0]!.value) as Record<string, unknown>;
    expect(Object.keys(first).sort()).toEqual([
      'customer_id',
      'event_time',
      'label',
      'model_version',
      'probability_0',
      'probability_1',
      'scored_at',
    ]);
    expect(first.model_version).toBe('churn-stream-1');
    expect(results[0]!.key).toBe(first.customer_id);
    const eventTime = Date.parse(String(first.event_time));
    expect(eventTime).toBe(results[0]!.timestamp);
    expect(eventTime).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(Date.parse(String(first.scored_at))).toBeGreaterThanOrEqual(eventTime);

    // 4. The predictions equal those of a batch run over the same rows.
    const batchOut = join(dir, 'batch');
    await scorePartitioned({ model: churnModel, input: jsonl, output: batchOut, workers: 1 });
    const batch = await readOutput(batchOut);
    const expected = new Map<string, number>();
    const ids = batch.getChild('customer_id')!;
    const probabilities = batch.getChild('probability_1')!;
    for (let row = 0; row < batch.numRows; row++) {
      expected.set(String(ids.get(row)), Number(probabilities.get(row)));
    }
    for (const result of results) {
      const value = JSON.parse(result.value) as { customer_id: string; probability_1: number };
      expect(value.probability_1).toBeCloseTo(expected.get(value.customer_id)!, 6);
    }

    // 5. The summary and the events report the run.
    expect(summary.eventsIn).toBe(EVENTS);
    expect(summary.eventsScored).toBe(EVENTS);
    expect(summary.deadLettered).toBe(0);
    expect(summary.late).toBe(0);
    expect(summary.batchLatencyMs.count).toBe(summary.batches);
    expect(summary.batchLatencyMs.p50).not.toBeNull();
    expect(summary.endToEndLatencyMs.count).toBe(EVENTS);
    expect(summary.workers).toHaveLength(2);
    for (const worker of summary.workers) expect(worker.sessionsCreated).toBe(1);
    expect(summary.partitions).toHaveLength(3);
    for (const partition of summary.partitions) expect(partition.lag).toBe(0n);
    expect(events[0]?.type).toBe('stream-start');
    expect(events.at(-1)?.type).toBe('stream-end');
    expect(events.filter((e) => e.type === 'assignment')).toHaveLength(1);
  });

  it('rejects a missing input topic', async () => {
    const output = uniqueName('scores');
    await createTopics([output], 1);
    const running = scoreStream({
      brokers,
      groupId: uniqueName('group'),
      inputTopic: uniqueName('absent'),
      outputTopic: output,
      model: churnModel,
      workers: 1,
    });
    await expect(running).rejects.toMatchObject({ code: 'ERR_INPUT_NOT_FOUND' });
  });

  it('rejects a missing dead-letter topic', async () => {
    const [input, output] = ['events', 'scores'].map(uniqueName) as [string, string];
    await createTopics([input, output], 1);
    const running = scoreStream({
      brokers,
      groupId: uniqueName('group'),
      inputTopic: input,
      outputTopic: output,
      model: churnModel,
      workers: 1,
    });
    await expect(running).rejects.toMatchObject({ code: 'ERR_OUTPUT_NOT_WRITABLE' });
    await expect(running).rejects.toThrow(`${input}-dlq`);
  });
});

/** Runs the scorer until `count` events were scored, then aborts it and returns its summary. */
async function runUntilScored(
  setup: {
    inputTopic: string;
    outputTopic: string;
    deadLetterTopic: string;
    groupId: string;
    events: StreamEvent[];
  },
  count: number,
): Promise<StreamSummary> {
  const controller = new AbortController();
  let scored = 0;
  const timeout = setTimeout(() => controller.abort(), 90_000);
  try {
    return await scoreStream({
      brokers,
      groupId: setup.groupId,
      inputTopic: setup.inputTopic,
      outputTopic: setup.outputTopic,
      deadLetterTopic: setup.deadLetterTopic,
      model: churnModel,
      modelVersion: 'churn-stream-1',
      passthrough: ['customer_id'],
      workers: 2,
      maxBatchEvents: 100,
      signal: controller.signal,
      onEvent: (event) => {
        setup.events.push(event);
        if (event.type === 'batch') scored += event.scored;
        if (scored >= count) controller.abort();
      },
    });
  } finally {
    clearTimeout(timeout);
  }
}
