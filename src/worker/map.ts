import { pathToFileURL } from 'node:url';
import { Table } from 'apache-arrow';
import { BatchscoreError } from '../errors.js';
import type { ReadResult } from '../read/types.js';

/** What a worker passes to a user's `processPartition` besides the table. */
export interface PartitionContext {
  /** Zero-based partition index. */
  partition: number;
  /** Source file, when the partition came from one. */
  file: string | undefined;
  /** One-based source row number of the partition's first row. */
  firstRow: number;
}

/** The shape of a user module run by {@link mapPartitions}. */
export interface PartitionModule {
  setup?: (options: unknown) => unknown;
  processPartition: (table: Table, context: PartitionContext) => Table | Promise<Table>;
}

/** Loads a user worker module once per worker and applies it to partitions. */
export class MapHandler {
  private loading: Promise<PartitionModule> | undefined;

  constructor(
    private readonly modulePath: string,
    private readonly options: unknown,
  ) {}

  /** Imports the module and awaits its `setup`. Runs once; later calls share it. */
  init(): Promise<PartitionModule> {
    return (this.loading ??= this.load());
  }

  private async load(): Promise<PartitionModule> {
    const url = this.modulePath.startsWith('file:')
      ? this.modulePath
      : pathToFileURL(this.modulePath).href;
    let loaded: Partial<PartitionModule>;
    try {
      loaded = (await import(url)) as Partial<PartitionModule>;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new BatchscoreError('ERR_TRANSFORM', `Cannot load the worker module: ${reason}`, {
        file: this.modulePath,
        fix: 'Fix the module so that `node` can import it',
        cause: error,
      });
    }
    if (typeof loaded.processPartition !== 'function') {
      throw new BatchscoreError('ERR_TRANSFORM', 'Worker module does not export processPartition', {
        file: this.modulePath,
        fix: 'Export `processPartition(table, context)` returning an Arrow Table',
      });
    }
    const module = loaded as PartitionModule;
    await module.setup?.(this.options);
    return module;
  }

  /** Applies the user's function to one partition. */
  async process(read: ReadResult, context: PartitionContext): Promise<Table> {
    const module = await this.init();
    const result = await module.processPartition(read.table, context);
    if (!(result instanceof Table)) {
      throw new BatchscoreError('ERR_TRANSFORM', 'processPartition did not return an Arrow Table', {
        file: this.modulePath,
        partition: context.partition,
        fix: 'Return an apache-arrow Table, from the same apache-arrow package as batchscore',
      });
    }
    return result;
  }
}
