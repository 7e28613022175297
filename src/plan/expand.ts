import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { InputError, InvalidOptionError } from '../errors.js';
import type { InputFormat } from '../options.js';


const EXTENSIONS: Record<string, InputFormat> = {
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.arrows': 'arrow',
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};

/** An input file and its format. */
export interface InputFile {
  path: string;
  format: InputFormat;
  size: number;
}

/**
 * Expands paths and globs into files in a stable order: the listed order, and sorted
 * paths within each glob, so part numbers follow the input.
 */
export async function expandInputs(
  patterns: readonly string[],
  format: InputFormat | undefined,
): Promise<InputFile[]> {
  if (patterns.length === 0) {
    throw new InvalidOptionError('Expected `input` to name at least one file, got an empty list');
  }
  const files: InputFile[] = [];
  for (const pattern of patterns) {
    const paths = isDynamicPattern(pattern) ? await expandGlob(pattern) : [resolve(pattern)];
    for (const path of paths) files.push(await describeFile(path, format));
  }
  return files;
}

async function expandGlob(pattern: string): Promise<string[]> {
  // Names that start with `_` or `.` are metadata by the Hadoop convention (such as
  // `_SUCCESS` and hidden version folders), never data, so a glob skips them.
  const paths = (await glob(pattern, { absolute: true, onlyFiles: true }))
    .filter((path) => !/^[_.]/.test(basename(path)));
  if (paths.length === 0) {
    throw new InputError('ERR_INPUT_NOT_FOUND', `No file matches the glob ${pattern}`, {
      fix: 'Check the pattern and the working directory; quote the glob so the shell does not expand it',
    });
  }
  return paths.sort();
}

async function describeFile(path: string, format: InputFormat | undefined): Promise<InputFile> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new InputError('ERR_INPUT_NOT_FOUND', 'Input file not found', {
        file: path,
        fix: 'Check the path, or pass a glob such as data/*.parquet',
        cause: error,
      });
    }
    throw new InputError('ERR_INPUT_UNREADABLE', `Cannot read input file: ${error.message}`, {
      file: path,
      fix: 'Check that the file exists and is readable by this user',
      cause: error,
    });
  });
  if (!info.isFile()) {
    throw new InputError('ERR_INPUT_UNREADABLE', 'Input is not a regular file', {
      file: path,
      fix: 'Pass a file, or a glob such as dir/*.parquet for the files in a directory',
    });
  }
  return { path, format: detectFormat(path, format), size: info.size };
}

function detectFormat(path: string, format: InputFormat | undefined): InputFormat {
  const byExtension = EXTENSIONS[extname(path).toLowerCase()];
  if (format !== undefined) return format;
  if (byExtension !== undefined) return byExtension;
  throw new InputError('ERR_UNSUPPORTED_FORMAT', 'Cannot tell the input format from the extension', {
    file: path,
    fix: `Rename the file to one of ${Object.keys(EXTENSIONS).join(', ')}, or pass format`,
  });
}
