import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BatchscoreError } from '../errors.js';
import type { InputFingerprint } from '../commit/manifest.js';
import { describePartition, type PartitionSource } from '../plan/types.js';

/** Returns the hex sha256 of a value's JSON text. */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Returns the hex sha256 of a file's bytes, or null when it cannot be read; the caller
 * reports the missing file where it is loaded.
 */
export async function hashFile(path: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return null;
  }
}

/** Raises `ERR_TRANSFORM` when the module file of option `option` does not exist. */
export async function checkModuleExists(path: string, option: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() === true) return;
  throw new BatchscoreError('ERR_TRANSFORM', `The \`${option}\` module file was not found`, {
    file: resolve(path),
    fix: 'Check the path; it is resolved from the working directory',
  });
}

/**
 * Fingerprints partitions: the file's size and modification time plus the part of the
 * file the partition covers. A file rewritten in place gets a new modification time, so
 * its partitions no longer match.
 */
export class Fingerprinter {
  private readonly files = new Map<string, Promise<{ size: number; mtimeMs: number }>>();

  constructor(private readonly settingsKey: string) {}

  /** Fingerprints a partition. */
  async fingerprint(source: PartitionSource): Promise<InputFingerprint> {
    const description = describePartition(source);
    if (source.kind === 'ipc') return { description };
    const info = await this.statFile(source.file);
    return { description, file: source.file, ...info, range: rangeOf(source) };
  }

  /** Returns the reuse key of a partition, or null when it cannot be reused. */
  key(fingerprint: InputFingerprint): string | null {
    if (fingerprint.file === undefined) return null;
    return hashJson({ input: fingerprint, settings: this.settingsKey });
  }

  private statFile(path: string) {
    let info = this.files.get(path);
    if (info === undefined) {
      info = stat(path).then((stats) => ({ size: stats.size, mtimeMs: stats.mtimeMs }));
      this.files.set(path, info);
    }
    return info;
  }
}

function rangeOf(source: Exclude<PartitionSource, { kind: 'ipc' }>): unknown {
  switch (source.kind) {
    case 'csv':
    case 'jsonl':
      return { start: source.start, end: source.end, schema: source.schema };
    case 'parquet':
      return { rowGroups: source.rowGroups, offset: source.offset, rows: source.rows };
    case 'arrow-file':
      return { batches: source.batches };
  }
}
