import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchscoreError } from '../src/errors.js';
import { planCsv } from '../src/plan/csv.js';
import { readCsvRange } from '../src/read/csv.js';
import { ValueParser } from '../src/read/text-values.js';
import { sourceRowNumber, type ColumnType, type ReadResult } from '../src/read/types.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batchscore-csv-read-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;

async function csvFile(content: string | Buffer): Promise<string> {
  const path = join(dir, `input-${fileCount++}.csv`);
  await writeFile(path, content);
  return path;
}

/** Plans `content` and reads all of it as one range. */
async function readAll(
  content: string | Buffer,
  options: { delimiter?: string; columnTypes?: Record<string, ColumnType> } = {},
): Promise<ReadResult> {
  const path = await csvFile(content);
  const plan = await planCsv(path, { targetBytes: 1 << 30, ...options });
  const range = plan.ranges[0] ?? { start: plan.bytes, end: plan.bytes, firstRow: 1 };
  return readCsvRange(path, range, plan.schema, options);
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

describe('readCsvRange values', () => {
  it('reads each column type into its Arrow type', async () => {
    const result = await readAll('i,f,b,s\n1,1.5,true,x\n-7,-2e3,FALSE,héllo\n');
    const { table } = result;
    expect(table.schema.fields.map((field) => field.type.typeId)).toEqual([
      Type.Int,
      Type.Float,
      Type.Bool,
      Type.Utf8,
    ]);
    expect(String(table.schema.fields[0]?.type)).toBe('Int64');
    expect(String(table.schema.fields[1]?.type)).toBe('Float64');
    expect(values(table, 'i')).toEqual([1n, -7n]);
    expect(values(table, 'f')).toEqual([1.5, -2000]);
    expect(values(table, 'b')).toEqual([true, false]);
    expect(values(table, 's')).toEqual(['x', 'héllo']);
    expect(result.rejected).toEqual([]);
    expect(result.rowNumbers).toBeUndefined();
    expect(result.firstRow).toBe(1);
  });

  it('blank typed cells are null', async () => {
    const content = 'i,f,b\n,,\n \t, ,  \n"","",""\n1,2.5,true\n';
    const { table } = await readAll(content);
    expect(values(table, 'i')).toEqual([null, null, null, 1n]);
    expect(values(table, 'f')).toEqual([null, null, null, 2.5]);
    expect(values(table, 'b')).toEqual([null, null, null, true]);
    expect(table.getChild('i')?.nullCount).toBe(3);
  });

  it('empty text is null, spaces kept', async () => {
    const { table } = await readAll('k,s\n1,\n2,""\n3, \n4,a b \n', {
      columnTypes: { s: 'utf8' },
    });
    expect(values(table, 's')).toEqual([null, null, ' ', 'a b ']);
    expect(table.getChild('s')?.nullCount).toBe(2);
  });

  it('unquotes commas, newlines and doubled quotes', async () => {
    const content =
      'id,text\n1,"a,b"\n2,"line1\nline2"\n3,"say ""hi"""\n4,"crlf\r\ninside"\n5,"x"y\n6,""""\n';
    const { table } = await readAll(content);
    expect(values(table, 'text')).toEqual([
      'a,b',
      'line1\nline2',
      'say "hi"',
      'crlf\r\ninside',
      'xy',
      '"',
    ]);
  });

  it('drops the CR of CRLF line endings', async () => {
    const { table } = await readAll('a,b\r\n1,x\r\n2,"y"\r\n3,\r\n');
    expect(values(table, 'b')).toEqual(['x', 'y', null]);
    expect(values(table, 'a')).toEqual([1n, 2n, 3n]);
  });

  it('reads a last row without a newline', async () => {
    const { table } = await readAll('a,b\n1,x\n2,y');
    expect(values(table, 'b')).toEqual(['x', 'y']);
  });

  it('skips blank lines', async () => {
    const result = await readAll('a,b\n\n1,x\n  \n\r\n2,y\n\n');
    expect(values(result.table, 'a')).toEqual([1n, 2n]);
    expect(result.rowNumbers).toBeUndefined();
  });

  it('reads other delimiters', async () => {
    const { table } = await readAll('a;b\n1;"x;y"\n', { delimiter: ';' });
    expect(values(table, 'b')).toEqual(['x;y']);
    const tabbed = await readAll('a\tb\n1\t\n', { delimiter: '\t' });
    expect(values(tabbed.table, 'b')).toEqual([null]);
  });

  it('reads integers past 2^53 exactly', async () => {
    const content = 'n\n9007199254740993\n-9223372036854775808\n9223372036854775807\n';
    const { table } = await readAll(content, { columnTypes: { n: 'int64' } });
    expect(values(table, 'n')).toEqual([
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
    ]);
  });

  it('keeps integers beyond 2^53 exact', async () => {
    const content = 'big\n1\n9007199254740993\n-9223372036854775808\n9223372036854775807\n';
    const { table, rejected } = await readAll(content);
    expect(String(table.schema.fields[0]?.type)).toBe('Int64');
    expect(values(table, 'big')).toEqual([
      1n,
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
    ]);
    expect(rejected).toEqual([]);
  });

  it('keeps integers beyond int64 as text', async () => {
    const { table } = await readAll('id\n1\n18446744073709551615\n');
    expect(String(table.schema.fields[0]?.type)).toBe('Utf8');
    expect(values(table, 'id')).toEqual(['1', '18446744073709551615']);
  });

  it('reads negative and large safe integers', async () => {
    const content = 'n\n-1\n4294967296\n-4294967297\n9007199254740991\n-0\n';
    const { table } = await readAll(content);
    expect(values(table, 'n')).toEqual([-1n, 4294967296n, -4294967297n, 9007199254740991n, 0n]);
  });

  it('reads NaN and infinities as float values', async () => {
    const { table } = await readAll('x\nNaN\n-inf\nInfinity\n1\n');
    expect(values(table, 'x')).toEqual([NaN, -Infinity, Infinity, 1]);
  });

  it('builds Utf8, never Dictionary', async () => {
    const { table } = await readAll('s\na\na\nb\na\n');
    expect(table.schema.fields[0]?.type.typeId).toBe(Type.Utf8);
    expect(values(table, 's')).toEqual(['a', 'a', 'b', 'a']);
  });
});

describe('readCsvRange rejected rows', () => {
  it('rejects unparsable values by row', async () => {
    const content = 'id,score,ok\n1,1.5,true\n2,abc,true\n3,2.5,yes\n4,3.5,false\nx5,4,true\n';
    const result = await readAll(content, {
      columnTypes: { id: 'int64', score: 'float64', ok: 'bool' },
    });
    expect(values(result.table, 'id')).toEqual([1n, 4n]);
    expect(result.rejected).toEqual([
      {
        row: 2,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'score',
        value: 'abc',
        reason: 'value is not a number, but column "score" is float64',
      },
      {
        row: 3,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'ok',
        value: 'yes',
        reason: 'value is not true or false, but column "ok" is bool',
      },
      {
        row: 5,
        file: expect.any(String),
        code: 'ERR_VALUE_CONVERSION',
        column: 'id',
        value: 'x5',
        reason: 'value is not an integer, but column "id" is int64',
      },
    ]);
    expect([...(result.rowNumbers ?? [])]).toEqual([1, 4]);
    expect(sourceRowNumber(result, 1)).toBe(4);
  });

  it('rejects integers outside the int64 range', async () => {
    const result = await readAll('n\n1\n9223372036854775808\n', { columnTypes: { n: 'int64' } });
    expect(values(result.table, 'n')).toEqual([1n]);
    expect(result.rejected[0]?.reason).toBe(
      'value is outside the int64 range, but column "n" is int64',
    );
    expect(result.rejected[0]?.row).toBe(2);
  });

  it('rejects ragged rows as ERR_INPUT_CORRUPT', async () => {
    const content = 'a,b,c,d,e\n1,2,3,4,5\n1,2,3\n\n1,2,3,4,5,6\n6,7,8,9,10\n';
    const result = await readAll(content);
    expect(values(result.table, 'a')).toEqual([1n, 6n]);
    const summaries = result.rejected.map(({ row, code, reason, value }) => ({
      row,
      code,
      reason,
      value,
    }));
    expect(summaries).toEqual([
      {
        row: 2,
        code: 'ERR_INPUT_CORRUPT',
        reason: 'row has 3 fields but the header has 5',
        value: '1,2,3',
      },
      {
        row: 3,
        code: 'ERR_INPUT_CORRUPT',
        reason: 'row has 6 fields but the header has 5',
        value: '1,2,3,4,5,6',
      },
    ]);
    expect([...(result.rowNumbers ?? [])]).toEqual([1, 4]);
  });

  it('rejects text that is not valid UTF-8', async () => {
    const content = Buffer.concat([
      Buffer.from('k,s\n1,ok\n2,bad'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\n3,fine\n'),
    ]);
    const result = await readAll(content);
    expect(values(result.table, 's')).toEqual(['ok', 'fine']);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]?.row).toBe(2);
    expect(result.rejected[0]?.reason).toBe(
      'value is not valid UTF-8 text, but column "s" is utf8',
    );
  });

  it('rejects a row whose quote never closes', async () => {
    const path = await csvFile('a,b\n1,2\n3,"open\n');
    const result = await readCsvRange(
      path,
      { start: 4, end: 16, firstRow: 1 },
      { names: ['a', 'b'], types: ['int64', 'utf8'] },
    );
    expect(values(result.table, 'a')).toEqual([1n]);
    expect(result.rejected[0]).toMatchObject({
      row: 2,
      code: 'ERR_INPUT_CORRUPT',
      reason: 'a quoted field in this row is never closed',
    });
  });
});

