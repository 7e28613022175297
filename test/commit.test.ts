import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scorePartitioned, type ScoreEvent, type ScoreOptions } from '../dist/index.js';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { numbers, partFiles, readManifest, readOutput, tempDir } from './helpers/output.js';

const SCORED_AT = new Date('2026-03-01T02:00:00Z');
let dir: string;
let csvs: string[];

beforeAll(async () => {
  dir = await tempDir();
  csvs = [];
  for (const name of ['a', 'b', 'c']) {
    const path = join(dir, `customers-${name}.csv`);
    generateCustomers(path, 1500);
    csvs.push(path);
  }
});

afterEach(() => {
  delete process.env.BATCHSCORE_FAULTS;
});

function run(output: string, options: Partial<ScoreOptions> = {}) {
  return scorePartitioned({
    model: churnModel,
    input: join(dir, 'customers-*.csv'),
    output,
    partitionBytes: 40_000,
    scoredAt: SCORED_AT,
    ...options,
  });
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('commit protocol', () => {
  it('publishes a version with a manifest that lists every part', async () => {
    const output = join(dir, 'published');
    const summary = await run(output);
    expect((await lstat(output)).isSymbolicLink()).toBe(true);
    expect(await readlink(output)).toMatch(/^\.published\.versions\//);
    const manifest = await readManifest(output) as {
      parts: { file: string; sha256: string; rowsOut: number; input: { file: string; size: number; mtimeMs: number } }[];
      rows: unknown; model: { sha256: string }; runId: string; scoredAt: string;
    };
    expect(manifest.parts.map((part) => part.file)).toEqual(await partFiles(output));
    for (const part of manifest.parts) {
      expect(await sha256(join(output, part.file))).toBe(part.sha256);
      expect(part.input.size).toBeGreaterThan(0);
      expect(part.input.mtimeMs).toBeGreaterThan(0);
    }
    expect(manifest.parts.reduce((sum, part) => sum + part.rowsOut, 0)).toBe(4500);
    expect(manifest.rows).toEqual({ in: 4500, out: 4500, rejected: 0 });
    expect(manifest.model.sha256).toBe(summary.modelSha256);
    expect(manifest.runId).toBe(summary.runId);
    expect(manifest.scoredAt).toBe(SCORED_AT.toISOString());
    // Staging files and markers are gone; the versions folder keeps only the published one.
    expect(await readdir(join(dirname(output), '.published.versions'))).toHaveLength(1);
    expect(existsSync(join(output, '_parts'))).toBe(false);
  });

  it('replaces the output in overwrite mode and leaves no stale part', async () => {
    const output = join(dir, 'replaced');
    await run(output, { partitionBytes: 10_000 });
    const before = (await partFiles(output)).length;
    await run(output, { mode: 'overwrite', partitionBytes: 200_000 });
    const after = await partFiles(output);
    expect(after.length).toBeLessThan(before);
    expect((await readOutput(output)).numRows).toBe(4500);
    // The replaced version stays for readers that listed it before the swap, until the
    // next publish; older versions go.
    const versions = join(dirname(output), '.replaced.versions');
    expect(await readdir(versions)).toHaveLength(2);
    await run(output, { mode: 'overwrite' });
    expect(await readdir(versions)).toHaveLength(2);
    expect((await readOutput(output)).numRows).toBe(4500);
  });

  it('refuses a directory it did not write and leaves it as it was', async () => {
    const output = join(dir, 'user-folder');
    await mkdir(output);
    await writeFile(join(output, 'notes.txt'), 'keep me');
    for (const mode of ['overwrite', 'resume', 'fail-if-exists'] as const) {
      await expect(run(output, { mode })).rejects.toMatchObject({ code: 'ERR_OUTPUT_EXISTS' });
    }
    expect(await readFile(join(output, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('refuses an output that contains an input file', async () => {
    const output = join(dir, 'self');
    await run(output);
    const input = join(output, 'part-00000.parquet');
    await expect(run(output, { mode: 'overwrite', input, passthrough: ['customer_id'] }))
      .rejects.toMatchObject({ code: 'ERR_OUTPUT_NOT_WRITABLE' });
    expect((await readOutput(output)).numRows).toBe(4500);
  });

  it('writes byte-identical parts when scored_at is pinned', async () => {
    const first = join(dir, 'identical-1');
    const second = join(dir, 'identical-2');
    const one = await run(first);
    const two = await run(second);
    expect(two.runId).toBe(one.runId);
    const files = await partFiles(first);
    expect(await partFiles(second)).toEqual(files);
    for (const file of files) {
      expect(await sha256(join(second, file))).toBe(await sha256(join(first, file)));
    }
  });

  it('refuses a second run on an output that is being written', async () => {
    const output = join(dir, 'locked');
    const first = run(output, { mode: 'overwrite' });
    const second = run(output, { mode: 'overwrite' });
    const results = await Promise.allSettled([first, second]);
    const rejected = results.filter((result) => result.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_OUTPUT_LOCKED' });
    expect((await readOutput(output)).numRows).toBe(4500);
  });
});

describe('resume mode', () => {
  it('reuses every part when nothing changed', async () => {
    const output = join(dir, 'resume-same');
    const first = await run(output);
    const second = await run(output, { mode: 'resume' });
    expect(second.reusedPartitions).toBe(first.partitions);
    expect(second.timings.inferMs).toBe(0);
    expect(await partFiles(output)).toEqual(first.files);
    expect(numbers(await readOutput(output), 'label')).toHaveLength(4500);
  });

  it('rescores only the partitions of a changed file', async () => {
    const output = join(dir, 'resume-changed');
    const first = await run(output);
    const manifest = await readManifest(output) as { parts: { input: { file: string } }[] };
    const ofB = manifest.parts.filter((part) => part.input.file.endsWith('customers-b.csv')).length;
    const later = new Date(Date.now() + 5_000);
    await utimes(csvs[1] as string, later, later);
    try {
      const second = await run(output, { mode: 'resume' });
      expect(second.reusedPartitions).toBe(first.partitions - ofB);
      expect(second.partitions).toBe(first.partitions);
    } finally {
      generateCustomers(csvs[1] as string, 1500);
    }
  });

  it('rescores everything for a new model version', async () => {
    const output = join(dir, 'resume-model');
    await run(output);
    const second = await run(output, { mode: 'resume', modelVersion: 'churn-2' });
    expect(second.reusedPartitions).toBe(0);
    const versions = (await readOutput(output)).getChild('model_version')?.toArray() as string[];
    expect(new Set(versions)).toEqual(new Set(['churn-2']));
  });
});

describe('retries', () => {
  it('retries a partition whose worker crashed', async () => {
    process.env.BATCHSCORE_FAULTS = 'crash@1';
    const events: ScoreEvent[] = [];
    const output = join(dir, 'crash-retry');
    const summary = await run(output, { retryDelayMs: 10, onEvent: (event) => events.push(event) });
    expect(summary.retries).toBe(1);
    const retry = events.find((event) => event.type === 'retry');
    expect(retry).toMatchObject({ partition: 1, attempt: 1 });
    expect((retry as { error: { code: string } }).error.code).toBe('ERR_WORKER_CRASHED');
    expect((await readOutput(output)).numRows).toBe(4500);
  });

  it('retries a transient write error', async () => {
    process.env.BATCHSCORE_FAULTS = 'write-error@2';
    const summary = await run(join(dir, 'write-retry'), { retryDelayMs: 10 });
    expect(summary.retries).toBe(1);
    expect(summary.rowsOut).toBe(4500);
  });

  it('stops and retries a partition that exceeds its time limit', async () => {
    process.env.BATCHSCORE_FAULTS = 'hang@0';
    const events: ScoreEvent[] = [];
    const summary = await run(join(dir, 'timeout-retry'), {
      retryDelayMs: 10, partitionTimeoutMs: 3_000, onEvent: (event) => events.push(event),
    });
    expect(summary.retries).toBe(1);
    const retry = events.find((event) => event.type === 'retry') as { error: { code: string } };
    expect(retry.error.code).toBe('ERR_PARTITION_TIMEOUT');
  });

  it('gives up after maxRetries', async () => {
    process.env.BATCHSCORE_FAULTS = 'crash@0';
    // The fault fires on the first attempt only, so no retry at all must fail the run.
    await expect(run(join(dir, 'no-retry'), { maxRetries: 0 }))
      .rejects.toMatchObject({ code: 'ERR_WORKER_CRASHED' });
  });

  it('does not retry errors in the data', async () => {
    const bad = join(dir, 'bad.csv');
    const lines = (await readFile(csvs[0] as string, 'utf8')).split('\n');
    lines[5] = lines[5]?.replace(/^(C\d+),\d+/, '$1,old') ?? '';
    await writeFile(bad, lines.join('\n'));
    const events: ScoreEvent[] = [];
    await expect(run(join(dir, 'data-error'), { input: bad, onEvent: (event) => events.push(event) }))
      .rejects.toMatchObject({ code: 'ERR_VALUE_CONVERSION' });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(0);
  });
});

describe('metrics', () => {
  it('reports latency percentiles and worker utilization', async () => {
    const summary = await run(join(dir, 'metrics'), { workers: 2 });
    const latency = summary.partitionLatencyMs;
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.p90).toBeGreaterThanOrEqual(latency.p50);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p99);
    expect(summary.workerUtilization).toBeGreaterThan(0);
    expect(summary.workerUtilization).toBeLessThanOrEqual(1);
  });

  it('fails when the rejected fraction exceeds the limit', async () => {
    const bad = join(dir, 'fraction.csv');
    const lines = (await readFile(csvs[0] as string, 'utf8')).trimEnd().split('\n');
    for (let row = 1; row <= 30; row++) lines[row] = (lines[row] as string).replace(/^(C\d+),\d+/, '$1,x');
    await writeFile(bad, `${lines.join('\n')}\n`);
    const within = await run(join(dir, 'fraction-ok'), { input: bad, maxRejectedFraction: 0.05 });
    expect(within.rowsRejected).toBe(30);
    await expect(run(join(dir, 'fraction-bad'), { input: bad, maxRejectedFraction: 0.01 }))
      .rejects.toMatchObject({ code: 'ERR_VALUE_CONVERSION' });
  });
});
