import type { LatencySummary } from './events.js';

/** Ratio of a bucket's upper bound to its lower bound. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Values at or below this many milliseconds share the first bucket. */
const FLOOR_MS = 0.01;

/**
 * Counts latencies in buckets 2 % wide, so that memory stays bounded however many values
 * are recorded. A percentile is the upper bound of its bucket, at most 2 % above the
 * exact value.
 */
export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private total = 0;
  private maximum = 0;

  /** Records a latency in milliseconds. Negative values, from clock offsets, count as 0. */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const value = Math.max(ms, 0);
    const index = value <= FLOOR_MS ? 0 : Math.ceil(Math.log(value / FLOOR_MS) / LOG_GROWTH);
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.total += 1;
    this.maximum = Math.max(this.maximum, value);
  }

  /** Returns the value below which `fraction` (0 to 1) of the values fall, or null. */
  percentile(fraction: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(index)!;
      if (seen >= rank) return Math.min(this.upperBound(index), this.maximum);
    }
    return this.maximum;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: round(this.percentile(0.5)),
      p90: round(this.percentile(0.9)),
      p99: round(this.percentile(0.99)),
      max: this.total === 0 ? null : round(this.maximum),
    };
  }

  private upperBound(index: number): number {
    return FLOOR_MS * GROWTH ** index;
  }
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 100) / 100;
}
