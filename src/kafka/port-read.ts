// The reading half of the Kafka port (port.ts): group consumers, and reads of known offset
// ranges without a group. Split from port.ts by concern; port.ts re-exports all of it.
import type { ConsumedRecord, GroupMetadata, PartitionOffset } from './port.js';

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
  /**
   * When records this member has not read yet are deleted past its position (retention,
   * `deleteRecords`): `skip` (the default, Kafka's way) moves on to the log start; `stop` ends
   * the consumer with `PositionOutOfRangeError`, passed to `onCrash` as not restarting, so that
   * whoever reads can say what was lost instead of skipping it.
   */
  deletedRecords?: 'skip' | 'stop';
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
