import type {
  Table} from 'apache-arrow';
import {
  TimestampMicrosecond,
  Utf8,
  makeData,
  makeVector,
  type Vector,
} from 'apache-arrow';

/**
 * Returns the rows of `table` at the sorted indexes `keep`, as zero-copy slices of the
 * runs of consecutive indexes. Rejected rows are rare, so there are few runs.
 */
export function keepRows(table: Table, keep: Uint32Array | null): Table {
  if (keep === null) return table;
  const slices: Table[] = [];
  let runStart = 0;
  for (let i = 1; i <= keep.length; i++) {
    const runEnds = i === keep.length || keep[i] !== (keep[i - 1] as number) + 1;
    if (!runEnds) continue;
    const first = keep[runStart] as number;
    const last = keep[i - 1] as number;
    slices.push(table.slice(first, last + 1));
    runStart = i;
  }
  if (slices.length === 0) return table.slice(0, 0);
  const [head, ...rest] = slices as [Table, ...Table[]];
  return head.concat(...rest);
}

/** Returns a UTF-8 column with `value` in each of `length` rows. */
export function constantUtf8(value: string, length: number): Vector<Utf8> {
  const bytes = new TextEncoder().encode(value);
  const data = new Uint8Array(bytes.byteLength * length);
  const offsets = new Int32Array(length + 1);
  for (let i = 0; i < length; i++) {
    data.set(bytes, i * bytes.byteLength);
    offsets[i + 1] = (i + 1) * bytes.byteLength;
  }
  return makeVector(makeData({ type: new Utf8(), length, valueOffsets: offsets, data }));
}

/** Returns a UTC timestamp column, in microseconds, with `micros` in each of `length` rows. */
export function constantTimestamp(micros: bigint, length: number): Vector<TimestampMicrosecond> {
  const values = new BigInt64Array(length).fill(micros);
  return makeVector(makeData({ type: new TimestampMicrosecond('UTC'), length, data: values }));
}
