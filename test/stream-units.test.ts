import { describe, expect, it } from 'vitest';
import { parseStreamArgs } from '../dist/cli/stream.js';
import { decodeRecord, type DecodeResult, type FeatureField } from '../dist/stream/decode.js';
import { PartitionClock } from '../dist/stream/event-time.js';
import { LatencyHistogram } from '../dist/stream/histogram.js';
import {
  decodeJson,
  scoreStream,
  type ConsumedRecord,
  type StreamOptions,
} from '../dist/stream/index.js';
import { TumblingMeans } from '../dist/stream/window.js';
import { churnModel } from './helpers/churn.js';

const base: StreamOptions = {
  brokers: ['127.0.0.1:1'],
  groupId: 'g',
  inputTopic: 'in',
  outputTopic: 'out',
  model: churnModel,
};

describe('scoreStream options', () => {
  const cases: [string, Partial<StreamOptions> | Record<string, unknown>, string][] = [
    ['brokers without a port', { brokers: ['localhost'] }, '`brokers`'],
    ['empty brokers', { brokers: [] }, '`brokers`'],
    ['output topic equal to input', { outputTopic: 'in' }, '`outputTopic`'],
    ['zero batch size', { maxBatchEvents: 0 }, '`maxBatchEvents`'],
    [
      'buffer below batch size',
      { maxBatchEvents: 100, maxBufferedEvents: 50 },
      '`maxBufferedEvents`',
    ],
    [
      'heartbeat not below session',
      { sessionTimeoutMs: 6000, heartbeatIntervalMs: 6000 },
      '`heartbeatIntervalMs`',
    ],
    ['unknown delivery', { delivery: 'twice' }, '`delivery`'],
    ['window without size', { window: { topic: 'w' } }, '`window.sizeMs`'],
    [
      'negative lateness',
      { eventTime: { allowedLatenessMs: -1 } },
      '`eventTime.allowedLatenessMs`',
    ],
    ['decoder that is no function', { decode: 'json' }, '`decode`'],
  ];
  for (const [name, patch, mention] of cases) {
    it(`rejects ${name}`, async () => {
      const running = scoreStream({ ...base, ...patch } as StreamOptions);
      await expect(running).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      await expect(running).rejects.toThrow(mention);
    });
  }

  it('rejects a passthrough field named like a result field', async () => {
    const running = scoreStream({ ...base, passthrough: ['label'] });
    await expect(running).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(running).rejects.toThrow('"label"');
  });

  it('rejects a window score column that is not numeric', async () => {
    const running = scoreStream({
      ...base,
      window: { topic: 'w', sizeMs: 1000, scoreColumn: 'nope' },
    });
    await expect(running).rejects.toThrow('probability_1');
  });

  it('rejects a missing model file', async () => {
    const running = scoreStream({ ...base, model: '/nonexistent/model.onnx' });
    await expect(running).rejects.toMatchObject({ code: 'ERR_MODEL_LOAD' });
  });

  it('rejects unreachable brokers', async () => {
    const running = scoreStream({ ...base, workers: 1 });
    await expect(running).rejects.toMatchObject({ code: 'ERR_INPUT_UNREADABLE' });
  });
});

describe('decodeRecord', () => {
  const fields: FeatureField[] = [
    { name: 'age', kind: 'number' },
    { name: 'region', kind: 'string' },
  ];
  const settings = { fields, decode: decodeJson, passthrough: ['id'], eventTimeField: undefined };
  const record = (value: string | null): ConsumedRecord => ({
    topic: 't',
    partition: 0,
    offset: 5n,
    timestamp: 1000,
    key: null,
    value: value === null ? null : Buffer.from(value),
    headers: [],
  });

  it('reads features, passthrough fields and the record time', () => {
    const result = decodeRecord(record('{"age": 40, "region": "north", "id": 7}'), settings);
    expect(result).toEqual({
      ok: true,
      event: { values: [40, 'north'], passthrough: { id: 7 }, eventTime: 1000 },
    });
  });

  it('reads null numbers as NaN and numbers for strings as text', () => {
    const result = decodeRecord(record('{"age": null, "region": 3}'), settings);
    expect(decoded(result).values).toEqual([NaN, '3']);
  });

  const bad: [string, string | null, string][] = [
    ['invalid JSON', '{"age":', 'ERR_INPUT_CORRUPT'],
    ['a JSON array', '[1]', 'ERR_INPUT_CORRUPT'],
    ['no value', null, 'ERR_INPUT_CORRUPT'],
    ['a missing feature', '{"region": "north"}', 'ERR_MISSING_COLUMN'],
    ['a text number', '{"age": "40", "region": "north"}', 'ERR_VALUE_CONVERSION'],
    ['a null string', '{"age": 40, "region": null}', 'ERR_VALUE_CONVERSION'],
  ];
  for (const [name, value, code] of bad) {
    it(`rejects ${name}`, () => {
      const result = decodeRecord(record(value), settings);
      expect(failure(result).code).toBe(code);
    });
  }

  it('reads the event time from a field', () => {
    const timed = { ...settings, eventTimeField: 'ts' };
    const iso = decodeRecord(
      record('{"age": 1, "region": "x", "ts": "2026-01-01T00:00:00Z"}'),
      timed,
    );
    expect(decoded(iso).eventTime).toBe(Date.parse('2026-01-01T00:00:00Z'));
    const missing = decodeRecord(record('{"age": 1, "region": "x"}'), timed);
    expect(failure(missing).code).toBe('ERR_VALUE_CONVERSION');
  });

  it('rejects an event time over an hour ahead', () => {
    const timed = { ...settings, eventTimeField: 'ts' };
    const ahead = Date.now() + 2 * 3600_000;
    const result = decodeRecord(record(`{"age": 1, "region": "x", "ts": ${ahead}}`), timed);
    expect(failure(result).code).toBe('ERR_VALUE_CONVERSION');
    expect(failure(result).message).toContain('hour');
  });

  it('turns a decoder error into ERR_INPUT_CORRUPT', () => {
    const failing = {
      ...settings,
      decode: () => {
        throw new Error('bad bytes');
      },
    };
    const result = decodeRecord(record('{}'), failing);
    expect(failure(result).message).toContain('bad bytes');
  });
});

