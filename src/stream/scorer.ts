/**
 * The stream scorer's engine. One fetch loop reads the assigned partitions and cuts each
 * partition's records into micro-batches (by count and by wait time). A micro-batch is
 * decoded and classified on the main thread, scored on the pool, and then delivered
 * behind the partition's earlier batches, so that results keep their partition's order.
 *
 * The main thread only fetches, decodes and produces. Inference runs on worker threads,
 * so a slow model does not delay the heartbeats that keep the group membership.
 */
import { OutputError } from '../errors.js';
import { AssignedPartitions } from './assignments.js';
import { decodeRecord, type DecodeSettings } from './decode.js';
import { createDelivery, type Delivery } from './delivery.js';
import type { EventTimeSettings } from './event-time.js';
import type { StreamEvent, StreamSummary } from './events.js';
import type {
  FetchedPartition,
  KafkaClient,
  PartitionOffset,
  TopicPartition,
} from './kafka-client.js';
import { MetricsCollector } from './metrics.js';
import type { BatchEntry, PartitionState, SealedBatch } from './partition-state.js';
import { asError, backoffMs, sleep } from './retry.js';
import type { ScoringPool } from './scoring-pool.js';
import { StepBuilder } from './steps.js';

/** Settings of a {@link StreamScorer}, resolved from the options. */
export interface ScorerSettings {
  groupId: string;
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  lateTopic: string | undefined;
  window: { topic: string; sizeMs: number; scoreColumn: string } | null;
  modelVersion: string;
  modelSha256: string;
  delivery: 'at-least-once' | 'exactly-once';
  startFrom: 'earliest' | 'latest';
  maxBatchEvents: number;
  maxBatchWaitMs: number;
  maxBufferedEvents: number;
  fetchMaxWaitMs: number;
  fetchPartitionMaxBytes: number;
  metricsIntervalMs: number;
  shutdownTimeoutMs: number;
  maxRetries: number;
  eventTime: EventTimeSettings;
  decode: DecodeSettings;
}

/** Aborted transactions in a row after which the scorer stops. */
const MAX_CONSECUTIVE_ABORTS = 10;

/** Runs one member of the consumer group until the signal aborts or a fatal error. */
export class StreamScorer {
  private readonly partitions: AssignedPartitions;
  private readonly metrics = new MetricsCollector();
  private readonly delivery: Delivery;
  private readonly steps: StepBuilder;
  private stopping = false;
  private failure: Error | undefined;
  private buffered = 0;
  private wakeUp: (() => void) | undefined;
  private consecutiveAborts = 0;

  constructor(
    private readonly settings: ScorerSettings,
    private readonly client: KafkaClient,
    private readonly pool: ScoringPool,
    private readonly emit: (event: StreamEvent) => void,
  ) {
    this.delivery = createDelivery(settings.delivery, client, {
      counters: this.metrics.counters,
      warn: (message, error) => this.emit({ type: 'warning', message, error }),
      member: () => this.partitions.current(),
    });
    this.steps = new StepBuilder(settings, this.metrics, emit);
    const assignmentSettings = {
      eventTime: settings.eventTime,
      windowSizeMs: settings.window?.sizeMs ?? null,
      startFrom: settings.startFrom,
    };
    this.partitions = new AssignedPartitions(client, assignmentSettings, {
      emit,
      onReady: () => this.wakeUp?.(),
      onDiscard: (records) => this.release(records),
      isStopping: () => this.stopping,
    });
  }

  private countRetry(partition: TopicPartition, attempt: number, error: Error): void {
    this.metrics.counters.retries += 1;
    this.emit({ type: 'retry', partition, attempt, error });
  }

  /** Handles an error the client reports outside any call. */
  handleClientError(error: Error, fatal: boolean): void {
    if (fatal) this.fail(error);
    else this.emit({ type: 'warning', message: `Kafka client error: ${error.message}`, error });
  }

  /**
   * Joins the group and scores until `signal` aborts, then delivers the events it has
   * read and returns the summary. Rejects with the first fatal error.
   */
  async run(signal: AbortSignal | undefined): Promise<StreamSummary> {
    const stop = () => this.requestStop();
    signal?.addEventListener('abort', stop, { once: true });
    const timers = [
      setInterval(() => this.emitMetrics(), this.settings.metricsIntervalMs),
      setInterval(
        () => this.checkIdle(),
        Math.min(1000, this.settings.eventTime.idlePartitionTimeoutMs),
      ),
    ];
    try {
      if (signal?.aborted !== true) {
        await this.client.joinGroup(this.settings.inputTopic, (assignment) => {
          this.metrics.counters.rebalances += 1;
          this.partitions.assign(assignment);
        });
        await this.fetchLoop();
      }
      if (this.failure === undefined) await this.drain();
    } catch (error) {
      this.fail(error);
    } finally {
      signal?.removeEventListener('abort', stop);
      for (const timer of timers) clearInterval(timer);
    }
    if (this.failure !== undefined) {
      for (const state of this.partitions.states.values()) this.partitions.deactivate(state);
      throw this.failure;
    }
    return this.summary();
  }

