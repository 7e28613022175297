import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  schedule,
  type HistoryRecord,
  type JobRun,
  type ScheduleEvent,
  type ScheduleHandle,
  type ScheduleOptions,
} from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { readManifest, readOutput, tempDir } from './helpers/output.js';
import { repoRoot } from './helpers/shared-data.js';

const EVERY_SECOND = '* * * * * *';
const handles: ScheduleHandle[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.stop()));
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Collects a schedule's events and resolves waits on them. */
class Events {
  readonly all: ScheduleEvent[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  readonly listener = (event: ScheduleEvent) => {
    this.all.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test()) return true;
      waiter.resolve();
      return false;
    });
  };

  of<T extends ScheduleEvent['type']>(type: T): Extract<ScheduleEvent, { type: T }>[] {
    type Match = Extract<ScheduleEvent, { type: T }>;
    return this.all.filter((event): event is Match => event.type === type);
  }

  /** Resolves once `count` events of `type` have arrived. */
  until(type: ScheduleEvent['type'], count = 1): Promise<void> {
    const test = () => this.of(type).length >= count;
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

async function start(options: ScheduleOptions): Promise<ScheduleHandle> {
  const handle = await schedule(options);
  handles.push(handle);
  return handle;
}

function records(history: HistoryRecord[], outcome: HistoryRecord['outcome']) {
  return history.filter((record) => record.outcome === outcome);
}

describe('schedule', () => {
  it('fires ticks with logical dates', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    const runs: JobRun[] = [];
    const handle = await start({
      cron: '*/2 * * * * *',
      stateDir,
      job: async (run) => {
        runs.push(run);
      },
      onEvent: events.listener,
    });
    expect((handle.nextRun()?.scheduledAt.getUTCSeconds() ?? 1) % 2).toBe(0);
    await events.until('success', 3);
    await handle.stop();

    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) {
      expect(run.scheduledAt.getUTCMilliseconds()).toBe(0);
      expect(run.scheduledAt.getUTCSeconds() % 2).toBe(0);
      expect(run.ds).toBe(run.scheduledAt.toISOString().slice(0, 10));
      expect(run.attempt).toBe(1);
      expect(run.trigger).toBe('schedule');
    }
    const times = runs.map((run) => run.scheduledAt.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(new Set(times).size).toBe(times.length);

    const history = await handle.history();
    expect(records(history, 'succeeded').map((record) => record.scheduledAt)).toEqual(
      runs.map((run) => run.scheduledAt.toISOString()),
    );
    for (const record of history) {
      expect(record.attempts).toBe(1);
      expect(record.pid).toBe(process.pid);
    }
    expect(handle.nextRun()).toBeNull();
  });

  it('skips ticks during a slow run', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    let active = 0;
    let maxActive = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir,
      job: async (run) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        started.push(run.scheduledAt.toISOString());
        if (started.length === 1) await gate;
        active -= 1;
      },
      onEvent: events.listener,
    });
    await events.until('skipped', 2);
    expect(handle.isBusy()).toBe(true);
    expect(started).toHaveLength(1);
    release();
    await events.until('success', 1);
    await handle.stop();

    expect(maxActive).toBe(1);
    const history = await handle.history();
    const [slow] = records(history, 'succeeded');
    const skipped = records(history, 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    for (const record of skipped) {
      expect(record.attempts).toBe(0);
      expect(record.scheduledAt > (slow?.scheduledAt ?? '')).toBe(true);
      expect(started).not.toContain(record.scheduledAt);
    }
  });

  it('retries with backoff, then fails', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    const attempts: number[] = [];
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir,
      retries: 3,
      retryDelayMs: 1,
      maxRetryDelayMs: 3,
      job: async (run) => {
        attempts.push(run.attempt);
        throw new Error(`boom ${run.attempt}`);
      },
      onEvent: events.listener,
    });
    await events.until('failure');
    await handle.stop();

    expect(attempts.slice(0, 4)).toEqual([1, 2, 3, 4]);
    const [failure] = events.of('failure');
    const retries = events.of('retry').filter((event) => event.ds === failure?.record.ds);
    expect(retries.slice(0, 3).map((event) => event.delayMs)).toEqual([1, 2, 3]);
    const messages = retries.slice(0, 3).map((event) => event.error.message);
    expect(messages).toEqual(['boom 1', 'boom 2', 'boom 3']);
    expect(failure?.error.message).toBe('boom 4');
    expect(failure?.record).toMatchObject({
      outcome: 'failed',
      attempts: 4,
      error: { message: 'boom 4' },
    });
    const history = await handle.history();
    expect(history[0]).toMatchObject({ outcome: 'failed', attempts: 4 });
  });

  it('succeeds on a retry', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir,
      retryDelayMs: 1,
      job: async (run) => {
        if (run.attempt === 1) throw new Error('transient');
        return { output: '/data/out', rows: 5 };
      },
      onEvent: events.listener,
    });
    await events.until('success');
    await handle.stop();
    const [success] = events.of('success');
    expect(success?.record).toMatchObject({
      outcome: 'succeeded',
      attempts: 2,
      output: '/data/out',
      manifest: '/data/out/_SUCCESS',
      rows: 5,
    });
    expect(events.of('retry')[0]?.error.message).toBe('transient');
  });

  it('does not retry an invalid option', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    let calls = 0;
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir,
      retryDelayMs: 1,
      job: async () => {
        calls += 1;
        throw new InvalidOptionError('bad option');
      },
      onEvent: events.listener,
    });
    await events.until('failure');
    await handle.stop();
    expect(calls).toBe(1);
    expect(events.of('failure')[0]?.record).toMatchObject({
      attempts: 1,
      error: { code: 'ERR_INVALID_OPTION' },
    });
  });

  it('ends a retry delay when stopped', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir,
      retryDelayMs: 3_600_000,
      job: async () => {
        throw new Error('down');
      },
      onEvent: events.listener,
    });
    await events.until('retry');
    await handle.stop();
    expect(events.of('failure')[0]?.record).toMatchObject({ outcome: 'failed', attempts: 1 });
    expect(handle.isBusy()).toBe(false);
  });

  it('aborts the running job by signal', async () => {
    const stateDir = await tempDir();
    const events = new Events();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    await start({
      cron: EVERY_SECOND,
      stateDir,
      signal: controller.signal,
      job: (run) => {
        seen = run.signal;
        return new Promise((_resolve, reject) => {
          run.signal.addEventListener('abort', () => reject(run.signal.reason as Error));
        });
      },
      onEvent: events.listener,
    });
    await events.until('attempt');
    controller.abort(new Error('shutting down'));
    await events.until('failure');
    expect(seen?.aborted).toBe(true);
    expect(events.of('failure')[0]?.record.error?.message).toBe('shutting down');
  });
});

