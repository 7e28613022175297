import { appendFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidOptionError, type BatchscoreError } from '../errors.js';
import { backfill } from '../schedule/backfill.js';
import type { BackfillEvent, DateOutcome } from '../schedule/events.js';
import type { BackfillOptions, Reprocess, ScoreJob } from '../schedule/options.js';
import { parseScoreArgs } from './args.js';

/** Help text of `batchscore backfill`. */
export const BACKFILL_HELP = `Usage: batchscore backfill --start DATE --end DATE --model FILE
         --input TEMPLATE --output TEMPLATE [options]

Scores the input of every date from --start to --end into that date's own output. Input
and output are path templates over the date: {ds} (YYYY-MM-DD), {ds_nodash} (YYYYMMDD),
{yyyy}, {mm} and {dd}, for example --input 'data/customers_{ds}.csv' and
--output 'scored/dt={ds}'. A date whose output was made from the same input files and
model is skipped without starting any worker.

Dates:
  --start DATE            first date, YYYY-MM-DD
  --end DATE              last date, included
  --date DATE             one date: the same as --start DATE --end DATE
  --step-days N           days between two dates (default: 1)
  --reverse               run the newest date first

Runs:
  --reprocess WHAT        which dates attempted before run again (default: none):
                            none    skip dates that are up to date or whose last
                                    attempt failed; run dates whose input or model changed
                            failed  also run dates whose last attempt failed
                            all     run every date and score every part again
  --concurrency N         dates run at once, each with its own --workers (default: 1)
  --dry-run               print what each date would do, and run nothing

Every option of batchscore score is accepted too, except --mode: dates run in resume
mode (overwrite with --reprocess all). See batchscore score --help.

Prints one line per date to stderr and a JSON report to stdout. Exits 0 when every date
is done or skipped, 1 when a date failed, 75 when no date failed but some were locked by
another run (try again later), 130 when interrupted, and 2 on invalid arguments.
`;

/** Exit code when dates were locked by another run: EX_TEMPFAIL of BSD sysexits.h. */
export const EXIT_LOCKED = 75;
/** Exit code when the command was interrupted by SIGINT or SIGTERM. */
export const EXIT_INTERRUPTED = 130;

/** Parsed `batchscore backfill` arguments. */
export interface BackfillArgs {
  options: BackfillOptions;
  quiet: boolean;
  logJson: string | undefined;
}

