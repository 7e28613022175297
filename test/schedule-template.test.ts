import { describe, expect, it } from 'vitest';
import { backfill, DATE_PLACEHOLDERS, renderTemplate } from '../dist/index.js';
import { churnModel } from './helpers/churn.js';

describe('date templates', () => {
  it('renders every placeholder', () => {
    const template = 'in/{yyyy}/{mm}/{dd}/customers_{ds_nodash}.csv#{ds}';
    expect(renderTemplate(template, '2026-03-09')).toBe(
      'in/2026/03/09/customers_20260309.csv#2026-03-09',
    );
  });

  it('lists the placeholders it supports', () => {
    expect([...DATE_PLACEHOLDERS]).toEqual(['ds', 'ds_nodash', 'yyyy', 'mm', 'dd']);
  });

  it('leaves glob alternatives alone', () => {
    const rendered = renderTemplate('data/{ds}/*.{csv,jsonl}', '2026-01-02');
    expect(rendered).toBe('data/2026-01-02/*.{csv,jsonl}');
  });

  it('rejects an unknown placeholder by name', async () => {
    const run = backfill({
      start: '2026-01-01',
      end: '2026-01-02',
      model: churnModel,
      input: 'data/customers_{date}.csv',
      output: 'scored/dt={ds}',
    });
    await expect(run).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(run).rejects.toThrow(/Unknown placeholder \{date\} in `input`.*Use one of \{ds\}/);
  });

  it('rejects an output template without the date', async () => {
    const run = backfill({
      start: '2026-01-01',
      end: '2026-01-02',
      model: churnModel,
      input: 'data/customers_{ds}.csv',
      output: 'scored/latest',
    });
    await expect(run).rejects.toThrow(/same path for 2026-01-01 and 2026-01-02/);
  });

  it('rejects an output repeating in range', async () => {
    const run = backfill({
      start: '2026-01-01',
      end: '2026-02-01',
      model: churnModel,
      input: 'data/customers_{ds}.csv',
      output: 'scored/day={dd}',
    });
    await expect(run).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(run).rejects.toThrow(/same path for 2026-01-01 and 2026-02-01/);
  });
});

describe('backfill date range', () => {
  const job = { model: churnModel, input: 'data/customers_{ds}.csv', output: 'scored/dt={ds}' };

  it.each([
    ['2026-02-30', 'not a real day'],
    ['2026-1-5', 'not zero-padded'],
    ['20260105', 'without dashes'],
  ])('rejects start %s (%s)', async (start) => {
    await expect(backfill({ ...job, start, end: '2026-03-01' })).rejects.toThrow(
      /Expected `start` to be a calendar date as YYYY-MM-DD/,
    );
  });

  it('rejects a Date object with a hint', async () => {
    const start = new Date('2026-01-05T00:00:00Z') as unknown as string;
    await expect(backfill({ ...job, start, end: '2026-03-01' })).rejects.toThrow(/'2026-01-05'/);
  });

  it('rejects an end before the start', async () => {
    await expect(backfill({ ...job, start: '2026-01-05', end: '2026-01-04' })).rejects.toThrow(
      /`end` \(2026-01-04\) to be on or after `start` \(2026-01-05\)/,
    );
  });

  it('rejects an invalid reprocess value', async () => {
    const reprocess = 'completed' as 'all';
    const run = backfill({ ...job, start: '2026-01-01', end: '2026-01-01', reprocess });
    await expect(run).rejects.toThrow(/`reprocess` to be one of none, failed, all/);
  });
});