describe('readCsvRange input errors', () => {
  const schema = { names: ['a'], types: ['int64' as const] };

  it('missing file is ERR_INPUT_NOT_FOUND', async () => {
    const path = join(dir, 'missing.csv');
    const error = await rejection(readCsvRange(path, { start: 0, end: 1, firstRow: 1 }, schema));
    expect(error.code).toBe('ERR_INPUT_NOT_FOUND');
    expect(error.message).toContain(path);
  });

  it('file shorter than the range is ERR_INPUT_CORRUPT', async () => {
    const path = await csvFile('a\n1\n');
    const error = await rejection(readCsvRange(path, { start: 2, end: 50, firstRow: 1 }, schema));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.fix).toBe('The file changed after it was planned; plan it again');
  });

  it.each([
    ['end before start', { start: 5, end: 2, firstRow: 1 }, '`range.end`'],
    ['negative start', { start: -1, end: 2, firstRow: 1 }, '`range.start`'],
    ['firstRow 0', { start: 0, end: 2, firstRow: 0 }, '`range.firstRow`'],
    ['rows NaN', { start: 0, end: 2, firstRow: 1, rows: NaN }, '`range.rows`'],
  ])('%s is ERR_INVALID_OPTION', async (_name, range, text) => {
    const path = await csvFile('a\n1\n');
    const error = await rejection(readCsvRange(path, range, schema));
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain(text);
  });

  it('schema with fewer types than names is ERR_INVALID_OPTION', async () => {
    const path = await csvFile('a\n1\n');
    const bad = { names: ['a', 'b'], types: ['int64' as const] };
    const error = await rejection(readCsvRange(path, { start: 2, end: 4, firstRow: 1 }, bad));
    expect(error.code).toBe('ERR_INVALID_OPTION');
  });
});

