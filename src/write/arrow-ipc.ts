import { tableToIPC, type Table } from 'apache-arrow';

/** Encodes a table in the Arrow IPC file format with `metadata` in its schema. */
export function encodeArrowFile(table: Table, metadata: Record<string, string>): Uint8Array {
  for (const [key, value] of Object.entries(metadata)) table.schema.metadata.set(key, value);
  return tableToIPC(table, 'file');
}
