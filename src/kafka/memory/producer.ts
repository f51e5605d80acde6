import type {
  GroupMetadata,
  PartitionOffset,
  Producer,
  TopicRecords,
  Transaction,
  TransactionalOptions,
  TransactionalProducer,
  Written,
} from '../port.js';
import type { CommittedOffset } from './group.js';
import { parseOffset } from './offsets.js';
import type { ClientProcess } from './process.js';
import type { BrokerTxn, ProducerSession } from './transactions.js';
import { applyWrites, describeWrites, planWrites, RoundRobin } from './writes.js';

/** A plain producer: idempotent, outside transactions; what it sends is readable at once. */
export class MemoryProducer implements Producer {
  private connected = false;
  private readonly producerId: number;
  private readonly roundRobin = new RoundRobin();

  constructor(private readonly process: ClientProcess) {
    this.producerId = process.broker.newProducerId();
  }

  connect(): Promise<void> {
    return this.process.call('connect', {}, () => {
      this.connected = true;
    });
  }

  send(records: TopicRecords[]): Promise<Written[]> {
    const broker = this.process.broker;
    return this.process.call('send', { topics: records.map((r) => r.topic) }, () => {
      if (!this.connected) throw new Error('The producer is not connected');
      const writes = planWrites(broker.topics, records, this.roundRobin);
      const written = applyWrites(writes, this.producerId, null, broker.clock.now());
      broker.trace(`${this.process.name} send ${describeWrites(writes, written)}`);
      return written;
    });
  }

  async disconnect(): Promise<void> {
    this.process.check();
    this.connected = false;
    return Promise.resolve();
  }
}

/**
 * A producer owning a transactional id. `init()` takes the id over (fencing earlier owners);
 * `begin()` opens a transaction locally, as kafkajs does: the broker hears of it at its first
 * send or offsets. `disconnect()` leaves an open transaction to the broker's timeout, as
 * kafkajs does.
 */
export class MemoryTransactionalProducer implements TransactionalProducer {
  private session: ProducerSession | undefined;
  private current: MemoryTransaction | undefined;
  readonly roundRobin = new RoundRobin();

  constructor(
    readonly process: ClientProcess,
    private readonly options: TransactionalOptions,
  ) {}

  init(): Promise<void> {
    const { transactionalId, transactionTimeoutMs } = this.options;
    return this.process.call('init', { transactionalId }, () => {
      this.session = this.process.broker.txns.init(transactionalId, transactionTimeoutMs);
      this.current = undefined;
    });
  }

  begin(): Promise<Transaction> {
    const { transactionalId } = this.options;
    return this.process.call('begin', { transactionalId }, () => {
      const session = this.session;
      if (session === undefined) throw new Error(`init() ${transactionalId} before begin()`);
      this.process.broker.txns.check(session);
      if (this.current?.isOpen)
        throw new Error(`A transaction of ${transactionalId} is already open on this producer`);
      return (this.current = new MemoryTransaction(this, session));
    });
  }

  async disconnect(): Promise<void> {
    this.process.check();
    this.session = undefined;
    return Promise.resolve();
  }

  /** Connected by `init()`, not since disconnected. */
  get connected(): boolean {
    return this.session !== undefined;
  }
}

/** One transaction of a {@link MemoryTransactionalProducer}. */
class MemoryTransaction implements Transaction {
  private state: 'open' | 'committed' | 'aborted' = 'open';
  /** The broker's transaction, once a send or offsets began it. */
  private txn: BrokerTxn | null = null;

  constructor(
    private readonly producer: MemoryTransactionalProducer,
    private readonly session: ProducerSession,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  send(records: TopicRecords[]): Promise<Written[]> {
    const { broker, name } = this.producer.process;
    const target = { topics: records.map((r) => r.topic), transactionalId: this.id };
    return this.producer.process.call('send', target, () => {
      this.usable();
      broker.txns.check(this.session);
      const writes = planWrites(broker.topics, records, this.producer.roundRobin);
      if (writes.length === 0) return [];
      this.txn = broker.txns.addPartitions(
        this.session,
        writes.map((w) => w.log),
      );
      const written = applyWrites(writes, this.session.producerId, this.txn, broker.clock.now());
      broker.trace(`${name} txn ${this.id} send ${describeWrites(writes, written)}`);
      return written;
    });
  }

  sendOffsets(group: GroupMetadata, offsets: PartitionOffset[]): Promise<void> {
    const { broker, name } = this.producer.process;
    const target = {
      topics: offsets.map((o) => o.topic),
      groupId: group.groupId,
      transactionalId: this.id,
    };
    return this.producer.process.call('sendOffsets', target, () => {
      this.usable();
      broker.txns.check(this.session);
      if (group.generationId !== undefined)
        broker.groups.checkGeneration(group.groupId, group.memberId ?? '', group.generationId);
      const parsed: CommittedOffset[] = offsets.map(({ topic, partition, offset, metadata }) => {
        broker.topics.require(topic).log(partition);
        return { topic, partition, offset: parseOffset(offset), metadata: metadata ?? null };
      });
      this.txn = broker.txns.addOffsets(this.session, group.groupId, parsed);
      const list = parsed.map((o) => `${o.topic}/${o.partition}=${o.offset}`).join(' ');
      broker.trace(`${name} txn ${this.id} offsets ${group.groupId} ${list}`);
    });
  }

  async commit(): Promise<void> {
    await this.end(true);
    this.state = 'committed';
  }

  async abort(): Promise<void> {
    await this.end(false);
    this.state = 'aborted';
  }

  private get id(): string {
    return this.session.transactionalId;
  }

  /**
   * EndTxn. The local state changes only once the answer came: after a failed end the
   * transaction can be ended again (the broker answers a repeated end that took effect).
   */
  private end(commit: boolean): Promise<void> {
    const op = commit ? 'commit' : 'abort';
    return this.producer.process.call(op, { transactionalId: this.id }, () => {
      this.usable();
      this.producer.process.broker.txns.end(this.session, this.txn, commit);
    });
  }

  private usable(): void {
    if (this.state !== 'open') throw new Error(`The transaction of ${this.id} is ${this.state}`);
    // A producer that called init() again holds a newer epoch: the broker fences this one.
    if (!this.producer.connected) throw new Error(`The producer of ${this.id} is disconnected`);
  }
}