/** Returns the event of a successful decode; fails the test on a failed one. */
function decoded(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected a decoded event, got ${result.error.message}`);
  return result.event;
}

/** Returns the error of a failed decode; fails the test on a successful one. */
function failure(result: DecodeResult) {
  if (result.ok) throw new Error('expected the record to be rejected');
  return result.error;
}

describe('PartitionClock', () => {
  const settings = {
    maxOutOfOrdernessMs: 1000,
    allowedLatenessMs: 500,
    idlePartitionTimeoutMs: 2000,
  };

  it('has no watermark before the first event', () => {
    expect(new PartitionClock(settings, 0).watermark).toBeNull();
  });

  it('trails the newest event time and never goes back', () => {
    const clock = new PartitionClock(settings, 0);
    clock.observe(10_000, 0);
    clock.observe(9_000, 0);
    expect(clock.watermark).toBe(9_000);
    expect(clock.closedBefore).toBe(8_500);
  });

  it('marks events behind watermark minus lateness as late', () => {
    const clock = new PartitionClock(settings, 0);
    clock.observe(10_000, 0);
    expect(clock.observe(8_500, 0)).toBe(false);
    expect(clock.observe(8_499, 0)).toBe(true);
  });

  it('follows the wall clock when the partition is idle', () => {
    const clock = new PartitionClock(settings, 0);
    clock.observe(10_000, 0);
    expect(clock.advanceIfIdle(1_999)).toBe(false);
    expect(clock.advanceIfIdle(5_000)).toBe(true);
    expect(clock.watermark).toBe(14_000);
    clock.observe(10_500, 6_000);
    expect(clock.watermark).toBe(14_000);
  });
});

describe('TumblingMeans', () => {
  it('averages per key and closes whole windows in order', () => {
    const windows = new TumblingMeans(1000);
    windows.add(Buffer.from('a'), 100, 0.2);
    windows.add(Buffer.from('a'), 900, 0.4);
    windows.add(Buffer.from('b'), 500, 1);
    windows.add(null, 1500, 0.5);
    windows.add(Buffer.from('a'), 1200, Number.NaN);
    expect(windows.close(999)).toEqual([]);
    const closed = windows.close(1000);
    expect(closed.map((w) => [w.key?.toString() ?? null, w.start, w.end, w.count])).toEqual([
      ['a', 0, 1000, 2],
      ['b', 0, 1000, 1],
    ]);
    expect(closed[0]!.mean).toBeCloseTo(0.3, 12);
    expect(windows.openWindows).toBe(1);
  });
});

describe('LatencyHistogram', () => {
  it('returns percentiles within 2 %', () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 1000; value++) histogram.record(value);
    const summary = histogram.summary();
    expect(summary.count).toBe(1000);
    expect(summary.p50! / 500).toBeGreaterThan(0.98);
    expect(summary.p50! / 500).toBeLessThan(1.02);
    expect(summary.p99! / 990).toBeGreaterThan(0.98);
    expect(summary.max).toBe(1000);
  });

  it('reports null when empty', () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0,
      p50: null,
      p90: null,
      p99: null,
      max: null,
    });
  });
});

describe('parseStreamArgs', () => {
  const required = [
    '--brokers',
    'a:1,b:2',
    '--group',
    'g',
    '--input-topic',
    'in',
    '--output-topic',
    'out',
    '--model',
    'm.onnx',
  ];

  it('maps flags to options', () => {
    const { options, quiet } = parseStreamArgs([
      ...required,
      '--delivery',
      'exactly-once',
      '--window-topic',
      'w',
      '--window-size-ms',
      '60000',
      '--max-batch-events',
      '200',
      '--passthrough',
      'id,region',
      '--quiet',
    ]);
    expect(options.brokers).toEqual(['a:1', 'b:2']);
    expect(options.delivery).toBe('exactly-once');
    expect(options.window).toEqual({ topic: 'w', sizeMs: 60000, scoreColumn: undefined });
    expect(options.maxBatchEvents).toBe(200);
    expect(options.passthrough).toEqual(['id', 'region']);
    expect(quiet).toBe(true);
  });

  it('rejects a missing required flag', () => {
    expect(() => parseStreamArgs(required.slice(2))).toThrow('--brokers');
  });

  it('rejects a window topic without a size', () => {
    expect(() => parseStreamArgs([...required, '--window-topic', 'w'])).toThrow('--window-size-ms');
  });

  it('rejects a number that is not whole', () => {
    expect(() => parseStreamArgs([...required, '--workers', '1.5'])).toThrow('--workers');
  });
});
