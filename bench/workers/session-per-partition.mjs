/**
 * mapPartitions worker that makes the classic mistake: it creates an onnxruntime session
 * for every partition instead of once per worker. Everything else matches batchscore's
 * scoring (batch size, session options, output columns), so the gap to a batchscore run
 * is the cost of the extra sessions.
 */
import * as ort from 'onnxruntime-node';
import { outputTable, scoreTable, sessionOptions } from '../lib/scoring.mjs';

let settings;

/** Keeps the worker options: `model` path, `batchRows`, `modelVersion`, `scoredAtMicros`. */
export function setup(options) {
  settings = options;
}

export async function processPartition(table) {
  const session = await ort.InferenceSession.create(settings.model, sessionOptions(1));
  try {
    const predictions = await scoreTable(session, table, settings.batchRows);
    return outputTable(table, predictions, settings.modelVersion, BigInt(settings.scoredAtMicros));
  } finally {
    await session.release();
  }
}
