/** Turns a run's results into target ratios and markdown tables. */
import { INPUTS, MODELS } from './suite.mjs';

/** Goals of the suite, each a ratio of two cases of the same run. */
const GOALS = {
  ceiling: 0.9,
  naive: 1.8,
  floor: 1.3,
  dask: 6,
  rss: 1.2,
};

/**
 * Computes each target from the medians of one run. `value` is null when a case it needs
 * did not run or failed.
 */
export function computeTargets(results, rssRuns) {
  const targets = [];
  const rate = (id) => results.get(id)?.median?.rowsPerSecond;
  const duration = (id) => results.get(id)?.median?.durationMs;
  const add = (name, workload, input, numerator, denominator, goal, atMost = false) => {
    const measured = numerator !== undefined && denominator !== undefined;
    const value = measured ? numerator / denominator : null;
    let met = null;
    if (value !== null) met = atMost ? value <= goal : value >= goal;
    targets.push({ name, workload, input, value, goal: `${atMost ? '≤' : '≥'} ${goal}`, met });
  };

  for (const input of INPUTS) {
    add('rows/s ÷ inference ceiling', 'forest', input,
      rate(`forest/${input}/batchscore`), rate('forest/parquet/ceiling'), GOALS.ceiling);
    add('speed-up over the naive loop', 'forest', input,
      rate(`forest/${input}/batchscore`), rate(`forest/${input}/naive`), GOALS.naive);
    add('time ÷ I/O floor time', 'logistic', input,
      duration(`logistic/${input}/batchscore`), duration(`io-floor/${input}`), GOALS.floor, true);
  }
  for (const model of MODELS) {
    for (const input of INPUTS) {
      add('speed-up over Dask', model, input,
        rate(`${model}/${input}/batchscore`), rate(`${model}/${input}/dask`), GOALS.dask);
    }
  }
  for (const input of INPUTS) {
    const runs = rssRuns.filter((run) => run.input === input && run.result.error === undefined);
    const smallest = runs.find((run) => run.rows === 1_000_000);
    const largest = runs.find((run) => run.rows > 1_000_000);
    add(`peak RSS at ${largest === undefined ? 'more rows' : millions(largest.rows)} ÷ at 1M`,
      'forest', input, largest?.result.peakRssMiB, smallest?.result.peakRssMiB, GOALS.rss, true);
  }
  return targets;
}

/** Renders the whole report as markdown. */
export function renderMarkdown(report) {
  const parts = [header(report)];
  const main = report.cases.filter(
    (entry) => entry.section === 'main' || entry.section === 'python',
  );
  if (main.length > 0) parts.push('### Workloads and baselines', mainTable(main));
  if (report.targets.some((target) => target.value !== null)) {
    parts.push('### Targets', targetsTable(report.targets));
  }
  const sweeps = report.cases.filter((entry) => entry.section === 'sweeps');
  for (const name of new Set(sweeps.map((entry) => entry.sweep))) {
    // Some points of a sweep are main-section cases, such as the default configuration.
    const points = report.cases.filter(
      (entry) => entry.sweep === name || entry.alsoInSweep === name,
    );
    parts.push(`### Sweep: ${name}`, sweepTable(points));
  }
  const writers = report.cases.find((entry) => entry.section === 'writers');
  if (writers !== undefined) parts.push('### Parquet writers (tinybench)', writersTable(writers));
  if (report.rss.length > 0) parts.push('### Peak RSS of the CLI', rssTable(report.rss));
  return `${parts.join('\n\n')}\n`;
}

