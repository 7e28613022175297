import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchscoreError } from '../src/errors.js';
import { CsvRowScanner } from '../src/plan/csv-scan.js';
import { planCsv, type CsvPlan } from '../src/plan/csv.js';
import { DEFAULT_SAMPLE_ROWS, SCAN_CHUNK_BYTES } from '../src/plan/ranges.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batchscore-csv-plan-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;

/** Writes `content` to a new file in the temp folder and returns its path. */
async function csvFile(content: string | Buffer): Promise<string> {
  const path = join(dir, `input-${fileCount++}.csv`);
  await writeFile(path, content);
  return path;
}

/** Returns the text of each range, to compare ranges with the rows they should hold. */
function rangeTexts(content: string, plan: CsvPlan): string[] {
  const bytes = Buffer.from(content);
  return plan.ranges.map((range) => bytes.toString('utf8', range.start, range.end));
}

async function rejection(promise: Promise<unknown>): Promise<BatchscoreError> {
  try {
    await promise;
  } catch (error) {
    return error as BatchscoreError;
  }
  throw new Error('expected the promise to reject');
}

describe('planCsv layout', () => {
  it('reads header, rows and one range', async () => {
    const path = await csvFile('a,b\n1,x\n2,y\n');
    const plan = await planCsv(path, { targetBytes: 1000 });
    expect(plan.header).toEqual(['a', 'b']);
    expect(plan.schema).toEqual({ names: ['a', 'b'], types: ['int64', 'utf8'] });
    expect(plan.ranges).toEqual([{ start: 4, end: 12, firstRow: 1, rows: 2 }]);
    expect(plan.rows).toBe(2);
    expect(plan.bytes).toBe(12);
    expect(plan.hasBom).toBe(false);
  });

  it('skips a UTF-8 byte order mark', async () => {
    const path = await csvFile('\ufeffid,v\n1,2\n');
    const plan = await planCsv(path, { targetBytes: 1000 });
    expect(plan.hasBom).toBe(true);
    expect(plan.header).toEqual(['id', 'v']);
    expect(plan.ranges).toEqual([{ start: 8, end: 12, firstRow: 1, rows: 1 }]);
  });

  it('quoted first header name after a BOM', async () => {
    const content = '\ufeff"i,d",v\n1,2\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1000 });
    expect(plan.header).toEqual(['i,d', 'v']);
    expect(plan.rows).toBe(1);
  });

  it('handles CRLF line endings', async () => {
    const content = 'a,b\r\n1,2\r\n3,4\r\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1 });
    expect(plan.header).toEqual(['a', 'b']);
    expect(plan.ranges).toEqual([
      { start: 5, end: 10, firstRow: 1, rows: 1 },
      { start: 10, end: 15, firstRow: 2, rows: 1 },
    ]);
  });

  it('never splits a row inside quotes', async () => {
    const content = 'id,text\n1,"a\nb"\n2,"x,""y"""\n3,"\n\n"\n4,plain\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1 });
    expect(rangeTexts(content, plan)).toEqual([
      '1,"a\nb"\n',
      '2,"x,""y"""\n',
      '3,"\n\n"\n',
      '4,plain\n',
    ]);
    expect(plan.ranges.map((range) => range.firstRow)).toEqual([1, 2, 3, 4]);
    expect(plan.rows).toBe(4);
  });

  it('mid-field quote is literal text', async () => {
    const content = 'a,b\n1,x"y\n2,z\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1 });
    expect(rangeTexts(content, plan)).toEqual(['1,x"y\n', '2,z\n']);
  });

  it('last row without a newline', async () => {
    const content = 'a,b\n1,2\n3,4';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1 });
    expect(plan.ranges).toEqual([
      { start: 4, end: 8, firstRow: 1, rows: 1 },
      { start: 8, end: 11, firstRow: 2, rows: 1 },
    ]);
    expect(plan.bytes).toBe(11);
  });

  it('skips blank and whitespace-only lines', async () => {
    const content = '\na,b\n\n1,2\n   \n\t\r\n3,4\n\n  ';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1 });
    expect(plan.header).toEqual(['a', 'b']);
    expect(plan.rows).toBe(2);
    expect(rangeTexts(content, plan)).toEqual(['1,2\n', '3,4\n']);
    expect(plan.ranges.map((range) => range.firstRow)).toEqual([1, 2]);
  });

  it('tab-only line is a tab-delimited row', async () => {
    const content = 'a\tb\n\t\n1\t2\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1, delimiter: '\t' });
    expect(plan.header).toEqual(['a', 'b']);
    expect(rangeTexts(content, plan)).toEqual(['\t\n', '1\t2\n']);
  });

  it('returns no ranges for a header-only file', async () => {
    const plan = await planCsv(await csvFile('a,b\n\n'), { targetBytes: 10 });
    expect(plan.header).toEqual(['a', 'b']);
    expect(plan.rows).toBe(0);
    expect(plan.ranges).toEqual([]);
    expect(plan.schema.types).toEqual(['utf8', 'utf8']);
  });

  it('closes ranges just past targetBytes', async () => {
    // 100 rows of 10 bytes each, so a 35-byte target closes every 4 rows.
    const rows = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(4, '0')},abcd\n`);
    const content = 'key,val\n' + rows.join('');
    const plan = await planCsv(await csvFile(content), { targetBytes: 35 });
    expect(plan.ranges).toHaveLength(25);
    plan.ranges.forEach((range, i) => {
      expect(range).toEqual({ start: 8 + 40 * i, end: 48 + 40 * i, firstRow: 1 + 4 * i, rows: 4 });
    });
  });

  it('scans files larger than one chunk', async () => {
    // Quoted newlines and doubled quotes land on both sides of every chunk boundary.
    const row = (i: number): string => `${i},"line one\nline ""two"", ${'x'.repeat(i % 97)}"\n`;
    const rowCount = 60_000;
    const content = 'id,text\n' + Array.from({ length: rowCount }, (_, i) => row(i)).join('');
    expect(Buffer.byteLength(content)).toBeGreaterThan(3 * SCAN_CHUNK_BYTES);
    const plan = await planCsv(await csvFile(content), { targetBytes: 100_000 });
    expect(plan.rows).toBe(rowCount);
    const texts = rangeTexts(content, plan);
    expect(texts.join('')).toBe(content.slice('id,text\n'.length));
    plan.ranges.forEach((range, i) => {
      expect(texts[i]?.startsWith(`${range.firstRow - 1},"line one\n`)).toBe(true);
    });
  });
});

