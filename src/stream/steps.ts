/**
 * Turns a scored micro-batch into the records of one delivery step, and reports the
 * step once it is delivered. Window state changes here, in the partition's order.
 */
import type { EventOrigin, StreamEvent } from './events.js';
import type { ConsumedRecord, ProducedRecord } from './kafka-client.js';
import type { MetricsCollector } from './metrics.js';
import type { PartitionState, SealedBatch } from './partition-state.js';
import {
  deadLetterRecord,
  lateRecord,
  resultRecord,
  windowRecord,
  type EventFailure,
} from './records.js';
import type { ScorerSettings } from './scorer.js';
import type { EventOutcome } from './scoring-pool.js';
import type { WindowResult } from './window.js';

/** The records of one delivery step and what to report once they are delivered. */
export interface Step {
  records: ProducedRecord[];
  /** Event times of the scored events, for the end-to-end latency. */
  scoredEventTimes: number[];
  deadLetters: { origin: EventOrigin; failure: EventFailure }[];
  late: { origin: EventOrigin; eventTime: number; watermark: number }[];
  windows: WindowResult[];
}

/** Builds and reports the steps of one scorer. */
export class StepBuilder {
  constructor(
    private readonly settings: ScorerSettings,
    private readonly metrics: MetricsCollector,
    private readonly emit: (event: StreamEvent) => void,
  ) {}

  /** Builds the step of a micro-batch whose scoring finished with `outcomes`. */
  build(batch: SealedBatch, outcomes: EventOutcome[]): Step {
    const step = emptyStep();
    const { settings } = this;
    let next = 0;
    batch.entries.forEach((entry, index) => {
      const source = batch.records[index]!;
      if (entry.kind === 'dead') {
        this.deadLetter(step, source, entry.failure);
      } else if (entry.kind === 'late') {
        step.records.push(
          lateRecord(settings.lateTopic!, source, entry.eventTime, entry.watermark),
        );
        step.late.push({
          origin: originOf(source),
          eventTime: entry.eventTime,
          watermark: entry.watermark,
        });
      } else {
        const outcome = outcomes[next++]!;
        if (!outcome.ok) {
          this.deadLetter(step, source, outcome.failure);
          return;
        }
        const labels = { modelVersion: settings.modelVersion, scoredAt: outcome.scoredAt };
        step.records.push(
          resultRecord(settings.outputTopic, source, entry.event, outcome.prediction, labels),
        );
        step.scoredEventTimes.push(source.timestamp);
        if (entry.late) {
          // Scored, since no late topic is set, but too late for its window.
          const watermark = batch.state.clock.watermark ?? entry.event.eventTime;
          step.late.push({ origin: originOf(source), eventTime: entry.event.eventTime, watermark });
        } else if (settings.window !== null) {
          const score = outcome.prediction[settings.window.scoreColumn];
          batch.state.windows?.add(source.key, entry.event.eventTime, Number(score));
        }
      }
    });
    if (batch.closeWindowsBefore !== null) {
      this.addWindows(step, batch.state, batch.closeWindowsBefore);
    }
    return step;
  }

  /** Builds a step with the windows of `state` that end at or before `before`. */
  closeWindows(state: PartitionState, before: number): Step {
    const step = emptyStep();
    this.addWindows(step, state, before);
    return step;
  }

  /** Updates the metrics and emits the events of a delivered step. */
  delivered(batch: SealedBatch | null, step: Step): void {
    const counters = this.metrics.counters;
    const now = Date.now();
    counters.eventsScored += step.scoredEventTimes.length;
    counters.deadLettered += step.deadLetters.length;
    counters.late += step.late.length;
    counters.windowsEmitted += step.windows.length;
    for (const time of step.scoredEventTimes) this.metrics.endToEndLatency.record(now - time);
    if (batch !== null) {
      counters.batches += 1;
      const latencyMs = performance.now() - batch.sealedAt;
      this.metrics.batchLatency.record(latencyMs);
      this.emit({
        type: 'batch',
        partition: batch.state.partition,
        firstOffset: batch.records[0]!.offset,
        nextOffset: batch.nextOffset,
        scored: step.scoredEventTimes.length,
        deadLettered: step.deadLetters.length,
        late: step.late.length,
        latencyMs,
      });
    }
    for (const { origin, failure } of step.deadLetters) {
      this.emit({
        type: 'dead-letter',
        origin,
        code: failure.code,
        message: failure.message,
        attempts: failure.attempts,
      });
    }
    for (const late of step.late) this.emit({ type: 'late', ...late });
    for (const window of step.windows) {
      const key = window.key === null ? null : window.key.toString('utf8');
      this.emit({
        type: 'window',
        key,
        start: window.start,
        end: window.end,
        count: window.count,
        mean: window.mean,
      });
    }
  }

  private deadLetter(step: Step, source: ConsumedRecord, failure: EventFailure): void {
    const { deadLetterTopic, modelVersion } = this.settings;
    step.records.push(deadLetterRecord(deadLetterTopic, source, failure, modelVersion));
    step.deadLetters.push({ origin: originOf(source), failure });
  }

  private addWindows(step: Step, state: PartitionState, before: number): void {
    const window = this.settings.window;
    if (window === null || state.windows === null) return;
    for (const closed of state.windows.close(before)) {
      step.records.push(
        windowRecord(window.topic, closed, window.scoreColumn, this.settings.modelVersion),
      );
      step.windows.push(closed);
    }
  }
}

function emptyStep(): Step {
  return { records: [], scoredEventTimes: [], deadLetters: [], late: [], windows: [] };
}

function originOf(record: ConsumedRecord): EventOrigin {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
  };
}