const BACKFILL_FLAGS = {
  start: { type: 'string' },
  end: { type: 'string' },
  date: { type: 'string' },
  'step-days': { type: 'string' },
  reverse: { type: 'boolean' },
  reprocess: { type: 'string' },
  concurrency: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Parses the arguments of `batchscore backfill`. */
export function parseBackfillArgs(argv: string[]): BackfillArgs {
  const { own, rest } = splitArgs(argv, BACKFILL_FLAGS);
  const score = parseJobArgs(rest, 'backfill');
  const values = own as Partial<Record<keyof typeof BACKFILL_FLAGS, string | boolean>>;
  const date = values.date as string | undefined;
  if (date !== undefined && (values.start !== undefined || values.end !== undefined)) {
    throw new InvalidOptionError('Pass either --date or --start and --end, not both');
  }
  const options: BackfillOptions = {
    ...score.job,
    start: date ?? requiredFlag(values.start as string | undefined, '--start', 'backfill'),
    end: date ?? requiredFlag(values.end as string | undefined, '--end', 'backfill'),
    stepDays: wholeNumber(values['step-days'] as string | undefined, '--step-days'),
    reverse: values.reverse === true,
    reprocess: values.reprocess as Reprocess | undefined,
    concurrency: wholeNumber(values.concurrency as string | undefined, '--concurrency'),
    dryRun: values['dry-run'] === true,
  };
  return { options, quiet: score.quiet, logJson: score.logJson };
}

/**
 * Runs `batchscore backfill` with the arguments after the command name and returns the
 * exit code. SIGINT and SIGTERM cancel the dates not started and abort those running.
 */
export async function runBackfillCommand(argv: string[]): Promise<number> {
  const { options, quiet, logJson } = parseBackfillArgs(argv);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await backfill({
      ...options,
      signal: controller.signal,
      onEvent: (event) => {
        if (!quiet) printProgress(event);
        if (logJson !== undefined) appendFileSync(logJson, `${jsonLine(event)}\n`);
      },
    });
    const dates = report.dates.map(outcomeRecord);
    const result = { dryRun: report.dryRun, counts: report.counts, dates };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (report.counts.cancelled > 0) return EXIT_INTERRUPTED;
    if (report.counts.failed > 0) return 1;
    return report.counts.locked > 0 ? EXIT_LOCKED : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function printProgress(event: BackfillEvent): void {
  if (event.type === 'backfill-start') {
    const verb = event.dryRun ? 'Planning' : 'Backfilling';
    const [first] = event.dates;
    const range = event.dates.length === 1 ? first : `${first} to ${event.dates.at(-1)}`;
    process.stderr.write(`${verb} ${event.dates.length} dates: ${range}\n`);
  } else if (event.type === 'date-start') {
    process.stderr.write(`${event.ds} running (${event.state}) into ${event.output}\n`);
  } else if (event.type === 'date-end') {
    process.stderr.write(`${describeOutcome(event.outcome)}\n`);
  } else if (event.type === 'score' && event.event.type === 'retry') {
    const { partition, attempt, error } = event.event;
    process.stderr.write(
      `${event.ds} retrying partition ${partition} (attempt ${attempt + 1}): ${error.message}\n`,
    );
  }
}

function describeOutcome(outcome: DateOutcome): string {
  const seconds = `${(outcome.durationMs / 1000).toFixed(1)} s`;
  switch (outcome.status) {
    case 'done':
      const rows = outcome.summary?.rowsOut.toLocaleString('en-US');
      return `${outcome.ds} done: ${rows} rows in ${seconds}`;
    case 'skipped':
      return `${outcome.ds} skipped (${outcome.reason})`;
    case 'planned':
      return `${outcome.ds} would run (${outcome.state})`;
    case 'locked':
      return `${outcome.ds} locked: another run is writing ${outcome.output}`;
    default: {
      const code = outcome.code ?? 'error';
      return `${outcome.ds} ${outcome.status}: ${code}: ${outcome.error?.message ?? ''}`;
    }
  }
}

/** A date's outcome as plain JSON: the error as its code and message, the summary's main counts. */
export function outcomeRecord(outcome: DateOutcome): Record<string, unknown> {
  const { summary, error, ...fields } = outcome;
  const record: Record<string, unknown> = { ...fields };
  if (summary !== undefined) {
    Object.assign(record, {
      runId: summary.runId,
      rows: summary.rowsOut,
      rowsRejected: summary.rowsRejected,
      files: summary.files.length,
      reusedPartitions: summary.reusedPartitions,
    });
  }
  if (error !== undefined) record.message = error.message;
  return record;
}

/** Formats an event as one JSON line with the time, and errors as their code and message. */
export function jsonLine(event: object): string {
  return JSON.stringify({ time: new Date().toISOString(), ...event }, (_key, value: unknown) => {
    if (value instanceof Error) {
      return { name: value.name, code: (value as BatchscoreError).code, message: value.message };
    }
    return value;
  });
}

/**
 * Parses the `batchscore score` options of a date-templated job: every score option but
 * `--mode`, which the backfill and the schedule choose.
 */
export function parseJobArgs(argv: string[], command: string) {
  const { options, quiet, logJson } = parseScoreArgs(argv);
  if (options.mode !== undefined) {
    throw new InvalidOptionError(`--mode is not an option of batchscore ${command}`, {
      fix: command === 'backfill'
        ? 'Dates run in resume mode; pass --reprocess all to score every date again'
        : 'Scheduled runs use resume mode',
    });
  }
  const { mode: _mode, signal: _signal, onEvent: _onEvent, ...rest } = options;
  const job = rest as ScoreJob;
  return { job, quiet, logJson };
}

/**
 * Splits arguments into the flags of `config` and the others, which keep their order. The
 * flags of `config` are parsed; the others are left for another parser.
 */
export function splitArgs(argv: string[], config: NonNullable<ParseArgsConfig['options']>) {
  const { values, tokens } = parseArgs({
    args: argv,
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const ownIndices = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !Object.hasOwn(config, token.name)) continue;
    ownIndices.add(token.index);
    const flag = config[token.name];
    if (flag?.type === 'string' && token.inlineValue === false) ownIndices.add(token.index + 1);
  }
  for (const token of tokens) {
    if (token.kind !== 'option' || !Object.hasOwn(config, token.name)) continue;
    if (config[token.name]?.type !== 'string') continue;
    // Without strict parsing, a flag takes the next argument as its value even when that
    // argument is another flag, as in `--date --model x`.
    const value = token.value;
    if (value === undefined || (token.inlineValue === false && value.startsWith('--'))) {
      throw new InvalidOptionError(`Missing value of --${token.name}`, {
        fix: `Pass --${token.name} VALUE, or --${token.name}=VALUE for a value that starts with --`,
      });
    }
  }
  return { own: values, rest: argv.filter((_arg, index) => !ownIndices.has(index)) };
}

/** Returns a flag's value, raising ERR_INVALID_OPTION when it is missing. */
export function requiredFlag(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') {
    throw new InvalidOptionError(`Missing ${flag}`, {
      fix: `Pass ${flag}. See batchscore ${command} --help`,
    });
  }
  return value;
}

/** Parses a flag whose value is an integer, which may be negative only when `signed`. */
export function wholeNumber(
  value: string | undefined,
  flag: string,
  signed = false,
): number | undefined {
  if (value === undefined) return undefined;
  const pattern = signed ? /^-?\d+$/ : /^\d+$/;
  const parsed = Number(value);
  if (!pattern.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    const kind = signed ? 'an integer' : 'a whole number';
    throw new InvalidOptionError(`Expected ${flag} to be ${kind}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
