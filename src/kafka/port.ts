/**
 * The Kafka port: what Sluice needs from a Kafka client, in Sluice's own terms. The runtime, the
 * coordinator and the client see these interfaces only. Two implementations stand behind them:
 * the kafkajs adapter (`kafka/kafkajs/`, the only code that imports kafkajs) and the in-memory
 * Kafka (`kafka/memory/`) that unit tests and the seeded simulation drive.
 *
 * What an implementation must keep, because the runtime relies on it:
 * - groups: every member of a group gets a disjoint share of the subscribed partitions; each
 *   new assignment is announced with `onAssignment` before that generation's batches; a member
 *   that leaves, or stops heartbeating past its session timeout, has its partitions moved;
 * - one partition's batches are handed over one at a time, in offset order, and a batch's
 *   records come again after an error unless their offsets were resolved;
 * - transactions: `init()` takes over a transactional id, bumping its epoch; an earlier owner
 *   of the id can commit nothing more (its calls fail with a fenced error, see `isFenced`), its
 *   open transaction is aborted, and one it was committing completes first;
 * - consumers read committed data only: records of an open transaction stay invisible, and hold
 *   back everything after them on the partition (the last stable offset), until it ends;
 * - compacted topics may drop all but the latest record of a key; offsets never change;
 * - a partition's log start may move up (retention, `deleteRecords`): `offsets` reports it as
 *   `low`, a group's committed offset may then lie below it, and a consumer starting there
 *   starts at the log start instead, saying nothing (Sluice checks before a run starts).
 */

import type { AclBinding } from '../domain/acl.js';

/** A record's headers: values as the client hands them (a header may repeat). */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** A record read from a partition. Offsets and timestamps are decimal strings, as on the wire. */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaders;
  /** Milliseconds since the epoch. */
  timestamp: string;
}

/** A record to write. Without `partition`, the key picks one (murmur2, as Java clients do). */
export interface ProducedRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: RecordHeaders;
}

/** Records for one topic. */
export interface TopicRecords {
  topic: string;
  messages: ProducedRecord[];
}

/** Where a send's records landed: one entry per partition written. */
export interface Written {
  topic: string;
  partition: number;
  /** The offset of the first record written there. */
  baseOffset: string;
}

/** An offset for one partition: the next offset to read, when committed. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
  /**
   * The commit's metadata string, which Kafka stores beside the offset: Sluice keeps a task's
   * error counts there (domain/error-counts.ts). Committed as given; read back as committed
   * (null when none).
   */
  metadata?: string | null;
}

/** A partition's low and high watermarks (first offset, and one past the last). */
export interface PartitionOffsets {
  partition: number;
  low: bigint;
  high: bigint;
}

/**
 * The group a transaction's offsets are committed for. With a member's id and generation
 * (KIP-447), the group coordinator refuses them (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) once
 * that member has left the generation: a zombie that lost its partitions cannot commit.
 * Without, they are not checked.
 */
export interface GroupMetadata {
  groupId: string;
  memberId?: string;
  generationId?: number;
}

/** A topic to create. */
export interface NewTopic {
  topic: string;
  partitions: number;
  /**
   * Replicas of each partition. Absent: the broker's `default.replication.factor` (Kafka's
   * CreateTopics sends -1). More than the cluster's live brokers fails INVALID_REPLICATION_FACTOR.
   */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  config?: Record<string, string>;
}

/** A group member and the partitions assigned to it, by topic. */
export interface GroupMember {
  memberId: string;
  assignment: Record<string, number[]>;
}

