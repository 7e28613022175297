import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { churnModel, generateCustomers } from './helpers/churn.js';
import { partFiles, readOutput, runCli, tempDir } from './helpers/output.js';

let dir: string;
let csv: string;

beforeAll(async () => {
  dir = await tempDir();
  csv = join(dir, 'customers.csv');
  generateCustomers(csv, 2000);
});

describe('batchscore score', () => {
  it('prints a JSON summary and progress that reaches 100 %', async () => {
    const output = join(dir, 'out');
    const result = await runCli([
      'score', '--model', churnModel, '--input', csv, '--output', output,
      '--partition-bytes', '20000', '--model-version', 'v7',
    ]);
    expect(result.stderr).toContain('100%');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { rowsOut: number; modelVersion: string };
    expect(summary.rowsOut).toBe(2000);
    expect(summary.modelVersion).toBe('v7');
    expect((await readOutput(output)).numRows).toBe(2000);
  });

  it('exits 1 with the error code when the input is missing', async () => {
    const result = await runCli([
      'score', '--model', churnModel, '--input', join(dir, 'nope.csv'), '--output', join(dir, 'x'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_INPUT_NOT_FOUND');
    expect(result.stderr).toContain('nope.csv');
    expect(result.stdout).toBe('');
  });

  it('exits 2 on an invalid argument', async () => {
    const result = await runCli(['score', '--model', churnModel, '--input', csv, '--output', join(dir, 'y'), '--workers', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_INVALID_OPTION');
    expect(result.stderr).toContain('--workers');
  });

  it('refuses to replace an output unless asked to', async () => {
    const output = join(dir, 'twice');
    const args = ['score', '--model', churnModel, '--input', csv, '--output', output, '--quiet'];
    expect((await runCli(args)).code).toBe(0);
    const second = await runCli(args);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('ERR_OUTPUT_EXISTS');
    const third = await runCli([...args, '--mode', 'overwrite']);
    expect(third.code).toBe(0);
    expect((await partFiles(output)).length).toBeGreaterThan(0);
  });

  it('writes one JSON line per event with --log-json', async () => {
    const log = join(dir, 'events.jsonl');
    await writeFile(log, '');
    const result = await runCli([
      'score', '--model', churnModel, '--input', csv, '--output', join(dir, 'logged'),
      '--quiet', '--log-json', log,
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const { readFile } = await import('node:fs/promises');
    const types = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line).type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types).toContain('partition-end');
  });
});

describe('batchscore inspect', () => {
  it('prints the model inputs as JSON', async () => {
    const result = await runCli(['inspect', churnModel]);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout) as { inputs: { name: string }[] };
    expect(info.inputs.map((input) => input.name)).toContain('tenure_months');
  });
});
