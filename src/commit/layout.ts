import { basename, dirname, join } from 'node:path';

/**
 * Where an output's files live. The output path itself is a symbolic link to one
 * version folder; a new output is written into a new version folder and published by
 * replacing the link with `rename`, which is atomic on POSIX file systems. A reader of
 * `output/*.parquet` therefore sees the old parts or the new parts, never a mix.
 *
 * Version folders sit beside the output in a hidden folder, `.<name>.versions/`, which
 * Spark, pyarrow and DuckDB skip when they list the output's parent.
 */
export interface OutputLayout {
  /** The path users read: a symbolic link to the committed version. */
  output: string;
  /** Folder of version folders. */
  versions: string;
  /** Lock file held by the run that writes this output. */
  lock: string;
}

/** Name of the manifest that marks a committed version, as in Hadoop and Spark. */
export const SUCCESS_FILE = '_SUCCESS';
/** Folder of rejected rows inside a version. */
export const REJECTED_DIR = '_rejected';
/** Folder of per-part completion markers inside a version. */
export const MARKERS_DIR = '_parts';
/** Description of the run that writes a version, written when the run starts. */
export const RUN_FILE = '_run.json';

/** Returns the layout of an output path. */
export function outputLayout(output: string): OutputLayout {
  const parent = dirname(output);
  const name = basename(output);
  return {
    output,
    versions: join(parent, `.${name}.versions`),
    lock: join(parent, `.${name}.lock`),
  };
}

/** Paths inside one version folder. */
export interface VersionPaths {
  /** Folder name, unique per run attempt; the run id is kept in its `_run.json`. */
  name: string;
  dir: string;
  rejectedDir: string;
  markersDir: string;
}

/** Returns the paths of the version folder `name`. */
export function versionPaths(layout: OutputLayout, name: string): VersionPaths {
  const dir = join(layout.versions, name);
  return {
    name,
    dir,
    rejectedDir: join(dir, REJECTED_DIR),
    markersDir: join(dir, MARKERS_DIR),
  };
}

/** Returns the file name of partition `index`'s part, without extension. */
export function partName(index: number): string {
  return `part-${String(index).padStart(5, '0')}`;
}