describe('CsvRowScanner chunks', () => {
  const content = Buffer.from(
    'h1,h2\r\n"a\r\n""b""",c\n\n   \n"x"y,"",""""\n plain ,"q,\n"\r\n"",z\n"last"',
  );

  function scan(chunkSize: number): Array<[number, number]> {
    const rows: Array<[number, number]> = [];
    const scanner = new CsvRowScanner(0x2c, 0, (start, end) => rows.push([start, end]));
    for (let offset = 0; offset < content.length; offset += chunkSize) {
      scanner.scan(content.subarray(offset, offset + chunkSize), offset);
    }
    expect(scanner.finish(content.length)).toBe(true);
    return rows;
  }

  it('finds the same rows for every chunk size', () => {
    const expected = scan(content.length);
    const texts = expected.map(([start, end]) => content.toString('utf8', start, end));
    expect(texts).toEqual([
      'h1,h2\r\n',
      '"a\r\n""b""",c\n',
      '"x"y,"",""""\n',
      ' plain ,"q,\n"\r\n',
      '"",z\n',
      '"last"',
    ]);
    for (let size = 1; size < content.length; size++) {
      expect(scan(size), `chunk size ${size}`).toEqual(expected);
    }
  });

  it('reports an unclosed quote', () => {
    const scanner = new CsvRowScanner(0x2c, 0, () => undefined);
    scanner.scan(Buffer.from('a,b\n1,"x\n2,3\n'), 0);
    expect(scanner.finish(14)).toBe(false);
    expect(scanner.quoteRow).toBe(1);
  });
});

