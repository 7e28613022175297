import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_FILE, SUCCESS_FILE, versionPaths, type OutputLayout, type VersionPaths } from '../commit/layout.js';
import type { PartRecord } from '../commit/manifest.js';
import { createVersion, readMarkers, type ExistingOutput } from '../commit/publish.js';
import type { WriteMode } from '../options.js';

/** Contents of `_run.json`: the run that writes a version. */
interface RunFile {
  runId: string;
  settingsKey: string;
  scoredAt?: string;
  startedAt: string;
}

/** The version a run writes into, and the parts it may reuse. */
export interface PreparedVersion {
  version: VersionPaths;
  runId: string;
  scoredAt: Date | undefined;
  /** True when the run continues an interrupted run's version. */
  continued: boolean;
  /** Completed parts of the continued run, by part file name. */
  finished: Map<string, PartRecord>;
  /** Parts of the committed output, by reuse key, and the folder that contains them. */
  committed: { dir: string; parts: Map<string, PartRecord> } | null;
}

/** Settings of the run being prepared. */
export interface RunIdentity {
  runId: string;
  settingsKey: string;
  scoredAt: { value: Date; pinned: boolean } | undefined;
}

/**
 * Picks the version folder of a run. In `resume` mode, a run continues the most recent
 * interrupted run with the same settings and, when it is pinned, the same `scored_at`.
 * It may also reuse parts of the committed output. Otherwise the run starts a new folder.
 */
export async function prepareVersion(
  layout: OutputLayout,
  mode: WriteMode,
  existing: ExistingOutput,
  identity: RunIdentity,
): Promise<PreparedVersion> {
  const committedDir = existing.kind === 'version' ? existing.dir : null;
  const committed = mode === 'resume' ? committedParts(existing) : null;
  const interrupted = mode === 'resume'
    ? await findInterrupted(layout, committedDir, identity)
    : undefined;
  if (interrupted !== undefined) {
    return {
      version: interrupted.version,
      runId: interrupted.run.runId,
      scoredAt: interrupted.run.scoredAt === undefined ? undefined : new Date(interrupted.run.scoredAt),
      continued: true,
      finished: await readMarkers(interrupted.version),
      committed,
    };
  }
  const version = versionPaths(layout, `${Date.now()}-${randomBytes(4).toString('hex')}`);
  await createVersion(version);
  const run: RunFile = {
    runId: identity.runId,
    settingsKey: identity.settingsKey,
    startedAt: new Date().toISOString(),
  };
  if (identity.scoredAt !== undefined) run.scoredAt = identity.scoredAt.value.toISOString();
  await writeFile(join(version.dir, RUN_FILE), JSON.stringify(run), { flush: true });
  return {
    version,
    runId: identity.runId,
    scoredAt: identity.scoredAt?.value,
    continued: false,
    finished: new Map(),
    committed,
  };
}

function committedParts(existing: ExistingOutput): PreparedVersion['committed'] {
  if (existing.kind !== 'version' || existing.manifest === null) return null;
  const parts = new Map<string, PartRecord>();
  for (const part of existing.manifest.parts) {
    if (part.key !== null) parts.set(part.key, part);
  }
  return { dir: existing.dir, parts };
}

async function findInterrupted(
  layout: OutputLayout,
  committedDir: string | null,
  identity: RunIdentity,
): Promise<{ version: VersionPaths; run: RunFile } | undefined> {
  let best: { version: VersionPaths; run: RunFile } | undefined;
  const names = await readdir(layout.versions).catch(() => [] as string[]);
  for (const name of names) {
    const version = versionPaths(layout, name);
    if (version.dir === committedDir || (await exists(join(version.dir, SUCCESS_FILE)))) continue;
    const run = await readRunFile(version.dir);
    if (run === undefined || run.settingsKey !== identity.settingsKey) continue;
    const pinned = identity.scoredAt?.pinned === true ? identity.scoredAt.value.toISOString() : undefined;
    if (pinned !== undefined && run.scoredAt !== pinned) continue;
    if (best === undefined || run.startedAt > best.run.startedAt) best = { version, run };
  }
  return best;
}

async function readRunFile(dir: string): Promise<RunFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, RUN_FILE), 'utf8')) as RunFile;
  } catch {
    return undefined;
  }
}

/** Returns whether a file exists with the given size (any size when `size` is undefined). */
export async function exists(path: string, size?: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && (size === undefined || info.size === size);
}
