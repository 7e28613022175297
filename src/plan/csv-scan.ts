/**
 * Finds CSV row boundaries in a stream of chunks without splitting rows into fields.
 * It follows the quoting rules of `CsvRowTokenizer`: a quote opens a quoted field only
 * at the start of a field (after a delimiter or a line start), and `""` inside quotes is
 * a literal quote. A row ends at an LF outside quotes. A line of only spaces, tabs and
 * CR is blank and not a row.
 */

import { LF, QUOTE, isBlankLineByte } from '../read/csv-fields.js';

/** Receives each row as a byte range `[start, end)` of the file, `end` just after its LF. */
export type RowVisitor = (start: number, end: number) => void;

/** Incremental CSV row splitter whose state carries over from one chunk to the next. */
export class CsvRowScanner {
  /** Rows ended so far, the header included. */
  rowsEnded = 0;
  /** Value of `rowsEnded` when the quote that is still open was opened. */
  quoteRow = 0;
  private inQuotes = false;
  /** True when the last chunk ended on a quote inside a quoted field. */
  private quotePending = false;
  private lineHasContent = false;
  private lineStart: number;
  /** Byte before the current chunk. It starts as LF, so a quote at the data start opens a field. */
  private previousByte = LF;
  /** Next LF offset in the current chunk, cached across calls, or -1 when unknown. */
  private nextLf = -1;

  constructor(
    private readonly delimiter: number,
    start: number,
    private readonly onRow: RowVisitor,
  ) {
    this.lineStart = start;
  }

  /** Scans `chunk`, whose first byte is at file offset `offset`, from index `from`. */
  scan(chunk: Buffer, offset: number, from = 0): void {
    const length = chunk.length;
    this.nextLf = -1;
    let nextQuote = -1;
    let pos = from;
    while (pos < length) {
      if (this.inQuotes) {
        pos = this.skipQuoted(chunk, pos);
        continue;
      }
      if (nextQuote < pos) {
        nextQuote = chunk.indexOf(QUOTE, pos);
        if (nextQuote === -1) nextQuote = length;
      }
      pos = this.scanLines(chunk, offset, pos, nextQuote);
      if (nextQuote < length) {
        this.visitQuote(chunk, nextQuote, from);
        pos = nextQuote + 1;
      }
    }
    if (length > from) this.previousByte = chunk[length - 1] ?? LF;
  }

  /**
   * Ends the scan at file offset `end`, reporting a last row that has no line ending.
   * Returns false when a quoted field is still open.
   */
  finish(end: number): boolean {
    // A quote as the very last byte closes its field.
    if (this.quotePending) this.inQuotes = this.quotePending = false;
    if (this.inQuotes) return false;
    if (this.lineHasContent) this.endRow(end);
    return true;
  }

  /** Ends the rows whose LF lies in `[pos, stop)`, a stretch without quotes, and returns `stop`. */
  private scanLines(chunk: Buffer, offset: number, pos: number, stop: number): number {
    let p = pos;
    while (p < stop) {
      if (this.nextLf < p) {
        this.nextLf = chunk.indexOf(LF, p);
        if (this.nextLf === -1) this.nextLf = chunk.length;
      }
      const lineEnd = Math.min(this.nextLf, stop);
      if (!this.lineHasContent) this.lineHasContent = this.hasContent(chunk, p, lineEnd);
      if (this.nextLf >= stop) return stop;

      const next = offset + this.nextLf + 1;
      if (this.lineHasContent) this.endRow(next);
      this.lineStart = next;
      this.lineHasContent = false;
      p = this.nextLf + 1;
    }
    return stop;
  }

  /** Opens a quoted field when the quote at `index` starts a field. */
  private visitQuote(chunk: Buffer, index: number, from: number): void {
    this.lineHasContent = true;
    const before = index > from ? chunk[index - 1] : this.previousByte;
    if (before === this.delimiter || before === LF) {
      this.inQuotes = true;
      this.quoteRow = this.rowsEnded;
    }
  }

  /**
   * Skips quoted text from `pos`. Returns the offset after the closing quote, or the chunk
   * length when the quoted field goes on into the next chunk.
   */
  private skipQuoted(chunk: Buffer, pos: number): number {
    if (this.quotePending) {
      this.quotePending = false;
      if (chunk[pos] === QUOTE) return pos + 1;
      this.inQuotes = false;
      return pos;
    }
    let p = pos;
    for (;;) {
      const quote = chunk.indexOf(QUOTE, p);
      if (quote === -1) return chunk.length;
      if (quote + 1 === chunk.length) {
        // The next chunk decides between `""` and a closing quote.
        this.quotePending = true;
        return chunk.length;
      }
      if (chunk[quote + 1] !== QUOTE) {
        this.inQuotes = false;
        return quote + 1;
      }
      p = quote + 2;
    }
  }

  private hasContent(chunk: Buffer, start: number, end: number): boolean {
    for (let i = start; i < end; i++) {
      if (!isBlankLineByte(chunk[i] ?? 0, this.delimiter)) return true;
    }
    return false;
  }

  private endRow(end: number): void {
    this.onRow(this.lineStart, end);
    this.rowsEnded++;
  }
}