describe('schedule history', () => {
  it('keeps the history across a restart', async () => {
    const stateDir = await tempDir();
    const first = new Events();
    const before = await start({
      cron: EVERY_SECOND,
      stateDir,
      job: async () => undefined,
      onEvent: first.listener,
    });
    await first.until('success', 2);
    await before.stop();
    const written = await before.history();
    expect(written.length).toBeGreaterThanOrEqual(2);

    // A new scheduler on the same folder, as after a restart of the process.
    const after = await start({ cron: '0 0 1 1 *', stateDir, job: async () => undefined });
    expect(await after.history()).toEqual(written);
    const lines = (await readFile(join(stateDir, 'history.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(written.length);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      outcome: 'succeeded',
      ds: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      durationMs: expect.any(Number),
    });
  });

  it('ignores a line cut short by a crash', async () => {
    const stateDir = await tempDir();
    const good = { ds: '2026-01-01', scheduledAt: '2026-01-01T00:00:00.000Z' };
    await writeFile(join(stateDir, 'history.jsonl'), `${JSON.stringify(good)}\n{"ds":"2026-01-0`);
    const handle = await start({ cron: '0 0 1 1 *', stateDir, job: async () => undefined });
    expect(await handle.history()).toEqual([good]);
  });

  it('catches up recent missed ticks', async () => {
    const stateDir = await tempDir();
    const day = 24 * 60 * 60 * 1000;
    const today = Math.floor(Date.now() / day) * day;
    const last = new Date(today - 5 * day);
    const record = { ds: last.toISOString().slice(0, 10), scheduledAt: last.toISOString() };
    await writeFile(join(stateDir, 'history.jsonl'), `${JSON.stringify(record)}\n`);

    const events = new Events();
    const runs: JobRun[] = [];
    const handle = await start({
      cron: '0 0 * * *',
      stateDir,
      catchUp: 2,
      job: async (run) => {
        runs.push(run);
      },
      onEvent: events.listener,
    });
    await events.until('success', 2);
    await handle.idle();
    expect(runs.map((run) => run.ds)).toEqual([
      new Date(today - day).toISOString().slice(0, 10),
      new Date(today).toISOString().slice(0, 10),
    ]);
    expect(runs.every((run) => run.trigger === 'catch-up')).toBe(true);
    const history = await handle.history();
    expect(history.slice(1).map((entry) => entry.trigger)).toEqual(['catch-up', 'catch-up']);
  });

  it('does not catch up unless asked', async () => {
    const stateDir = await tempDir();
    const old = '2020-01-01T00:00:00.000Z';
    await writeFile(join(stateDir, 'history.jsonl'), `${JSON.stringify({ scheduledAt: old })}\n`);
    let calls = 0;
    const handle = await start({
      cron: '0 0 * * *',
      stateDir,
      job: async () => {
        calls += 1;
      },
    });
    expect(handle.isBusy()).toBe(false);
    await handle.stop();
    expect(calls).toBe(0);
    expect(await handle.history()).toHaveLength(1);
  });

  it('does not catch up on a first start', async () => {
    const stateDir = await tempDir();
    const handle = await start({
      cron: '0 0 * * *',
      stateDir,
      catchUp: 5,
      job: async () => undefined,
    });
    expect(handle.isBusy()).toBe(false);
  });
});

describe('schedule across processes', () => {
  it('skips ticks another process runs', async () => {
    const stateDir = await tempDir();
    // The other process runs the same job and never finishes its run.
    const script = `
      import { schedule } from ${JSON.stringify(join(repoRoot, 'dist', 'index.js'))};
      await schedule({
        cron: '* * * * * *',
        stateDir: ${JSON.stringify(stateDir)},
        job: () => { process.stdout.write('running\\n'); return new Promise(() => {}); },
      });
    `;
    const other = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(other);
    await new Promise<void>((resolve) => other.stdout?.once('data', () => resolve()));
    expect(existsSync(join(stateDir, 'job.lock'))).toBe(true);

    const events = new Events();
    let calls = 0;
    await start({
      cron: EVERY_SECOND,
      stateDir,
      job: async () => {
        calls += 1;
      },
      onEvent: events.listener,
    });
    await events.until('locked', 2);
    expect(calls).toBe(0);
    expect(events.of('locked')[0]?.record).toMatchObject({ outcome: 'locked', attempts: 0 });

    // Once the other process is gone, its lock is stale and this scheduler takes over.
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    await events.until('success');
    expect(calls).toBeGreaterThanOrEqual(1);
  });
});

describe('scheduled scoring job', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir();
    generateCustomers(join(dir, 'customers.csv'), 500);
  });

  it('scores the logical date partition', async () => {
    const events = new Events();
    const handle = await start({
      cron: EVERY_SECOND,
      stateDir: join(dir, '.schedule'),
      job: {
        model: churnModel,
        input: join(dir, 'customers.csv'),
        output: join(dir, 'scored', 'dt={ds}'),
        workers: 1,
      },
      onEvent: events.listener,
    });
    await events.until('success');
    await handle.stop();

    const [success] = events.of('success');
    const output = join(dir, 'scored', `dt=${success?.record.ds}`);
    expect(success?.record).toMatchObject({
      output,
      manifest: join(output, '_SUCCESS'),
      rows: 500,
    });
    expect((await lstat(output)).isSymbolicLink()).toBe(true);
    expect((await readOutput(output)).numRows).toBe(500);
    expect(await readManifest(output)).toMatchObject({ rows: { in: 500, out: 500, rejected: 0 } });
    expect(events.of('score').some((event) => event.event.type === 'commit')).toBe(true);
  });
});
