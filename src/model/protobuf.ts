/**
 * A minimal reader and writer for the protocol buffers wire format, enough to read an
 * ONNX `ModelProto` and to rewrite a few of its fields. Fields are read lazily and keep
 * their raw bytes, so a message re-encoded from its fields is byte-identical and fields
 * this module does not understand survive a rewrite.
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */

/** Wire types of the protobuf encoding. Groups (3 and 4) are deprecated and rejected. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  Fixed32: 5,
} as const;

/** One of the values of {@link WireType}. */
export type WireType = (typeof WireType)[keyof typeof WireType];

/** One field of a message, as views of the message bytes. */
export interface ProtoField {
  /** Field number from the `.proto` definition. */
  readonly number: number;
  /** Encoding of the value. */
  readonly wireType: WireType;
  /** The whole field, tag included. */
  readonly raw: Uint8Array;
  /**
   * The value: the varint bytes, the 4 or 8 fixed bytes, or the payload of a
   * length-delimited field (without its length prefix).
   */
  readonly value: Uint8Array;
}

/** The bytes are not a valid protobuf encoding. `offset` is where decoding failed. */
export class ProtobufError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtobufError';
    this.offset = offset;
  }
}

const MAX_VARINT_BYTES = 10;

/**
 * Decodes the varint that starts at `offset`.
 * @returns the value as an unsigned 64-bit bigint and the offset after it.
 * @throws {@link ProtobufError} when the varint is truncated or longer than 10 bytes.
 */
export function decodeVarint(bytes: Uint8Array, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new ProtobufError('Truncated varint', offset);
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [BigInt.asUintN(64, result), offset + i + 1];
    shift += 7n;
  }
  throw new ProtobufError('Varint longer than 10 bytes', offset);
}

/** Decodes a varint that must fit in a JavaScript number (lengths, tags, small enums). */
function decodeSmallVarint(bytes: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new ProtobufError('Truncated varint', offset);
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [result, offset + i + 1];
    scale *= 128;
  }
  throw new ProtobufError('Length or tag varint too large', offset);
}

/** Returns the offset after the varint at `offset`, without decoding it. */
function skipVarint(bytes: Uint8Array, offset: number): number {
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new ProtobufError('Truncated varint', offset);
    if ((byte & 0x80) === 0) return offset + i + 1;
  }
  throw new ProtobufError('Varint longer than 10 bytes', offset);
}

/** Byte length of a value of a fixed-width wire type. */
const FIXED_WIDTH: Partial<Record<number, number>> = {
  [WireType.Fixed64]: 8,
  [WireType.Fixed32]: 4,
};

/** Reads the field that starts at `offset`; `end` is the end of the enclosing message. */
function readField(bytes: Uint8Array, offset: number, end: number): ProtoField {
  const [tag, valueStart] = decodeSmallVarint(bytes, offset);
  const number = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (number === 0) throw new ProtobufError('Field number 0', offset);

  let start = valueStart;
  let valueEnd: number;
  if (wireType === WireType.Varint) {
    valueEnd = skipVarint(bytes, valueStart);
  } else if (wireType === WireType.LengthDelimited) {
    const [length, payloadStart] = decodeSmallVarint(bytes, valueStart);
    start = payloadStart;
    valueEnd = payloadStart + length;
  } else {
    const width = FIXED_WIDTH[wireType];
    if (width === undefined) {
      throw new ProtobufError(`Unsupported wire type ${wireType} in field ${number}`, offset);
    }
    valueEnd = valueStart + width;
  }
  if (valueEnd > end) throw new ProtobufError(`Field ${number} runs past the end`, offset);

  return {
    number,
    wireType: wireType as WireType,
    raw: bytes.subarray(offset, valueEnd),
    value: bytes.subarray(start, valueEnd),
  };
}

/**
 * Iterates over the fields of one message, in the order they are encoded. Stop early with
 * `break`: fields after the current one are not decoded.
 * @throws {@link ProtobufError} when the bytes are not a valid encoding.
 */
export function* readFields(message: Uint8Array): Generator<ProtoField, void, undefined> {
  let offset = 0;
  while (offset < message.length) {
    const field = readField(message, offset, message.length);
    offset += field.raw.length;
    yield field;
  }
}

/** Returns the value of a varint field as an unsigned 64-bit bigint. */
export function fieldUint64(field: ProtoField): bigint {
  expectWireType(field, WireType.Varint);
  return decodeVarint(field.value, 0)[0];
}

/** Returns the value of an `int64` or `int32` varint field, sign included. */
export function fieldInt64(field: ProtoField): bigint {
  return BigInt.asIntN(64, fieldUint64(field));
}

/**
 * Returns the value of an `int64` or `int32` varint field as a number.
 * @throws {@link ProtobufError} when the value is outside the safe integer range.
 */
export function fieldNumber(field: ProtoField): number {
  const value = fieldInt64(field);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ProtobufError(`Field ${field.number} value ${value} is too large`, 0);
  }
  return Number(value);
}

const utf8 = new TextDecoder('utf-8');

/** Returns the payload of a length-delimited field decoded as UTF-8. */
export function fieldString(field: ProtoField): string {
  expectWireType(field, WireType.LengthDelimited);
  return utf8.decode(field.value);
}

/** Returns the value of a `float` (fixed32) field. */
export function fieldFloat(field: ProtoField): number {
  expectWireType(field, WireType.Fixed32);
  return new DataView(field.value.buffer, field.value.byteOffset, 4).getFloat32(0, true);
}

/**
 * Returns the values of one occurrence of a `repeated int64` field. A proto2 writer may
 * emit one value per occurrence or, when packed, several in one length-delimited payload.
 * Both encodings are valid for the same field, so a reader must accept both.
 */
export function fieldInt64s(field: ProtoField): bigint[] {
  if (field.wireType !== WireType.LengthDelimited) return [fieldInt64(field)];
  const values: bigint[] = [];
  let offset = 0;
  while (offset < field.value.length) {
    const [value, next] = decodeVarint(field.value, offset);
    values.push(BigInt.asIntN(64, value));
    offset = next;
  }
  return values;
}

function expectWireType(field: ProtoField, wireType: WireType): void {
  if (field.wireType !== wireType) {
    throw new ProtobufError(
      `Field ${field.number} has wire type ${field.wireType}, expected ${wireType}`,
      0,
    );
  }
}

/** Encodes an unsigned varint. Negative values are written as 64-bit two's complement. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return Uint8Array.from(out);
}

/** Encodes a varint field: tag, then value. */
export function encodeVarintField(number: number, value: number | bigint): Uint8Array {
  return concatBytes([encodeVarint(number * 8 + WireType.Varint), encodeVarint(value)]);
}

/** Encodes a length-delimited field: tag, payload length, then payload. */
export function encodeBytesField(number: number, payload: Uint8Array): Uint8Array {
  const tag = encodeVarint(number * 8 + WireType.LengthDelimited);
  return concatBytes([tag, encodeVarint(payload.length), payload]);
}

const utf8Encoder = new TextEncoder();

/** Encodes a `string` field as UTF-8. */
export function encodeStringField(number: number, value: string): Uint8Array {
  return encodeBytesField(number, utf8Encoder.encode(value));
}

/** Concatenates byte arrays, for example the raw bytes of fields into a message. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
