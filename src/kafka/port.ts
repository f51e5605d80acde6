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
 *   starts at the log start instead, saying nothing (Sluice checks before a run starts); a
 *   member whose position falls below it while running does the same, or, asked to
 *   (`deletedRecords: 'stop'`), stops with `PositionOutOfRangeError`.
 */

import type { AclBinding } from '../domain/acl.js';
import type { ConsumerOptions, GroupConsumer, PartitionRange, RangeHandler } from './port-read.js';

export type * from './port-read.js';

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
  /**
   * Deletes each given partition's records below its offset (DeleteRecords): the log start moves
   * there. An offset at or below the log start changes nothing; one past the end fails.
   */
  deleteRecords(topic: string, below: { partition: number; offset: string }[]): Promise<void>;
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

/** Options of a transactional producer. */
export interface TransactionalOptions {
  transactionalId: string;
  /** How long the broker lets a transaction stay open before it aborts it. */
  transactionTimeoutMs: number;
}

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
