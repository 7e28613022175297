/**
 * CSV row tokenizer shared by the reader and the planner.
 *
 * Quoting follows RFC 4180: a field that starts with `"` is quoted, may contain
 * delimiters, CR and LF, and writes a literal quote as `""`. Where RFC 4180 is silent, the
 * tokenizer is lenient like pandas and Python's csv module. Text after a closing quote is
 * kept as part of the field (`"a"b` reads as `ab`), and a quote that does not start a field
 * is literal. A line ends at LF, and a CR just before that LF (outside quotes) is dropped.
 */

import { InvalidOptionError } from '../errors.js';
import { describe } from './input-file.js';
import { SPACE, TAB } from './text-values.js';

/** Double-quote byte. */
export const QUOTE = 0x22;
/** Line feed byte. */
export const LF = 0x0a;
/** Carriage return byte. */
export const CR = 0x0d;

/** Default CSV field delimiter. */
export const DEFAULT_DELIMITER = ',';

/** Field bytes are the value itself. */
const PLAIN = 0;
/** Field bytes start inside a quote and need `""` and closing quotes removed. */
const ESCAPED = 1;

/**
 * Returns the byte of a `delimiter` option, or throws an `InvalidOptionError` unless it
 * is one ASCII character other than a quote, CR or LF.
 */
export function delimiterByte(delimiter: unknown = DEFAULT_DELIMITER): number {
  const single = typeof delimiter === 'string' && delimiter.length === 1;
  const code = single ? delimiter.charCodeAt(0) : -1;
  if (code < 0 || code > 0x7f || code === QUOTE || code === CR || code === LF) {
    throw new InvalidOptionError(
      'expected `delimiter` to be one ASCII character other than a double quote, CR or LF, ' +
        `got ${describe(delimiter)}`,
      { fix: 'Pass a single character such as "," ";" "|" or "\\t"' },
    );
  }
  return code;
}

/**
 * Returns true for a byte that may appear in a blank line: space, tab or CR, unless it is
 * the delimiter. A tab-delimited line of tabs is a row of empty fields, not a blank line.
 */
export function isBlankLineByte(byte: number, delimiter: number): boolean {
  return (byte === SPACE || byte === TAB || byte === CR) && byte !== delimiter;
}

/**
 * Returns the offset after the line at `start` when that line is blank (only spaces, tabs
 * and CR), or -1 when it contains a row.
 */
export function skipBlankLine(bytes: Uint8Array, start: number, delimiter: number): number {
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    if (byte === LF) return i + 1;
    if (!isBlankLineByte(byte, delimiter)) return -1;
  }
  return bytes.length;
}

/**
 * Splits CSV rows into fields without copying them. After {@link CsvRowTokenizer.tokenize}
 * the field spans of the row are in `starts`, `ends` and `count`, and `resolve` points
 * `value`, `valueStart` and `valueEnd` at the unquoted bytes of one field.
 */
export class CsvRowTokenizer {
  /** Start offset of each field of the last row. */
  starts: Uint32Array;
  /** End offset (exclusive) of each field of the last row. */
  ends: Uint32Array;
  /** Whether each field needs unescaping ({@link ESCAPED}) or not ({@link PLAIN}). */
  kinds: Uint8Array;
  /** Number of fields in the last row. */
  count = 0;
  /** True when the last row ended inside a quoted field. */
  unterminated = false;
  /** Buffer containing the field resolved last. */
  value: Buffer = Buffer.alloc(0);
  /** Start of the field resolved last in `value`. */
  valueStart = 0;
  /** End (exclusive) of the field resolved last in `value`. */
  valueEnd = 0;
  private scratch: Buffer = Buffer.alloc(256);

  constructor(
    readonly delimiter: number,
    capacity = 16,
  ) {
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
    this.kinds = new Uint8Array(capacity);
  }

