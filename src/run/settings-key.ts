import {
  DEFAULT_COMPRESSION,
  DEFAULT_PARQUET_ENGINE,
  type OutputFormat,
  type ParquetCompression,
  type ParquetEngine,
} from '../options.js';
import { hashJson } from './fingerprint.js';

/** How part files are encoded, with every default applied. */
export interface ResolvedPartFormat {
  format: OutputFormat;
  engine: ParquetEngine;
  compression: ParquetCompression;
}

/** Applies the defaults of the output format options. */
export function resolvePartFormat(options: {
  outputFormat?: OutputFormat;
  parquetEngine?: ParquetEngine;
  compression?: ParquetCompression;
}): ResolvedPartFormat {
  return {
    format: options.outputFormat ?? 'parquet',
    engine: options.parquetEngine ?? DEFAULT_PARQUET_ENGINE,
    compression: options.compression ?? DEFAULT_COMPRESSION,
  };
}

/** What shapes a scored part besides its input rows; a part is reused only if all match. */
export interface ScoreSettings {
  modelSha256: string;
  modelVersion: string;
  features: readonly string[] | null;
  passthrough: 'all' | 'none' | readonly string[];
  transform: { path: string; sha256: string | null } | null;
}

/**
 * Returns the settings key that a run writes in its manifest. Backfills compute it
 * without running anything, to tell whether a date's output is up to date.
 */
export function settingsKey(settings: unknown, format: ResolvedPartFormat): string {
  return hashJson({ settings, format });
}
