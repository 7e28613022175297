import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  appendFile,
  lstat,
  readdir,
  readFile,
  readlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfill,
  type BackfillEvent,
  type BackfillOptions,
  type BackfillReport,
} from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { readManifest, readOutput, tempDir } from './helpers/output.js';

const ROWS = 600;
const DATES = ['01', '02', '03', '04', '05', '06', '07'].map((day) => `2026-01-${day}`);
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await tempDir();
  for (const ds of DATES) generateCustomers(join(dir, 'data', `customers_${ds}.csv`), ROWS);
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function job(output: string, options: Partial<BackfillOptions> = {}): BackfillOptions {
  return {
    start: '2026-01-01',
    end: '2026-01-07',
    model: churnModel,
    input: join(dir, 'data', 'customers_{ds}.csv'),
    output: join(dir, output, 'dt={ds}'),
    workers: 1,
    ...options,
  };
}

/** Runs a backfill and keeps its events. */
async function run(
  options: BackfillOptions,
): Promise<{ report: BackfillReport; events: BackfillEvent[] }> {
  const events: BackfillEvent[] = [];
  const report = await backfill({ ...options, onEvent: (event) => events.push(event) });
  return { report, events };
}

function statuses(report: BackfillReport) {
  return Object.fromEntries(report.dates.map((outcome) => [outcome.ds, outcome.status]));
}

async function linkTargets(root: string): Promise<string[]> {
  const names = (await readdir(root)).filter((name) => name.startsWith('dt=')).sort();
  return Promise.all(names.map((name) => readlink(join(root, name))));
}

describe('backfill', () => {
  const root = () => join(dir, 'weekly');

  it('writes one committed partition per date', async () => {
    const { report, events } = await run(job('weekly', { concurrency: 2 }));
    expect(report.counts.done).toBe(7);
    expect(report.dates.map((outcome) => outcome.ds)).toEqual(DATES);
    expect(report.dates.every((outcome) => outcome.state === 'missing')).toBe(true);

    const visible = (await readdir(root())).filter((name) => !name.startsWith('.')).sort();
    expect(visible).toEqual(DATES.map((ds) => `dt=${ds}`));
    for (const ds of DATES) {
      const output = join(root(), `dt=${ds}`);
      expect((await lstat(output)).isSymbolicLink()).toBe(true);
      const rows = { in: ROWS, out: ROWS, rejected: 0 };
      expect(await readManifest(output)).toMatchObject({ rows });
      expect((await readOutput(output)).numRows).toBe(ROWS);
      const manifest = await readManifest(output) as { parts: { input: { file: string } }[] };
      expect(new Set(manifest.parts.map((part) => part.input.file))).toEqual(
        new Set([join(dir, 'data', `customers_${ds}.csv`)]),
      );
    }
    const started = events.filter(
      (event) => event.type === 'score' && event.event.type === 'run-start',
    );
    expect(started).toHaveLength(7);
  });

  it('skips done dates without a pool', async () => {
    const before = await linkTargets(root());
    const { report, events } = await run(job('weekly'));
    expect(report.counts).toMatchObject({ done: 0, skipped: 7, failed: 0, locked: 0 });
    for (const outcome of report.dates) {
      expect(outcome).toMatchObject({ state: 'done', status: 'skipped', reason: 'up-to-date' });
      expect(outcome.summary).toBeUndefined();
    }
    expect(events.filter((event) => event.type === 'score')).toEqual([]);
    expect(events.filter((event) => event.type === 'date-start')).toEqual([]);
    expect(await linkTargets(root())).toEqual(before);
  });

  it('runs only the date whose input changed', async () => {
    const input = join(dir, 'data', 'customers_2026-01-03.csv');
    const later = new Date(Date.now() + 60_000);
    await utimes(input, later, later);
    const { report } = await run(job('weekly'));
    expect(report.counts).toMatchObject({ done: 1, skipped: 6 });
    const changed = report.dates.find((outcome) => outcome.ds === '2026-01-03');
    expect(changed).toMatchObject({ state: 'stale', status: 'done' });
    expect(changed?.summary?.rowsOut).toBe(ROWS);

    const again = await run(job('weekly'));
    expect(again.report.counts.skipped).toBe(7);
  });

  it('reruns dates for a new model', async () => {
    const { report } = await run(job('weekly', { end: '2026-01-02', modelVersion: 'churn-v2' }));
    expect(statuses(report)).toEqual({ '2026-01-01': 'done', '2026-01-02': 'done' });
    expect(report.dates.every((outcome) => outcome.state === 'stale')).toBe(true);
    const manifest = await readManifest(join(root(), 'dt=2026-01-01'));
    expect(manifest).toMatchObject({ model: { version: 'churn-v2' } });
  });

  it('dry run plans without writing', async () => {
    const before = await linkTargets(root());
    const { report, events } = await run(job('weekly', { reprocess: 'all', dryRun: true }));
    expect(report.dryRun).toBe(true);
    expect(report.counts.planned).toBe(7);
    expect(events.some((event) => event.type === 'score')).toBe(false);
    expect(await linkTargets(root())).toEqual(before);
  });

  it('reverses the order and steps over days', async () => {
    const { report } = await run(job('planned-only', { dryRun: true, reverse: true, stepDays: 2 }));
    expect(report.dates.map((outcome) => outcome.ds)).toEqual([
      '2026-01-07',
      '2026-01-05',
      '2026-01-03',
      '2026-01-01',
    ]);
    expect(report.dates.every((outcome) => outcome.status === 'planned')).toBe(true);
    expect(existsSync(join(dir, 'planned-only'))).toBe(false);
  });

  it('cancels dates when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { report } = await run(job('cancelled', { signal: controller.signal }));
    expect(report.counts.cancelled).toBe(7);
    expect(existsSync(join(dir, 'cancelled'))).toBe(false);
  });
});

