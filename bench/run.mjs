#!/usr/bin/env node
/**
 * Runs batchscore's benchmark suite: the three workloads against their baselines, the
 * sweeps behind the defaults, the Parquet writer comparison and the CLI's peak RSS.
 * Prints markdown tables to stdout, progress to stderr, and writes every figure to
 * bench/results/<time>-<rows>.json. Run it through `npm run bench`, which builds dist/
 * first. See docs/benchmarks.md.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killRunning, runChild } from './lib/child.mjs';
import { runCliWithPeakRss } from './lib/cli.mjs';
import { contention, describeMachine, loadAverages, readCpuTimes } from './lib/machine.mjs';
import { baselinePython, ensureData, ensureModels, fixturesPython } from './lib/prepare.mjs';
import { computeTargets, renderMarkdown } from './lib/report.mjs';
import { FEATURES } from './lib/scoring.mjs';
import { INPUTS, MODELS, SECTIONS, buildCases } from './lib/suite.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const ONE_MILLION = 1_000_000;

const USAGE = `Usage: node bench/run.mjs [--rows N | --quick] [--only NAME,...] [--repeat N]

  --rows N       rows of generated input (default 1000000)
  --quick        100000 rows, for a smoke check
  --only LIST    run only these models (${MODELS.join(', ')}), sections
                 (${SECTIONS.join(', ')}) or cases (ids such as
                 forest/parquet/ceiling, as in the JSON), comma-separated
  --repeat N     runs of each case that a target needs; the median is reported
                 (default 1)

Above 1,000,000 rows only the cases that feed a target run (sections main, python and
rss), unless --only names sections.
`;

const settings = parseSettings(process.argv.slice(2));
// A case runs in a child process, which would go on running if the suite stopped alone.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killRunning();
    process.exit(130);
  });
}
const report = await runSuite(settings);
process.stdout.write(renderMarkdown(report));

function parseSettings(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rows: { type: 'string' },
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        repeat: { type: 'string', default: '1' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    fail(`${error.message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }

  const rows = values.quick ? 100_000 : wholeNumber(values.rows ?? String(ONE_MILLION), '--rows');
  const repeat = wholeNumber(values.repeat, '--repeat');
  const names = values.only?.split(',').map((name) => name.trim()).filter(Boolean) ?? [];
  const isCase = (name) => name.includes('/') || name === 'writers';
  const unknown = names.filter(
    (name) => !MODELS.includes(name) && !SECTIONS.includes(name) && !isCase(name),
  );
  if (unknown.length > 0) fail(`unknown --only name ${unknown.join(', ')}\n\n${USAGE}`);
  const onlyModels = names.filter((name) => MODELS.includes(name));
  const onlySections = names.filter((name) => SECTIONS.includes(name));
  const onlyCases = names.filter(isCase);

  const large = rows > ONE_MILLION;
  const defaultSections = large ? ['main', 'python', 'rss'] : SECTIONS;
  const sections = onlyCases.length > 0 && onlySections.length === 0
    ? SECTIONS.filter((section) => section !== 'rss')
    : onlySections.length > 0 ? onlySections : defaultSections;
  return {
    rows,
    repeat,
    sections: new Set(sections),
    models: new Set(onlyModels.length > 0 ? onlyModels : MODELS),
    cases: onlyCases.length > 0 ? new Set(onlyCases) : undefined,
    core: large && onlySections.length === 0 && onlyCases.length === 0,
    command: `node bench/run.mjs ${argv.join(' ')}`.trim(),
  };
}

async function runSuite(settings) {
  const startedAt = new Date();
  const loadBefore = loadAverages();
  const machine = await describeMachine(ROOT);

  // 1. Data, models and the Python environments.
  const paths = pathsFor(settings.rows);
  const python = await fixturesPython(ROOT);
  await ensureData(python, BENCH, settings.rows, dataDir(settings.rows));
  const rssRows = settings.rows > ONE_MILLION ? [ONE_MILLION, settings.rows] : [settings.rows];
  if (settings.sections.has('rss')) {
    for (const rows of rssRows) await ensureData(python, BENCH, rows, dataDir(rows));
  }
  const models = await ensureModels(python, BENCH);
  const cases = buildCases(settings.rows, paths, settings);
  const needsBaseline = cases.some((entry) => entry.python !== undefined);
  const baseline = needsBaseline ? await baselinePython(BENCH) : undefined;

  // 2. The cases, section by section. Repeated runs of a section go round all its cases,
  //    so that a slow spell of the machine is spread over them instead of hitting one.
  const report = {
    command: settings.command,
    rows: settings.rows,
    repeat: settings.repeat,
    startedAt: startedAt.toISOString(),
    finishedAt: null,
    loadBefore,
    loadAfter: null,
    machine,
    models,
    cases: cases.map((entry) => ({ ...entry, runs: [], median: undefined })),
    rss: [],
    targets: [],
    contention: undefined,
  };
  const resultsName = `${fileStamp(startedAt)}-${rowsLabel(settings.rows)}.json`;
  const resultsFile = join(BENCH, 'results', resultsName);
  await mkdir(dirname(resultsFile), { recursive: true });
  // From here on, CPU time that is not the suite's own is other load.
  const cpuAtStart = readCpuTimes();
  const ownCpuAtStart = process.cpuUsage();
  const wallAtStart = performance.now();
  let done = 0;
  const total = report.cases.reduce((sum, entry) => sum + repeatsOf(entry, settings), 0);
  for (const section of ['main', 'python', 'sweeps', 'writers']) {
    const entries = report.cases.filter((entry) => entry.section === section);
    const rounds = Math.max(0, ...entries.map((entry) => repeatsOf(entry, settings)));
    for (let round = 0; round < rounds; round++) {
      for (const entry of entries) {
        if (round >= repeatsOf(entry, settings)) continue;
        const result = await runCase(entry, paths, baseline);
        entry.runs.push(result);
        entry.median = median(entry.runs);
        done++;
        progress(`[${done}/${total}] ${entry.id}: ${describe(result)}`);
        await saveReport(resultsFile, report);
      }
    }
  }

  // 3. Peak RSS of the CLI, at a million rows and at the run's size.
  if (settings.sections.has('rss')) {
    for (const input of INPUTS) {
      for (const rows of rssRows) {
        const cpuBefore = readCpuTimes();
        const wallStarted = performance.now();
        const result = await runCliWithPeakRss(join(ROOT, 'dist', 'cli', 'main.js'), [
          '--model', join(paths.models, 'forest.onnx'),
          '--input', join(dataDir(rows), `input.${input}`),
          '--features', FEATURES.join(','),
          '--mode', 'overwrite',
        ], { timeoutMs: timeoutFor(rows), output: join(paths.out, 'cli') });
        const wallSeconds = (performance.now() - wallStarted) / 1000;
        const load = contention(cpuBefore, readCpuTimes(), result.cpuSeconds, wallSeconds);
        Object.assign(result, load);
        report.rss.push({ input, rows, result, finishedAt: new Date().toISOString() });
        progress(`rss ${input} ${rows.toLocaleString('en-US')} rows: ${describe(result)}`);
        await saveReport(resultsFile, report);
      }
    }
  }

  // 4. Targets, each a ratio of two cases of this run.
  report.targets = computeTargets(
    new Map(report.cases.map((entry) => [entry.id, entry])),
    report.rss,
  );
  report.finishedAt = new Date().toISOString();
  report.loadAfter = loadAverages();
  report.contention = contention(
    cpuAtStart,
    readCpuTimes(),
    ownCpuSeconds(report, ownCpuAtStart),
    (performance.now() - wallAtStart) / 1000,
  );
  await saveReport(resultsFile, report);
  await rm(paths.out, { recursive: true, force: true });
  progress(`figures written to ${resultsFile}`);
  return report;
}

/** CPU seconds of this process and of every case and CLI run it started. */
function ownCpuSeconds(report, ownCpuAtStart) {
  const own = process.cpuUsage(ownCpuAtStart);
  const runs = [
    ...report.cases.flatMap((entry) => entry.runs),
    ...report.rss.map((run) => run.result),
  ];
  return (own.user + own.system) / 1e6 +
    runs.reduce((sum, run) => sum + (run.processCpuSeconds ?? 0), 0);
}