describe('ValueParser.parseFloat64', () => {
  const parser = new ValueParser();

  function parse(text: string): number | undefined {
    const bytes = Buffer.from(text);
    return parser.parseFloat64(bytes, 0, bytes.length) ? parser.float : undefined;
  }

  it.each([
    ['0', 0],
    ['-0', -0],
    ['1.5', 1.5],
    ['  -2.5\t', -2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E+3', 1000],
    ['2.5e-3', 0.0025],
    ['0.1', 0.1],
    ['123456789012345678901234567890', 1.2345678901234568e29],
    ['1e400', Infinity],
    ['1e-400', 0],
    ['4.9e-324', 5e-324],
    ['0.30000000000000004', 0.30000000000000004],
    ['+7', 7],
    ['INF', Infinity],
    ['-Infinity', -Infinity],
  ])('%s → %d', (text, expected) => {
    expect(Object.is(parse(text), expected)).toBe(true);
  });

  const invalid = ['', ' ', '.', '-', '+', 'e3', '1e', '1e+', '1.2.3', '0x10', '1_0', '1,0'];
  it.each([...invalid, '- 1', 'nan1'])('rejects %j', (text) => {
    expect(parse(text)).toBeUndefined();
  });

  it('matches Number() on random decimal text', () => {
    const random = mulberry32(7);
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 10 ** Math.floor(random() * 40 - 20);
      const value = (random() - 0.5) * magnitude;
      const texts = [
        String(value),
        value.toFixed(Math.floor(random() * 10)),
        value.toExponential(Math.floor(random() * 17)),
        value.toPrecision(1 + Math.floor(random() * 20)),
      ];
      for (const text of texts) {
        expect(Object.is(parse(text), Number(text)), text).toBe(true);
      }
    }
  });
});

