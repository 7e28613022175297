#!/usr/bin/env node
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BatchscoreError, InvalidOptionError, ModelError } from '../errors.js';
import type { ScoreEvent } from '../events.js';
import { inspectModel } from '../model/inspect.js';
import { scorePartitioned } from '../score.js';
import { VERSION } from '../version.js';
import { parseScoreArgs, SCORE_HELP } from './args.js';
import { BACKFILL_HELP, runBackfillCommand } from './backfill.js';
import { runScheduleCommand, SCHEDULE_HELP } from './schedule.js';
import { runStream } from './stream.js';
import { ProgressPrinter } from './progress.js';

const MAIN_HELP = `Usage: batchscore <command> [options]

Commands:
  score      score a dataset with an ONNX model and write part files
  backfill   score a range of logical dates, one output per date
  schedule   score on a cron schedule, without overlapping runs
  stream     score a Kafka topic as a consumer group
  inspect    print a model's inputs and outputs as JSON

Run batchscore <command> --help for the options of a command.
`;

const INSPECT_HELP = `Usage: batchscore inspect FILE

Prints an ONNX model's inputs, outputs, opsets and ZipMap classes as JSON.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'score') {
    return rest.includes('--help') || rest.includes('-h') ? help(SCORE_HELP) : score(rest);
  }
  if (command === 'inspect') {
    return rest.includes('--help') || rest.includes('-h') ? help(INSPECT_HELP) : inspect(rest);
  }
  if (command === 'backfill') {
    return rest.includes('--help') ? help(BACKFILL_HELP) : runBackfillCommand(rest);
  }
  if (command === 'schedule') {
    return rest.includes('--help') ? help(SCHEDULE_HELP) : runScheduleCommand(rest);
  }
  if (command === 'stream') return runStream(rest);
  process.stderr.write(`batchscore: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
  return 2;
}

function help(text: string): number {
  process.stdout.write(text);
  return 0;
}

async function score(argv: string[]): Promise<number> {
  const { options, quiet, logJson } = parseScoreArgs(argv);
  const progress = quiet ? undefined : new ProgressPrinter(process.stderr);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary = await scorePartitioned({
    ...options,
    signal: controller.signal,
    onEvent: (event) => {
      progress?.handle(event);
      if (logJson !== undefined) appendFileSync(logJson, `${JSON.stringify(logRecord(event))}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

function logRecord(event: ScoreEvent): Record<string, unknown> {
  const time = new Date().toISOString();
  if (event.type === 'run-failed') {
    const error = event.error;
    const code = error instanceof BatchscoreError ? error.code : undefined;
    return { time, type: event.type, code, message: error.message };
  }
  return { time, ...event };
}

async function inspect(argv: string[]): Promise<number> {
  const path = argv.find((arg) => !arg.startsWith('--')) ?? argv[argv.indexOf('--model') + 1];
  if (path === undefined) throw new InvalidOptionError('Missing model path', { fix: 'Run batchscore inspect FILE' });
  const bytes = await readFile(path).catch((error: unknown) => {
    throw new ModelError('ERR_MODEL_LOAD', 'Cannot read the model file', {
      file: path,
      fix: 'Check the path: batchscore inspect FILE',
      cause: error,
    });
  });
  const info = inspectModel(bytes);
  const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);
  process.stdout.write(`${JSON.stringify(info, replacer, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof BatchscoreError) {
      process.stderr.write(`batchscore: ${error.code}: ${error.message}\n`);
      // 130 is the shell's code for a program stopped by SIGINT.
      const codes: Partial<Record<string, number>> = { ERR_INVALID_OPTION: 2, ERR_ABORTED: 130 };
      process.exitCode = codes[error.code] ?? 1;
    } else if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`batchscore: ERR_INVALID_OPTION: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`batchscore: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
