/**
 * Builds the records that the scorer produces: results, dead letters, late events and
 * window results. Every record derived from an input event carries that event's key and
 * `batchscore.source.*` headers naming where it was read.
 */
import type { ErrorCode } from '../errors.js';
import type { ResultValue } from './batch-table.js';
import type { DecodedEvent } from './decode.js';
import type { ConsumedRecord, ProducedRecord } from './kafka-client.js';
import type { WindowResult } from './window.js';

/** Header names that the scorer writes. */
export const HEADERS = {
  sourceTopic: 'batchscore.source.topic',
  sourcePartition: 'batchscore.source.partition',
  sourceOffset: 'batchscore.source.offset',
  /** Record timestamp of the input event, in epoch milliseconds. */
  sourceTimestamp: 'batchscore.source.timestamp',
  /** Error class, such as `DataError`. */
  errorClass: 'batchscore.error.class',
  errorCode: 'batchscore.error.code',
  errorMessage: 'batchscore.error.message',
  /** Times the event was tried: 1 for an error in the event itself. */
  attempts: 'batchscore.attempts',
  modelVersion: 'batchscore.model_version',
  /** Event time of a late event, in epoch milliseconds. */
  eventTime: 'batchscore.event_time',
  /** Watermark of the partition when a late event arrived, in epoch milliseconds. */
  watermark: 'batchscore.watermark',
} as const;

/** Fields that each result holds besides the prediction columns and passthrough fields. */
export const RESULT_FIELDS = ['model_version', 'scored_at', 'event_time'] as const;

/** Why an event could not be scored. */
export interface EventFailure {
  name: string;
  code: ErrorCode;
  message: string;
  attempts: number;
}

/** Builds the result of a scored event. Its timestamp is the event time. */
export function resultRecord(
  topic: string,
  source: ConsumedRecord,
  event: DecodedEvent,
  prediction: Record<string, ResultValue>,
  labels: { modelVersion: string; scoredAt: number },
): ProducedRecord {
  const value = {
    ...event.passthrough,
    ...prediction,
    model_version: labels.modelVersion,
    scored_at: new Date(labels.scoredAt).toISOString(),
    event_time: isoTime(event.eventTime),
  };
  return {
    topic,
    key: source.key,
    value: Buffer.from(JSON.stringify(value)),
    headers: sourceHeaders(source),
    timestamp: event.eventTime,
  };
}

/** Copies an event that cannot be scored, with headers that say where it came from and why. */
export function deadLetterRecord(
  topic: string,
  source: ConsumedRecord,
  failure: EventFailure,
  modelVersion: string,
): ProducedRecord {
  return {
    topic,
    key: source.key,
    value: source.value,
    headers: [
      ...source.headers,
      ...sourceHeaders(source),
      header(HEADERS.errorClass, failure.name),
      header(HEADERS.errorCode, failure.code),
      header(HEADERS.errorMessage, failure.message),
      header(HEADERS.attempts, String(failure.attempts)),
      header(HEADERS.modelVersion, modelVersion),
    ],
    timestamp: source.timestamp,
  };
}

/** Copies a late event, with its event time and the watermark it fell behind. */
export function lateRecord(
  topic: string,
  source: ConsumedRecord,
  eventTime: number,
  watermark: number,
): ProducedRecord {
  return {
    topic,
    key: source.key,
    value: source.value,
    headers: [
      ...source.headers,
      ...sourceHeaders(source),
      header(HEADERS.eventTime, String(eventTime)),
      header(HEADERS.watermark, String(watermark)),
    ],
    timestamp: source.timestamp,
  };
}

/** Builds the record of a closed window, keyed like the events it averages. */
export function windowRecord(
  topic: string,
  window: WindowResult,
  scoreColumn: string,
  modelVersion: string,
): ProducedRecord {
  const value = {
    window_start: isoTime(window.start),
    window_end: isoTime(window.end),
    count: window.count,
    mean: window.mean,
    score_column: scoreColumn,
    model_version: modelVersion,
  };
  return {
    topic,
    key: window.key,
    value: Buffer.from(JSON.stringify(value)),
    headers: [],
    timestamp: window.start,
  };
}

function sourceHeaders(source: ConsumedRecord) {
  return [
    header(HEADERS.sourceTopic, source.topic),
    header(HEADERS.sourcePartition, String(source.partition)),
    header(HEADERS.sourceOffset, source.offset.toString()),
    header(HEADERS.sourceTimestamp, String(source.timestamp)),
  ];
}

function header(name: string, value: string): readonly [string, Buffer] {
  return [name, Buffer.from(value)];
}

/** ISO 8601 form of an epoch-millisecond time, or the number when it is out of range. */
function isoTime(ms: number): string | number {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? ms : date.toISOString();
}
