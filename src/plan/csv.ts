/**
 * Plans a CSV file: finds its header, infers its column types and splits its rows into
 * byte ranges that workers read on their own with `readCsvRange`.
 */

import { InputError } from '../errors.js';
import { CsvRowTokenizer, delimiterByte, skipBlankLine } from '../read/csv-fields.js';
import { openInput, type InputFile } from '../read/input-file.js';
import {
  INT_INVALID,
  INT_OUT_OF_RANGE,
  ValueParser,
  isBlank,
} from '../read/text-values.js';
import type { ColumnType, TextSchema } from '../read/types.js';
import { CsvRowScanner } from './csv-scan.js';
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

/** Options of {@link planCsv}. */
export interface CsvPlanOptions extends TextPlanOptions {
  /**
   * Field delimiter: one ASCII character other than `"`, CR or LF.
   * @defaultValue `','`
   */
  delimiter?: string;
}

/** Layout of a CSV file: its header, column types and row ranges. */
export interface CsvPlan {
  /** Column names from the header row, in file order. */
  header: string[];
  /** Column names and types. Types are inferred unless set by `columnTypes`. */
  schema: TextSchema;
  /** Ranges covering every data row once, in file order. Empty when there are no rows. */
  ranges: PartitionRange[];
  /** File size in bytes. */
  bytes: number;
  /** Data rows in the file, the header and blank lines not counted. */
  rows: number;
  /** Whether the file starts with a UTF-8 byte order mark, which is not part of the header. */
  hasBom: boolean;
}

/** Byte ranges of the header and of the rows used for inference. */
interface Landmarks {
  headerStart: number;
  headerEnd: number;
  /** End of the last sampled row, or -1 while the sample is not complete. */
  sampleEnd: number;
}

/**
 * Plans the CSV file at `path` in one streaming pass that keeps one chunk in memory.
 *
 * Column types are inferred from the first `sampleRows` rows. Cells that are empty or only
 * spaces and tabs are ignored, and the first rule that every other value fits wins:
 * - `int64`: integers from -2^63 to 2^63 - 1, read exactly (beyond ±2^53 as BigInt).
 * - `utf8`: integers of which at least one is outside the int64 range. Text keeps every
 *   digit of such ids, where float64 would round them, and a float model input still
 *   parses the text as a number.
 * - `float64`: numbers of which at least one is not an integer, `NaN` and `Inf` included.
 * - `bool`: `true` or `false` in any case.
 * - `utf8`: anything else, and a column with no value in the sample.
 *
 * NOTE: only blank cells are missing. Markers such as `NA`, `null` or `-` are text, unlike
 * in pandas, so a numeric column that contains them is inferred `utf8`. When `columnTypes`
 * forces a numeric type, their rows are rejected when read.
 *
 * Rejects with an `InputError`: `ERR_INPUT_NOT_FOUND` when the file does not exist,
 * `ERR_INPUT_UNREADABLE` when it cannot be read, and `ERR_INPUT_CORRUPT` when it is
 * empty, its header has an empty or repeated name, or a quote is never closed.
 *
 * @example
 * ```ts
 * // The Telco customer churn sample: 7,043 rows, 970,457 bytes.
 * const plan = await planCsv('telco-churn.csv', { targetBytes: 64 * 1024 });
 * plan.ranges.length; // 15
 * plan.ranges[0]; // { start: 260, end: 65818, firstRow: 1, rows: 482 }
 * ```
 */
export async function planCsv(path: string, options: CsvPlanOptions): Promise<CsvPlan> {
  validatePlanOptions(options);
  const delimiter = delimiterByte(options.delimiter);
  const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  const input = await openInput(path);
  try {
    if (input.size === 0) throw corrupt(path, 'Input file is empty');
    const collector = new RangeCollector(options.targetBytes);
    const scanned = await scanRows(input, path, delimiter, sampleRows, collector);
    const { header, hasBom, landmarks } = scanned;
    const sample = await readBytes(input, path, landmarks.headerEnd, landmarks.sampleEnd);
    const inferred = { names: header, types: inferTypes(sample, header.length, delimiter) };
    const fix = `The header names: ${header.join(', ')}`;
    const schema = applyColumnTypes(inferred, options.columnTypes, fix);
    const ranges = collector.finish();
    return { header, schema, ranges, bytes: input.size, rows: collector.rows, hasBom };
  } finally {
    await input.handle.close();
  }
}

