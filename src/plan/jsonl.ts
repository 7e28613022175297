/**
 * Plans a JSON Lines file: infers its column types and splits its lines into byte ranges
 * that workers read on their own with `readJsonlRange`. A JSON text cannot hold a raw
 * line feed (RFC 8259 requires control characters in strings to be escaped), so every LF
 * ends a row.
 */

import { InputError } from '../errors.js';
import { LF, isBlankLineByte } from '../read/csv-fields.js';
import { openInput, type InputFile } from '../read/input-file.js';
import { jsonNumberTexts, readJsonInteger } from '../read/jsonl.js';
import type { ColumnType, TextSchema } from '../read/types.js';
import {
  BOM_BYTES,
  DEFAULT_SAMPLE_ROWS,
  RangeCollector,
  applyColumnTypes,
  readBytes,
  scanChunks,
  startsWithBom,
  validatePlanOptions,
  type PartitionRange,
  type TextPlanOptions,
} from './ranges.js';

/** Options of {@link planJsonl}. */
export type JsonlPlanOptions = TextPlanOptions;

/** Layout of a JSON Lines file: its column types and row ranges. */
export interface JsonlPlan {
  /** Keys in first-seen order within the sample, and their types. */
  schema: TextSchema;
  /** Ranges covering every non-blank line once, in file order. */
  ranges: PartitionRange[];
  /** File size in bytes. */
  bytes: number;
  /** Non-blank lines in the file. */
  rows: number;
  /** Whether the file starts with a UTF-8 byte order mark. */
  hasBom: boolean;
}

/** No byte is a delimiter in JSON Lines, so only space, tab and CR make a line blank. */
const NO_DELIMITER = -1;

const KIND_INTEGER = 1;
const KIND_OTHER_NUMBER = 2;
const KIND_BOOL = 4;
const KIND_STRING = 8;
const KIND_NESTED = 16;
/** An integer outside the int64 range. */
const KIND_BIG_INTEGER = 32;
/** A number that `JSON.parse` may have rounded, so its kind depends on its source text. */
const KIND_ROUNDED_NUMBER = -1;

/** Magnitude from which `JSON.parse` may have rounded an integer: 2^53. */
const DOUBLE_EXACT_LIMIT = 2 ** 53;

/**
 * Plans the JSON Lines file at `path` in one streaming pass that keeps one chunk in
 * memory. Blank lines are not rows, and a CR before each LF is allowed.
 *
 * Column types are inferred from the objects on the first `sampleRows` lines, one column
 * per key in first-seen order. Nulls are ignored, and the type follows the other values:
 * - `int64`: integers from -2^63 to 2^63 - 1. JSON has one number type, so `1.0` counts
 *   as one. Numbers beyond ±2^53 are judged by their source text, because `JSON.parse`
 *   rounds them.
 * - `utf8`: integers of which at least one is outside the int64 range, so that the column
 *   keeps every digit of such ids.
 * - `float64`: numbers of which at least one is not an integer.
 * - `bool`: booleans.
 * - `utf8`: strings, nested objects and arrays, any other mix of kinds, or only nulls.
 * Lines that are not JSON objects are left out of the inference.
 *
 * Rejects with an `InputError`: `ERR_INPUT_NOT_FOUND` when the file does not exist,
 * `ERR_INPUT_UNREADABLE` when it cannot be read, and `ERR_INPUT_CORRUPT` when it has no
 * non-blank line or the sampled lines contain no object with a key.
 */
export async function planJsonl(path: string, options: JsonlPlanOptions): Promise<JsonlPlan> {
  validatePlanOptions(options);
  const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  const input = await openInput(path);
  try {
    if (input.size === 0) throw corrupt(path, 'Input file is empty');
    const collector = new RangeCollector(options.targetBytes);
    const { hasBom, sampleEnd } = await scanLines(input, path, sampleRows, collector);
    const ranges = collector.finish();
    const first = ranges[0];
    if (first === undefined) throw corrupt(path, 'Input file has only blank lines');

    const sample = await readBytes(input, path, first.start, sampleEnd);
    const inferred = inferSchema(sample);
    if (inferred.names.length === 0) {
      throw corrupt(path, `The first ${sampleRows} lines contain no JSON object with a key`, {
        fix: 'Check that the file is JSON Lines with one object per line, or raise sampleRows',
      });
    }
    const fix = `Keys seen in the first ${sampleRows} lines: ${inferred.names.join(', ')}`;
    const schema = applyColumnTypes(inferred, options.columnTypes, fix);
    return { schema, ranges, bytes: input.size, rows: collector.rows, hasBom };
  } finally {
    await input.handle.close();
  }
}

