/**
 * Turns Kafka records into feature values. An event is a JSON object (or what a custom
 * decoder returns) whose fields are the model's feature columns. Checking each event on
 * its own here lets one bad event go to the dead-letter topic while the rest of its
 * micro-batch is scored.
 */
import { Bool, Float64, Utf8 } from 'apache-arrow';
import { resolveFeatures } from '../convert/features.js';
import { BatchscoreError, DataError, InputError } from '../errors.js';
import type { ModelInfo } from '../model/inspect.js';
import type { ConsumedRecord } from './kafka-client.js';
import type { EventDecoder } from './options.js';

/** Largest lead of an event time over the wall clock that is accepted, in milliseconds. */
const MAX_FUTURE_MS = 60 * 60 * 1000;

/** Kind of value an event field takes, before the worker casts it to the input type. */
export type FieldKind = 'number' | 'string' | 'bool';

/** A feature field of the events. */
export interface FeatureField {
  name: string;
  kind: FieldKind;
}

/** An event whose features passed the checks. */
export interface DecodedEvent {
  /** One value per feature field, in field order: a number, string or boolean. */
  values: (number | string | boolean)[];
  /** Passthrough fields, as the event had them. */
  passthrough: Record<string, unknown>;
  /** Event time, in milliseconds since the Unix epoch. */
  eventTime: number;
}

/** The result of decoding one record. */
export type DecodeResult =
  { ok: true; event: DecodedEvent } | { ok: false; error: BatchscoreError };

/** Settings of {@link decodeRecord}. */
export interface DecodeSettings {
  fields: readonly FeatureField[];
  decode: EventDecoder;
  passthrough: readonly string[];
  /** Event field with the event time; the record timestamp when undefined. */
  eventTimeField: string | undefined;
}

/**
 * Lists the event fields that feed the model, with the kind of value each takes.
 *
 * @throws {@link DataError} or {@link InvalidOptionError} when the model inputs cannot be
 *   fed from one field per value, as `resolveFeatures` decides.
 */
export function featureFields(info: ModelInfo, features?: readonly string[]): FeatureField[] {
  const fields =
    features === undefined
      ? info.inputs.map((input) => ({ name: input.name, kind: fieldKind(input.elemType) }))
      : features.map((name) => ({ name, kind: fieldKind(info.inputs[0]?.elemType ?? null) }));
  // Checks the model the way a batch run does, with the columns the events will give.
  const columns = fields.map((field) => ({ name: field.name, type: arrowType(field.kind) }));
  resolveFeatures(info, columns, features);
  return fields;
}

function fieldKind(elemType: string | null): FieldKind {
  if (elemType === 'string') return 'string';
  if (elemType === 'bool') return 'bool';
  return 'number';
}

function arrowType(kind: FieldKind) {
  if (kind === 'string') return new Utf8();
  if (kind === 'bool') return new Bool();
  return new Float64();
}

/** Parses a record value as a JSON object. The default {@link EventDecoder}. */
export function decodeJson(record: ConsumedRecord): Record<string, unknown> {
  if (record.value === null || record.value.length === 0) {
    throw new InputError('ERR_INPUT_CORRUPT', 'The record has no value');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    throw new InputError(
      'ERR_INPUT_CORRUPT',
      `The record value is not valid JSON: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    throw new InputError('ERR_INPUT_CORRUPT', `The record value is JSON ${got}, not an object`, {
      fix: 'Send each event as a JSON object whose fields are the model features',
    });
  }
  return parsed as Record<string, unknown>;
}

/** Decodes one record and checks its features and event time. Returns failures as values. */
export function decodeRecord(record: ConsumedRecord, settings: DecodeSettings): DecodeResult {
  try {
    const fields = decodeFields(record, settings.decode);
    const values = settings.fields.map((field) => fieldValue(fields, field));
    const passthrough: Record<string, unknown> = {};
    for (const name of settings.passthrough) {
      if (Object.hasOwn(fields, name)) passthrough[name] = fields[name];
    }
    const eventTime =
      settings.eventTimeField === undefined
        ? record.timestamp
        : readEventTime(fields, settings.eventTimeField);
    checkNotFuture(eventTime, settings.eventTimeField);
    return { ok: true, event: { values, passthrough, eventTime } };
  } catch (error) {
    return { ok: false, error: asBatchscoreError(error) };
  }
}

function decodeFields(record: ConsumedRecord, decode: EventDecoder): Record<string, unknown> {
  const fields = decode(record);
  if (typeof fields !== 'object' || fields === null) {
    throw new InputError('ERR_INPUT_CORRUPT', 'The decoder returned no object for the record', {
      fix: 'Return an object whose fields are the model features from `decode`',
    });
  }
  return fields;
}

function fieldValue(
  fields: Record<string, unknown>,
  field: FeatureField,
): number | string | boolean {
  if (!Object.hasOwn(fields, field.name) || fields[field.name] === undefined) {
    throw new DataError('ERR_MISSING_COLUMN', 'The event has no field for a model feature', {
      column: field.name,
      fix: 'Send every feature field; use null for a missing number',
    });
  }
  const value = fields[field.name];
  if (field.kind === 'number') return numberValue(value, field.name);
  if (field.kind === 'bool') return boolValue(value, field.name);
  return stringValue(value, field.name);
}

/** Reads a number. Null becomes NaN, a missing value that the model's imputer may fill. */
function numberValue(value: unknown, name: string): number {
  if (value === null) return NaN;
  if (typeof value === 'number') return value;
  throw conversionError(name, value, 'a number');
}

function boolValue(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw conversionError(name, value, 'true, false, 0 or 1');
}

/**
 * Reads a string. Numbers and booleans become text the way a batch run casts them to a
 * string input (`cast.ts`), so `1` becomes "1" and `true` becomes "True".
 */
function stringValue(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  throw conversionError(name, value, 'a string');
}

function readEventTime(fields: Record<string, unknown>, name: string): number {
  const value = fields[name];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw conversionError(name, value, 'an event time in epoch milliseconds or ISO 8601');
}

/**
 * Rejects an event time more than {@link MAX_FUTURE_MS} ahead of the clock. Results carry
 * the event time as their timestamp, and a Kafka 4.4.0 broker rejects, by default, a record
 * timestamp more than an hour ahead (`log.message.timestamp.after.max.ms` = 3600000). Such
 * a rejected result would stop the scorer.
 */
function checkNotFuture(eventTime: number, field: string | undefined): void {
  if (eventTime <= Date.now() + MAX_FUTURE_MS) return;
  throw new DataError('ERR_VALUE_CONVERSION', 'The event time is more than an hour ahead', {
    column: field,
    value: String(eventTime),
    fix: 'Check the clock of the producer, or the unit of the event time field (milliseconds)',
  });
}

function conversionError(name: string, value: unknown, expected: string): DataError {
  return new DataError('ERR_VALUE_CONVERSION', `Expected the field to hold ${expected}`, {
    column: name,
    value: typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)),
  });
}

function asBatchscoreError(error: unknown): BatchscoreError {
  if (error instanceof BatchscoreError) return error;
  return new InputError('ERR_INPUT_CORRUPT', `The decoder failed: ${messageOf(error)}`, {
    cause: error,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
