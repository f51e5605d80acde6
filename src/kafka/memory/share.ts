import type { Broker } from './broker.js';
import type { PartitionLog } from './log.js';

/** A partition a member owns in its current generation, with its fetch position. */
export interface Owned {
  topic: string;
  partition: number;
  /** `topic:partition`. */
  key: string;
  log: PartitionLog;
  /** The next offset to fetch. */
  position: number;
  /** The offset last auto-committed (or found committed at assignment), -1 if none. */
  committed: number;
}

/** One generation's share of a member; `stale` once the generation ended for it. */
export interface Share {
  generation: number;
  owned: Owned[];
  stale: boolean;
}

/**
 * A new share: each assigned partition (topics sorted, partitions in order) at the group's
 * committed offset, or at the log start when none is committed. A committed offset out of the
 * log's range (past the end, or below a log start that deletions moved) is met by the first
 * fetch, as kafkajs meets it: see {@link pickReady}.
 */
export function assignShare(
  broker: Broker,
  groupId: string,
  generation: number,
  assignment: Record<string, number[]>,
): Share {
  const owned: Owned[] = [];
  for (const topic of Object.keys(assignment).sort())
    for (const partition of assignment[topic] ?? []) {
      const log = broker.topics.get(topic)?.logs[partition];
      if (log === undefined) continue;
      const committed = broker.groups.committed(groupId, topic, partition);
      const position = committed ?? log.low;
      const key = `${topic}:${partition}`;
      owned.push({ topic, partition, key, log, position, committed: committed ?? -1 });
    }
  // A rebalance that began before the member took its share has already ended it.
  const stale = broker.groups.get(groupId)?.rebalancing === true;
  return { generation, owned, stale };
}

/** How a member picks the partitions of its next fetch. */
export interface Picking {
  share: Share;
  /** Where the last pick stopped: picks take partitions in turn. */
  cursor: number;
  most: number;
  paused: ReadonlySet<string>;
  /** Seeks waiting: applied (and removed) as their partition is picked. */
  seeks: Map<string, number>;
  /** `ConsumerOptions.deletedRecords` is `stop`: a position out of range is not reset. */
  stopOutOfRange: boolean;
}

/**
 * Up to `most` owned partitions that have something below their last stable offset, starting
 * after the last one picked. Pending seeks are applied first. A position out of the log's range
 * (past the end, or below the log start) resets to the earliest, as a `fromBeginning`
 * subscription does; or, for a member that stops instead, is returned as `outOfRange`, with
 * nothing ready. Returns the partitions and the new cursor.
 */
export function pickReady(p: Picking): { ready: Owned[]; cursor: number; outOfRange?: Owned } {
  const owned = p.share.owned;
  const n = owned.length;
  const ready: Owned[] = [];
  let cursor = p.cursor;
  for (let k = 0; k < n && ready.length < p.most; k++) {
    const i = (p.cursor + k) % n;
    const o = owned[i] as Owned;
    const seek = p.seeks.get(o.key);
    if (seek !== undefined) {
      p.seeks.delete(o.key);
      o.position = seek;
    }
    if (p.paused.has(o.topic)) continue;
    if (!inRange(o.log, o.position)) {
      if (p.stopOutOfRange) return { ready: [], cursor, outOfRange: o };
      o.position = o.log.low;
    }
    if (o.position >= o.log.lastStable) continue;
    ready.push(o);
    cursor = (i + 1) % n;
  }
  return { ready, cursor };
}

/** Whether a fetch from `offset` is in the log's range: from its start to its end, both included. */
function inRange(log: PartitionLog, offset: number | undefined): offset is number {
  return offset !== undefined && offset >= log.low && offset <= log.high;
}
