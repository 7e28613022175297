import { open, type FileHandle } from 'node:fs/promises';
import { InputError, InvalidOptionError } from '../errors.js';

/**
 * Largest byte range that one read accepts. Arrow `Utf8` columns use 32-bit offsets, so a
 * partition whose text exceeds 2 GiB - 1 could not be stored in one column.
 */
export const MAX_RANGE_BYTES = 2 ** 31 - 1;

/** An input file opened for positional reads. */
export interface InputFile {
  handle: FileHandle;
  /** File size in bytes when it was opened. */
  size: number;
}

/**
 * Opens `path` for reading. Rejects with an {@link InputError}: `ERR_INPUT_NOT_FOUND` when
 * nothing exists at the path, `ERR_INPUT_UNREADABLE` for a directory, a permission error
 * or any other failure to open it.
 */
export async function openInput(path: string): Promise<InputFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const stats = await handle.stat();
    // On Linux open(2) succeeds on a directory, and only the first read would fail.
    if (stats.isDirectory()) throw directoryError(path);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error instanceof InputError ? error : openError(path, error);
  }
}

/**
 * Reads up to `length` bytes at `position` into the start of `target`, retrying short
 * reads. Returns the number of bytes read, which is less than `length` only at end of file.
 */
export async function readAt(
  input: InputFile,
  path: string,
  target: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let filled = 0;
  while (filled < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await input.handle.read(target, filled, length - filled, position + filled));
    } catch (error) {
      throw new InputError('ERR_INPUT_UNREADABLE', 'Failed to read input file', {
        file: path,
        cause: error,
      });
    }
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/**
 * Reads bytes `[start, end)` of the file at `path` into a new buffer. Rejects with
 * `ERR_INPUT_CORRUPT` when the file has fewer bytes than the range needs, which means it
 * changed after the range was planned.
 */
export async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const input = await openInput(path);
  try {
    const buffer = Buffer.allocUnsafe(end - start);
    const bytesRead = await readAt(input, path, buffer, end - start, start);
    if (bytesRead < end - start) {
      throw new InputError(
        'ERR_INPUT_CORRUPT',
        `Input file ended at byte ${start + bytesRead}, inside the range ${start}-${end}`,
        { file: path, fix: 'The file changed after it was planned; plan it again' },
      );
    }
    return buffer;
  } finally {
    await input.handle.close();
  }
}

/**
 * Throws an `InvalidOptionError` unless `range` is two ordered offsets no further apart
 * than {@link MAX_RANGE_BYTES}, a positive `firstRow` and, when given, a row count.
 */
export function validateRange(range: {
  start: number;
  end: number;
  firstRow: number;
  rows?: number;
}): void {
  const { start, end, firstRow, rows } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidOptionError(
      `expected \`range.start\` to be a non-negative integer, got ${describe(start)}`,
    );
  }
  if (!Number.isSafeInteger(end) || end < start) {
    throw new InvalidOptionError(
      `expected \`range.end\` to be an integer not less than range.start (${start}), ` +
        `got ${describe(end)}`,
    );
  }
  if (end - start > MAX_RANGE_BYTES) {
    throw new InvalidOptionError(
      `expected a range of at most ${MAX_RANGE_BYTES} bytes, got ${end - start}`,
      { fix: 'Plan the input with a smaller targetBytes' },
    );
  }
  if (!Number.isSafeInteger(firstRow) || firstRow < 1) {
    throw new InvalidOptionError(
      `expected \`range.firstRow\` to be a positive integer, got ${describe(firstRow)}`,
    );
  }
  if (rows !== undefined && (!Number.isSafeInteger(rows) || rows < 0)) {
    throw new InvalidOptionError(
      `expected \`range.rows\` to be a non-negative integer, got ${describe(rows)}`,
    );
  }
}

/** Formats a received option value and its type for an error message. */
export function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${text} (${value === null ? 'null' : typeof value})`;
}

function openError(path: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new InputError('ERR_INPUT_NOT_FOUND', 'Input file not found', {
      file: path,
      fix: 'Check the path or glob pattern',
      cause: error,
    });
  }
  if (code === 'EISDIR') return directoryError(path, error);
  if (code === 'EACCES' || code === 'EPERM') {
    return new InputError('ERR_INPUT_UNREADABLE', 'Permission denied reading input file', {
      file: path,
      fix: 'Grant read permission on the file to the user running batchscore',
      cause: error,
    });
  }
  return new InputError('ERR_INPUT_UNREADABLE', `Failed to open input file (${code ?? error})`, {
    file: path,
    cause: error,
  });
}

function directoryError(path: string, cause?: unknown): InputError {
  return new InputError('ERR_INPUT_UNREADABLE', 'Input path is a directory, not a file', {
    file: path,
    fix: 'Pass the path of a file, or a glob pattern that matches files',
    cause,
  });
}
