import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchscoreError } from '../src/errors.js';
import { planJsonl } from '../src/plan/jsonl.js';
import { readJsonlRange } from '../src/read/jsonl.js';
import { sourceRowNumber, type ColumnType, type ReadResult } from '../src/read/types.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batchscore-jsonl-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;

async function jsonlFile(content: string): Promise<string> {
  const path = join(dir, `input-${fileCount++}.jsonl`);
  await writeFile(path, content);
  return path;
}

async function readAll(
  content: string,
  columnTypes?: Record<string, ColumnType>,
): Promise<ReadResult> {
  const path = await jsonlFile(content);
  const plan = await planJsonl(path, { targetBytes: 1 << 30, columnTypes });
  const range = plan.ranges[0];
  if (range === undefined) throw new Error('no range');
  return readJsonlRange(path, range, plan.schema);
}

function values(table: Table, name: string): unknown[] {
  const column = table.getChild(name);
  if (column === null) throw new Error(`no column ${name}`);
  return [...column];
}

async function rejection(promise: Promise<unknown>): Promise<BatchscoreError> {
  try {
    await promise;
  } catch (error) {
    return error as BatchscoreError;
  }
  throw new Error('expected the promise to reject');
}

describe('planJsonl', () => {
  it('infers keys in first-seen order with their types', async () => {
    const content = [
      '{"id": 1, "score": 1, "ok": true, "name": "a"}',
      '{"score": 2.5, "id": 2, "tags": ["x"], "extra": null}',
      '{"id": 3, "meta": {"k": 1}, "mixed": 1}',
      '{"mixed": "one", "name": null}',
    ].join('\n');
    const plan = await planJsonl(await jsonlFile(content), { targetBytes: 1000 });
    expect(plan.schema).toEqual({
      names: ['id', 'score', 'ok', 'name', 'tags', 'extra', 'meta', 'mixed'],
      types: ['int64', 'float64', 'bool', 'utf8', 'utf8', 'utf8', 'utf8', 'utf8'],
    });
    expect(plan.rows).toBe(4);
  });

  it('infers int64 for integers beyond 2^53', async () => {
    const content =
      '{"a": 9007199254740992, "b": 9007199254740993, "c": -9223372036854775808, ' +
      '"d": 9223372036854775808, "e": 9007199254740993.5, "f": 1.0e16, "g": 1e400}\n';
    const plan = await planJsonl(await jsonlFile(content), { targetBytes: 1000 });
    expect(plan.schema.types).toEqual([
      'int64',
      'int64',
      'int64',
      'utf8',
      'float64',
      'int64',
      'utf8',
    ]);
  });

  it('splits on LF past BOM and blanks', async () => {
    const content = '\ufeff{"a":1}\r\n\r\n  \n{"a":2}\n\t\n{"a":3}';
    const plan = await planJsonl(await jsonlFile(content), { targetBytes: 1 });
    expect(plan.hasBom).toBe(true);
    expect(plan.ranges).toEqual([
      { start: 3, end: 12, firstRow: 1, rows: 1 },
      { start: 17, end: 25, firstRow: 2, rows: 1 },
      { start: 27, end: 34, firstRow: 3, rows: 1 },
    ]);
    expect(plan.rows).toBe(3);
    expect(plan.bytes).toBe(34);
  });

  it('groups lines into ranges of about targetBytes', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `{"n":${10 + i}}\n`);
    const plan = await planJsonl(await jsonlFile(lines.join('')), { targetBytes: 25 });
    // Every line is 9 bytes, so each range closes after 3 lines (27 bytes).
    expect(plan.ranges).toHaveLength(10);
    plan.ranges.forEach((range, i) => {
      expect(range).toEqual({ start: 27 * i, end: 27 * (i + 1), firstRow: 1 + 3 * i, rows: 3 });
    });
  });

  it('infers from object lines only', async () => {
    const content = '[1,2]\nnot json\n7\n{"a": 1}\n';
    const plan = await planJsonl(await jsonlFile(content), { targetBytes: 1000 });
    expect(plan.schema).toEqual({ names: ['a'], types: ['int64'] });
    expect(plan.rows).toBe(4);
  });

  it('looks only at the first sampleRows lines', async () => {
    const content = '{"a": 1}\n{"a": 2}\n{"a": "x", "b": 1}\n';
    const path = await jsonlFile(content);
    const plan = await planJsonl(path, { targetBytes: 1000, sampleRows: 2 });
    expect(plan.schema).toEqual({ names: ['a'], types: ['int64'] });
  });

  it('applies columnTypes and rejects unknown names', async () => {
    const path = await jsonlFile('{"a": 1, "b": 2}\n');
    const plan = await planJsonl(path, { targetBytes: 1000, columnTypes: { b: 'float64' } });
    expect(plan.schema.types).toEqual(['int64', 'float64']);
    const error = await rejection(
      planJsonl(path, { targetBytes: 1000, columnTypes: { c: 'utf8' } }),
    );
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('"c"');
    expect(error.fix).toBe('Keys seen in the first 1000 lines: a, b');
  });

  it.each([
    ['empty file', '', 'Input file is empty'],
    ['blank lines only', '\n  \r\n', 'only blank lines'],
    ['no object with a key', '{}\n[1]\n', 'contain no JSON object with a key'],
  ])('%s is ERR_INPUT_CORRUPT', async (_name, content, text) => {
    const error = await rejection(planJsonl(await jsonlFile(content), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain(text);
  });

  it('missing file is ERR_INPUT_NOT_FOUND', async () => {
    const path = join(dir, 'missing.jsonl');
    const error = await rejection(planJsonl(path, { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_NOT_FOUND');
    expect(error.message).toContain(path);
  });

  it('directory is ERR_INPUT_UNREADABLE', async () => {
    const path = join(dir, 'folder.jsonl');
    await mkdir(path);
    const error = await rejection(planJsonl(path, { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_UNREADABLE');
  });

  it('targetBytes 0 is ERR_INVALID_OPTION', async () => {
    const path = await jsonlFile('{"a":1}\n');
    const error = await rejection(planJsonl(path, { targetBytes: 0 }));
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('`targetBytes`');
  });
});

describe('readJsonlRange', () => {
  it('keeps integers beyond 2^53 exact', async () => {
    const content =
      '{"a": 9007199254740993, "b": 9223372036854775807, "c": -9223372036854775808}\n' +
      '{"a": -9007199254740993, "b": 90071992547409930e-1, "c": 1}\n';
    const result = await readAll(content);
    expect(values(result.table, 'a')).toEqual([9007199254740993n, -9007199254740993n]);
    expect(values(result.table, 'b')).toEqual([9223372036854775807n, 9007199254740993n]);
    expect(values(result.table, 'c')).toEqual([-9223372036854775808n, 1n]);
    expect(result.rejected).toEqual([]);
  });

  it('finds source text after nested values', async () => {
    const content =
      '{"a": 1, "s": "x\\"}, \\"a\\": 2", "n": {"a": 9007199254740995}, ' +
      '"l": [9007199254740997, "]"], "a" : 9007199254740993 }\n';
    const result = await readAll(content, { a: 'int64', s: 'utf8', n: 'utf8', l: 'utf8' });
    expect(values(result.table, 'a')).toEqual([9007199254740993n]);
    expect(values(result.table, 's')).toEqual(['x"}, "a": 2']);
    expect(result.rejected).toEqual([]);
  });

  it('keeps integers beyond int64 as text', async () => {
    const content = '{"id": 18446744073709551615}\n{"id": 1}\n';
    const result = await readAll(content);
    expect(result.table.schema.fields[0]?.type.typeId).toBe(Type.Utf8);
    expect(values(result.table, 'id')).toEqual(['18446744073709551615', '1']);
  });

  it('rejects rounded non-integers with their source text', async () => {
    const content = '{"i": 9007199254740993.5}\n{"i": 9223372036854775808}\n';
    const result = await readAll(content, { i: 'int64' });
    expect(result.rejected.map((row) => row.value)).toEqual([
      '9007199254740993.5',
      '9223372036854775808',
    ]);
    expect(result.rejected.map((row) => row.reason)).toEqual([
      'value is not an integer, but column "i" is int64',
      'value is outside the int64 range, but column "i" is int64',
    ]);
  });

  it('reads each type into its Arrow column', async () => {
    const content =
      '{"i": 1, "f": 1.5, "b": true, "s": "x", "o": {"k": [1, "two"]}}\n' +
      '{"i": -9007199254740992, "f": 2, "b": false, "s": "", "o": [true]}\n';
    const result = await readAll(content);
    const { table } = result;
    expect(table.schema.fields.map((field) => String(field.type))).toEqual([
      'Int64',
      'Float64',
      'Bool',
      'Utf8',
      'Utf8',
    ]);
    expect(table.schema.fields[3]?.type.typeId).toBe(Type.Utf8);
    expect(values(table, 'i')).toEqual([1n, -9007199254740992n]);
    expect(values(table, 'f')).toEqual([1.5, 2]);
    expect(values(table, 'b')).toEqual([true, false]);
    expect(values(table, 's')).toEqual(['x', '']);
    expect(values(table, 'o')).toEqual(['{"k":[1,"two"]}', '[true]']);
    expect(result.rejected).toEqual([]);
  });

  it('missing and null are null', async () => {
    const content = '{"a": 1, "b": "x"}\n{"b": null, "zzz": 5}\n{"a": null}\n';
    const { table } = await readAll(content);
    expect(table.schema.fields.map((field) => field.name)).toEqual(['a', 'b', 'zzz']);
    expect(values(table, 'a')).toEqual([1n, null, null]);
    expect(values(table, 'b')).toEqual(['x', null, null]);
  });

  it('ignores keys outside the schema', async () => {
    const path = await jsonlFile('{"a": 1}\n{"a": 2, "extra": "x"}\n');
    const plan = await planJsonl(path, { targetBytes: 1000, sampleRows: 1 });
    expect(plan.schema.names).toEqual(['a']);
    const range = plan.ranges[0];
    if (range === undefined) throw new Error('no range');
    const result = await readJsonlRange(path, range, plan.schema);
    expect(result.table.schema.fields.map((field) => field.name)).toEqual(['a']);
    expect(values(result.table, 'a')).toEqual([1n, 2n]);
    expect(result.rejected).toEqual([]);
  });

  it('ignores inherited properties', async () => {
    const content = '{"constructor": 1, "toString": 2}\n{}\n';
    const { table } = await readAll(content);
    expect(values(table, 'constructor')).toEqual([1n, null]);
    expect(values(table, 'toString')).toEqual([2n, null]);
  });

  it('utf8 column keeps JSON text', async () => {
    const { table } = await readAll('{"s": "a"}\n{"s": 5}\n{"s": false}\n', { s: 'utf8' });
    expect(values(table, 's')).toEqual(['a', '5', 'false']);
  });

  it('reads an integral float into an int64 column', async () => {
    const { table } = await readAll('{"n": 1.0}\n{"n": 2}\n');
    expect(values(table, 'n')).toEqual([1n, 2n]);
  });

  it('rejects lines that are not JSON objects', async () => {
    const content = '{"a": 1}\n[1]\nnot json\n\n7\nnull\n{"a": 2}\n';
    const result = await readAll(content);
    expect(values(result.table, 'a')).toEqual([1n, 2n]);
    expect(result.rejected.map(({ row, code, value }) => ({ row, code, value }))).toEqual([
      { row: 2, code: 'ERR_INPUT_CORRUPT', value: '[1]' },
      { row: 3, code: 'ERR_INPUT_CORRUPT', value: 'not json' },
      { row: 4, code: 'ERR_INPUT_CORRUPT', value: '7' },
      { row: 5, code: 'ERR_INPUT_CORRUPT', value: 'null' },
    ]);
    expect(result.rejected[0]?.reason).toBe('line is an array, not a JSON object');
    expect(result.rejected[1]?.reason).toMatch(/^line is not valid JSON: /);
    expect(result.rejected[2]?.reason).toBe('line is a number, not a JSON object');
    expect([...(result.rowNumbers ?? [])]).toEqual([1, 6]);
  });

  it('rejects values of the wrong type', async () => {
    const content = [
      '{"i": 1, "f": 1.5, "b": true}',
      '{"i": 2.5, "f": 1.5, "b": true}',
      '{"i": "3", "f": 1.5, "b": true}',
      '{"i": 4, "f": "x", "b": true}',
      '{"i": 5, "f": 1.5, "b": "yes"}',
      '{"i": 1e300, "f": 1.5, "b": true}',
      '{"i": 7, "f": 1.5, "b": false}',
    ].join('\n');
    const result = await readAll(content, { i: 'int64', f: 'float64', b: 'bool' });
    expect(values(result.table, 'i')).toEqual([1n, 7n]);
    expect(result.rejected).toEqual([
      {
        row: 2,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'i',
        value: '2.5',
        reason: 'value is not an integer, but column "i" is int64',
      },
      {
        row: 3,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'i',
        value: '"3"',
        reason: 'value is a string, but column "i" is int64',
      },
      {
        row: 4,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'f',
        value: '"x"',
        reason: 'value is a string, but column "f" is float64',
      },
      {
        row: 5,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'b',
        value: '"yes"',
        reason: 'value is a string, but column "b" is bool',
      },
      {
        row: 6,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'i',
        value: '1e300',
        reason: 'value is outside the int64 range, but column "i" is int64',
      },
    ]);
    expect([...(result.rowNumbers ?? [])]).toEqual([1, 7]);
  });

  it('ranges read each line once', async () => {
    const lines: string[] = [];
    const expected: Array<{ row: number; n: bigint | null; s: string | null } | number> = [];
    for (let row = 1; row <= 200; row++) {
      if (row % 7 === 0) lines.push(row % 2 === 0 ? '' : ' \r');
      if (row % 11 === 0) {
        lines.push('{"n": "bad"}');
        expected.push(row);
      } else {
        const s = row % 5 === 0 ? null : 'é'.repeat(row % 4);
        lines.push(JSON.stringify({ n: row % 3 === 0 ? null : row, s }));
        expected.push({ row, n: row % 3 === 0 ? null : BigInt(row), s });
      }
    }
    const path = await jsonlFile(lines.join('\r\n'));
    for (const targetBytes of [1, 17, 64, 333, 1 << 20]) {
      const plan = await planJsonl(path, { targetBytes, columnTypes: { n: 'int64' } });
      expect(plan.rows).toBe(200);
      const results = await Promise.all(
        plan.ranges.map((range) => readJsonlRange(path, range, plan.schema)),
      );
      const seen: typeof expected = [];
      for (const result of results) {
        for (let i = 0; i < result.table.numRows; i++) {
          seen.push({
            row: sourceRowNumber(result, i),
            n: values(result.table, 'n')[i] as bigint | null,
            s: values(result.table, 's')[i] as string | null,
          });
        }
        seen.push(...result.rejected.map((rejected) => rejected.row));
      }
      const rowOf = (item: (typeof expected)[number]): number =>
        typeof item === 'number' ? item : item.row;
      seen.sort((a, b) => rowOf(a) - rowOf(b));
      expect(seen, `targetBytes ${targetBytes}`).toEqual(expected);
    }
  });
});