/** Scans every row, feeds the data rows to `collector` and returns the parsed header. */
async function scanRows(
  input: InputFile,
  path: string,
  delimiter: number,
  sampleRows: number,
  collector: RangeCollector,
): Promise<{ header: string[]; hasBom: boolean; landmarks: Landmarks }> {
  const landmarks: Landmarks = { headerStart: -1, headerEnd: -1, sampleEnd: -1 };
  let hasBom = false;
  let header: string[] | undefined;
  let scanner: CsvRowScanner | undefined;

  await scanChunks(input, path, 0, async (chunk, offset) => {
    // Step 1: the first chunk decides whether a byte order mark precedes the header.
    if (scanner === undefined) {
      hasBom = startsWithBom(chunk);
      const dataStart = hasBom ? BOM_BYTES : 0;
      scanner = new CsvRowScanner(delimiter, dataStart, visitRow);
      scanner.scan(chunk, offset, dataStart);
    } else {
      scanner.scan(chunk, offset);
    }
    // Step 2: check the header as soon as it is complete, before scanning the rest.
    if (header === undefined && landmarks.headerEnd !== -1) {
      header = await readHeader(input, path, delimiter, landmarks);
    }
  });

  function visitRow(start: number, end: number): void {
    if (landmarks.headerEnd === -1) {
      landmarks.headerStart = start;
      landmarks.headerEnd = end;
      return;
    }
    collector.addRow(start, end);
    if (collector.rows === sampleRows) landmarks.sampleEnd = end;
  }

  // Step 3: the end of the file closes a last row without LF, or exposes an open quote.
  if (scanner !== undefined && !scanner.finish(input.size)) throw unclosedQuote(path, scanner);
  if (landmarks.headerEnd === -1) {
    throw corrupt(path, 'Input file has no header row, only blank lines');
  }
  header ??= await readHeader(input, path, delimiter, landmarks);
  if (landmarks.sampleEnd === -1) landmarks.sampleEnd = input.size;
  return { header, hasBom, landmarks };
}

/** Reads and checks the header row: every name must be non-blank and unique. */
async function readHeader(
  input: InputFile,
  path: string,
  delimiter: number,
  landmarks: Landmarks,
): Promise<string[]> {
  const bytes = await readBytes(input, path, landmarks.headerStart, landmarks.headerEnd);
  const tokenizer = new CsvRowTokenizer(delimiter);
  tokenizer.tokenize(bytes, 0);
  const names: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < tokenizer.count; i++) {
    const name = tokenizer.text(bytes, i);
    if (name.trim() === '') {
      throw corrupt(path, `Header column ${i + 1} has an empty name`, {
        fix: 'Give every column a name in the header row',
      });
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw corrupt(path, `Header names column "${name}" twice (columns ${earlier} and ${i + 1})`, {
        column: name,
        fix: 'Rename one of the two columns so that every header name is unique',
      });
    }
    seen.set(name, i + 1);
    names.push(name);
  }
  return names;
}

/** Infers a type per column from the sample rows in `bytes` (rows after the header). */
function inferTypes(bytes: Buffer, columnCount: number, delimiter: number): ColumnType[] {
  const tokenizer = new CsvRowTokenizer(delimiter, columnCount + 1);
  const candidates = Array.from({ length: columnCount }, () => new TypeCandidates());
  let pos = 0;
  while (pos < bytes.length) {
    const blankEnd = skipBlankLine(bytes, pos, delimiter);
    if (blankEnd !== -1) {
      pos = blankEnd;
      continue;
    }
    pos = tokenizer.tokenize(bytes, pos);
    // The reader rejects ragged and broken rows, so inference skips them.
    if (tokenizer.unterminated || tokenizer.count !== columnCount) continue;
    for (let c = 0; c < columnCount; c++) {
      tokenizer.resolve(bytes, c);
      candidates[c]?.observe(tokenizer.value, tokenizer.valueStart, tokenizer.valueEnd);
    }
  }
  return candidates.map((candidate) => candidate.type());
}

/** Types that every value of a column seen so far fits. */
class TypeCandidates {
  private static readonly parser = new ValueParser();
  /** Every value is an integer within the int64 range. */
  private int64 = true;
  /** Every value is an integer, some possibly outside the int64 range. */
  private integer = true;
  private float = true;
  private bool = true;
  private seenValue = false;

  observe(bytes: Buffer, start: number, end: number): void {
    if (isBlank(bytes, start, end)) return;
    this.seenValue = true;
    const parser = TypeCandidates.parser;
    if (this.integer) {
      const status = parser.parseInt64(bytes, start, end);
      if (status === INT_OUT_OF_RANGE) this.int64 = false;
      if (status === INT_INVALID) {
        this.int64 = false;
        this.integer = false;
      }
    }
    if (this.float) this.float = parser.parseFloat64(bytes, start, end);
    if (this.bool) this.bool = parser.parseBool(bytes, start, end);
  }

  type(): ColumnType {
    if (!this.seenValue) return 'utf8';
    if (this.int64) return 'int64';
    if (this.integer) return 'utf8';
    if (this.float) return 'float64';
    if (this.bool) return 'bool';
    return 'utf8';
  }
}

function unclosedQuote(path: string, scanner: CsvRowScanner): InputError {
  const fix = 'Close the quoted field, or write a quote inside a quoted field as ""';
  if (scanner.quoteRow === 0) {
    return corrupt(path, 'A quote opened in the header is never closed', { fix });
  }
  const row = scanner.quoteRow;
  return corrupt(path, `A quote opened in row ${row} is never closed`, { row, fix });
}

function corrupt(
  path: string,
  message: string,
  location: { row?: number; column?: string; fix?: string } = {},
): InputError {
  return new InputError('ERR_INPUT_CORRUPT', message, { file: path, ...location });
}
