/**
 * Parsers for CSV cell text, working on bytes so the hot path creates no substrings.
 * Each parser ignores spaces and tabs around the value.
 *
 * Accepted syntax:
 * - int64: an optional `+` or `-` and decimal digits (`42`, `-7`, `007`).
 * - float64: an optional sign, digits with an optional decimal point and an optional
 *   exponent (`1`, `-2.5`, `.5`, `5.`, `1e3`, `1.5E-7`), or `NaN`, `Inf` or `Infinity` in
 *   any case with an optional sign. Hexadecimal, digit separators (`1_000`, `1,000`)
 *   and a lone `.` are rejected.
 * - bool: `true` or `false` in any case.
 */

/** Space byte. */
export const SPACE = 0x20;
/** Horizontal tab byte. */
export const TAB = 0x09;

const DIGIT_0 = 0x30;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const LOWER_E = 0x65;
/** ORing an ASCII letter with this bit gives its lower-case form. */
const LOWER_CASE_BIT = 0x20;

/** Exact powers of ten: every 10^k with k ≤ 22 is representable in a double. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Digits that always fit a double's 53-bit mantissa exactly (10^15 < 2^53). */
const MAX_EXACT_DIGITS = 15;
/** Largest exponent that `parseFloat64` accumulates, because larger ones overflow anyway. */
const MAX_EXPONENT = 100_000;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Result of {@link ValueParser.parseInt64}: not an integer. */
export const INT_INVALID = 0;
/** Result of {@link ValueParser.parseInt64}: at most 15 digits, stored in `ValueParser.int`. */
export const INT_SMALL = 1;
/** Result of {@link ValueParser.parseInt64}: more digits, stored in `ValueParser.bigInt`. */
export const INT_BIG = 2;
/** Result of {@link ValueParser.parseInt64}: an integer outside the int64 range. */
export const INT_OUT_OF_RANGE = 3;
/** Outcome of {@link ValueParser.parseInt64}. */
export type IntParse =
  | typeof INT_INVALID
  | typeof INT_SMALL
  | typeof INT_BIG
  | typeof INT_OUT_OF_RANGE;

/** Returns true when bytes `[start, end)` are empty or only spaces and tabs. */
export function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte !== SPACE && byte !== TAB) return false;
  }
  return true;
}

/**
 * Byte-level value parser. It keeps the last parsed value in a field instead of returning
 * an object, so parsing a cell allocates nothing. One instance serves one reader.
 */
export class ValueParser {
  /** Value of the last {@link INT_SMALL} integer. */
  int = 0;
  /** Value of the last {@link INT_BIG} integer. */
  bigInt = 0n;
  /** Value of the last successful {@link ValueParser.parseFloat64}. */
  float = 0;
  /** Value of the last successful {@link ValueParser.parseBool}. */
  bool = false;

  /** Parses bytes `[start, end)` of `bytes` as an integer. */
  parseInt64(bytes: Buffer, start: number, end: number): IntParse {
    let s = skipSpaceForward(bytes, start, end);
    const e = skipSpaceBackward(bytes, s, end);
    const negative = s < e && bytes[s] === MINUS;
    if (negative || (s < e && bytes[s] === PLUS)) s++;
    if (s === e) return INT_INVALID;

    let value = 0;
    for (let i = s; i < e; i++) {
      const digit = (bytes[i] ?? 0) - DIGIT_0;
      if (digit < 0 || digit > 9) return INT_INVALID;
      value = value * 10 + digit;
    }
    if (e - s <= MAX_EXACT_DIGITS) {
      this.int = negative ? -value : value;
      return INT_SMALL;
    }

    const big = BigInt(bytes.toString('latin1', s, e));
    this.bigInt = negative ? -big : big;
    if (this.bigInt < INT64_MIN || this.bigInt > INT64_MAX) return INT_OUT_OF_RANGE;
    return INT_BIG;
  }

