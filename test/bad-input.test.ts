import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchscoreError, scorePartitioned, type ScoreEvent } from '../dist/index.js';
import { churnModel } from './helpers/churn.js';
import { readOutput, tempDir } from './helpers/output.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

const HEADER = 'customer_id,age,tenure_months,monthly_charges,total_charges,contract,' +
  'payment_method,support_calls,has_fiber,region';

/** A valid data row of the churn example's columns. */
function row(id: number, overrides: Record<number, string> = {}): string {
  const fields = [
    `C${id}`, '40', '12', '70.5', '846.00', 'one-year', 'credit card', '1', 'yes', 'north',
  ];
  for (const [index, value] of Object.entries(overrides)) fields[Number(index)] = value;
  return fields.join(',');
}

let dir: string;

beforeAll(async () => {
  dir = await tempDir();
});

interface Outcome {
  rows: number;
  rejected: { row: number; code: string; column?: string; value?: string; reason: string }[];
}

/** Scores a CSV written from `text` and returns the rows written and the rows rejected. */
async function score(name: string, text: string | Buffer): Promise<Outcome> {
  const input = join(dir, `${name}.csv`);
  await writeFile(input, text);
  const output = join(dir, `${name}-out`);
  const events: ScoreEvent[] = [];
  const summary = await scorePartitioned({
    model: churnModel, input, output, maxRejectedRows: 100, onEvent: (event) => events.push(event),
  });
  const rejected: Outcome['rejected'] = [];
  for (const file of summary.rejectedFiles) {
    const lines = (await readFile(join(output, file), 'utf8')).trim().split('\n');
    rejected.push(...lines.map((line) => JSON.parse(line)));
  }
  expect(summary.rowsIn).toBe(summary.rowsOut + summary.rowsRejected);
  expect(events.filter((event) => event.type === 'rejected').length).toBe(summary.rejectedFiles.length);
  return { rows: (await readOutput(output)).numRows, rejected: rejected.sort((a, b) => a.row - b.row) };
}

describe('bad CSV input ends in scored and rejected rows', () => {
  it('rejects ragged rows with their row numbers', async () => {
    const text = [HEADER, row(1), 'C2,40,12', row(3), `${row(4)},extra`, row(5)].join('\n');
    const outcome = await score('ragged', `${text}\n`);
    expect(outcome.rows).toBe(3);
    expect(outcome.rejected.map((r) => r.row)).toEqual([2, 4]);
    expect(outcome.rejected.every((r) => r.code === 'ERR_INPUT_CORRUPT')).toBe(true);
    expect(outcome.rejected[0]?.reason).toContain('3 fields');
  });

  it('keeps quoted newlines inside one row', async () => {
    const quoted = row(2, { 6: '"credit\ncard, ""gold"""' });
    const outcome = await score('quoted', `${[HEADER, row(1), quoted, row(3)].join('\n')}\n`);
    expect(outcome.rows).toBe(3);
    expect(outcome.rejected).toEqual([]);
  });

  it('reads a BOM and CRLF line endings', async () => {
    const text = `\uFEFF${[HEADER, row(1), row(2)].join('\r\n')}\r\n`;
    const outcome = await score('bom-crlf', text);
    expect(outcome.rows).toBe(2);
    const scored = await readOutput(join(dir, 'bom-crlf-out'));
    expect(scored.schema.fields[0]?.name).toBe('customer_id');
    expect(scored.getChild('region')?.get(1)).toBe('north');
  });

  it('rejects text in a numeric column and reads blank cells as missing', async () => {
    const text = [
      HEADER, row(1), row(2, { 3: 'seventy' }), row(3, { 4: '' }), row(4, { 4: '   ' }), row(5),
    ].join('\n');
    const outcome = await score('numeric', `${text}\n`);
    expect(outcome.rows).toBe(4);
    expect(outcome.rejected).toHaveLength(1);
    expect(outcome.rejected[0]).toMatchObject({
      row: 2, code: 'ERR_VALUE_CONVERSION', column: 'monthly_charges', value: 'seventy',
    });
    const totals = [...(await readOutput(join(dir, 'numeric-out'))).getChild('total_charges') ?? []];
    expect(totals).toEqual([846, null, null, 846]);
  });
});

describe('bad Parquet input ends in a typed error', () => {
  it.skipIf(!hasSharedData)('names a truncated file and a corrupt footer', async () => {
    const good = await readFile(sharedPath('parquet-testing', 'alltypes_plain.parquet'));
    const cases: Record<string, Buffer> = {
      truncated: good.subarray(0, Math.floor(good.length / 2)),
      footer: Buffer.concat([good.subarray(0, good.length - 12), Buffer.from('garbagePAR1')]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const input = join(dir, `${name}.parquet`);
      await writeFile(input, bytes);
      const error = await scorePartitioned({
        model: sharedPath('models', 'xgboost_regressor_onnxmltools.onnx'),
        input,
        output: join(dir, `${name}-parquet-out`),
        features: ['id', 'int_col', 'float_col', 'double_col'],
      }).then(() => undefined, (caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(BatchscoreError);
      expect((error as BatchscoreError).code, name).toBe('ERR_INPUT_CORRUPT');
      expect((error as BatchscoreError).location.file, name).toBe(input);
    }
  });
});
