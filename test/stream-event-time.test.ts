import { afterAll, describe, expect, it } from 'vitest';
import { scoreStream, type StreamEvent, type StreamOptions } from '../dist/stream/index.js';
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
  type TestEvent,
} from './helpers/kafka.js';

const kafka = await ensureKafka();
if (!kafka.available) process.stderr.write(`Skipping the stream tests: ${kafka.reason}\n`);
afterAll(() => releaseKafka(kafka));

const WINDOW_MS = 10_000;
/** Start of a window ten minutes ago: the broker rejects timestamps an hour ahead. */
const T0 = Math.floor((Date.now() - 600_000) / WINDOW_MS) * WINDOW_MS;

/**
 * 30 in-order events, one a second over three windows, keys a and b in turn; then three
 * events from the first window, far behind the watermark (T0 + 29 s - 2 s); then one
 * event 1 s out of order, within the out-of-orderness bound.
 */
function timeline(): TestEvent[] {
  const events: TestEvent[] = [];
  for (let i = 0; i < 30; i++) {
    events.push({
      key: i % 2 === 0 ? 'a' : 'b',
      value: customer(i),
      timestamp: T0 + i * 1000,
      partition: 0,
    });
  }
  for (let i = 0; i < 3; i++) {
    events.push({ key: 'a', value: customer(100 + i), timestamp: T0 + 1000 + i, partition: 0 });
  }
  events.push({ key: 'b', value: customer(200), timestamp: T0 + 28_000, partition: 0 });
  return events;
}

describe.skipIf(!kafka.available)('scoreStream event time', () => {
  it('sends late events to the late topic and closes windows by the watermark', async () => {
    const [input, output, dlq, late, windows] = ['events', 'scores', 'dlq', 'late', 'windows'].map(
      uniqueName,
    ) as [string, string, string, string, string];
    await createTopics([input, output, dlq, late, windows], 1);
    await produceEvents(input, timeline());

    const events = await runUntil(
      {
        inputTopic: input,
        outputTopic: output,
        deadLetterTopic: dlq,
        lateTopic: late,
        window: { topic: windows, sizeMs: WINDOW_MS },
      },
      (seen) => seen.filter((event) => event.type === 'window').length >= 6,
    );

    // 1. The three old events went to the late topic, unscored, with the watermark.
    const lateRecords = await readTopic(late, { count: 3, settleMs: 300 });
    expect(lateRecords.map((r) => Number(r.headers['batchscore.source.offset']))).toEqual([
      30, 31, 32,
    ]);
    for (const record of lateRecords) {
      expect(Number(record.headers['batchscore.watermark'])).toBe(T0 + 27_000);
      expect(Number(record.headers['batchscore.event_time'])).toBe(record.timestamp);
    }
    const results = await readTopic(output, { count: 31, settleMs: 300 });
    expect(results).toHaveLength(31);

    // 2. Windows hold the in-order events and the out-of-order one, not the late ones.
    const windowRecords = await readTopic(windows, { count: 6, settleMs: 300 });
    expect(windowRecords).toHaveLength(6);
    const byWindow = new Map<string, { count: number; mean: number }>();
    for (const record of windowRecords) {
      const value = JSON.parse(record.value) as {
        window_start: string;
        count: number;
        mean: number;
      };
      byWindow.set(`${Date.parse(value.window_start) - T0}/${record.key}`, value);
    }
    expect([...byWindow.keys()].sort()).toEqual([
      '0/a',
      '0/b',
      '10000/a',
      '10000/b',
      '20000/a',
      '20000/b',
    ]);
    expect(byWindow.get('0/a')?.count).toBe(5);
    expect(byWindow.get('20000/b')?.count).toBe(6);

    // 3. Each window's mean is the mean of its events' probability_1 in the results.
    const scores = new Map<string, number[]>();
    for (const result of results) {
      const value = JSON.parse(result.value) as { probability_1: number; event_time: string };
      const start = Math.floor((Date.parse(value.event_time) - T0) / WINDOW_MS) * WINDOW_MS;
      const id = `${start}/${result.key}`;
      scores.set(id, [...(scores.get(id) ?? []), value.probability_1]);
    }
    for (const [id, window] of byWindow) {
      const values = scores.get(id)!;
      expect(window.count).toBe(values.length);
      expect(window.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
    }

    // 4. The last window closed only when the idle partition's watermark followed the clock.
    const lateEvents = events.filter((event) => event.type === 'late');
    expect(lateEvents).toHaveLength(3);
  });

  it('scores late events when no late topic is set', async () => {
    const [input, output, dlq, windows] = ['events', 'scores', 'dlq', 'windows'].map(
      uniqueName,
    ) as [string, string, string, string];
    await createTopics([input, output, dlq, windows], 1);
    await produceEvents(input, timeline());

    const events = await runUntil(
      {
        inputTopic: input,
        outputTopic: output,
        deadLetterTopic: dlq,
        window: { topic: windows, sizeMs: WINDOW_MS },
      },
      (seen) => seen.filter((event) => event.type === 'window').length >= 6,
    );

    const results = await readTopic(output, { count: 34, settleMs: 300 });
    expect(results).toHaveLength(34);
    expect(events.filter((event) => event.type === 'late')).toHaveLength(3);
    const windowRecords = await readTopic(windows, { count: 6, settleMs: 300 });
    const first = windowRecords.find(
      (r) =>
        r.key === 'a' &&
        Date.parse((JSON.parse(r.value) as { window_start: string }).window_start) === T0,
    );
    expect((JSON.parse(first!.value) as { count: number }).count).toBe(5);
  });
});

/** Runs the scorer until `done` returns true for the events seen, then stops it. */
async function runUntil(
  topics: Pick<
    StreamOptions,
    'inputTopic' | 'outputTopic' | 'deadLetterTopic' | 'lateTopic' | 'window'
  >,
  done: (events: StreamEvent[]) => boolean,
): Promise<StreamEvent[]> {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  const timeout = setTimeout(() => controller.abort(), 60_000);
  try {
    await scoreStream({
      brokers,
      groupId: uniqueName('group'),
      ...topics,
      model: churnModel,
      workers: 1,
      maxBatchEvents: 7,
      eventTime: { maxOutOfOrdernessMs: 2000, allowedLatenessMs: 0, idlePartitionTimeoutMs: 1500 },
      signal: controller.signal,
      onEvent: (event) => {
        events.push(event);
        if (done(events)) controller.abort();
      },
    });
  } finally {
    clearTimeout(timeout);
  }
  return events;
}
