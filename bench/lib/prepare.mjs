/**
 * Makes what the suite reads before it runs: the generated data, the trained models and
 * the Python virtualenvs. Each step is skipped when its output is up to date.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Returns the fixtures virtualenv's python, which has numpy, pyarrow, scikit-learn and
 * skl2onnx. It is not created here, because other scripts of the repository share it.
 */
export async function fixturesPython(root) {
  const python = join(root, '.venv', 'bin', 'python');
  if (!(await exists(python))) {
    throw new Error(`${python} not found; run scripts/python-env.sh first to create it`);
  }
  return python;
}

/** Creates or updates bench/.venv with bench/python-env.sh; returns its python. */
export async function baselinePython(bench) {
  const { stdout } = await run('bash', [join(bench, 'python-env.sh')], { capture: true });
  return stdout.trim().split('\n').at(-1);
}

/** Generates the data files of `rows` rows into `dir` unless they are there already. */
export async function ensureData(python, bench, rows, dir) {
  const script = join(bench, 'generate_data.py');
  const manifest = await readJson(join(dir, 'manifest.json'));
  const source = await sha256Of([script]);
  if (manifest?.rows === rows && manifest.sourceSha256 === source) return;
  process.stderr.write(`bench: generating ${rows.toLocaleString('en-US')} rows in ${dir}\n`);
  await run(python, [script, '--rows', String(rows), '--out-dir', dir]);
}

/** Trains the models unless models.json records that the current scripts made them. */
export async function ensureModels(python, bench) {
  const train = join(bench, 'models', 'train.py');
  const card = await readJson(join(bench, 'models', 'models.json'));
  const source = await sha256Of([train, join(bench, 'generate_data.py')]);
  const files = ['forest', 'logistic', 'mlp'].flatMap((name) => [`${name}.onnx`, `${name}.pkl`]);
  const present = await Promise.all(files.map((file) => exists(join(bench, 'models', file))));
  if (card?.sourceSha256 === source && present.every(Boolean)) return card;
  process.stderr.write('bench: training the models (about a minute)\n');
  await run(python, [train]);
  return readJson(join(bench, 'models', 'models.json'));
}

async function sha256Of(paths) {
  const digest = createHash('sha256');
  for (const path of paths) digest.update(await readFile(path));
  return digest.digest('hex');
}

async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

async function exists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command with stderr shown; rejects when it fails. */
function run(command, args, { capture = false } = {}) {
  return new Promise((resolve, reject) => {
    const stdio = ['ignore', capture ? 'pipe' : 'inherit', 'inherit'];
    const child = spawn(command, args, { stdio });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}
