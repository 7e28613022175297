import type { PartitionLag, StreamMetrics } from './events.js';
import { LatencyHistogram } from './histogram.js';

/** Counters of a running scorer; each is a total since the start. */
export interface StreamCounters {
  eventsIn: number;
  eventsScored: number;
  deadLettered: number;
  late: number;
  windowsEmitted: number;
  batches: number;
  batchesAbandoned: number;
  retries: number;
  rebalances: number;
  transactionsCommitted: number;
  transactionsAborted: number;
}

/** Collects counters and latencies, and turns them into {@link StreamMetrics}. */
export class MetricsCollector {
  readonly counters: StreamCounters = {
    eventsIn: 0,
    eventsScored: 0,
    deadLettered: 0,
    late: 0,
    windowsEmitted: 0,
    batches: 0,
    batchesAbandoned: 0,
    retries: 0,
    rebalances: 0,
    transactionsCommitted: 0,
    transactionsAborted: 0,
  };
  readonly batchLatency = new LatencyHistogram();
  readonly endToEndLatency = new LatencyHistogram();
  private readonly started = performance.now();
  private intervalStarted = this.started;
  private intervalScored = 0;

  /**
   * Returns the metrics now. With `startInterval`, the next call's `eventsPerSecond`
   * counts from this call on.
   */
  snapshot(partitions: PartitionLag[], startInterval: boolean): StreamMetrics {
    const now = performance.now();
    const elapsedMs = now - this.started;
    const intervalMs = now - this.intervalStarted;
    const scoredInInterval = this.counters.eventsScored - this.intervalScored;
    if (startInterval) {
      this.intervalStarted = now;
      this.intervalScored = this.counters.eventsScored;
    }
    return {
      elapsedMs: Math.round(elapsedMs),
      ...this.counters,
      eventsPerSecond: rate(scoredInInterval, intervalMs),
      eventsPerSecondOverall: rate(this.counters.eventsScored, elapsedMs),
      batchLatencyMs: this.batchLatency.summary(),
      endToEndLatencyMs: this.endToEndLatency.summary(),
      partitions,
    };
  }
}

function rate(count: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((count / ms) * 1000 * 10) / 10;
}
