/**
 * The partitions that the group assigned to this member, and where each is read from.
 */
import type { EventTimeSettings } from './event-time.js';
import type { PartitionLag, StreamEvent } from './events.js';
import {
  partitionKey,
  type GroupAssignment,
  type GroupMember,
  type KafkaClient,
  type TopicPartition,
} from './kafka-client.js';
import { PartitionState } from './partition-state.js';
import { asError, backoffMs, sleep } from './retry.js';

/** Settings of {@link AssignedPartitions}. */
export interface AssignmentSettings {
  eventTime: EventTimeSettings;
  /** Window length of each partition's windows, or null without windows. */
  windowSizeMs: number | null;
  startFrom: 'earliest' | 'latest';
}

/** Callbacks through which {@link AssignedPartitions} reports to the scorer. */
export interface AssignmentHooks {
  emit: (event: StreamEvent) => void;
  /** Partitions became ready to fetch. */
  onReady: () => void;
  /** Pending records of dropped partitions were discarded. */
  onDiscard: (records: number) => void;
  isStopping: () => boolean;
}

/** The states of the partitions this member holds, keyed by `topic:partition`. */
export class AssignedPartitions {
  readonly states = new Map<string, PartitionState>();
  private generation = -1;
  private member: string | null = null;

  constructor(
    private readonly client: KafkaClient,
    private readonly settings: AssignmentSettings,
    private readonly hooks: AssignmentHooks,
  ) {}

  /** Member id in the latest generation, or null before the first assignment. */
  get memberId(): string | null {
    return this.member;
  }

  /** This member in the latest generation, or null before the first assignment. */
  current(): GroupMember | null {
    return this.member === null ? null : { generation: this.generation, memberId: this.member };
  }

  /**
   * Applies a new generation's assignment. A partition that this member keeps from the
   * generation just before, under the same member id, keeps its state and in-flight
   * work, because no other member can have read it in between. Every other partition
   * starts over from its committed offset, behind the old state's work still running.
   */
  assign(assignment: GroupAssignment): void {
    const continues =
      assignment.memberId === this.member && assignment.generation === this.generation + 1;
    this.generation = assignment.generation;
    this.member = assignment.memberId;

    const next = new Set(assignment.partitions.map(partitionKey));
    const revoked: TopicPartition[] = [];
    const chains = new Map<string, Promise<void>>();
    for (const [key, state] of this.states) {
      if (continues && next.has(key)) continue;
      this.deactivate(state);
      this.states.delete(key);
      chains.set(key, state.chain);
      if (!next.has(key)) revoked.push(state.partition);
    }
    const added = assignment.partitions.filter(
      (partition) => !this.states.has(partitionKey(partition)),
    );
    this.hooks.emit({
      type: 'assignment',
      generation: assignment.generation,
      memberId: assignment.memberId,
      partitions: assignment.partitions,
      revoked,
    });
    this.start(added, chains);
  }

  /** Replaces a partition's state after a failed transaction, to read from its committed offset. */
  reset(state: PartitionState): void {
    if (!state.active || this.states.get(state.key) !== state) return;
    this.deactivate(state);
    this.states.delete(state.key);
    this.start([state.partition], new Map([[state.key, state.chain]]));
  }

  /** Drops a state's pending records; its sealed batches see `active` false and drop theirs. */
  deactivate(state: PartitionState): void {
    state.active = false;
    clearTimeout(state.timer);
    this.hooks.onDiscard(state.pending.length);
    state.pending = [];
  }

  /** Returns the progress of each held partition, in topic and partition order. */
  lags(): PartitionLag[] {
    return [...this.states.values()]
      .map((state) => state.lag())
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  private start(partitions: TopicPartition[], chains: Map<string, Promise<void>>): void {
    const { eventTime, windowSizeMs } = this.settings;
    const states = partitions.map((partition) => {
      const chain = chains.get(partitionKey(partition)) ?? Promise.resolve();
      const state = new PartitionState(partition, eventTime, windowSizeMs, chain);
      this.states.set(state.key, state);
      return state;
    });
    if (states.length > 0) void this.findPositions(states);
  }

  /** Sets each state's position to its committed offset, or to `startFrom` without one. */
  private async findPositions(states: PartitionState[]): Promise<void> {
    for (let attempt = 1; !this.hooks.isStopping(); attempt++) {
      const waiting = states.filter((state) => state.active);
      if (waiting.length === 0) return;
      try {
        const partitions = waiting.map((state) => state.partition);
        const committed = await this.client.committedOffsets(partitions);
        const missing = partitions.filter(
          (partition) => committed.get(partitionKey(partition)) == null,
        );
        const start =
          missing.length === 0
            ? new Map<string, bigint>()
            : await this.client.listOffsets(missing, this.settings.startFrom);
        for (const state of waiting) {
          const offset = committed.get(state.key) ?? start.get(state.key);
          if (offset === undefined || !state.active) continue;
          state.committed = committed.get(state.key) ?? null;
          state.position = offset;
          state.ready = true;
        }
        this.hooks.onReady();
        return;
      } catch (error) {
        this.hooks.emit({
          type: 'warning',
          message: 'Reading committed offsets failed; retrying',
          error: asError(error),
        });
        await sleep(backoffMs(attempt));
      }
    }
  }
}
