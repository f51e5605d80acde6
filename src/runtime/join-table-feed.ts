import { randomUUID } from 'node:crypto';
import { READ_GROUP_PREFIX } from '../domain/resources.js';
import type { Admin, ConsumedRecord, GroupConsumer, Kafka } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';
import { isThenable } from '../pipeline/stages.js';
import type { Deserializer } from './serde.js';
import { TableIndex, type TableUpdate } from './join-table-index.js';

export type { TableUpdate } from './join-table-index.js';

/**
 * One table topic, read whole and followed on this worker, read_committed, for the tasks of the
 * hop that joins it. It keeps each key's latest version and, per partition, the order in which
 * versions arrived, so a task whose copy stands at some offsets takes only the versions after
 * them (`since`), not the whole table. Tasks restore their copies from their own changelog, not
 * from here: the feed only moves them forward.
 *
 * A consumer of a throwaway group (every partition, from the beginning): a group consumer is the
 * only reader the Kafka port has. The group commits nothing, so the broker forgets it.
 */
export class TableFeed {
  private readonly index = new TableIndex();
  /** Per partition, the next offset the feed has not read. */
  private readonly position = new Map<number, bigint>();
  private waiters: { target: Map<number, bigint>; resolve: () => void }[] = [];
  private consumer: GroupConsumer | undefined;
  private admin: Admin | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly deserializer: Deserializer,
    private readonly log: Logger,
  ) {}

  /** The table topic's partitions, once started. */
  get partitions(): number[] {
    return [...this.position.keys()];
  }

  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    for (const o of await this.admin.offsets(this.topic)) this.position.set(o.partition, o.low);
    const consumer = this.kafka.consumer({ groupId: `${READ_GROUP_PREFIX}-table-${randomUUID()}` });
    this.consumer = consumer;
    await consumer.start({
      topics: [this.topic],
      autoCommit: false,
      onCrash: (err, restarting) => {
        if (restarting) return;
        this.failure = err;
        for (const w of this.waiters) w.resolve();
        this.waiters = [];
        this.log.error({ err, table: this.topic }, 'the table reader stopped');
      },
      onBatchEnd: ({ partition, lastOffset }) => this.reached(partition, BigInt(lastOffset) + 1n),
      eachBatch: async ({ partition, records, lastOffset }, control) => {
        for (const r of records) await this.take(partition, r);
        control.resolveOffset(lastOffset);
      },
    });
  }

  /**
   * Resolves once the feed has read every table record committed before the call: the end
   * offsets are asked now, so a stream record fetched before this call sees every table update
   * committed before it was written. An open transaction on the table holds this up until it
   * ends (read_committed stops at it), as it does every reader.
   */
  async caughtUp(): Promise<void> {
    this.check();
    const target = new Map<number, bigint>();
    for (const o of await (this.admin as Admin).offsets(this.topic)) {
      target.set(o.partition, o.high);
      if (!this.position.has(o.partition)) this.position.set(o.partition, o.low);
    }
    if (this.reachedAll(target)) return;
    await new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    this.check();
  }

  /** A reader that stopped for good fails every catch-up: the table would stand still. */
  private check(): void {
    if (this.failure) throw this.failure;
  }

  /** The latest version of every key updated since `from` (see TableIndex), and where they bring a copy. */
  since(from: ReadonlyMap<number, bigint>): { updates: TableUpdate[]; to: Map<number, bigint> } {
    return { updates: this.index.since(from), to: new Map(this.position) };
  }

  async stop(): Promise<void> {
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    await this.consumer?.stop().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async take(partition: number, r: ConsumedRecord): Promise<void> {
    if (r.key === null) {
      // A table entry is found by its key: a record without one can never be a partner.
      this.log.warn(
        { table: this.topic, partition, offset: r.offset },
        'table record without a key ignored',
      );
      return;
    }
    const key = r.key.toString('utf8');
    const u: TableUpdate = {
      key,
      value: undefined,
      topic: this.topic,
      partition,
      offset: BigInt(r.offset),
    };
    try {
      const v = r.value === null ? undefined : this.deserializer.read(r.value);
      u.value = isThenable(v) ? await v : v;
    } catch (err) {
      u.unreadable = err instanceof Error ? err.message : String(err);
    }
    this.index.add(u);
  }

  private reached(partition: number, next: bigint): void {
    if (next > (this.position.get(partition) ?? 0n)) this.position.set(partition, next);
    this.waiters = this.waiters.filter((w) => {
      if (!this.reachedAll(w.target)) return true;
      w.resolve();
      return false;
    });
  }

  private reachedAll(target: ReadonlyMap<number, bigint>): boolean {
    for (const [p, high] of target) if ((this.position.get(p) ?? 0n) < high) return false;
    return true;
  }
}
