import { resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import type { RunSummary, ScoreEvent } from '../events.js';
import type { WriteMode } from '../options.js';
import { validateRunOptions } from '../run/run.js';
import { scorePartitioned } from '../score.js';
import { checkInteger, checkString, describe } from '../validate.js';
import type { LogicalDate } from './dates.js';
import type { ScoreJob } from './options.js';
import { checkTemplate, renderTemplate } from './template.js';

/** A {@link ScoreJob} for one date: its templates rendered. */
export interface DatedJob {
  ds: LogicalDate;
  input: string | string[];
  /** Absolute output path. */
  output: string;
}

/**
 * Checks a scoring job at the public edge: its templates, and the options that would
 * otherwise fail every date the same way.
 */
export function validateScoreJob(job: ScoreJob): void {
  const inputs = typeof job.input === 'string' ? [job.input] : job.input;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new InvalidOptionError(
      'Expected `input` to be a path template or a non-empty list of them, got ' +
        describe(job.input),
    );
  }
  for (const input of inputs) {
    checkString('input', input, false);
    checkTemplate('input', input);
  }
  checkString('output', job.output, false);
  checkTemplate('output', job.output);
  if (typeof job.model !== 'string' && !(job.model instanceof Uint8Array)) {
    throw new InvalidOptionError(
      `Expected \`model\` to be a file path or a Uint8Array, got ${describe(job.model)}`,
    );
  }
  checkString('modelVersion', job.modelVersion);
  checkString('transform', job.transform);
  checkInteger('intraOpThreads', job.intraOpThreads, 1);
  checkInteger('batchRows', job.batchRows, 1);
  checkInteger('maxRejectedRows', job.maxRejectedRows, 0);
  validateRunOptions({ ...job, input: inputs, output: job.output });
}

/** Renders a job's templates for `ds`. */
export function datedJob(job: ScoreJob, ds: LogicalDate): DatedJob {
  const input = typeof job.input === 'string'
    ? renderTemplate(job.input, ds)
    : job.input.map((template) => renderTemplate(template, ds));
  return { ds, input, output: resolve(renderTemplate(job.output, ds)) };
}

/**
 * Checks that every date has an output of its own; otherwise two dates would replace each
 * other's output.
 */
export function checkDistinctOutputs(jobs: readonly DatedJob[], template: string): void {
  const seen = new Map<string, LogicalDate>();
  for (const job of jobs) {
    const other = seen.get(job.output);
    if (other !== undefined) {
      throw new InvalidOptionError(
        `The \`output\` template ${JSON.stringify(template)} gives the same path for ` +
          `${other} and ${job.ds}`,
        { fix: 'Put {ds} (or {yyyy}, {mm} and {dd}) in the output template' },
      );
    }
    seen.set(job.output, job.ds);
  }
}

/** Runs a scoring job for one date. */
export function runDatedJob(
  job: ScoreJob,
  dated: DatedJob,
  mode: WriteMode,
  signal: AbortSignal | undefined,
  onEvent: (event: ScoreEvent) => void,
): Promise<RunSummary> {
  return scorePartitioned({
    ...job,
    input: dated.input,
    output: dated.output,
    mode,
    signal,
    onEvent,
  });
}

/** Returns the fields of a {@link ScoreJob} among other options. */
export function pickScoreJob<T extends ScoreJob>(options: T): ScoreJob {
  const {
    start: _start,
    end: _end,
    stepDays: _stepDays,
    reverse: _reverse,
    concurrency: _concurrency,
    reprocess: _reprocess,
    dryRun: _dryRun,
    signal: _signal,
    onEvent: _onEvent,
    ...job
  } = options as T & Record<string, unknown>;
  return job as ScoreJob;
}
