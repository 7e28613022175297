/** Worker thread of the inference ceiling case; see ceiling.mjs. */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { FEATURES, sessionOptions } from '../lib/scoring.mjs';

const { model, features, first, last, batchRows, intraOpThreads } = workerData;
const width = FEATURES.length;

// Copy each batch out of shared memory into a tensor of its own before timing.
const tensors = [];
for (let start = first; start < last; start += batchRows) {
  const end = Math.min(last, start + batchRows);
  const values = features.slice(start * width, end * width);
  tensors.push(new ort.Tensor('float32', values, [end - start, width]));
}
const started = performance.now();
const session = await ort.InferenceSession.create(model, sessionOptions(intraOpThreads));
const sessionCreateMs = performance.now() - started;
if (tensors.length > 0) await session.run({ features: tensors[0] });

parentPort.postMessage({ type: 'ready', sessionCreateMs });
parentPort.once('message', async () => {
  let runMs = 0;
  for (const tensor of tensors) {
    const started = performance.now();
    await session.run({ features: tensor });
    runMs += performance.now() - started;
  }
  await session.release();
  parentPort.postMessage({ type: 'done', rows: last - first, runMs });
  parentPort.close();
});