describe('backfill of locked and failed dates', () => {
  it('reports a date a live run holds', async () => {
    const keepAlive = ['-e', 'setInterval(() => {}, 1000)'];
    const holder = spawn(process.execPath, keepAlive, { stdio: 'ignore' });
    children.push(holder);
    const root = join(dir, 'locked');
    const lock = join(root, '.dt=2026-01-02.lock');
    const owner = {
      pid: holder.pid,
      hostname: hostname(),
      runId: 'other',
      startedAt: new Date().toISOString(),
    };
    await run(job('locked', { end: '2026-01-01' }));
    await writeFile(lock, JSON.stringify(owner));

    const planned = await run(job('locked', { end: '2026-01-02', dryRun: true }));
    expect(planned.report.dates.map((outcome) => outcome.state)).toEqual(['done', 'locked']);
    const { report } = await run(job('locked', { end: '2026-01-02', reprocess: 'all' }));
    expect(statuses(report)).toEqual({ '2026-01-01': 'done', '2026-01-02': 'locked' });
    expect(existsSync(join(root, 'dt=2026-01-02'))).toBe(false);

    // A lock whose process has exited is stale: the date runs.
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    const after = await run(job('locked', { start: '2026-01-02', end: '2026-01-02' }));
    expect(statuses(after.report)).toEqual({ '2026-01-02': 'done' });
  });

  it('reruns failed dates on request', async () => {
    const data = join(dir, 'bad');
    const good = join(data, 'customers_2026-02-01.csv');
    const bad = join(data, 'customers_2026-02-02.csv');
    generateCustomers(good, 1200);
    generateCustomers(bad, 1200);
    const clean = await readFile(bad, 'utf8');
    // Past the rows sampled for type inference, so the plan succeeds and a worker fails.
    const badRow = 'C9999999,not-a-number,6,66.33,386.11,one-year,credit card,0,no,south,0';
    await appendFile(bad, `${badRow}\n`);
    const options = {
      ...job('failing'),
      start: '2026-02-01',
      end: '2026-02-02',
      input: join(data, 'customers_{ds}.csv'),
    };

    const first = await run(options);
    expect(statuses(first.report)).toEqual({ '2026-02-01': 'done', '2026-02-02': 'failed' });
    expect(first.report.dates[1]?.code).toBe('ERR_VALUE_CONVERSION');

    await writeFile(bad, clean);
    const none = await run(options);
    expect(none.report.dates[1]).toMatchObject({
      state: 'failed',
      status: 'skipped',
      reason: 'failed-before',
    });
    expect(none.report.dates[0]).toMatchObject({ state: 'done', status: 'skipped' });

    const failed = await run({ ...options, reprocess: 'failed' });
    expect(statuses(failed.report)).toEqual({ '2026-02-01': 'skipped', '2026-02-02': 'done' });
    expect((await readOutput(join(dir, 'failing', 'dt=2026-02-02'))).numRows).toBe(1200);
  });
});