  /**
   * Parses bytes `[start, end)` of `bytes` as a double, rounded to nearest like `Number()`.
   * Returns false when the text is not a number.
   */
  parseFloat64(bytes: Buffer, start: number, end: number): boolean {
    let s = skipSpaceForward(bytes, start, end);
    const e = skipSpaceBackward(bytes, s, end);
    const negative = s < e && bytes[s] === MINUS;
    if (negative || (s < e && bytes[s] === PLUS)) s++;

    // Mantissa digits, with the decimal point folded into `scale`.
    let mantissa = 0;
    let significant = 0;
    let scale = 0;
    let digits = 0;
    let i = s;
    let seenDot = false;
    for (; i < e; i++) {
      const byte = bytes[i] ?? 0;
      if (byte === DOT && !seenDot) {
        seenDot = true;
        continue;
      }
      const digit = byte - DIGIT_0;
      if (digit < 0 || digit > 9) break;
      digits++;
      if (mantissa !== 0 || digit !== 0) significant++;
      mantissa = mantissa * 10 + digit;
      if (seenDot) scale--;
    }
    if (digits === 0) return this.parseSpecial(bytes, s, e, negative);

    // Optional exponent.
    if (i < e && ((bytes[i] ?? 0) | LOWER_CASE_BIT) === LOWER_E) {
      const exponentEnd = this.scanExponent(bytes, i + 1, e);
      if (exponentEnd !== e) return false;
      scale += this.int;
      i = e;
    }
    if (i !== e) return false;

    // Clinger's fast path: an exact mantissa times an exact power of ten rounds once.
    let value: number;
    if (significant > MAX_EXACT_DIGITS || scale > 22 || scale < -22) {
      value = Number(bytes.toString('latin1', s, e));
    } else if (scale >= 0) {
      value = mantissa * (POWERS_OF_TEN[scale] ?? 1);
    } else {
      value = mantissa / (POWERS_OF_TEN[-scale] ?? 1);
    }
    this.float = negative ? -value : value;
    return true;
  }

  /** Parses bytes `[start, end)` of `bytes` as `true` or `false`, in any case. */
  parseBool(bytes: Buffer, start: number, end: number): boolean {
    const s = skipSpaceForward(bytes, start, end);
    const e = skipSpaceBackward(bytes, s, end);
    if (e - s === 4 && matchesLower(bytes, s, 'true')) {
      this.bool = true;
      return true;
    }
    if (e - s === 5 && matchesLower(bytes, s, 'false')) {
      this.bool = false;
      return true;
    }
    return false;
  }

  /** Reads a signed exponent into `this.int` and returns where its digits stop, or -1. */
  private scanExponent(bytes: Buffer, start: number, end: number): number {
    let i = start;
    const negative = i < end && bytes[i] === MINUS;
    if (negative || (i < end && bytes[i] === PLUS)) i++;
    const firstDigit = i;
    let exponent = 0;
    for (; i < end; i++) {
      const digit = (bytes[i] ?? 0) - DIGIT_0;
      if (digit < 0 || digit > 9) break;
      if (exponent < MAX_EXPONENT) exponent = exponent * 10 + digit;
    }
    if (i === firstDigit) return -1;
    this.int = negative ? -exponent : exponent;
    return i;
  }

  /** Accepts `nan`, `inf` and `infinity` in any case. */
  private parseSpecial(bytes: Buffer, start: number, end: number, negative: boolean): boolean {
    const length = end - start;
    if (length === 3 && matchesLower(bytes, start, 'nan')) {
      this.float = NaN;
      return true;
    }
    const infinite =
      (length === 3 && matchesLower(bytes, start, 'inf')) ||
      (length === 8 && matchesLower(bytes, start, 'infinity'));
    if (!infinite) return false;
    this.float = negative ? -Infinity : Infinity;
    return true;
  }
}

function skipSpaceForward(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  return i;
}

function skipSpaceBackward(bytes: Uint8Array, start: number, end: number): number {
  let i = end;
  while (i > start && (bytes[i - 1] === SPACE || bytes[i - 1] === TAB)) i--;
  return i;
}

/** Compares ASCII letters case-insensitively against a lower-case word. */
function matchesLower(bytes: Uint8Array, start: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if (((bytes[start + k] ?? 0) | LOWER_CASE_BIT) !== word.charCodeAt(k)) return false;
  }
  return true;
}
