/** Where a partition's rows came from, precise enough to tell when the input changed. */
export interface InputFingerprint {
  /** Partition description, such as `data.csv bytes 0-1048576`. */
  description: string;
  /** Source file; absent for in-memory tables and batch streams. */
  file?: string;
  /** File size in bytes when the run planned it. */
  size?: number;
  /** File modification time, in milliseconds since the epoch. */
  mtimeMs?: number;
  /** Byte range, row groups or record batches of the file that the partition covers. */
  range?: unknown;
}

/** A committed part: written in full, flushed, and checked. */
export interface PartRecord {
  /** Part file name, relative to the output. */
  file: string;
  partition: number;
  /**
   * Hash of the input fingerprint and the run settings that shape the output. A resumed
   * run reuses a part whose key matches its own partition's key. Null for inputs that
   * have no fingerprint (in-memory tables, batch streams), which are never reused.
   */
  key: string | null;
  input: InputFingerprint;
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  bytes: number;
  /** Hex sha256 of the part file. */
  sha256: string;
  /** Rejected rows of the partition, relative to the output. */
  rejectedFile?: string;
  /** Run that wrote the part, which may be an earlier run when the part was reused. */
  runId: string;
  /** `scored_at` written in the part, for scoring runs. */
  scoredAt?: string;
}

/** The `_SUCCESS` manifest of a committed output. */
export interface Manifest {
  format: 'batchscore-manifest';
  manifestVersion: 1;
  batchscoreVersion: string;
  runId: string;
  committedAt: string;
  scoredAt?: string;
  model?: { version: string; sha256: string };
  /** Hash of the settings that shape the output; equal settings give equal keys. */
  settingsKey: string;
  rows: { in: number; out: number; rejected: number };
  /** Parts reused from an earlier run instead of being computed again. */
  reusedParts: number;
  parts: PartRecord[];
}
