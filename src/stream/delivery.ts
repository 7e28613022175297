/**
 * The two delivery guarantees: how a micro-batch's records and offsets reach Kafka.
 */
import type { GroupMember, KafkaClient, PartitionOffset, ProducedRecord } from './kafka-client.js';
import type { StreamCounters } from './metrics.js';
import { asError } from './retry.js';

/** Tries of an at-least-once send, each after the producer's own retries. */
const SEND_ATTEMPTS = 5;
/** Delay before the second send, in milliseconds; each later one doubles it. */
const SEND_RETRY_DELAY_MS = 500;

/** Reports a recoverable delivery problem. */
export type DeliveryWarning = (message: string, error: Error) => void;

/** Writes the records of a step and commits the offsets of the events they cover. */
export interface Delivery {
  /**
   * Writes `records` and commits `offsets`. `stillOwned` returns whether this member still
   * has the partition. Resolves to true once the records are acknowledged, and to false
   * when nothing was written because the partition was lost first.
   */
  deliver(
    records: readonly ProducedRecord[],
    offsets: readonly PartitionOffset[],
    stillOwned: () => boolean,
  ): Promise<boolean>;
}

/** Dependencies of a delivery besides the client. */
export interface DeliveryContext {
  counters: StreamCounters;
  warn: DeliveryWarning;
  /** This member in the current generation, or null before it joined. */
  member: () => GroupMember | null;
}

/** Creates the delivery of a guarantee. */
export function createDelivery(
  guarantee: 'at-least-once' | 'exactly-once',
  client: KafkaClient,
  context: DeliveryContext,
): Delivery {
  return guarantee === 'exactly-once'
    ? new TransactionalDelivery(client, context)
    : new AtLeastOnceDelivery(client, context.warn);
}

/**
 * Produces, waits for every acknowledgement, then commits. A crash between the two
 * leaves results whose offsets are not committed, so their events are scored again.
 *
 * A send that still fails after {@link SEND_ATTEMPTS} tries rejects, which stops the
 * scorer without committing. A failed commit only warns: the results are written, and
 * the events are scored again by the member that reads the partition next.
 */
class AtLeastOnceDelivery implements Delivery {
  constructor(
    private readonly client: KafkaClient,
    private readonly warn: DeliveryWarning,
  ) {}

  async deliver(
    records: readonly ProducedRecord[],
    offsets: readonly PartitionOffset[],
    stillOwned: () => boolean,
  ): Promise<boolean> {
    await this.send(records);
    if (offsets.length === 0 || !stillOwned()) return true;
    try {
      await this.client.commit(offsets);
    } catch (error) {
      this.warn('Committing offsets failed; their events will be scored again', asError(error));
    }
    return true;
  }

  private async send(records: readonly ProducedRecord[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(records);
        return;
      } catch (error) {
        if (attempt >= SEND_ATTEMPTS) throw error;
        this.warn(`Producing results failed (try ${attempt} of ${SEND_ATTEMPTS})`, asError(error));
        await new Promise((resolve) =>
          setTimeout(resolve, SEND_RETRY_DELAY_MS * 2 ** (attempt - 1)),
        );
      }
    }
  }
}

interface Pending {
  records: readonly ProducedRecord[];
  offsets: readonly PartitionOffset[];
  stillOwned: () => boolean;
  resolve: (delivered: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes records and offsets in transactions. Steps that become ready while a transaction
 * is open wait and share the next one, since a producer has one open transaction at a
 * time. Each partition has at most one step in a transaction, because a partition's
 * next step waits for the previous one.
 *
 * Just before a transaction, steps of partitions this member lost are dropped, and the
 * current generation is taken for the offset commit. The library rejoins the group on
 * its own, so a rebalance can end while the transaction is open. The broker then rejects
 * the offsets of the old generation and the transaction aborts. Without this, it could
 * commit offsets of a partition that another member already reads.
 */
class TransactionalDelivery implements Delivery {
  private queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly context: DeliveryContext,
  ) {}

  deliver(
    records: readonly ProducedRecord[],
    offsets: readonly PartitionOffset[],
    stillOwned: () => boolean,
  ): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ records, offsets, stillOwned, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const queued = this.queue;
      this.queue = [];
      const member = this.context.member();
      const steps: Pending[] = [];
      for (const step of queued) {
        if (member !== null && step.stillOwned()) steps.push(step);
        else step.resolve(false);
      }
      if (member === null || steps.length === 0) continue;
      try {
        await this.client.sendInTransaction(
          steps.flatMap((step) => step.records),
          steps.flatMap((step) => step.offsets),
          member,
        );
        this.context.counters.transactionsCommitted += 1;
        for (const step of steps) step.resolve(true);
      } catch (error) {
        this.context.counters.transactionsAborted += 1;
        for (const step of steps) step.reject(error);
      }
    }
    this.running = false;
  }
}
