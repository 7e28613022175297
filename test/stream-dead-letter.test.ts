import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scoreStream, type StreamEvent } from '../dist/stream/index.js';
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
import { tempDir } from './helpers/output.js';

const kafka = await ensureKafka();
if (!kafka.available) process.stderr.write(`Skipping the stream tests: ${kafka.reason}\n`);
afterAll(() => releaseKafka(kafka));

/** Bad events by offset: value sent and the error code expected in the dead letter. */
const POISON: Record<number, { value: unknown; code: string; column?: string }> = {
  10: { value: 'not json {', code: 'ERR_INPUT_CORRUPT' },
  20: { value: [1, 2, 3], code: 'ERR_INPUT_CORRUPT' },
  30: { value: without(customer(30), 'age'), code: 'ERR_MISSING_COLUMN', column: 'age' },
  40: { value: { ...customer(40), tenure_months: 'forty' }, code: 'ERR_VALUE_CONVERSION' },
  50: { value: { ...customer(50), contract: null }, code: 'ERR_VALUE_CONVERSION' },
  // Breaks the transform below, so its whole micro-batch fails until it is scored alone.
  60: { value: { ...customer(60), age: 999 }, code: 'ERR_TRANSFORM' },
};

const EVENTS = 200;
/** Record timestamps lie in the past, because the broker rejects ones more than an hour ahead. */
const BASE_TIME = Date.now() - 600_000;

describe.skipIf(!kafka.available)('scoreStream dead letters', () => {
  it('sends bad events to the dead-letter topic while the rest flow', async () => {
    const dir = await tempDir();
    const transform = join(dir, 'poison.mjs');
    await writeFile(
      transform,
      [
        'export default function (table) {',
        "  const ages = table.getChild('age');",
        '  for (let i = 0; i < table.numRows; i++) {',
        "    if (ages.get(i) === 999) throw new Error('age 999 breaks the model');",
        '  }',
        '  return table;',
        '}',
      ].join('\n'),
    );

    const [input, output, dlq] = ['events', 'scores', 'dlq'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics([input, output, dlq], 1);
    const sent: TestEvent[] = Array.from({ length: EVENTS }, (_, index) => ({
      key: `k${index}`,
      value: POISON[index]?.value ?? customer(index),
      timestamp: BASE_TIME + index,
    }));
    await produceEvents(input, sent);

    const controller = new AbortController();
    const events: StreamEvent[] = [];
    let done = 0;
    const summary = await scoreStream({
      brokers,
      groupId: uniqueName('group'),
      inputTopic: input,
      outputTopic: output,
      deadLetterTopic: dlq,
      model: churnModel,
      modelVersion: 'churn-dlq-1',
      transform,
      workers: 1,
      maxBatchEvents: 25,
      maxRetries: 1,
      retryDelayMs: 10,
      signal: controller.signal,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'batch') done += event.scored + event.deadLettered;
        if (done >= EVENTS) controller.abort();
      },
    });

    const poisoned = Object.keys(POISON).map(Number);
    const results = await readTopic(output, { count: EVENTS - poisoned.length, settleMs: 500 });
    const letters = await readTopic(dlq, { count: poisoned.length, settleMs: 500 });
    expect(results).toHaveLength(EVENTS - poisoned.length);
    expect(letters).toHaveLength(poisoned.length);
    expect(summary.deadLettered).toBe(poisoned.length);
    expect(summary.eventsScored).toBe(EVENTS - poisoned.length);

    const scoredOffsets = new Set(
      results.map((r) => Number(r.headers['batchscore.source.offset'])),
    );
    for (const offset of poisoned) expect(scoredOffsets.has(offset)).toBe(false);

    for (const letter of letters) {
      const offset = Number(letter.headers['batchscore.source.offset']);
      const expected = POISON[offset];
      expect(expected, `unexpected dead letter at offset ${offset}`).toBeDefined();
      expect(letter.key).toBe(`k${offset}`);
      expect(letter.value).toBe(encoded(expected!.value));
      expect(letter.headers['batchscore.source.topic']).toBe(input);
      expect(letter.headers['batchscore.source.partition']).toBe('0');
      expect(letter.headers['batchscore.source.timestamp']).toBe(String(BASE_TIME + offset));
      expect(letter.headers['batchscore.error.code']).toBe(expected!.code);
      expect(letter.headers['batchscore.error.message']).toBeTruthy();
      expect(letter.headers['batchscore.model_version']).toBe('churn-dlq-1');
      // An error in the event itself is final at once; a scoring failure is retried as a
      // batch (1 + maxRetries tries) and then once alone.
      const attempts = expected!.code === 'ERR_TRANSFORM' ? '3' : '1';
      expect(letter.headers['batchscore.attempts']).toBe(attempts);
    }
    const missing = letters.find(
      (l) => l.headers['batchscore.error.code'] === 'ERR_MISSING_COLUMN',
    );
    expect(missing?.headers['batchscore.error.class']).toBe('DataError');
    expect(missing?.headers['batchscore.error.message']).toContain('age');

    const retries = events.filter((event) => event.type === 'retry');
    expect(retries).toHaveLength(1);
    expect(events.filter((event) => event.type === 'dead-letter')).toHaveLength(poisoned.length);
  });
});

function without(object: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...object };
  delete copy[name];
  return copy;
}

function encoded(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