function header(report) {
  const { machine } = report;
  const versions = Object.entries(machine.versions).map(([name, version]) => `${name} ${version}`);
  return [
    `Command: \`${report.command}\` — ${report.startedAt} to ${report.finishedAt}`,
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Linux ${machine.kernel}; load average ${report.loadBefore.join(', ')} before, ` +
      `${report.loadAfter.join(', ')} after`,
    `Other load: ${describeContention(report.contention)}`,
    `Versions: ${versions.join(', ')}`,
    `Rows: ${report.rows.toLocaleString('en-US')}. Rows/s is the median of the runs of a case. ` +
      'CPU s counts every thread of the process. Stage columns are worker-seconds summed ' +
      'over partitions; in mapPartitions cases (session per partition, I/O floor) the worker ' +
      "module's whole time is in the convert column. Other load is the cores' worth of CPU " +
      'that other processes used while the case ran.',
  ].join('  \n');
}

function describeContention(load) {
  if (load === undefined) return 'not measured (no /proc/stat)';
  const text = `other processes used ${load.othersCores.toFixed(2)} cores on average during ` +
    `the run, and the hypervisor's steal ${load.stealCores.toFixed(2)}`;
  return load.othersCores + load.stealCores >= 0.1 ? `${text}; figures are noisy` : text;
}

function mainTable(entries) {
  const rows = entries.map((entry) => [
    entry.model ?? '', entry.input ?? '', entry.pipeline, ...figures(entry),
  ]);
  return table(['workload', 'input', 'pipeline', ...FIGURE_HEADINGS], rows);
}

function sweepTable(entries) {
  const order = (entry) => MODELS.indexOf(entry.model) * 10 + INPUTS.indexOf(entry.input);
  const sorted = [...entries].sort((a, b) => order(a) - order(b));
  const rows = sorted.map((entry) => [
    String(entry.value), entry.model, entry.input, entry.pipeline, ...figures(entry),
  ]);
  return table(['value', 'workload', 'input', 'pipeline', ...FIGURE_HEADINGS], rows);
}

const FIGURE_HEADINGS = [
  'rows/s', 'wall s', 'CPU s', 'read s', 'convert s', 'infer s', 'write s', 'parts',
  'peak RSS MiB', 'other load',
];

function figures(entry) {
  const result = entry.median;
  if (result === undefined || result.error !== undefined) {
    const error = `failed: ${entry.runs.at(-1)?.error ?? 'no run'}`.slice(0, 160);
    return [error, ...FIGURE_HEADINGS.slice(1).map(() => '')];
  }
  const timings = result.timings;
  const stage = (key) => (timings === undefined ? '–' : (timings[key] / 1000).toFixed(1));
  return [
    `${integer(result.rowsPerSecond)}${spread(entry)}`,
    (result.durationMs / 1000).toFixed(2),
    result.cpuSeconds === undefined ? '–' : result.cpuSeconds.toFixed(1),
    stage('readMs'),
    stage('convertMs'),
    stage('inferMs'),
    stage('writeMs'),
    String(result.partitions ?? ''),
    integer(result.peakRssMiB),
    otherLoad(result),
  ];
}

/** Cores' worth of CPU that other processes (and the hypervisor's steal) took meanwhile. */
function otherLoad(result) {
  if (result.othersCores === undefined) return '–';
  const steal = result.stealCores >= 0.05 ? ` + ${result.stealCores.toFixed(1)} steal` : '';
  return `${result.othersCores.toFixed(1)}${steal}`;
}

/** Range of the runs' rates around the median, shown when a case ran more than once. */
function spread(entry) {
  const rates = entry.runs.filter((run) => run.error === undefined).map((run) => run.rowsPerSecond);
  if (rates.length < 2) return '';
  const range = (Math.max(...rates) - Math.min(...rates)) / entry.median.rowsPerSecond;
  return ` (±${Math.round((range / 2) * 100)}%)`;
}

function targetsTable(targets) {
  const measured = targets.filter((target) => target.value !== null);
  const rows = measured.map((target) => [
    target.name,
    target.workload,
    target.input,
    target.value === null ? 'not measured' : target.value.toFixed(2),
    target.goal,
    verdict(target.met),
  ]);
  const skipped = targets.length - measured.length;
  const note = skipped > 0
    ? `\n\n${skipped} targets need cases that this run did not include.`
    : '';
  return `${table(['target', 'workload', 'input', 'measured', 'goal', 'result'], rows)}${note}`;
}

function verdict(met) {
  if (met === null) return '–';
  return met ? 'met' : 'missed';
}

function writersTable(entry) {
  const result = entry.median;
  if (result === undefined || result.error !== undefined) {
    return `failed: ${entry.runs.at(-1)?.error}`;
  }
  const rows = result.writers.map((writer) => [
    writer.engine,
    writer.compression,
    `${writer.meanMs.toFixed(0)} ± ${writer.moePercent.toFixed(0)}%`,
    integer(writer.rowsPerSecond),
    (writer.bytes / 2 ** 20).toFixed(1),
  ]);
  const title = `${result.rows.toLocaleString('en-US')} rows × ${result.columns} columns, ` +
    `${result.writers[0]?.samples ?? 0} timed writes each`;
  const headings = ['engine', 'compression', 'ms per part', 'rows/s', 'file MiB'];
  return `${title}\n\n${table(headings, rows)}`;
}

function rssTable(runs) {
  const rows = runs.map((run) => {
    const { result } = run;
    if (result.error !== undefined) {
      return [run.input, integer(run.rows), `failed: ${result.error}`, '', '', '', ''];
    }
    return [run.input, integer(run.rows), integer(result.peakRssMiB), integer(result.rowsPerSecond),
      result.cpuSeconds === undefined ? '–' : result.cpuSeconds.toFixed(1), otherLoad(result),
      result.rssSource];
  });
  const headings = [
    'input', 'rows', 'peak RSS MiB', 'rows/s', 'CPU s', 'other load', 'measured by',
  ];
  return table(headings, rows);
}

function table(headings, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headings), line(headings.map(() => '---')), ...rows.map(line)].join('\n');
}

function integer(value) {
  return Math.round(value).toLocaleString('en-US');
}

function millions(rows) {
  return `${rows / 1_000_000}M`;
}
