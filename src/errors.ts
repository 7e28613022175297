/**
 * Errors raised by batchscore. Every error is a {@link BatchscoreError} with a stable
 * `code`; callers branch on `code` or on the subclass, never on the message.
 * The table of codes is in `docs/errors.md`.
 */

/** Location in the input or output of an error. Each field is set when known. */
export interface ErrorLocation {
  /** Input or output file path. */
  file?: string;
  /** Zero-based partition index. */
  partition?: number;
  /** One-based data row number in `file` (the header row is not counted). */
  row?: number;
  /** Column name. */
  column?: string;
  /** The offending value, as text. */
  value?: string;
}

/** Stable error codes. Each one names a failure that a caller may handle differently. */
export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INPUT_NOT_FOUND'
  | 'ERR_INPUT_UNREADABLE'
  | 'ERR_INPUT_CORRUPT'
  | 'ERR_UNSUPPORTED_FORMAT'
  | 'ERR_UNSUPPORTED_COLUMN_TYPE'
  | 'ERR_SCHEMA_MISMATCH'
  | 'ERR_MISSING_COLUMN'
  | 'ERR_VALUE_CONVERSION'
  | 'ERR_MODEL_LOAD'
  | 'ERR_MODEL_UNSUPPORTED'
  | 'ERR_INFERENCE'
  | 'ERR_TRANSFORM'
  | 'ERR_OUTPUT_NOT_WRITABLE'
  | 'ERR_OUTPUT_EXISTS'
  | 'ERR_OUTPUT_LOCKED'
  | 'ERR_WORKER_CRASHED'
  | 'ERR_PARTITION_TIMEOUT'
  | 'ERR_ABORTED';

/** Options accepted by every error constructor. */
export interface BatchscoreErrorOptions extends ErrorLocation {
  /** Action the user can take, appended to the message. */
  fix?: string;
  /** The lower-level error that caused this one. */
  cause?: unknown;
}

/** Base class of every error that batchscore raises on purpose. */
export class BatchscoreError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;
  /** Action the user can take, if any. */
  readonly fix: string | undefined;
  /** Location of the error. */
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, options: BatchscoreErrorOptions = {}) {
    const { fix, cause, ...location } = options;
    super(formatMessage(message, location, fix), cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.fix = fix;
    this.location = location;
  }
}

/** An option passed to the API or the CLI is invalid. */
export class InvalidOptionError extends BatchscoreError {
  constructor(message: string, options: BatchscoreErrorOptions = {}) {
    super('ERR_INVALID_OPTION', message, options);
  }
}

/** An input file is missing, unreadable, corrupt, or of a format or type not supported. */
export class InputError extends BatchscoreError {}

/** The input has no column for a model input, or a value cannot be converted. */
export class DataError extends BatchscoreError {}

/** The model cannot be loaded, is not supported, or failed while running. */
export class ModelError extends BatchscoreError {}

/** The output cannot be written, or exists and the write mode forbids replacing it. */
export class OutputError extends BatchscoreError {}

/** A worker thread exited or crashed while it held a partition. */
export class WorkerCrashedError extends BatchscoreError {
  constructor(message: string, options: BatchscoreErrorOptions = {}) {
    super('ERR_WORKER_CRASHED', message, options);
  }
}

/** The run was stopped through its `AbortSignal`. */
export class AbortError extends BatchscoreError {
  constructor(message = 'The run was aborted', options: BatchscoreErrorOptions = {}) {
    super('ERR_ABORTED', message, options);
  }
}

function formatMessage(message: string, location: ErrorLocation, fix?: string): string {
  const where: string[] = [];
  if (location.file !== undefined) where.push(`file ${location.file}`);
  if (location.partition !== undefined) where.push(`partition ${location.partition}`);
  if (location.row !== undefined) where.push(`row ${location.row}`);
  if (location.column !== undefined) where.push(`column "${location.column}"`);
  if (location.value !== undefined) where.push(`value ${JSON.stringify(location.value)}`);
  let text = message;
  if (where.length > 0) text += ` (${where.join(', ')})`;
  if (fix !== undefined) text += `. ${fix}`;
  return text;
}

const SUBCLASSES = {
  BatchscoreError,
  InvalidOptionError,
  InputError,
  DataError,
  ModelError,
  OutputError,
  WorkerCrashedError,
  AbortError,
} as const;

/** Plain-object form of an error, safe to post between threads. */
export interface SerializedError {
  name: string;
  code?: ErrorCode;
  message: string;
  fix?: string;
  location?: ErrorLocation;
  stack?: string;
}

/**
 * Converts an error to a plain object. Worker threads post errors this way because the
 * structured clone of an `Error` keeps neither its subclass nor its extra fields.
 */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof BatchscoreError) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      fix: error.fix,
      location: error.location,
      stack: error.stack,
    };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/** Rebuilds an error from {@link serializeError}'s output, with its subclass and code. */
export function deserializeError(data: SerializedError): Error {
  if (data.code === undefined) {
    const error = new Error(data.message);
    error.name = data.name;
    if (data.stack !== undefined) error.stack = data.stack;
    return error;
  }
  const Subclass = SUBCLASSES[data.name as keyof typeof SUBCLASSES] ?? BatchscoreError;
  const error: BatchscoreError = Object.create(Subclass.prototype);
  Object.assign(error, {
    name: data.name,
    code: data.code,
    message: data.message,
    fix: data.fix,
    location: data.location ?? {},
    stack: data.stack,
  });
  return error;
}
