import type { AclBinding } from '../../domain/acl.js';
import type { Clock } from '../../domain/clock.js';
import { Faults } from './faults.js';
import { GroupCoordinator } from './groups.js';
import { Topics } from './topics.js';
import { TransactionCoordinator } from './transactions.js';

/** How the in-memory cluster behaves where Kafka leaves a choice to settings. */
export interface BrokerConfig {
  /** The most offsets one fetch of a partition covers (records, markers, aborted records). */
  maxBatchRecords: number;
  /** How long a consumer's fetch waits when there is nothing to read. */
  fetchMaxWaitMs: number;
  /** How long a consumer waits before fetching again after an error. */
  retryBackoffMs: number;
  /** Virtual time each request takes before it reaches the cluster (0: none, synchronous). */
  requestLatencyMs: number;
  /** Whether to keep a trace of operations (`MemoryCluster.trace`). */
  trace: boolean;
}

/**
 * The cluster's state and coordinators, shared by every client of one `MemoryCluster`: one
 * broker that hosts every partition and coordinates every group and transaction.
 */
export class Broker {
  readonly topics = new Topics();
  readonly groups: GroupCoordinator;
  readonly txns: TransactionCoordinator;
  readonly faults = new Faults();
  /** ACL bindings created, by identity: kept, never enforced (see MemoryAdmin.createAcls). */
  readonly acls = new Map<string, AclBinding>();
  readonly traceLines: string[] = [];
  /** Operations done, traced or not: a cheap progress measure for a simulation. */
  operations = 0;
  private producerIds = 0;
  private readonly epoch: number;

  constructor(
    readonly clock: Clock,
    readonly config: BrokerConfig,
  ) {
    this.epoch = clock.now();
    const trace = (line: string): void => this.trace(line);
    this.groups = new GroupCoordinator(clock, (t) => this.topics.get(t)?.logs.length, trace);
    this.txns = new TransactionCoordinator(clock, this.groups, () => this.newProducerId(), trace);
  }

  /** A new producer id: transactional ids keep theirs, plain producers get one each. */
  newProducerId(): number {
    return ++this.producerIds;
  }

  /** Counts an operation and, when tracing, notes it with the virtual time since the start. */
  trace(line: string): void {
    this.operations++;
    if (this.config.trace) this.traceLines.push(`${this.clock.now() - this.epoch} ${line}`);
  }
}