describe('readCsvRange ranges', () => {
  it('random ranges read each row once', async () => {
    const random = mulberry32(42);
    for (let round = 0; round < 60; round++) {
      const generated = generateCsv(random, 1 + Math.floor(random() * 80));
      const path = await csvFile(generated.bytes);
      const targetBytes = 1 + Math.floor(random() * 300);
      const plan = await planCsv(path, { targetBytes, columnTypes: GENERATED_TYPES });
      const label = `round ${round}, targetBytes ${targetBytes}`;
      expect(plan.rows, label).toBe(generated.rows.length);

      // Ranges are ordered, disjoint and number their rows consecutively.
      let firstRow = 1;
      let previousEnd = 0;
      for (const range of plan.ranges) {
        expect(range.firstRow, label).toBe(firstRow);
        expect(range.start, label).toBeGreaterThanOrEqual(previousEnd);
        firstRow += range.rows;
        previousEnd = range.end;
      }

      const parts = await Promise.all(
        plan.ranges.map((range) => readCsvRange(path, range, plan.schema)),
      );
      const whole = await readCsvRange(
        path,
        { start: plan.ranges[0]?.start ?? 0, end: previousEnd, firstRow: 1 },
        plan.schema,
      );
      const fromParts = parts.flatMap(collectRows);
      expect(fromParts, label).toEqual(collectRows(whole));
      expect(fromParts, label).toEqual(generated.rows);
    }
  });
});

describe.skipIf(!hasSharedData)('readCsvRange on the Telco churn file', () => {
  const path = sharedPath('telco-churn.csv');

  it('reads 11 blank TotalCharges as null', async () => {
    const plan = await planCsv(path, { targetBytes: 1 << 16 });
    const results = await Promise.all(
      plan.ranges.map((range) => readCsvRange(path, range, plan.schema)),
    );
    expect(results.flatMap((result) => result.rejected)).toEqual([]);
    expect(results.reduce((sum, result) => sum + result.table.numRows, 0)).toBe(7043);

    const totalCharges = results.flatMap((result) => values(result.table, 'TotalCharges'));
    const blankRows = totalCharges.flatMap((value, i) => (value === null ? [i + 1] : []));
    expect(blankRows).toEqual([489, 754, 937, 1083, 1341, 3332, 3827, 4381, 5219, 6671, 6755]);

    const tenure = results.flatMap((result) => values(result.table, 'tenure')) as bigint[];
    expect(tenure.reduce((min, value) => (value < min ? value : min))).toBe(0n);
    expect(tenure.reduce((max, value) => (value > max ? value : max))).toBe(72n);
    const senior = results.flatMap((result) => values(result.table, 'SeniorCitizen'));
    expect(new Set(senior)).toEqual(new Set([0n, 1n]));
  });

  it('matches a plain comma split', async () => {
    // The file has no quoted fields, so splitting lines on commas is a correct oracle.
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    const header = lines[0]?.split(',') ?? [];
    const plan = await planCsv(path, { targetBytes: 1 << 30 });
    const range = plan.ranges[0];
    if (range === undefined) throw new Error('no range');
    const { table } = await readCsvRange(path, range, plan.schema);
    header.forEach((name, c) => {
      const type = plan.schema.types[c];
      const expected = lines.slice(1).map((line) => expectedCell(line.split(',')[c] ?? '', type));
      expect(values(table, name), name).toEqual(expected);
    });
  });
});

function expectedCell(text: string, type: ColumnType | undefined): unknown {
  if (type === 'utf8') return text === '' ? null : text;
  if (text.trim() === '') return null;
  if (type === 'int64') return BigInt(text);
  return Number(text);
}

/** Types of the columns that {@link generateCsv} writes. */
const GENERATED_TYPES: Record<string, ColumnType> = {
  id: 'int64',
  amount: 'float64',
  flag: 'bool',
  note: 'utf8',
};

