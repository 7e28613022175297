import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { outputLayout, RUN_FILE, SUCCESS_FILE, type OutputLayout } from '../commit/layout.js';
import type { Manifest } from '../commit/manifest.js';
import { readExisting, type ExistingOutput } from '../commit/publish.js';
import { ModelError } from '../errors.js';
import { expandInputs } from '../plan/expand.js';
import { isLockHeld } from '../commit/lock.js';
import { hashFile } from '../run/fingerprint.js';
import { resolvePartFormat, settingsKey, type ScoreSettings } from '../run/settings-key.js';
import type { DateState } from './events.js';
import type { DatedJob } from './job.js';
import type { ScoreJob } from './options.js';

/** Model and settings that a committed output must have been made with to count as done. */
export interface JobIdentity {
  modelSha256: string;
  modelVersion: string;
  /** The `settingsKey` that a run of this job writes in its manifest. */
  settingsKey: string;
}

/** Reads the model (and transform) of a job and computes what its manifests will hold. */
export async function jobIdentity(job: ScoreJob): Promise<JobIdentity> {
  const bytes = await readModel(job.model);
  const modelSha256 = createHash('sha256').update(bytes).digest('hex');
  const modelVersion = job.modelVersion ?? `sha256:${modelSha256.slice(0, 12)}`;
  const transformPath = job.transform === undefined ? undefined : resolve(job.transform);
  const transform = transformPath === undefined
    ? null
    : { path: transformPath, sha256: await hashFile(transformPath) };

  const settings: ScoreSettings = {
    modelSha256,
    modelVersion,
    features: job.features ?? null,
    passthrough: job.passthrough ?? 'all',
    transform,
  };
  const format = resolvePartFormat(job);
  return { modelSha256, modelVersion, settingsKey: settingsKey(settings, format) };
}

/**
 * Reads the state of a date's output from its lock file, its link and its manifest,
 * without planning the input or starting a worker.
 */
export async function readDateState(
  job: ScoreJob,
  dated: DatedJob,
  identity: JobIdentity,
): Promise<DateState> {
  const layout = outputLayout(dated.output);
  if (await isLockHeld(layout.lock)) return 'locked';
  let existing: ExistingOutput;
  try {
    existing = await readExisting(layout);
  } catch {
    // A file at the output path: the run reports it as ERR_OUTPUT_NOT_WRITABLE.
    return 'stale';
  }
  const manifest = existing.kind === 'version' ? existing.manifest : null;
  if (manifest !== null && (await isUpToDate(manifest, job, dated, identity))) return 'done';
  if (await hasFailedAttempt(layout, existing)) return 'failed';
  if (existing.kind === 'version') return 'stale';
  if (existing.kind === 'directory' && existing.entries.some((name) => !name.startsWith('.'))) {
    return 'stale';
  }
  return 'missing';
}

/**
 * Returns whether a manifest was made with the job's model and settings from the input
 * files as they are now: the same set of files, each with the size and modification
 * time recorded in the manifest's part fingerprints.
 */
async function isUpToDate(
  manifest: Manifest,
  job: ScoreJob,
  dated: DatedJob,
  identity: JobIdentity,
): Promise<boolean> {
  if (manifest.model?.sha256 !== identity.modelSha256) return false;
  if (manifest.model.version !== identity.modelVersion) return false;
  if (manifest.settingsKey !== identity.settingsKey) return false;

  const recorded = new Map<string, { size?: number; mtimeMs?: number }>();
  for (const part of manifest.parts) {
    if (part.input.file !== undefined) recorded.set(part.input.file, part.input);
  }
  const current = await statInputs(dated.input, job.format);
  if (current === null || current.length !== recorded.size) return false;
  return current.every((file) => {
    const seen = recorded.get(file.path);
    return seen !== undefined && seen.size === file.size && seen.mtimeMs === file.mtimeMs;
  });
}

/** Lists the input files of a date with their size and modification time, or null. */
async function statInputs(input: string | string[], format: ScoreJob['format']) {
  try {
    const files = await expandInputs(typeof input === 'string' ? [input] : input, format);
    return await Promise.all(files.map(async (file) => {
      const info = await stat(file.path);
      return { path: file.path, size: info.size, mtimeMs: info.mtimeMs };
    }));
  } catch {
    // A missing input is reported by the run itself, with its path.
    return null;
  }
}

/**
 * Returns whether the versions folder contains a version that was started and never
 * committed. A run that fails or is killed leaves its staged parts there, and the next
 * committed run deletes them.
 */
async function hasFailedAttempt(layout: OutputLayout, existing: ExistingOutput): Promise<boolean> {
  const committed = existing.kind === 'version' ? existing.dir : null;
  const names = await readdir(layout.versions).catch(() => [] as string[]);
  for (const name of names) {
    const dir = join(layout.versions, name);
    if (dir === committed) continue;
    const started = await stat(join(dir, RUN_FILE)).then(() => true, () => false);
    const published = await stat(join(dir, SUCCESS_FILE)).then(() => true, () => false);
    if (started && !published) return true;
  }
  return false;
}


async function readModel(model: string | Uint8Array): Promise<Uint8Array> {
  if (typeof model !== 'string') return model;
  try {
    return await readFile(model);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const message = missing ? 'Model file not found' : 'Cannot read model file';
    throw new ModelError('ERR_MODEL_LOAD', message, {
      file: resolve(model),
      fix: 'Check the model path',
      cause: error,
    });
  }
}
