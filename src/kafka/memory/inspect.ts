import type { PartitionOffset, RecordHeaders } from '../port.js';
import type { Broker } from './broker.js';
import type { TxnStatus } from './log.js';
import { toPartitionOffsets } from './offsets.js';

/** A record as the cluster holds it, for invariant checks. */
export interface ClusterRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
  timestamp: string;
  producerId: number;
  /** Written in a transaction. */
  transactional: boolean;
  /** `committed` for a plain producer's record or a committed transaction's; else its state. */
  status: TxnStatus;
}

/** Which records {@link readTopic} returns. */
export interface ReadOptions {
  /**
   * `read_committed` (default): what a consumer can read now, committed records below the last
   * stable offset. `read_uncommitted`: every record, aborted and open ones too.
   */
  isolation?: 'read_committed' | 'read_uncommitted';
}

/** Every record of a topic (markers left out), by partition, then offset. */
export function readTopic(
  broker: Broker,
  topic: string,
  options: ReadOptions = {},
): ClusterRecord[] {
  const committedOnly = (options.isolation ?? 'read_committed') === 'read_committed';
  const out: ClusterRecord[] = [];
  for (const log of broker.topics.require(topic).logs)
    for (const r of log.all()) {
      if (r.control !== null) continue;
      const status = r.txn?.state ?? 'committed';
      if (committedOnly && (status !== 'committed' || r.offset >= log.lastStable)) continue;
      out.push({
        topic,
        partition: log.partition,
        offset: r.offsetText,
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestampText,
        producerId: r.producerId,
        transactional: r.txn !== null,
        status,
      });
    }
  return out;
}

/** A partition's offsets: log start, last stable offset, high watermark. */
export interface Watermarks {
  partition: number;
  low: number;
  lastStable: number;
  high: number;
}

/** The offsets of each partition of a topic (an unknown topic fails). */
export function watermarks(broker: Broker, topic: string): Watermarks[] {
  return broker.topics.require(topic).logs.map((l) => ({
    partition: l.partition,
    low: l.low,
    lastStable: l.lastStable,
    high: l.high,
  }));
}

/** A group as the coordinator has it. */
export interface GroupView {
  generation: number;
  rebalancing: boolean;
  members: { memberId: string; client: string; assignment: Record<string, number[]> }[];
  committed: PartitionOffset[];
}

/** A group's state; undefined if the coordinator never heard of it. */
export function groupView(broker: Broker, groupId: string): GroupView | undefined {
  const group = broker.groups.get(groupId);
  if (group === undefined) return undefined;
  return {
    generation: group.generation,
    rebalancing: group.rebalancing,
    members: [...group.members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((m) => ({
        memberId: m.id,
        client: m.spec.client,
        assignment: structuredClone(m.assignment),
      })),
    committed: toPartitionOffsets(group.committed.values()),
  };
}

/** A transaction open on the broker. */
export interface OpenTransaction {
  transactionalId: string;
  producerId: number;
  epoch: number;
  startedAt: number;
  /** `topic/partition` of each partition written. */
  partitions: string[];
}

/** The transactions open on the broker, in the order their ids first appeared. */
export function openTransactions(broker: Broker): OpenTransaction[] {
  return broker.txns.open().map((t) => ({
    transactionalId: t.transactionalId,
    producerId: t.producerId,
    epoch: t.epoch,
    startedAt: t.startedAt,
    partitions: [...t.logs].map((l) => `${l.topic}/${l.partition}`),
  }));
}
