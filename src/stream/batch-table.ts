/**
 * Converts micro-batches between decoded events and the Arrow IPC bytes that cross to
 * and from the scoring workers.
 */
import {
  Bool,
  Table,
  Utf8,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import type { DecodedEvent, FeatureField } from './decode.js';

/** A JSON-safe result value. */
export type ResultValue = number | string | boolean | null;

/** Serializes the features of `events` as an Arrow IPC stream, one row per event. */
export function featureTableIpc(fields: readonly FeatureField[], events: readonly DecodedEvent[]) {
  const columns: Record<string, Vector> = {};
  fields.forEach((field, index) => {
    columns[field.name] = featureColumn(field, events, index);
  });
  return tableToIPC(new Table(columns), 'stream');
}

function featureColumn(
  field: FeatureField,
  events: readonly DecodedEvent[],
  index: number,
): Vector {
  if (field.kind === 'number') {
    const values = new Float64Array(events.length);
    events.forEach((event, row) => {
      values[row] = event.values[index] as number;
    });
    return makeVector(values);
  }
  const values = events.map((event) => event.values[index]);
  return field.kind === 'bool'
    ? vectorFromArray(values as boolean[], new Bool())
    : vectorFromArray(values as string[], new Utf8());
}

/**
 * Reads the result columns of a scored micro-batch, one object per scored row. Integers
 * beyond 2^53 become decimal text so that JSON keeps every digit.
 */
export function readResultRows(ipc: Uint8Array, columns: readonly string[]) {
  const table = tableFromIPC(ipc);
  const vectors = columns.map((name) => [name, table.getChild(name)] as const);
  const rows: Record<string, ResultValue>[] = [];
  for (let row = 0; row < table.numRows; row++) {
    const values: Record<string, ResultValue> = {};
    for (const [name, vector] of vectors) values[name] = jsonValue(vector?.get(row));
    rows.push(values);
  }
  return rows;
}

function jsonValue(value: unknown): ResultValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    const asNumber = Number(value);
    return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}