describe('planCsv type inference', () => {
  async function inferred(
    column: string[],
    options: { sampleRows?: number } = {},
  ): Promise<string> {
    const content = 'value,other\n' + column.map((cell) => `${cell},x\n`).join('');
    const plan = await planCsv(await csvFile(content), { targetBytes: 1000, ...options });
    return plan.schema.types[0] ?? 'missing';
  }

  it.each([
    ['integers', 'int64', ['1', '-2', '+3', '007', ' 42 ']],
    ['2^53 and -2^53', 'int64', ['9007199254740992', '-9007199254740992']],
    ['integers past 2^53', 'int64', ['1', '9007199254740993', '-9007199254740993']],
    ['int64 minimum and maximum', 'int64', ['-9223372036854775808', '9223372036854775807']],
    ['an integer past the int64 range', 'utf8', ['1', '9223372036854775808']],
    ['integers after one past the int64 range', 'utf8', ['-9223372036854775809', '1', '2']],
    ['decimals and an integer past int64', 'float64', ['1.5', '9223372036854775808']],
    ['decimals', 'float64', ['1.5', '-2.5', '.5', '5.', '1e3', '1.5E-7']],
    ['integers mixed with decimals', 'float64', ['1', '2.5']],
    ['NaN and infinities', 'float64', ['nan', 'NaN', 'inf', '-Infinity', '1']],
    ['true and false in any case', 'bool', ['true', 'FALSE', 'True']],
    ['zeros and ones', 'int64', ['0', '1', '1']],
    ['words', 'utf8', ['abc', '1']],
    ['quoted thousands separators', 'utf8', ['"1,000"']],
    ['hexadecimal', 'utf8', ['0x10']],
    ['digit separators', 'utf8', ['1_000']],
    ['a lone dot', 'utf8', ['.']],
    ['a lone sign', 'utf8', ['-']],
    ['an exponent without digits', 'utf8', ['1e']],
    ['booleans mixed with numbers', 'utf8', ['true', '1']],
    ['blank cells among integers', 'int64', ['', ' ', '\t', '3', '""']],
    ['only blank cells', 'utf8', ['', ' ', '""']],
    ['quoted integers', 'int64', ['"12"', '"-3"']],
  ])('%s → %s', async (_name, expected, column) => {
    expect(await inferred(column)).toBe(expected);
  });

  it('looks only at the first sampleRows rows', async () => {
    expect(await inferred(['1', '2', 'x'], { sampleRows: 2 })).toBe('int64');
    expect(await inferred(['1', '2', 'x'], { sampleRows: 3 })).toBe('utf8');
  });

  it('ignores ragged rows in the sample', async () => {
    const content = 'a,b\n1,2\nword\n3,4,5\n';
    const plan = await planCsv(await csvFile(content), { targetBytes: 1000 });
    expect(plan.schema.types).toEqual(['int64', 'int64']);
    expect(plan.rows).toBe(3);
  });

  it('samples 1000 rows by default', () => {
    expect(DEFAULT_SAMPLE_ROWS).toBe(1000);
  });

  it('applies columnTypes over inferred types', async () => {
    const path = await csvFile('a,b,c\n1,2,true\n');
    const plan = await planCsv(path, {
      targetBytes: 1000,
      columnTypes: { a: 'float64', c: 'utf8' },
    });
    expect(plan.schema).toEqual({ names: ['a', 'b', 'c'], types: ['float64', 'int64', 'utf8'] });
  });

  it('rejects columnTypes that name no column', async () => {
    const path = await csvFile('a,b\n1,2\n');
    const error = await rejection(
      planCsv(path, { targetBytes: 1000, columnTypes: { a: 'int64', z: 'utf8' } }),
    );
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('"z"');
    expect(error.fix).toBe('The header names: a, b');
  });

  it('rejects an unknown type in columnTypes', async () => {
    const path = await csvFile('a,b\n1,2\n');
    const columnTypes = { a: 'int32' } as unknown as Record<string, 'int64'>;
    const error = await rejection(planCsv(path, { targetBytes: 1000, columnTypes }));
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain('"int32"');
  });
});

