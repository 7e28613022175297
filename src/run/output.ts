import { mkdir, open, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputError } from '../errors.js';
import type { WriteMode } from '../options.js';

/** Name of the manifest that marks a committed output, as in Hadoop and Spark. */
export const SUCCESS_FILE = '_SUCCESS';
/** Folder of rejected rows inside the output. */
export const REJECTED_DIR = '_rejected';
const STAGING_DIR = '_staging';
const PART_FILE = /^part-\d+\.(parquet|arrow)$/;

/** Paths of a run's staging area. */
export interface Staging {
  output: string;
  dir: string;
  rejectedDir: string;
}

/**
 * Creates the output directory and this run's staging folder inside it. Names that start
 * with `_` are skipped by Spark, pyarrow and DuckDB readers of a folder, so staged files
 * are never read as part of the output.
 */
export async function prepareOutput(output: string, mode: WriteMode, runId: string) {
  await mkdirOrFail(output);
  if (mode === 'fail-if-exists') {
    const existing = (await readdir(output)).filter((name) => !isHidden(name));
    if (existing.length > 0) {
      throw new OutputError('ERR_OUTPUT_EXISTS', 'Output directory is not empty', {
        file: output,
        value: existing.slice(0, 3).join(', '),
        fix: 'Pass mode "overwrite" (--mode overwrite) to replace it, or choose another directory',
      });
    }
  }
  const dir = join(output, STAGING_DIR, runId);
  const rejectedDir = join(dir, REJECTED_DIR);
  await mkdirOrFail(rejectedDir);
  return { output, dir, rejectedDir } satisfies Staging;
}

/**
 * Moves staged files into the output and writes the manifest last, so `_SUCCESS` exists
 * only when every part it lists is in place.
 */
export async function commitOutput(
  staging: Staging,
  parts: readonly string[],
  rejected: readonly string[],
  manifest: unknown,
): Promise<void> {
  const { output } = staging;
  // 1. Withdraw the old manifest: from here until step 4 the folder is not a complete output.
  await rm(join(output, SUCCESS_FILE), { force: true });
  // NOTE: a crash between steps 1 and 4 leaves a mix of old and new parts without a
  // manifest; readers that check `_SUCCESS` see that, readers that only list files do not.

  // 2. Rename the new parts over the old ones and delete old parts the new run lacks.
  for (const name of parts) await rename(join(staging.dir, name), join(output, name));
  const keep = new Set(parts);
  for (const name of await readdir(output)) {
    if (PART_FILE.test(name) && !keep.has(name)) await rm(join(output, name), { force: true });
  }

  // 3. Replace the rejected rows of any earlier run.
  const rejectedDir = join(output, REJECTED_DIR);
  await rm(rejectedDir, { recursive: true, force: true });
  if (rejected.length > 0) {
    await mkdir(rejectedDir, { recursive: true });
    for (const name of rejected) {
      await rename(join(staging.rejectedDir, name), join(rejectedDir, name));
    }
  }

  // 4. Write the manifest through a temporary name so it is never seen half-written.
  const temporary = join(staging.dir, SUCCESS_FILE);
  await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { flush: true });
  await rename(temporary, join(output, SUCCESS_FILE));
  await syncDirectory(output);
  await discardStaging(staging);
}

/** Deletes a run's staging folder, and the staging root when no other run uses it. */
export async function discardStaging(staging: Staging): Promise<void> {
  await rm(staging.dir, { recursive: true, force: true });
  await rmdir(join(staging.output, STAGING_DIR)).catch(() => {
    // Another run still stages files there.
  });
}

function isHidden(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

async function mkdirOrFail(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', `Cannot create output directory: ${reason}`, {
      file: path,
      fix: 'Choose a directory this user can write, or fix its permissions',
      cause: error,
    });
  }
}

/** Flushes a directory's entries (the renames) to disk. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