/** One row as the tests compare it: either its values or why it was rejected. */
type RowOutcome =
  | { row: number; values: [bigint | null, number | null, boolean | null, string | null] }
  | { row: number; code: string; column?: string };

interface GeneratedCsv {
  bytes: Buffer;
  rows: RowOutcome[];
}

/**
 * Writes a random CSV with hard cases (quotes, embedded delimiters and newlines, blank
 * lines, CRLF, a BOM, no trailing newline, bad values and ragged rows) and the outcome
 * each row should have.
 */
function generateCsv(random: () => number, rowCount: number): GeneratedCsv {
  const eol = random() < 0.5 ? '\n' : '\r\n';
  const lines: string[] = [];
  const rows: RowOutcome[] = [];
  for (let row = 1; row <= rowCount; row++) {
    if (random() < 0.15) lines.push(pick(random, ['', '  ', '\t', '\r']));
    const [id, idValue] = randomInteger(random);
    const [amount, amountValue] = randomFloat(random);
    const [flag, flagValue] = pick(random, FLAGS);
    const [note, noteValue] = randomNote(random);
    const fault = random();
    if (fault < 0.04) {
      lines.push([id, amount, flag].join(','));
      rows.push({ row, code: 'ERR_INPUT_CORRUPT' });
    } else if (fault < 0.08) {
      lines.push(['x' + id, amount, flag, note].join(','));
      rows.push({ row, code: 'ERR_VALUE_CONVERSION', column: 'id' });
    } else {
      lines.push([id, amount, flag, note].join(','));
      rows.push({ row, values: [idValue, amountValue, flagValue, noteValue] });
    }
  }
  const bom = random() < 0.3 ? '\ufeff' : '';
  const trailing = random() < 0.7 ? eol : '';
  const text = bom + 'id,amount,flag,note' + eol + lines.join(eol) + trailing;
  return { bytes: Buffer.from(text), rows };
}

const FLAGS: Array<[string, boolean | null]> = [
  ['true', true],
  ['FALSE', false],
  ['', null],
  [' ', null],
];

function randomInteger(random: () => number): [string, bigint | null] {
  const kind = random();
  if (kind < 0.1) return ['', null];
  if (kind < 0.2) return ['1234567890123456789', 1234567890123456789n];
  const value = Math.floor((random() - 0.5) * 2 ** (1 + random() * 52));
  return [String(value), BigInt(value)];
}

function randomFloat(random: () => number): [string, number | null] {
  const kind = random();
  if (kind < 0.1) return [' ', null];
  const value = (random() - 0.5) * 10 ** Math.floor(random() * 12 - 4);
  const text = kind < 0.5 ? String(value) : value.toFixed(Math.floor(random() * 6));
  return [text, Number(text)];
}

function randomNote(random: () => number): [string, string | null] {
  const pieces = ['a', 'b', ' ', ',', '"', '\n', '\r\n', 'é', '日本', 'x'];
  const length = Math.floor(random() * 6);
  let value = '';
  for (let i = 0; i < length; i++) value += pick(random, pieces);
  const mustQuote = /[",\r\n]/.test(value) || value.startsWith(' ');
  const text = mustQuote || random() < 0.2 ? `"${value.replaceAll('"', '""')}"` : value;
  return [text, value === '' ? null : value];
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** Lists the outcome of every source row in a read result, in row order. */
function collectRows(result: ReadResult): RowOutcome[] {
  const outcomes: RowOutcome[] = [];
  const columns = ['id', 'amount', 'flag', 'note'].map((name) => values(result.table, name));
  for (let i = 0; i < result.table.numRows; i++) {
    const rowValues = columns.map((column) => column[i]) as [
      bigint | null,
      number | null,
      boolean | null,
      string | null,
    ];
    outcomes.push({ row: sourceRowNumber(result, i), values: rowValues });
  }
  for (const rejected of result.rejected) {
    const outcome: RowOutcome = { row: rejected.row, code: rejected.code };
    if (rejected.code === 'ERR_VALUE_CONVERSION') outcome.column = rejected.column;
    outcomes.push(outcome);
  }
  return outcomes.sort((a, b) => a.row - b.row);
}

/** Small seeded generator, so a failing round can be replayed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
