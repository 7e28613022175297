/** The mean score of one key over one closed window. */
export interface WindowResult {
  key: Buffer | null;
  /** Window start, inclusive, in milliseconds since the Unix epoch. */
  start: number;
  /** Window end, exclusive. */
  end: number;
  count: number;
  mean: number;
}

interface Accumulator {
  key: Buffer | null;
  sum: number;
  count: number;
}

/**
 * Means of scores per key over tumbling windows of `sizeMs`, aligned to the Unix epoch.
 * One instance holds the open windows of one partition; since a key's events all go to
 * one partition, each key's windows live in one instance.
 */
export class TumblingMeans {
  private readonly windows = new Map<number, Map<string, Accumulator>>();

  constructor(private readonly sizeMs: number) {}

  /** Adds a score to the window of `eventTime`. A NaN or infinite score is skipped. */
  add(key: Buffer | null, eventTime: number, score: number): void {
    if (!Number.isFinite(score)) return;
    const start = Math.floor(eventTime / this.sizeMs) * this.sizeMs;
    let keys = this.windows.get(start);
    if (keys === undefined) {
      keys = new Map();
      this.windows.set(start, keys);
    }
    // latin1 maps each byte to one character, so distinct keys never collide.
    const id = key === null ? 'null' : `key:${key.toString('latin1')}`;
    const accumulator = keys.get(id) ?? { key, sum: 0, count: 0 };
    accumulator.sum += score;
    accumulator.count += 1;
    keys.set(id, accumulator);
  }

  /** Removes and returns the windows that end at or before `time`, oldest first. */
  close(time: number): WindowResult[] {
    const closed: WindowResult[] = [];
    const starts = [...this.windows.keys()].filter((start) => start + this.sizeMs <= time);
    for (const start of starts.sort((a, b) => a - b)) {
      for (const { key, sum, count } of this.windows.get(start)!.values()) {
        closed.push({ key, start, end: start + this.sizeMs, count, mean: sum / count });
      }
      this.windows.delete(start);
    }
    return closed;
  }

  /** Number of open windows, over all keys. */
  get openWindows(): number {
    let open = 0;
    for (const keys of this.windows.values()) open += keys.size;
    return open;
  }
}
