import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { OutputError } from '../errors.js';
import { injectFault } from '../faults.js';
import {
  MARKERS_DIR,
  REJECTED_DIR,
  SUCCESS_FILE,
  type OutputLayout,
  type VersionPaths,
} from './layout.js';
import type { Manifest, PartRecord } from './manifest.js';

/** Contents of the output path before a run. */
export type ExistingOutput =
  | { kind: 'none' }
  | { kind: 'version'; dir: string; manifest: Manifest | null }
  | { kind: 'directory'; entries: string[] };

/** Reads what the output path holds: nothing, a committed version, or a plain folder. */
export async function readExisting(layout: OutputLayout): Promise<ExistingOutput> {
  const info = await lstat(layout.output).catch(() => undefined);
  if (info === undefined) return { kind: 'none' };
  if (info.isSymbolicLink()) {
    const dir = resolve(dirname(layout.output), await readlink(layout.output));
    return { kind: 'version', dir, manifest: await readManifest(dir) };
  }
  if (info.isDirectory()) return { kind: 'directory', entries: await readdir(layout.output) };
  throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', 'The output path is a file, not a directory', {
    file: layout.output,
    fix: 'Choose a directory path for the output',
  });
}

/** Reads the manifest of a version folder, or null when it has none. */
export async function readManifest(dir: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await readFile(join(dir, SUCCESS_FILE), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/** Creates the folders of a version. */
export async function createVersion(version: VersionPaths): Promise<void> {
  try {
    await mkdir(version.rejectedDir, { recursive: true });
    await mkdir(version.markersDir, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new OutputError('ERR_OUTPUT_NOT_WRITABLE', `Cannot create the output folder: ${reason}`, {
      file: version.dir,
      fix: 'Choose an output whose parent directory this user can write',
      cause: error,
    });
  }
}

/** Writes the completion marker of a part: the part is complete once its marker exists. */
export async function writeMarker(version: VersionPaths, record: PartRecord): Promise<void> {
  const path = join(version.markersDir, `${basename(record.file, extensionOf(record.file))}.json`);
  await writeAtomically(path, JSON.stringify(record));
}

/** Reads the completion markers of a version, keyed by part file name. */
export async function readMarkers(version: VersionPaths): Promise<Map<string, PartRecord>> {
  const records = new Map<string, PartRecord>();
  const names = await readdir(version.markersDir).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.endsWith('.json'))) {
    try {
      const record = JSON.parse(await readFile(join(version.markersDir, name), 'utf8')) as PartRecord;
      records.set(record.file, record);
    } catch {
      // A marker is written through a temporary name, so a broken one is not a real marker.
    }
  }
  return records;
}

/**
 * Links a part (and its rejected rows) of another version into this one. Hard links
 * share the bytes, so reusing a part costs no copy, and deleting the old version later
 * leaves the new one intact.
 */
export async function reusePart(
  from: string,
  record: PartRecord,
  version: VersionPaths,
  file: string,
): Promise<void> {
  await linkOrReplace(join(from, record.file), join(version.dir, file));
  if (record.rejectedFile !== undefined) {
    const target = join(version.dir, REJECTED_DIR, basename(file, extensionOf(file)) + '.jsonl');
    await linkOrReplace(join(from, record.rejectedFile), target);
  }
}

/**
 * Publishes a version: writes its manifest, then points the output link at it with one
 * `rename`, then deletes the versions it replaced. A crash before the rename leaves the
 * previous output as it was; a crash after it leaves the new one.
 */
export async function publishVersion(
  layout: OutputLayout,
  version: VersionPaths,
  manifest: Manifest,
  existing: ExistingOutput,
): Promise<void> {
  // 1. The manifest first, inside the version, so the version is complete before it is seen.
  await writeAtomically(join(version.dir, SUCCESS_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(join(version.dir, MARKERS_DIR), { recursive: true, force: true });
  await syncDirectory(version.dir);
  injectFault('kill', 'before-publish');

  // 2. An empty folder at the output path (the only kind a run accepts) is removed so the
  //    link can take its place.
  if (existing.kind === 'directory') await rmdir(layout.output);

  // 3. Swap the link.
  const temporary = join(layout.versions, `${version.name}.link`);
  await rm(temporary, { force: true });
  await symlink(relative(dirname(layout.output), version.dir), temporary, 'junction');
  await rename(temporary, layout.output);
  await syncDirectory(dirname(layout.output));
  injectFault('kill', 'after-publish');

  // 4. Delete every other version but the one just replaced, which readers that listed
  //    the output before the swap may still be reading. The next publish deletes it.
  const previous = existing.kind === 'version' ? existing.dir : undefined;
  await removeVersionsExcept(layout, [version.dir, previous]);
}

/** Deletes every version folder not listed in `keep`. */
export async function removeVersionsExcept(
  layout: OutputLayout,
  keep: ReadonlyArray<string | undefined>,
): Promise<void> {
  const names = await readdir(layout.versions).catch(() => [] as string[]);
  for (const name of names) {
    const dir = join(layout.versions, name);
    if (!keep.includes(dir)) await rm(dir, { recursive: true, force: true });
  }
}

async function linkOrReplace(source: string, target: string): Promise<void> {
  await rm(target, { force: true });
  await link(source, target);
}

/** Writes a file through a temporary name and flushes it, so it is never seen half-written. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, text, { flush: true });
  await rename(temporary, path);
}

/** Flushes a directory's entries, such as renames, to disk. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function extensionOf(file: string): string {
  const dot = file.lastIndexOf('.');
  return dot < 0 ? '' : file.slice(dot);
}