/** Feeds every non-blank line to `collector` and returns where the sampled lines end. */
async function scanLines(
  input: InputFile,
  path: string,
  sampleRows: number,
  collector: RangeCollector,
): Promise<{ hasBom: boolean; sampleEnd: number }> {
  let hasBom: boolean | undefined;
  let sampleEnd = -1;
  let lineStart = 0;
  let lineHasContent = false;
  const endLine = (end: number): void => {
    if (lineHasContent) {
      collector.addRow(lineStart, end);
      if (collector.rows === sampleRows) sampleEnd = end;
    }
    lineStart = end;
    lineHasContent = false;
  };

  await scanChunks(input, path, 0, (chunk, offset) => {
    let pos = 0;
    if (hasBom === undefined) {
      hasBom = startsWithBom(chunk);
      pos = hasBom ? BOM_BYTES : 0;
      lineStart = pos;
    }
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const lineEnd = lf === -1 ? chunk.length : lf;
      lineHasContent ||= hasContent(chunk, pos, lineEnd);
      if (lf === -1) return;
      endLine(offset + lf + 1);
      pos = lf + 1;
    }
  });
  endLine(input.size);
  return { hasBom: hasBom ?? false, sampleEnd: sampleEnd === -1 ? input.size : sampleEnd };
}

function hasContent(chunk: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (!isBlankLineByte(chunk[i] ?? 0, NO_DELIMITER)) return true;
  }
  return false;
}

/** Infers one column per key from the objects in `bytes`, one per line. */
function inferSchema(bytes: Buffer): TextSchema {
  const kinds = new Map<string, number>();
  for (const line of bytes.toString('utf8').split('\n')) {
    const object = parseObject(line);
    if (object === undefined) continue;
    let numberTexts: Map<string, string> | undefined;
    for (const [key, value] of Object.entries(object)) {
      let kind = kindOf(value);
      if (kind === KIND_ROUNDED_NUMBER) {
        numberTexts ??= jsonNumberTexts(line);
        kind = kindOfNumberText(numberTexts.get(key));
      }
      kinds.set(key, (kinds.get(key) ?? 0) | kind);
    }
  }
  const names = [...kinds.keys()];
  return { names, types: names.map((name) => typeOfKinds(kinds.get(name) ?? 0)) };
}

/** Returns the object on `line`, or undefined for a blank line, invalid JSON or a non-object. */
function parseObject(line: string): Record<string, unknown> | undefined {
  if (line.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

function kindOf(value: unknown): number {
  switch (typeof value) {
    case 'number':
      if (Number.isSafeInteger(value)) return KIND_INTEGER;
      return Math.abs(value) < DOUBLE_EXACT_LIMIT ? KIND_OTHER_NUMBER : KIND_ROUNDED_NUMBER;
    case 'boolean':
      return KIND_BOOL;
    case 'string':
      return KIND_STRING;
    default:
      return value === null ? 0 : KIND_NESTED;
  }
}

function kindOfNumberText(text: string | undefined): number {
  if (text === undefined) return KIND_OTHER_NUMBER;
  switch (readJsonInteger(text).kind) {
    case 'int64':
      return KIND_INTEGER;
    case 'out-of-range':
      return KIND_BIG_INTEGER;
    default:
      return KIND_OTHER_NUMBER;
  }
}

function typeOfKinds(kinds: number): ColumnType {
  const numbers = KIND_INTEGER | KIND_BIG_INTEGER | KIND_OTHER_NUMBER;
  if (kinds === KIND_INTEGER) return 'int64';
  if ((kinds & KIND_OTHER_NUMBER) !== 0 && (kinds & ~numbers) === 0) return 'float64';
  if (kinds === KIND_BOOL) return 'bool';
  return 'utf8';
}

function corrupt(path: string, message: string, options: { fix?: string } = {}): InputError {
  return new InputError('ERR_INPUT_CORRUPT', message, { file: path, ...options });
}
