import { Bool, Float64, Int64, Utf8, type DataType } from 'apache-arrow';
import type { ColumnType, TextSchema } from '../read/types.js';
import type { InputColumn } from './types.js';

const ARROW_TYPES: Record<ColumnType, () => DataType> = {
  int64: () => new Int64(),
  float64: () => new Float64(),
  bool: () => new Bool(),
  utf8: () => new Utf8(),
};

/** Returns the columns, with Arrow types, that a text input of `schema` is read into. */
export function textColumns(schema: TextSchema): InputColumn[] {
  return schema.names.map((name, index) => ({
    name,
    type: ARROW_TYPES[schema.types[index] ?? 'utf8'](),
  }));
}
