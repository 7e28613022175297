// Scores synthetic customers with the bundled churn model: the README's first command.
//
//   npm run example              # 200,000 customers
//   npm run example -- 5000000   # any other number of rows
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { readFile } from 'node:fs/promises';
import { scorePartitioned } from 'batchscore';

const here = dirname(fileURLToPath(import.meta.url));
const rows = Number(process.argv[2] ?? 200_000);
const input = join(here, 'data', `customers-${rows}.csv`);
const output = join(here, 'data', 'scored');

// 1. Generate the input once; the generator is deterministic, so the file never changes.
if (!existsSync(input)) {
  execFileSync(process.execPath, [join(here, 'generate.mjs'), '--rows', String(rows), '--out', input], {
    stdio: 'inherit',
  });
}

// 2. Score it on every core. Rerunning replaces the previous output.
const summary = await scorePartitioned({
  model: join(here, 'model', 'churn.onnx'),
  modelVersion: 'churn-gb-1',
  input,
  output,
  mode: 'overwrite',
  onEvent: (event) => {
    if (event.type === 'partition-end' && process.stderr.isTTY) {
      const percent = ((event.rowsDone / (event.rowsPlanned ?? event.rowsDone)) * 100).toFixed(0);
      process.stderr.write(`\r${percent}% of ${rows.toLocaleString('en-US')} rows scored`);
    }
  },
});
if (process.stderr.isTTY) process.stderr.write('\n');

// 3. Show what was written.
const first = tableFromIPC(readParquet(await readFile(join(output, summary.files[0]))).intoIPCStream());
console.log(`Wrote ${summary.rowsOut.toLocaleString('en-US')} rows to ${summary.files.length} ` +
  `part files in ${output} (${Math.round(summary.rowsPerSecond).toLocaleString('en-US')} rows/s)`);
console.table(first.slice(0, 5).toArray().map((row) => {
  const { customer_id, contract, label, probability_1, model_version, scored_at } = row.toJSON();
  return {
    customer_id,
    contract,
    label: Number(label),
    probability_1: Number(probability_1.toFixed(4)),
    model_version,
    scored_at: new Date(Number(scored_at)).toISOString(),
  };
}));
