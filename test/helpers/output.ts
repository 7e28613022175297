import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { repoRoot } from './shared-data.js';

/** Creates a fresh temporary directory. */
export function tempDir(prefix = 'batchscore-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Lists the committed part files of an output directory, sorted. */
export async function partFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^part-\d+\.(parquet|arrow)$/.test(name)).sort();
}

/** Reads one part file into an Arrow table. */
export async function readPart(path: string): Promise<Table> {
  const bytes = await readFile(path);
  if (path.endsWith('.arrow')) return tableFromIPC(bytes);
  return tableFromIPC(readParquet(bytes).intoIPCStream());
}

/** Reads every part of an output directory, in order, into one table. */
export async function readOutput(dir: string): Promise<Table> {
  const tables: Table[] = [];
  for (const name of await partFiles(dir)) tables.push(await readPart(join(dir, name)));
  const [head, ...rest] = tables;
  if (head === undefined) throw new Error(`no part files in ${dir}`);
  return head.concat(...rest);
}

/** Reads the `_SUCCESS` manifest of an output directory. */
export async function readManifest(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, '_SUCCESS'), 'utf8')) as Record<string, unknown>;
}

/** Column values as plain numbers (bigints are converted), for comparisons. */
export function numbers(table: Table, column: string): number[] {
  const vector = table.getChild(column);
  if (vector === null) throw new Error(`no column ${column}`);
  return [...vector].map((value) => Number(value));
}

/** Output of a finished child process. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args` and collects its output. */
export function runCli(args: string[], options: { cwd?: string } = {}): Promise<ProcessResult> {
  const cli = join(repoRoot, 'dist', 'cli', 'main.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: options.cwd ?? repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
