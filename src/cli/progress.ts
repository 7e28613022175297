import type { ScoreEvent } from '../events.js';

/** Renders progress events as one status line on a stream, usually stderr. */
export class ProgressPrinter {
  private lastPrinted = 0;
  private lastLength = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    /** Minimum milliseconds between two lines on a stream that is not a terminal. */
    private readonly intervalMs = 1000,
  ) {}

  /** Handles one event. */
  handle(event: ScoreEvent): void {
    if (event.type === 'run-start') {
      const rows = event.rowsPlanned === null ? 'an unknown number of' : format(event.rowsPlanned);
      const partitions = event.partitions > 0 ? ` in ${plural(event.partitions, 'partition')}` : '';
      this.line(`Scoring ${rows} rows${partitions}`, true);
    } else if (event.type === 'partition-end') {
      const { partition, rowsRejected } = event.result;
      if (rowsRejected > 0) {
        this.line(`Partition ${partition}: ${rowsRejected} rows rejected, see _rejected/`, true);
      }
      const last = event.partitionsDone === event.partitions && event.rowsPlanned !== null;
      if (!last && !this.stream.isTTY && Date.now() - this.lastPrinted < this.intervalMs) return;
      this.line(statusLine(event), last);
    } else if (event.type === 'retry') {
      const code = (event.error as { code?: string }).code ?? event.error.name;
      this.line(
        `Retrying partition ${event.partition} (attempt ${event.attempt + 1}) in ` +
          `${event.delayMs} ms after ${code}: ${event.error.message}`,
        true,
      );
    } else if (event.type === 'run-end') {
      const { summary } = event;
      this.line(
        `Done: ${format(summary.rowsOut)} rows written to ${plural(summary.files.length, 'file')}, ` +
          `${format(summary.rowsRejected)} rejected, in ${(summary.durationMs / 1000).toFixed(1)} s`,
        true,
      );
    }
  }

  private line(text: string, final: boolean): void {
    this.lastPrinted = Date.now();
    if (this.stream.isTTY) {
      const padding = ' '.repeat(Math.max(0, this.lastLength - text.length));
      this.stream.write(`\r${text}${padding}${final ? '\n' : ''}`);
      this.lastLength = final ? 0 : text.length;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}

type PartitionEnd = Extract<ScoreEvent, { type: 'partition-end' }>;

function statusLine(event: PartitionEnd): string {
  const seconds = event.elapsedMs / 1000;
  const rate = seconds > 0 ? event.rowsDone / seconds : 0;
  const parts = [`${event.partitionsDone}/${event.partitions || '?'} partitions`];
  if (event.rowsPlanned !== null && event.rowsPlanned > 0) {
    const percent = Math.min(100, (event.rowsDone / event.rowsPlanned) * 100);
    const remaining = rate > 0 ? (event.rowsPlanned - event.rowsDone) / rate : 0;
    parts.unshift(`${percent.toFixed(0).padStart(3)}%`);
    parts.push(`${format(event.rowsDone)}/${format(event.rowsPlanned)} rows`);
    parts.push(`${format(Math.round(rate))} rows/s`);
    parts.push(`ETA ${Math.ceil(remaining)} s`);
  } else {
    parts.push(`${format(event.rowsDone)} rows`, `${format(Math.round(rate))} rows/s`);
  }
  return parts.join('  ');
}

function plural(count: number, noun: string): string {
  return `${format(count)} ${noun}${count === 1 ? '' : 's'}`;
}

function format(value: number): string {
  return value.toLocaleString('en-US');
}