function pathsFor(rows) {
  return {
    bench: BENCH,
    models: join(BENCH, 'models'),
    out: join(BENCH, '.data', 'out'),
    input: (format) => join(dataDir(rows), `input.${format}`),
  };
}

function dataDir(rows) {
  return join(BENCH, '.data', `rows-${rows}`);
}

function repeatsOf(entry, settings) {
  return entry.core === true ? settings.repeat : 1;
}

/** Runs one case in a child process, with its output folder under bench/.data/out. */
async function runCase(entry, paths, baselinePython) {
  const output = join(paths.out, entry.id.replaceAll('/', '-'));
  const timeoutMs = timeoutFor(entry.rows);
  const startedAt = new Date().toISOString();
  const cpuBefore = readCpuTimes();
  const wallStarted = performance.now();
  let result;
  if (entry.python !== undefined) {
    // One BLAS thread per Dask thread, as Dask's documentation advises, so that two
    // threads do not each start a pool as wide as the machine.
    const env = entry.pipeline.startsWith('Dask')
      ? { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }
      : {};
    result = await runChild(baselinePython, [
      join(BENCH, 'python_baseline.py'), ...entry.python, '--output', output,
    ], { timeoutMs, env });
  } else {
    const params = structuredClone(entry.params);
    if (params.options !== undefined) params.options.output = output;
    else if (entry.script === 'naive.mjs') params.output = output;
    const script = join(BENCH, 'cases', entry.script);
    result = await runChild(process.execPath, [script, JSON.stringify(params)], { timeoutMs });
  }
  const wallSeconds = (performance.now() - wallStarted) / 1000;
  const load = contention(cpuBefore, readCpuTimes(), result.processCpuSeconds, wallSeconds);
  await rm(output, { recursive: true, force: true });
  if (result.error === undefined && result.rows !== entry.rows && entry.section !== 'writers') {
    return { error: `processed ${result.rows} rows of ${entry.rows}`, startedAt };
  }
  return { ...result, ...load, startedAt };
}

/** Returns the run with the median rate; with an even count, the slower of the middle two. */
function median(runs) {
  const ok = runs.filter((run) => run.error === undefined);
  if (ok.length === 0) return runs.at(-1);
  if (ok[0].rowsPerSecond === undefined) return ok.at(-1);
  const sorted = [...ok].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function timeoutFor(rows) {
  return (5 + (4 * rows) / ONE_MILLION) * 60_000;
}

function describe(result) {
  if (result.error !== undefined) return `failed: ${result.error}`;
  if (result.rowsPerSecond === undefined) return 'done';
  return `${Math.round(result.rowsPerSecond).toLocaleString('en-US')} rows/s ` +
    `(${(result.durationMs / 1000).toFixed(1)} s, peak RSS ${Math.round(result.peakRssMiB)} MiB)`;
}

async function saveReport(path, report) {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

function fileStamp(date) {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
}

function rowsLabel(rows) {
  return rows % ONE_MILLION === 0 ? `${rows / ONE_MILLION}M` : `${rows / 1000}k`;
}

function wholeNumber(text, flag) {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    fail(`${flag} expects a whole number ≥ 1, got ${text}`);
  }
  return Number(text);
}

function progress(message) {
  process.stderr.write(`bench: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
