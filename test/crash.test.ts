import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { partFiles, readManifest, runCli, tempDir } from './helpers/output.js';
import { repoRoot } from './helpers/shared-data.js';

const SCORED_AT = '2026-02-01T02:00:00Z';
const KILLS = 8;
let dir: string;
let reference: Map<string, string>;
let cleanMs: number;

function scoreArgs(output: string): string[] {
  return [
    'score', '--model', churnModel, '--input', join(dir, 'customers-*.csv'), '--output', output,
    '--mode', 'resume', '--scored-at', SCORED_AT, '--partition-bytes', '60000', '--quiet',
    '--retry-delay-ms', '10',
  ];
}

async function hashes(output: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const file of await partFiles(output)) {
    const bytes = await readFile(join(output, file));
    result.set(file, createHash('sha256').update(bytes).digest('hex'));
  }
  return result;
}

/** Starts the CLI and kills it with SIGKILL after `delayMs`, or lets a fault kill it. */
function runAndKill(output: string, delayMs: number | null, faults = ''): Promise<void> {
  const cli = join(repoRoot, 'dist', 'cli', 'main.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...scoreArgs(output)], {
      stdio: 'ignore',
      env: { ...process.env, BATCHSCORE_FAULTS: faults },
    });
    const timer = delayMs === null ? undefined : setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Checks what a reader sees after a kill: no output yet, or a complete one whose files
 * are exactly the parts its manifest lists, with their checksums.
 */
async function expectCompleteOrAbsent(output: string): Promise<void> {
  if (!existsSync(output)) return;
  const manifest = await readManifest(output) as { parts: { file: string; sha256: string }[] };
  const listed = new Map(manifest.parts.map((part) => [part.file, part.sha256]));
  expect(await hashes(output)).toEqual(listed);
}

/** A tiny seeded generator, so the kill points are the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

beforeAll(async () => {
  dir = await tempDir();
  for (const name of ['a', 'b', 'c']) generateCustomers(join(dir, `customers-${name}.csv`), 12_000);
  const started = performance.now();
  const clean = await runCli(scoreArgs(join(dir, 'clean')));
  cleanMs = performance.now() - started;
  expect(clean.code, clean.stderr).toBe(0);
  reference = await hashes(join(dir, 'clean'));
  expect(reference.size).toBeGreaterThan(10);
});

describe('SIGKILL at random points', () => {
  it('resumes to the clean output after each kill', async () => {
    const next = random(20_260_201);
    for (let kill = 0; kill < KILLS; kill++) {
      const output = join(dir, `killed-${kill}`);
      // Kill points spread over start-up, reading, scoring, writing and committing.
      const delayMs = Math.round(100 + next() * cleanMs);
      await runAndKill(output, delayMs);
      await expectCompleteOrAbsent(output);
      const rerun = await runCli(scoreArgs(output));
      expect(rerun.code, `kill ${kill} at ${delayMs} ms: ${rerun.stderr}`).toBe(0);
      expect(await hashes(output), `kill ${kill} at ${delayMs} ms`).toEqual(reference);
    }
  });

  it('resumes after a kill at each commit step', async () => {
    for (const point of ['before-publish', 'after-publish']) {
      const output = join(dir, `commit-${point}`);
      await runAndKill(output, null, `kill@${point}`);
      await expectCompleteOrAbsent(output);
      expect(existsSync(output), point).toBe(point === 'after-publish');
      const rerun = await runCli(scoreArgs(output));
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await hashes(output), point).toEqual(reference);
    }
  });

  it('keeps the previous output when a rerun is killed before it publishes', async () => {
    const output = join(dir, 'previous');
    expect((await runCli(scoreArgs(output))).code).toBe(0);
    await runAndKill(output, null, 'kill@before-publish');
    expect(await hashes(output)).toEqual(reference);
    await expectCompleteOrAbsent(output);
  });
});

describe('injected failures in the CLI', () => {
  for (const fault of ['crash@3', 'write-error@5']) {
    it(`recovers from ${fault} by retrying`, async () => {
      const output = join(dir, `fault-${fault}`);
      const cli = join(repoRoot, 'dist', 'cli', 'main.js');
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, ...scoreArgs(output)], {
          env: { ...process.env, BATCHSCORE_FAULTS: fault },
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('exit', (code) => resolve({ code, stdout }));
      });
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { retries: number }).retries).toBe(1);
      expect(await hashes(output)).toEqual(reference);
    });
  }
});