/** Cluster administration. Connect before use, disconnect after (see `withAdmin`). */
export interface Admin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics, leaders elected; a topic that already exists is left as it is. */
  createTopics(topics: NewTopic[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** The partition ids of each topic; a topic that does not exist fails the call. */
  partitions(topics: string[]): Promise<{ topic: string; partitions: number[] }[]>;
  /** The watermarks of every partition of a topic: `low` is the log start offset. */
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /**
   * What a group committed, on the topics given (every partition of them, `-1` where nothing
   * is committed) or, without topics, on every partition it committed.
   */
  committed(groupId: string, topics?: string[]): Promise<PartitionOffset[]>;
  listGroups(): Promise<string[]>;
  /** The groups' current members and their assignments; an unknown group has none. */
  describeGroups(groupIds: string[]): Promise<{ groupId: string; members: GroupMember[] }[]>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** The values of some configs of a topic, by name. */
  topicConfig(topic: string, names: string[]): Promise<Record<string, string>>;
  /** How many brokers the cluster has: a request that proves the cluster answers. */
  brokerCount(): Promise<number>;
  /**
   * Creates ALLOW bindings (any host). Kafka keeps one copy of a binding created twice, so
   * this is idempotent. Needs ALTER on the cluster.
   */
  createAcls(bindings: AclBinding[]): Promise<void>;
  /** The ALLOW bindings of a principal (any host). Needs DESCRIBE on the cluster. */
  describeAcls(principal: string): Promise<AclBinding[]>;
}

/** A producer outside transactions: idempotent, acknowledged by all in-sync replicas. */
export interface Producer {
  connect(): Promise<void>;
  send(records: TopicRecords[]): Promise<Written[]>;
  disconnect(): Promise<void>;
}

/** One open transaction. */
export interface Transaction {
  send(records: TopicRecords[]): Promise<Written[]>;
  /** Commits the group's offsets when the transaction commits. */
  sendOffsets(group: GroupMetadata, offsets: PartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A producer that owns a transactional id. */
export interface TransactionalProducer {
  /**
   * Connects and takes the transactional id over (Java's `initTransactions()`): earlier
   * owners are fenced, their open transaction aborted, one being committed completes first.
   */
  init(): Promise<void>;
  begin(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

/** What a consumer can do while it handles a batch. */
export interface BatchControl {
  /** Marks the batch's records up to `offset` as done: they are not handed over again. */
  resolveOffset(offset: string): void;
  /** Tells the group this member is alive (a long batch must, within the session timeout). */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once the batch's partition may have moved (a rebalance) or been sought elsewhere. */
  isStale(): boolean;
}

/** Records of one partition handed over together. */
export interface Batch {
  topic: string;
  partition: number;
  /** The records, in offset order; never empty. */
  records: ConsumedRecord[];
  /**
   * The last offset the fetch covered, which may lie past the last record: transaction
   * markers and aborted records are never handed over, but are read past.
   */
  lastOffset: string;
  /** How far the partition's end lies past this batch. */
  lag: bigint;
}

/** What a consumer reports when it is done with a batch, empty or not. */
export interface BatchEnd {
  topic: string;
  partition: number;
  /** How many records were handed over; 0 for a fetch of only markers or aborted records. */
  size: number;
  /** The first offset the fetch covered; null when it covered none. */
  firstOffset: string | null;
  /** The last offset the fetch covered. */
  lastOffset: string;
}

/** How a group consumer runs. Every subscription starts from the beginning of a partition without a committed offset. */
export interface ConsumeOptions {
  topics: string[];
  /** Commit resolved offsets now and then, outside any transaction (no guarantee needed). */
  autoCommit: boolean;
  /** Partitions handled at once; one partition's batches never overlap. Default 1. */
  partitionsInParallel?: number;
  /** Each new assignment of this member, by topic, before any batch of it. */
  onAssignment?: (assignment: Record<string, number[]>) => void;
  /**
   * Handles a batch. Whatever it throws makes the consumer hand the unresolved records over
   * again, rejoining the group when the error says so; it never stops the consumer.
   */
  eachBatch: (batch: Batch, control: BatchControl) => Promise<void>;
  /** After each batch, and after each fetch that held only markers or aborted records. */
  onBatchEnd?: (end: BatchEnd) => void;
  /** The consumer stopped on an error; `restarting` says whether it rejoins by itself. */
  onCrash?: (err: Error, restarting: boolean) => void;
}

/** Options of a group consumer. */
export interface ConsumerOptions {
  groupId: string;
  /** How long the group waits for a silent member before moving its partitions. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin. */
  rebalanceTimeoutMs?: number;
  /**
   * How the group deals the subscribed partitions: `spread` (the default) round-robin over the
   * members; `one-member`, every partition to one member (the first by member id), the others
   * standing by. The coordinator's election reads two topics, commands and reports, and both
   * must go to the member that is elected. Every member of a group must ask for the same.
   */
  assignment?: 'spread' | 'one-member';
}

/** A member of a consumer group, reading committed data. */
export interface GroupConsumer {
  /** Joins the group and starts handing batches over; resolves once running. */
  start(options: ConsumeOptions): Promise<void>;
  /** Stops fetching the topics' partitions (until the consumer stops). */
  pause(topics: string[]): void;
  /** Moves this member's position on a partition it owns. */
  seek(topic: string, partition: number, offset: string): void;
  /** Commits offsets for the group outside any transaction. */
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** The group, with this member's id and generation as of its latest join (none before one). */
  groupMetadata(): GroupMetadata;
  /** Leaves the group, after the batch in flight. */
  stop(): Promise<void>;
}

/** Options of a transactional producer. */
export interface TransactionalOptions {
  transactionalId: string;
  /** How long the broker lets a transaction stay open before it aborts it. */
  transactionTimeoutMs: number;
}

/** One partition's offsets to read: from `from` up to, not including, `to`. */
export interface PartitionRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

/** Records of one range, in offset order, handed over as they are read. */
export type RangeHandler = (
  range: PartitionRange,
  records: ConsumedRecord[],
  /** The offset the range's read has reached: every offset below it was handed over or skipped. */
  next: bigint,
) => void | Promise<void>;

/** A connection to one Kafka cluster: the factory of every client Sluice uses. */
export interface Kafka {
  admin(): Admin;
  producer(): Producer;
  transactionalProducer(options: TransactionalOptions): TransactionalProducer;
  consumer(options: ConsumerOptions): GroupConsumer;
  /**
   * Reads each range, read_committed, without a consumer group, and resolves once each one's
   * read reached its `to` (records past it are not handed over). Aborted records and
   * transaction markers are skipped; a range that ends inside an open transaction waits for it
   * to end. What `onRecords` throws stops the read and rejects it.
   */
  readRanges(ranges: PartitionRange[], onRecords: RangeHandler): Promise<void>;
}