  /**
   * Splits the row that starts at `start` into fields. Returns the offset just after the
   * row's LF, or `bytes.length` when the row runs to the end of `bytes`.
   */
  tokenize(bytes: Buffer, start: number): number {
    const end = bytes.length;
    const delimiter = this.delimiter;
    this.count = 0;
    this.unterminated = false;
    let p = start;
    for (;;) {
      const fieldStart = p;
      if (p < end && bytes[p] === QUOTE) {
        p = this.tokenizeQuoted(bytes, p + 1);
        if (this.unterminated) return end;
      } else {
        while (p < end) {
          const byte = bytes[p];
          if (byte === delimiter || byte === LF) break;
          p++;
        }
        this.push(fieldStart, trimCr(bytes, fieldStart, p), PLAIN);
      }
      if (p >= end) return end;
      if (bytes[p] === LF) return p + 1;
      p++;
    }
  }

  /** Points `value`, `valueStart` and `valueEnd` at the text of field `index`. */
  resolve(bytes: Buffer, index: number): void {
    const start = this.starts[index] ?? 0;
    const end = this.ends[index] ?? 0;
    if (this.kinds[index] === PLAIN) {
      this.value = bytes;
      this.valueStart = start;
      this.valueEnd = end;
    } else {
      this.unescape(bytes, start, end);
    }
  }

  /** Returns the text of field `index` as a string. */
  text(bytes: Buffer, index: number): string {
    this.resolve(bytes, index);
    return this.value.toString('utf8', this.valueStart, this.valueEnd);
  }

  /**
   * Records the quoted field whose content starts at `start` (just after the opening
   * quote). Returns the offset of the delimiter, LF or end that follows the field.
   */
  private tokenizeQuoted(bytes: Buffer, start: number): number {
    const end = bytes.length;
    let kind = PLAIN;
    let close = bytes.indexOf(QUOTE, start);
    while (close !== -1 && bytes[close + 1] === QUOTE) {
      kind = ESCAPED;
      close = bytes.indexOf(QUOTE, close + 2);
    }
    if (close === -1) {
      this.unterminated = true;
      this.push(start, end, ESCAPED);
      return end;
    }

    // Common case: the closing quote ends the field.
    let p = close + 1;
    if (bytes[p] === CR && (p + 1 === end || bytes[p + 1] === LF)) p++;
    if (p >= end || bytes[p] === this.delimiter || bytes[p] === LF) {
      this.push(start, close, kind);
      return p;
    }

    // Text after the closing quote belongs to the same field.
    p = close + 1;
    while (p < end && bytes[p] !== this.delimiter && bytes[p] !== LF) p++;
    this.push(start, trimCr(bytes, start, p), ESCAPED);
    return p;
  }

  private push(start: number, end: number, kind: number): void {
    if (this.count === this.starts.length) this.grow();
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.kinds[this.count] = kind;
    this.count++;
  }

  private grow(): void {
    const capacity = this.starts.length * 2;
    const starts = new Uint32Array(capacity);
    const ends = new Uint32Array(capacity);
    const kinds = new Uint8Array(capacity);
    starts.set(this.starts);
    ends.set(this.ends);
    kinds.set(this.kinds);
    this.starts = starts;
    this.ends = ends;
    this.kinds = kinds;
  }

  /**
   * Copies an escaped field into `scratch`, starting inside the quotes: `""` becomes `"`,
   * a single quote closes the quoted part, and text after it is copied as is.
   */
  private unescape(bytes: Buffer, start: number, end: number): void {
    if (this.scratch.length < end - start) this.scratch = Buffer.alloc(2 * (end - start));
    const scratch = this.scratch;
    let length = 0;
    let quoted = true;
    for (let i = start; i < end; i++) {
      const byte = bytes[i] ?? 0;
      if (quoted && byte === QUOTE) {
        if (bytes[i + 1] === QUOTE && i + 1 < end) {
          scratch[length++] = QUOTE;
          i++;
        } else {
          quoted = false;
        }
      } else {
        scratch[length++] = byte;
      }
    }
    this.value = scratch;
    this.valueStart = 0;
    this.valueEnd = length;
  }
}

/** Drops a CR just before a line end, so CRLF files read like LF files. */
function trimCr(bytes: Uint8Array, start: number, end: number): number {
  const atLineEnd = end === bytes.length || bytes[end] === LF;
  return atLineEnd && end > start && bytes[end - 1] === CR ? end - 1 : end;
}
