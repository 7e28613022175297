import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ProtobufError,
  concatBytes,
  decodeVarint,
  encodeBytesField,
  encodeStringField,
  encodeVarint,
  encodeVarintField,
  fieldFloat,
  fieldInt64,
  fieldInt64s,
  fieldNumber,
  fieldString,
  fieldUint64,
  readFields,
  type ProtoField,
} from '../src/model/protobuf.js';
import { hasSharedData, sharedPath } from './helpers/shared-data.js';

function onlyField(bytes: Uint8Array): ProtoField {
  const fields = [...readFields(bytes)];
  expect(fields).toHaveLength(1);
  return fields[0]!;
}

/** Re-encodes a message from its decoded fields, recursing into `nested` field numbers. */
function reencode(message: Uint8Array, nested: Record<number, Record<number, unknown>>) {
  const parts: Uint8Array[] = [];
  for (const field of readFields(message)) {
    if (field.wireType === 0) parts.push(encodeVarintField(field.number, fieldUint64(field)));
    else if (field.wireType === 2) {
      const inner = nested[field.number];
      const payload = inner === undefined
        ? field.value
        : reencode(field.value, inner as Record<number, Record<number, unknown>>);
      parts.push(encodeBytesField(field.number, payload));
    } else parts.push(field.raw);
  }
  return concatBytes(parts);
}

describe('varint', () => {
  const cases: [bigint, number[]][] = [
    [0n, [0x00]],
    [1n, [0x01]],
    [127n, [0x7f]],
    [128n, [0x80, 0x01]],
    [300n, [0xac, 0x02]],
    [2n ** 53n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]],
    [2n ** 64n - 1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ];

  it.each(cases)('encodes and decodes %s', (value, bytes) => {
    expect([...encodeVarint(value)]).toEqual(bytes);
    expect(decodeVarint(Uint8Array.from(bytes), 0)).toEqual([value, bytes.length]);
  });

  it('writes negative int64 as ten bytes of two\'s complement', () => {
    const field = onlyField(encodeVarintField(3, -2n));
    expect(field.raw).toHaveLength(11);
    expect(fieldInt64(field)).toBe(-2n);
    expect(fieldNumber(field)).toBe(-2);
    expect(fieldUint64(field)).toBe(2n ** 64n - 2n);
  });

  it('rejects a truncated varint', () => {
    expect(() => decodeVarint(Uint8Array.from([0x80, 0x80]), 0)).toThrow(ProtobufError);
  });

  it('rejects a varint longer than ten bytes', () => {
    const bytes = new Uint8Array(11).fill(0x80);
    expect(() => decodeVarint(bytes, 0)).toThrow('Varint longer than 10 bytes at byte 0');
  });
});

describe('readFields', () => {
  it('reads each wire type with its number and value', () => {
    const float = Uint8Array.from([(4 << 3) | 5, 0x00, 0x00, 0xc0, 0x3f]); // 1.5f
    const fixed64 = Uint8Array.from([(5 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    const message = concatBytes([
      encodeVarintField(1, 150),
      encodeStringField(2, 'héllo'),
      float,
      fixed64,
    ]);
    const fields = [...readFields(message)];
    expect(fields.map((field) => [field.number, field.wireType])).toEqual([
      [1, 0], [2, 2], [4, 5], [5, 1],
    ]);
    expect(fieldNumber(fields[0]!)).toBe(150);
    expect(fieldString(fields[1]!)).toBe('héllo');
    expect(fieldFloat(fields[2]!)).toBe(1.5);
    expect([...fields[3]!.value]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reads packed and unpacked repeated int64 alike', () => {
    const packed = encodeBytesField(8, concatBytes([encodeVarint(-1n), encodeVarint(7)]));
    const unpacked = concatBytes([encodeVarintField(8, -1n), encodeVarintField(8, 7)]);
    expect([...readFields(packed)].flatMap(fieldInt64s)).toEqual([-1n, 7n]);
    expect([...readFields(unpacked)].flatMap(fieldInt64s)).toEqual([-1n, 7n]);
  });

  it('rejects a length that runs past the end', () => {
    const bytes = Uint8Array.from([(2 << 3) | 2, 5, 0x61]);
    expect(() => [...readFields(bytes)]).toThrow('Field 2 runs past the end at byte 0');
  });

  it('rejects the deprecated group wire types', () => {
    expect(() => [...readFields(Uint8Array.from([(1 << 3) | 3]))]).toThrow(
      'Unsupported wire type 3 in field 1 at byte 0',
    );
  });

  it('rejects field number 0', () => {
    expect(() => [...readFields(Uint8Array.from([0x00, 0x00]))]).toThrow(ProtobufError);
  });

  it('reports a wire type mismatch', () => {
    expect(() => fieldString(onlyField(encodeVarintField(1, 5)))).toThrow(
      'Field 1 has wire type 0, expected 2',
    );
  });

  it('stops decoding at break', () => {
    // A valid first field followed by garbage: reading only the first must not throw.
    const bytes = concatBytes([encodeVarintField(1, 9), Uint8Array.from([0xff])]);
    let seen = 0;
    for (const field of readFields(bytes)) {
      seen = fieldNumber(field);
      break;
    }
    expect(seen).toBe(9);
  });
});

describe.skipIf(!hasSharedData)('round trip on exported models', () => {
  const files = hasSharedData
    ? readdirSync(sharedPath('models')).filter((name) => name.endsWith('.onnx'))
    : [];

  it('finds the five models', () => {
    expect(files).toHaveLength(5);
  });

  it.each(files)('re-encodes %s from raw fields byte for byte', (file) => {
    const bytes = new Uint8Array(readFileSync(sharedPath('models', file)));
    const raw = concatBytes([...readFields(bytes)].map((field) => field.raw));
    expect(Buffer.compare(raw, bytes)).toBe(0);
  });

  it.each(files)('re-encodes %s from decoded values byte for byte', (file) => {
    const bytes = new Uint8Array(readFileSync(sharedPath('models', file)));
    // ModelProto.graph (7) → GraphProto.node (1), input (11), output (12).
    const nested = { 7: { 1: {}, 11: {}, 12: {} } };
    expect(Buffer.compare(reencode(bytes, nested), bytes)).toBe(0);
  });
});
