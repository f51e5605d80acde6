import type { Clock } from '../../domain/clock.js';
import type {
  Admin,
  ConsumerOptions,
  GroupConsumer,
  Kafka,
  PartitionOffset,
  PartitionRange,
  Producer,
  RangeHandler,
  TransactionalOptions,
  TransactionalProducer,
} from '../port.js';
import { readRangesInGroup } from '../group-ranges.js';
import { MemoryAdmin } from './admin.js';
import { Broker } from './broker.js';
import { MemoryConsumer } from './consumer.js';
import type { FaultSpec } from './faults.js';
import {
  groupView,
  openTransactions,
  readTopic,
  watermarks,
  type ClusterRecord,
  type GroupView,
  type OpenTransaction,
  type ReadOptions,
  type Watermarks,
} from './inspect.js';
import { toPartitionOffsets } from './offsets.js';
import { ClientProcess } from './process.js';
import { MemoryProducer, MemoryTransactionalProducer } from './producer.js';

/** Options of a {@link MemoryCluster}. */
export interface MemoryClusterOptions {
  /** Every wait, timeout and timestamp goes through it: a `VirtualClock` in tests. */
  clock: Clock;
  /** The most offsets one fetch of a partition covers. Default 1,000. */
  maxBatchRecords?: number;
  /** How long a consumer's fetch waits for data. Default 500, Sluice's `FETCH_WAIT_MS`. */
  fetchMaxWaitMs?: number;
  /** How long a consumer waits before fetching again after an error. Default 200. */
  retryBackoffMs?: number;
  /** Virtual time each request takes before it reaches the cluster. Default 0 (none). */
  requestLatencyMs?: number;
  /** Keep a trace of operations in {@link MemoryCluster.trace}. Default false. */
  trace?: boolean;
}

/** How {@link MemoryKafka}s get their process: kept out of the cluster's public API. */
const spawners = new WeakMap<MemoryCluster, (name: string) => ClientProcess>();

/**
 * An in-memory Kafka cluster of one broker, deterministic on an injected clock: topics,
 * read_committed fetches below the last stable offset, transactions fenced by transactional
 * id, consumer groups with generations and session timeouts. Every simulated process gets its
 * own client ({@link MemoryCluster.client}); the cluster's other methods are for tests and the
 * simulation: crash or stall a process, inject failures, compact, delete records, and look at
 * what the cluster holds.
 *
 * @example
 *   const clock = new VirtualClock();
 *   const cluster = new MemoryCluster({ clock });
 *   cluster.createTopic('in', 4);
 *   const a = cluster.client('worker-a');
 *   const b = cluster.client('worker-b');
 *   // ... start a consumer of group 'g' on each, produce, then:
 *   await clock.advance(1_000);
 *   cluster.crash('worker-a'); // b gets a's partitions once a's session times out
 *   await clock.advance(30_000);
 */
export class MemoryCluster {
  /** The clock every client of the cluster runs on. */
  readonly clock: Clock;
  private readonly broker: Broker;
  private readonly processes = new Map<string, ClientProcess[]>();

  constructor(options: MemoryClusterOptions) {
    this.clock = options.clock;
    this.broker = new Broker(options.clock, {
      maxBatchRecords: options.maxBatchRecords ?? 1_000,
      fetchMaxWaitMs: options.fetchMaxWaitMs ?? 500,
      retryBackoffMs: options.retryBackoffMs ?? 200,
      requestLatencyMs: options.requestLatencyMs ?? 0,
      trace: options.trace ?? false,
    });
    spawners.set(this, (name) => {
      const process = new ClientProcess(name, this.broker);
      const list = this.processes.get(name) ?? [];
      list.push(process);
      this.processes.set(name, list);
      return process;
    });
  }

  /**
   * A client for one simulated process. Several clients may share a name (a process that
   * restarted gets a new client); `crash(name)` crashes all live ones.
   */
  client(name = 'client'): MemoryKafka {
    return new MemoryKafka({ cluster: this, name });
  }

  /** Creates a topic now (false if it exists: it is left as it is). */
  createTopic(topic: string, partitions: number, config?: Record<string, string>): boolean {
    return this.broker.topics.create(topic, partitions, config);
  }

  /** Crashes every live client of that name (see {@link ClientProcess}); how many. */
  crash(name: string): number {
    const live = (this.processes.get(name) ?? []).filter((p) => !p.crashed);
    for (const p of live) p.crash();
    return live.length;
  }

  /** Stalls every live client of that name: its calls wait until {@link resume}. */
  stall(name: string): void {
    for (const p of this.processes.get(name) ?? []) p.pause();
  }

  /** Ends the stall of every client of that name: their held calls go on. */
  resume(name: string): void {
    for (const p of this.processes.get(name) ?? []) p.resume();
  }

