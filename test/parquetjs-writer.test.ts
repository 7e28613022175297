import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Bool,
  DataType,
  Float32,
  Float64,
  Int64,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  Utf8,
  makeData,
  makeVector,
  tableFromIPC,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { scorePartitioned } from '../dist/index.js';
import { writeParquetjs } from '../src/write/parquetjs.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { readOutput, tempDir } from './helpers/output.js';

/** 2026-01-31T02:00:00.123456Z in microseconds, with a sub-millisecond part. */
const STAMP_MICROS = 1_769_824_800_123_456n;

let dir: string;

beforeAll(async () => {
  dir = await tempDir();
});

/** Builds a nullable column from `values`, where a null entry marks a null row. */
function column<T extends DataType>(
  type: T,
  values: (number | bigint | null)[],
  ArrayType: Float64ArrayConstructor | Float32ArrayConstructor | BigInt64ArrayConstructor,
): Vector<T> {
  const data = new ArrayType(values.length);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value === null) return;
    (data as unknown as (number | bigint)[])[i] = value;
    validity[i >> 3]! |= 1 << (i & 7);
  });
  const nullCount = values.filter((value) => value === null).length;
  return makeVector(
    makeData({ type, length: values.length, nullCount, nullBitmap: validity, data } as never),
  ) as Vector<T>;
}

/** Writes `table` with parquetjs-lite and reads it back with parquet-wasm. */
async function roundTrip(table: Table, name: string): Promise<Table> {
  const path = join(dir, name);
  await writeParquetjs(table, path, 'snappy', { k: 'v' });
  return tableFromIPC(readParquet(await readFile(path)).intoIPCStream());
}

/** Raw int64 values of a timestamp column, with null rows as null. */
function rawTimestamps(table: Table, name: string): (bigint | null)[] {
  const vector = table.getChild(name);
  if (vector === null) throw new Error(`no column ${name}`);
  const result: (bigint | null)[] = [];
  for (const data of vector.data) {
    const values = data.values as BigInt64Array;
    for (let i = 0; i < data.length; i++) result.push(data.getValid(i) ? values[i]! : null);
  }
  return result;
}

describe('writeParquetjs', () => {
  it('round-trips mixed column types', async () => {
    const table = new Table({
      scored_at: column(new TimestampMicrosecond('UTC'), [STAMP_MICROS, null, 0n], BigInt64Array),
      score: column(new Float64(), [0.25, NaN, null], Float64Array),
      score32: column(new Float32(), [NaN, 1.5, null], Float32Array),
      id: column(new Int64(), [9_007_199_254_740_991n, -2n, null], BigInt64Array),
      name: vectorFromArray(['a', null, 'é'], new Utf8()),
      ok: vectorFromArray([true, false, null], new Bool()),
    });
    const read = await roundTrip(table, 'mixed.parquet');

    expect(read.numRows).toBe(3);
    expect(rawTimestamps(read, 'scored_at')).toEqual([STAMP_MICROS, null, 0n]);
    const stampType = read.getChild('scored_at')?.type;
    expect(DataType.isTimestamp(stampType)).toBe(true);
    expect((stampType as TimestampMicrosecond).timezone).toMatch(/^(UTC|\+00:00)$/);
    expect(read.getChild('scored_at')?.get(0)).toBe(Number(STAMP_MICROS) / 1000);
    // parquetjs-lite cannot write NaN, so it becomes null.
    expect([...read.getChild('score')!]).toEqual([0.25, null, null]);
    expect([...read.getChild('score32')!]).toEqual([null, 1.5, null]);
    expect([...read.getChild('id')!]).toEqual([9_007_199_254_740_991n, -2n, null]);
    expect([...read.getChild('name')!]).toEqual(['a', null, 'é']);
    expect([...read.getChild('ok')!]).toEqual([true, false, null]);
    expect(read.schema.metadata.get('k')).toBe('v');
  });

  it('converts millisecond and nanosecond timestamps to microseconds', async () => {
    const table = new Table({
      millis: column(new TimestampMillisecond('UTC'), [1_769_824_800_123n], BigInt64Array),
      nanos: column(new TimestampNanosecond('UTC'), [1_769_824_800_123_456_789n], BigInt64Array),
    });
    const read = await roundTrip(table, 'units.parquet');
    expect(rawTimestamps(read, 'millis')).toEqual([1_769_824_800_123_000n]);
    expect(rawTimestamps(read, 'nanos')).toEqual([STAMP_MICROS]);
  });

  it('keeps stored values of timezone-naive timestamps', async () => {
    const table = new Table({
      local: column(new TimestampMicrosecond(), [STAMP_MICROS], BigInt64Array),
    });
    const read = await roundTrip(table, 'naive.parquet');
    // The values are unchanged, but parquetjs-lite can only mark the column UTC.
    expect(rawTimestamps(read, 'local')).toEqual([STAMP_MICROS]);
  });

  it('rejects timestamps before 1970', async () => {
    const table = new Table({
      old: column(new TimestampMicrosecond('UTC'), [-1n], BigInt64Array),
    });
    await expect(roundTrip(table, 'old.parquet')).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_COLUMN_TYPE',
      location: { column: 'old' },
    });
  });
});

describe('scorePartitioned with parquetjs-lite', () => {
  it('writes scored_at as the given instant', async () => {
    const input = join(dir, 'customers.csv');
    generateCustomers(input, 500);
    const output = join(dir, 'scored');
    const scoredAt = new Date('2026-01-31T02:00:00Z');
    await scorePartitioned({
      model: churnModel,
      input,
      output,
      parquetEngine: 'parquetjs-lite',
      scoredAt,
    });
    const table = await readOutput(output);
    expect(table.numRows).toBe(500);
    const stamps = rawTimestamps(table, 'scored_at');
    expect(new Set(stamps)).toEqual(new Set([BigInt(scoredAt.getTime()) * 1000n]));
    expect(table.getChild('scored_at')?.get(0)).toBe(scoredAt.getTime());
  });
});