describe('planCsv errors', () => {
  it('missing file is ERR_INPUT_NOT_FOUND', async () => {
    const path = join(dir, 'does-not-exist.csv');
    const error = await rejection(planCsv(path, { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_NOT_FOUND');
    expect(error.message).toContain(path);
    expect(error.fix).toBe('Check the path or glob pattern');
  });

  it('directory is ERR_INPUT_UNREADABLE', async () => {
    const path = join(dir, 'a-directory.csv');
    await mkdir(path);
    const error = await rejection(planCsv(path, { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_UNREADABLE');
    expect(error.message).toContain('is a directory');
  });

  it.skipIf(process.getuid?.() === 0)('unreadable file is ERR_INPUT_UNREADABLE', async () => {
    const path = await csvFile('a\n1\n');
    await chmod(path, 0o000);
    const error = await rejection(planCsv(path, { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_UNREADABLE');
    expect(error.message).toContain('Permission denied');
  });

  it('empty file is ERR_INPUT_CORRUPT', async () => {
    const error = await rejection(planCsv(await csvFile(''), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('Input file is empty');
  });

  it('file of blank lines has no header', async () => {
    const error = await rejection(planCsv(await csvFile('\n  \r\n\n'), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('no header row');
  });

  it('BOM alone has no header', async () => {
    const error = await rejection(planCsv(await csvFile('\ufeff'), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('no header row');
  });

  it('duplicate header name is ERR_INPUT_CORRUPT', async () => {
    const error = await rejection(planCsv(await csvFile('a,b,a\n1,2,3\n'), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('Header names column "a" twice (columns 1 and 3)');
    expect(error.fix).toBe('Rename one of the two columns so that every header name is unique');
  });

  it.each([
    ['empty', 'a,,b\n'],
    ['blank', 'a, ,b\n'],
    ['quoted empty', 'a,"",b\n'],
  ])('%s header name is ERR_INPUT_CORRUPT', async (_name, content) => {
    const error = await rejection(planCsv(await csvFile(content), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('Header column 2 has an empty name');
    expect(error.fix).toBe('Give every column a name in the header row');
  });

  it('unclosed quote names its row', async () => {
    const content = 'a,b\n1,2\n3,4\n5,"open\n6,7\n8,9\n';
    const error = await rejection(planCsv(await csvFile(content), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.location.row).toBe(3);
    expect(error.message).toContain('A quote opened in row 3 is never closed');
  });

  it('unclosed quote in the header', async () => {
    const error = await rejection(planCsv(await csvFile('"a,b\n1,2\n'), { targetBytes: 10 }));
    expect(error.code).toBe('ERR_INPUT_CORRUPT');
    expect(error.message).toContain('A quote opened in the header is never closed');
    expect(error.location.row).toBeUndefined();
  });

  it.each([
    ['targetBytes 0', { targetBytes: 0 }, '`targetBytes`'],
    ['fractional targetBytes', { targetBytes: 1.5 }, '`targetBytes`'],
    ['targetBytes as text', { targetBytes: '10' as unknown as number }, '"10" (string)'],
    ['sampleRows 0', { targetBytes: 10, sampleRows: 0 }, '`sampleRows`'],
    ['empty delimiter', { targetBytes: 10, delimiter: '' }, '`delimiter`'],
    ['two-character delimiter', { targetBytes: 10, delimiter: ',,' }, '`delimiter`'],
    ['quote delimiter', { targetBytes: 10, delimiter: '"' }, '`delimiter`'],
    ['newline delimiter', { targetBytes: 10, delimiter: '\n' }, '`delimiter`'],
    ['non-ASCII delimiter', { targetBytes: 10, delimiter: '§' }, '`delimiter`'],
  ])('%s is ERR_INVALID_OPTION', async (_name, options, text) => {
    const path = await csvFile('a\n1\n');
    const error = await rejection(planCsv(path, options));
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toContain(text);
  });
});

describe.skipIf(!hasSharedData)('planCsv on the Telco churn file', () => {
  it('infers the schema of all 21 columns', async () => {
    const plan = await planCsv(sharedPath('telco-churn.csv'), { targetBytes: 1 << 30 });
    expect(plan.rows).toBe(7043);
    expect(plan.hasBom).toBe(false);
    expect(plan.bytes).toBe(970_457);
    expect(plan.header).toHaveLength(21);
    const types = Object.fromEntries(plan.header.map((name, i) => [name, plan.schema.types[i]]));
    expect(types).toEqual({
      customerID: 'utf8',
      gender: 'utf8',
      SeniorCitizen: 'int64',
      Partner: 'utf8',
      Dependents: 'utf8',
      tenure: 'int64',
      PhoneService: 'utf8',
      MultipleLines: 'utf8',
      InternetService: 'utf8',
      OnlineSecurity: 'utf8',
      OnlineBackup: 'utf8',
      DeviceProtection: 'utf8',
      TechSupport: 'utf8',
      StreamingTV: 'utf8',
      StreamingMovies: 'utf8',
      Contract: 'utf8',
      PaperlessBilling: 'utf8',
      PaymentMethod: 'utf8',
      MonthlyCharges: 'float64',
      TotalCharges: 'float64',
      Churn: 'utf8',
    });
    expect(plan.ranges).toHaveLength(1);
    expect(plan.ranges[0]).toMatchObject({ firstRow: 1, rows: 7043, end: 970_457 });
  });

  it('splits into 64 KiB ranges that cover every row once', async () => {
    const plan = await planCsv(sharedPath('telco-churn.csv'), { targetBytes: 1 << 16 });
    expect(plan.ranges.length).toBe(15);
    let next = plan.ranges[0]?.start ?? 0;
    let firstRow = 1;
    for (const range of plan.ranges) {
      expect(range.start).toBe(next);
      expect(range.firstRow).toBe(firstRow);
      next = range.end;
      firstRow += range.rows;
    }
    expect(next).toBe(970_457);
    expect(firstRow).toBe(7044);
  });
});
