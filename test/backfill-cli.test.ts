import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBackfillArgs } from '../dist/cli/backfill.js';
import { parseScheduleArgs } from '../dist/cli/schedule.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { runCli, tempDir, type ProcessResult } from './helpers/output.js';

const JOB = ['--model', 'm.onnx', '--input', 'data/c_{ds}.csv', '--output', 'scored/dt={ds}'];

/** Runs `batchscore <command> ...args` with the built CLI. */
function runCommand(
  command: 'backfill' | 'schedule',
  args: string[],
  cwd: string,
): Promise<ProcessResult> {
  return runCli([command, ...args], { cwd });
}

describe('backfill arguments', () => {
  it('parses the range and passes score options through', () => {
    const { options, quiet } = parseBackfillArgs([
      '--start', '2026-01-01', '--end', '2026-01-31', '--step-days', '7', '--reverse',
      '--reprocess', 'all', '--concurrency', '2', '--dry-run', '--workers', '1',
      '--features', 'age,tenure_months', '--quiet', ...JOB,
    ]);
    expect(options).toMatchObject({
      start: '2026-01-01',
      end: '2026-01-31',
      stepDays: 7,
      reverse: true,
      reprocess: 'all',
      concurrency: 2,
      dryRun: true,
      workers: 1,
      features: ['age', 'tenure_months'],
      model: 'm.onnx',
      input: 'data/c_{ds}.csv',
      output: 'scored/dt={ds}',
    });
    expect(options.mode).toBeUndefined();
    expect(quiet).toBe(true);
  });

  it('takes one date with --date', () => {
    const { options } = parseBackfillArgs(['--date', '2026-01-05', ...JOB]);
    expect(options).toMatchObject({
      start: '2026-01-05',
      end: '2026-01-05',
      reverse: false,
      dryRun: false,
    });
  });

  it.each([
    [['--date', '2026-01-05', '--start', '2026-01-01'], /either --date or --start and --end/],
    [['--end', '2026-01-05'], /Missing --start/],
    [['--start', '2026-01-05'], /Missing --end/],
    [['--date', '2026-01-05', '--mode', 'overwrite'], /--mode is not an option of batchscore/],
    [['--date', '2026-01-05', '--step-days', '-1'], /--step-days to be a whole number, got "-1"/],
    [['--date'], /Missing value of --date/],
  ])('rejects %j', (args, message) => {
    expect(() => parseBackfillArgs([...args, ...JOB])).toThrow(message);
  });

  it('rejects an unknown flag', () => {
    expect(() => parseBackfillArgs(['--date', '2026-01-05', '--bogus', ...JOB])).toThrow(/--bogus/);
  });
});

describe('schedule arguments', () => {
  it('parses the schedule and a negative date offset', () => {
    const { options, next } = parseScheduleArgs([
      '--cron', '30 2 * * *', '--timezone', 'Europe/Berlin', '--date-offset-days', '-1',
      '--state-dir', 'state', '--catch-up', '3', '--job-retries', '4',
      '--job-retry-delay-ms', '10', '--job-max-retry-delay-ms', '20', ...JOB,
    ]);
    expect(next).toBeUndefined();
    expect(options).toMatchObject({
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      logicalDateOffsetDays: -1,
      stateDir: 'state',
      catchUp: 3,
      retries: 4,
      retryDelayMs: 10,
      maxRetryDelayMs: 20,
      job: { model: 'm.onnx', input: 'data/c_{ds}.csv', output: 'scored/dt={ds}' },
    });
  });

  it('needs only the cron expression for --next', () => {
    const { next, options } = parseScheduleArgs(['--cron', '@daily', '--next', '2']);
    expect(next).toBe(2);
    expect(options.cron).toBe('@daily');
  });

  it('rejects a missing state folder', () => {
    expect(() => parseScheduleArgs(['--cron', '@daily', ...JOB])).toThrow(/Missing --state-dir/);
  });
});

describe('backfill command', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir();
    generateCustomers(join(dir, 'customers_2026-01-01.csv'), 300);
  });

  const args = (...extra: string[]) => [
    '--model', churnModel, '--input', 'customers_{ds}.csv', '--output', 'scored/dt={ds}',
    '--workers', '1', ...extra,
  ];

  it('prints the plan of a dry run as JSON', async () => {
    const range = ['--start', '2026-01-01', '--end', '2026-01-02'];
    const result = await runCommand('backfill', args(...range, '--dry-run'), dir);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { dryRun: boolean; counts: Record<string, number> };
    expect(report.dryRun).toBe(true);
    expect(report.counts.planned).toBe(2);
    expect(result.stderr).toContain('2026-01-01 would run (missing)');
  });

  it('exits 1 when a date fails and reports its code', async () => {
    const range = ['--start', '2026-01-01', '--end', '2026-01-02'];
    const result = await runCommand('backfill', args(...range), dir);
    expect(result.code).toBe(1);
    type Report = { dates: { ds: string; status: string; code?: string }[] };
    const report = JSON.parse(result.stdout) as Report;
    expect(report.dates).toMatchObject([
      { ds: '2026-01-01', status: 'done' },
      { ds: '2026-01-02', status: 'failed', code: 'ERR_INPUT_NOT_FOUND' },
    ]);
    expect(result.stderr).toMatch(/2026-01-02 failed: ERR_INPUT_NOT_FOUND/);
  });

  it('exits 0 when every date is done or skipped', async () => {
    const result = await runCommand('backfill', args('--date', '2026-01-01'), dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('2026-01-01 skipped (up-to-date)');
  });
});

describe('schedule command', () => {
  it('prints the next ticks with their local time', async () => {
    const dir = await tempDir();
    const result = await runCommand(
      'schedule',
      [
        '--cron', '30 2 * * *', '--timezone', 'Europe/Berlin',
        '--date-offset-days', '-1', '--next', '2',
      ],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const ticks = lines.map((line) => JSON.parse(line) as Record<string, string>);
    expect(ticks).toHaveLength(2);
    for (const tick of ticks) {
      expect(tick.local).toMatch(/ 02:30:00 /);
      const previousDay = new Date(Date.parse(tick.scheduledAt as string) - 86_400_000);
      expect(tick.ds).toBe(previousDay.toISOString().slice(0, 10));
    }
  });
});

describe('command line errors', () => {
  it('exits 2 on an unknown placeholder', async () => {
    const dir = await tempDir();
    const args = ['--date', '2026-01-01', '--model', churnModel];
    const result = await runCommand(
      'backfill',
      [...args, '--input', 'c_{day}.csv', '--output', 'dt={ds}'],
      dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ERR_INVALID_OPTION: Unknown placeholder \{day\}/);
  });
});