  private requestStop(): void {
    this.stopping = true;
    this.wakeUp?.();
  }

  private fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.requestStop();
  }

  // ---- Fetching and batching ----

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const ready = [...this.partitions.states.values()].filter(
        (state) => state.active && state.ready,
      );
      if (this.buffered >= this.settings.maxBufferedEvents || ready.length === 0) {
        await this.sleepUntilWoken(100);
        continue;
      }
      const positions = ready.map((state) => ({ ...state.partition, offset: state.position }));
      let fetched: FetchedPartition[];
      try {
        fetched = await this.client.fetch({
          positions,
          maxWaitMs: this.settings.fetchMaxWaitMs,
          partitionMaxBytes: this.settings.fetchPartitionMaxBytes,
        });
        failures = 0;
      } catch (error) {
        failures += 1;
        this.emit({
          type: 'warning',
          message: 'Fetching from the input topic failed; retrying',
          error: asError(error),
        });
        await this.sleepUntilWoken(backoffMs(failures));
        continue;
      }
      for (const part of fetched) this.accept(part, ready, positions);
    }
  }

  private accept(
    part: FetchedPartition,
    requested: PartitionState[],
    positions: PartitionOffset[],
  ): void {
    const index = positions.findIndex(
      (p) => p.topic === part.topic && p.partition === part.partition,
    );
    const state = requested[index];
    // Drop the response if the partition was revoked, reset or moved while it was in flight.
    if (state === undefined || !state.active || state.position !== positions[index]!.offset) return;
    if (part.error === 'offset-out-of-range') {
      void this.restartOutOfRange(state);
      return;
    }
    if (part.endOffset !== null) state.endOffset = part.endOffset;
    if (part.error !== undefined) return;

    state.position = part.nextOffset;
    if (part.records.length === 0) return;
    const wasEmpty = state.pending.length === 0;
    state.pending.push(...part.records);
    this.buffered += part.records.length;
    this.metrics.counters.eventsIn += part.records.length;
    while (state.pending.length >= this.settings.maxBatchEvents) {
      this.seal(state, this.settings.maxBatchEvents);
    }
    if (state.pending.length > 0 && (wasEmpty || state.timer === undefined)) {
      state.timer = setTimeout(() => this.seal(state), this.settings.maxBatchWaitMs);
    }
  }

  /** Moves a partition whose position left the log (retention deleted it) to `startFrom`. */
  private async restartOutOfRange(state: PartitionState): Promise<void> {
    const from = state.position;
    state.ready = false;
    try {
      const offsets = await this.client.listOffsets([state.partition], this.settings.startFrom);
      const offset = offsets.get(state.key);
      if (offset === undefined || !state.active) return;
      state.position = offset;
      this.emit({
        type: 'warning',
        message:
          `Offset ${from} of ${state.key} is out of range; ` +
          `reading from the ${this.settings.startFrom} offset ${offset} instead`,
      });
    } catch (error) {
      this.emit({
        type: 'warning',
        message: `Listing offsets of ${state.key} failed`,
        error: asError(error),
      });
    }
    state.ready = true;
  }

  /** Cuts a micro-batch of up to `count` pending records and starts scoring it. */
  private seal(state: PartitionState, count = state.pending.length): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const records = state.pending.splice(0, count);
    const last = records.at(-1);
    if (last === undefined || !state.active) return;

    const now = Date.now();
    const entries = records.map((record): BatchEntry => {
      const decoded = decodeRecord(record, this.settings.decode);
      if (!decoded.ok) {
        const { name, code, message } = decoded.error;
        return { kind: 'dead', failure: { name, code, message, attempts: 1 } };
      }
      const watermark = state.clock.watermark;
      const late = state.clock.observe(decoded.event.eventTime, now);
      if (late && this.settings.lateTopic !== undefined) {
        return { kind: 'late', eventTime: decoded.event.eventTime, watermark: watermark! };
      }
      return { kind: 'score', event: decoded.event, late };
    });
    const events = entries.flatMap((entry) => (entry.kind === 'score' ? [entry.event] : []));
    const onRetry = (attempt: number, error: Error) =>
      this.countRetry(state.partition, attempt, error);
    const scoring = events.length === 0 ? Promise.resolve([]) : this.pool.score(events, onRetry);
    scoring.catch(() => {}); // Handled when the batch's turn comes.

    const batch: SealedBatch = {
      state,
      records,
      entries,
      // Past trailing transaction markers too, once every fetched record is in a batch.
      nextOffset: state.pending.length === 0 ? state.position : last.offset + 1n,
      closeWindowsBefore: state.clock.closedBefore,
      sealedAt: performance.now(),
      scoring,
    };
    state.chain = state.chain
      .then(() => this.complete(batch))
      .catch((error: unknown) => this.fail(error));
  }

  // ---- Delivery ----

  private async complete(batch: SealedBatch): Promise<void> {
    const { state } = batch;
    try {
      const outcomes = await batch.scoring;
      if (!state.active) {
        this.abandon(batch);
        return;
      }
      const step = this.steps.build(batch, outcomes);
      const offsets = [{ ...state.partition, offset: batch.nextOffset }];
      let delivered: boolean;
      try {
        delivered = await this.delivery.deliver(step.records, offsets, () => state.active);
      } catch (error) {
        await this.deliveryFailed(state, error);
        return;
      }
      if (!delivered) {
        this.abandon(batch);
        return;
      }
      this.consecutiveAborts = 0;
      state.committed = batch.nextOffset;
      this.steps.delivered(batch, step);
    } finally {
      this.release(batch.records.length);
    }
  }

  private abandon(batch: SealedBatch): void {
    this.metrics.counters.batchesAbandoned += 1;
    this.emit({
      type: 'batch-abandoned',
      partition: batch.state.partition,
      events: batch.records.length,
      reason: 'the partition was revoked or reset before delivery',
    });
  }

  /**
   * In exactly-once mode, an aborted transaction wrote nothing, so the partition is read
   * again from its committed offset after a backoff. After {@link MAX_CONSECUTIVE_ABORTS}
   * aborts in a row, or in at-least-once mode where the producer already retried, the
   * scorer stops.
   */
  private async deliveryFailed(state: PartitionState, error: unknown): Promise<void> {
    const retriable = this.settings.delivery === 'exactly-once' && !(error instanceof OutputError);
    if (!retriable || this.consecutiveAborts >= MAX_CONSECUTIVE_ABORTS) throw error;
    this.consecutiveAborts += 1;
    this.emit({ type: 'transaction-aborted', error: asError(error) });
    await sleep(backoffMs(this.consecutiveAborts));
    this.partitions.reset(state);
  }

  /** Advances idle partitions' watermarks and closes the windows they complete. */
  private checkIdle(): void {
    if (this.settings.window === null || this.stopping) return;
    const now = Date.now();
    for (const state of this.partitions.states.values()) {
      if (!state.active || state.pending.length > 0 || !state.clock.advanceIfIdle(now)) continue;
      const before = state.clock.closedBefore;
      if (before === null) continue;
      state.chain = state.chain
        .then(() => this.closeIdleWindows(state, before))
        .catch((error: unknown) => this.fail(error));
    }
  }

  private async closeIdleWindows(state: PartitionState, before: number): Promise<void> {
    if (!state.active) return;
    const step = this.steps.closeWindows(state, before);
    if (step.records.length === 0) return;
    if (await this.delivery.deliver(step.records, [], () => state.active)) {
      this.steps.delivered(null, step);
    }
  }

  /** Seals each partition's pending records and waits, up to the shutdown timeout, for delivery. */
  private async drain(): Promise<void> {
    const states = [...this.partitions.states.values()];
    for (const state of states) this.seal(state);
    const chains = Promise.all(states.map((state) => state.chain));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.settings.shutdownTimeoutMs);
    });
    const timedOut = await Promise.race([chains.then(() => false), timeout]);
    clearTimeout(timer);
    if (timedOut) {
      this.emit({
        type: 'warning',
        message:
          'Stopped before every micro-batch was delivered; ' + 'their offsets stay uncommitted',
      });
      for (const state of states) this.partitions.deactivate(state);
    }
  }

  // ---- Capacity, metrics, summary ----

  private release(count: number): void {
    this.buffered -= count;
    if (this.buffered < this.settings.maxBufferedEvents) this.wakeUp?.();
  }

  /** Sleeps up to `ms`, or until a new assignment, free capacity or a stop wakes the loop. */
  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private emitMetrics(): void {
    this.emit({ type: 'metrics', metrics: this.metrics.snapshot(this.partitions.lags(), true) });
  }

  private summary(): StreamSummary {
    return {
      groupId: this.settings.groupId,
      memberId: this.partitions.memberId,
      modelVersion: this.settings.modelVersion,
      modelSha256: this.settings.modelSha256,
      delivery: this.settings.delivery,
      ...this.metrics.snapshot(this.partitions.lags(), false),
      workers: this.pool.stats(),
    };
  }
}