  /** Arms a failure for the next matching call(s); see {@link FaultSpec}. */
  failNext(fault: FaultSpec): void {
    this.broker.faults.add(fault);
  }

  /** Faults armed and not yet used. */
  get pendingFaults(): number {
    return this.broker.faults.pending;
  }

  /** Disarms every fault not yet used. */
  clearFaults(): void {
    this.broker.faults.clear();
  }

  /**
   * Runs the log cleaner on a compacted topic (see `PartitionLog.compact`): below the last
   * stable offset, only the latest record of each key stays. How many records went.
   */
  compact(topic: string, options: { removeTombstones?: boolean } = {}): number {
    const t = this.broker.topics.require(topic);
    if (!t.compacted) throw new Error(`Topic ${topic} is not compacted`);
    const removed = t.logs.reduce(
      (n, log) => n + log.compact(options.removeTombstones ?? false),
      0,
    );
    this.broker.trace(`compacted ${topic}: ${removed} removed`);
    return removed;
  }

  /**
   * Deletes the records of a partition below `offset`, as an operator's `deleteRecords` (or
   * retention) does: the log start moves there, and a consumer whose position or committed
   * offset lies below it starts from the new log start. How many records (and markers) went.
   */
  deleteRecords(topic: string, partition: number, offset: number): number {
    const removed = this.broker.topics.require(topic).log(partition).deleteBefore(offset);
    this.broker.trace(`deleted ${topic}/${partition} below ${offset}: ${removed} removed`);
    return removed;
  }

  /** The records of a topic; see {@link ReadOptions}. */
  read(topic: string, options?: ReadOptions): ClusterRecord[] {
    return readTopic(this.broker, topic, options);
  }

  /** A group's committed offsets, by topic and partition ([] for an unknown group). */
  committed(groupId: string): PartitionOffset[] {
    return toPartitionOffsets(this.broker.groups.get(groupId)?.committed.values() ?? []);
  }

  /** The offsets of each partition of a topic. */
  watermarks(topic: string): Watermarks[] {
    return watermarks(this.broker, topic);
  }

  /** A group's generation, members and offsets; undefined if the group is unknown. */
  group(groupId: string): GroupView | undefined {
    return groupView(this.broker, groupId);
  }

  /** Transactions open on the broker now. */
  openTransactions(): OpenTransaction[] {
    return openTransactions(this.broker);
  }

  /** Lines `<ms since start> <what>`, when created with `trace: true`. */
  get trace(): readonly string[] {
    return this.broker.traceLines;
  }

  /** How many operations the cluster has done (traced or not). */
  get operations(): number {
    return this.broker.operations;
  }
}

/** Options of a {@link MemoryKafka}: a cluster to join, or options for a cluster of its own. */
export type MemoryKafkaOptions = ({ cluster: MemoryCluster } | MemoryClusterOptions) & {
  /** The process's name, for traces, member ids and faults. Default 'client'. */
  name?: string;
};

/**
 * The port on the in-memory cluster, for one simulated process.
 *
 * @example
 *   const kafka = new MemoryKafka({ clock: new VirtualClock() }); // a cluster of its own
 *   const other = kafka.cluster.client('worker-b'); // another process on the same cluster
 */
export class MemoryKafka implements Kafka {
  /** The cluster this client belongs to (its own when made from a clock). */
  readonly cluster: MemoryCluster;
  /** The process's name. */
  readonly name: string;
  private readonly process: ClientProcess;

  constructor(options: MemoryKafkaOptions) {
    this.cluster = 'cluster' in options ? options.cluster : new MemoryCluster(options);
    this.name = options.name ?? 'client';
    const spawn = spawners.get(this.cluster);
    if (spawn === undefined) throw new Error('Not a MemoryCluster');
    this.process = spawn(this.name);
  }

  admin(): Admin {
    return new MemoryAdmin(this.process);
  }

  producer(): Producer {
    return new MemoryProducer(this.process);
  }

  transactionalProducer(options: TransactionalOptions): TransactionalProducer {
    return new MemoryTransactionalProducer(this.process, options);
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    return new MemoryConsumer(this.process, options);
  }

  /** Through a throwaway group: joining one costs nothing here. */
  readRanges(ranges: PartitionRange[], onRecords: RangeHandler): Promise<void> {
    return readRangesInGroup(this, ranges, onRecords);
  }

  /** This process dies (see `ClientProcess`): this client only, not others of its name. */
  crash(): void {
    this.process.crash();
  }

  /** Whether this process crashed. */
  get crashed(): boolean {
    return this.process.crashed;
  }

  /** This process stalls: its calls wait, its consumers stop heartbeating, until resumed. */
  stall(): void {
    this.process.pause();
  }

  /** Ends this process's stall. */
  resume(): void {
    this.process.resume();
  }
}
