import type { Kafka as KafkaJSClient } from 'kafkajs';
import { asNotAuthorized } from '../authorization.js';
import type { ConsumedRecord, PartitionRange, RangeHandler } from '../port.js';
import { privateKafkajs } from './loader.js';

// Reading known offset ranges with Fetch requests of its own, no consumer group. A group's join
// (FindCoordinator, JoinGroup twice, SyncGroup, OffsetFetch) and its leave, which waits for the
// fetch in flight, cost a one-shot reader such as `sluice jobs` about 0.6 s of its 1.4 s; a
// reader that knows which offsets it wants needs none of it.

/** The broker's isolation level for read_committed (kafkajs's ISOLATION_LEVEL.READ_COMMITTED). */
const READ_COMMITTED = 1;
/** How long a fetch may wait when a range's end lies behind an open transaction. */
const WAIT_MS = 100;
/** Per partition and per fetch, as kafkajs's consumer defaults. */
const PARTITION_BYTES = 1_048_576;
const FETCH_BYTES = 10_485_760;
/** How long stale metadata (a leader moving, a broker restarting) is retried before giving up. */
const RETRY_BUDGET_MS = 30_000;

/** Errors that new metadata cures: the partition moved, or its leader is being elected. */
const STALE_METADATA = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

interface FetchedPartition {
  partition: number;
  highWatermark: string;
  /** Where read_committed readers stop: the first offset of the oldest open transaction. */
  lastStableOffset: string;
  messages: (ConsumedRecord & { isControlRecord?: boolean })[];
}

interface KafkajsBatch {
  messages: ConsumedRecord[];
  isEmptyIncludingFiltered(): boolean;
  lastOffset(): string;
}

interface KafkajsBroker {
  fetch(request: object): Promise<{
    responses: { topicName: string; partitions: FetchedPartition[] }[];
  }>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<KafkajsBroker>;
}

const Batch = privateKafkajs.module('src/consumer/batch.js') as new (
  topic: string,
  fetchedOffset: string,
  data: FetchedPartition,
) => KafkajsBatch;

/** kafkajs keeps its cluster factory private, under a symbol; the adapter owns its client. */
function createCluster(client: KafkaJSClient): KafkajsCluster {
  const symbol = Object.getOwnPropertySymbols(client).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const factory = symbol && (client as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function')
    throw new Error('kafkajs changed: its cluster factory is not where Sluice looks for it');
  return (factory as (o: object) => KafkajsCluster)({
    allowAutoTopicCreation: false,
    isolationLevel: READ_COMMITTED,
  });
}

/** One range being read: where it stands. */
interface Reading {
  range: PartitionRange;
  next: bigint;
}

/** The port's readRanges on kafkajs. */
export async function readRanges(
  client: KafkaJSClient,
  ranges: PartitionRange[],
  onRecords: RangeHandler,
): Promise<void> {
  const open = ranges.filter((r) => r.to > r.from).map((range) => ({ range, next: range.from }));
  if (open.length === 0) return;
  const topics = [...new Set(open.map((r) => r.range.topic))];
  const cluster = createCluster(client);
  try {
    await cluster.connect();
    await cluster.addMultipleTargetTopics(topics);
    let retryingSince: number | undefined;
    let pending = open;
    while (pending.length > 0) {
      try {
        await fetchOnce(cluster, pending, onRecords);
        retryingSince = undefined;
      } catch (err) {
        const type = (err as { type?: string }).type;
        const stale =
          (type !== undefined && STALE_METADATA.has(type)) ||
          (err as Error).name === 'KafkaJSTopicMetadataNotLoaded';
        retryingSince ??= Date.now();
        // A refusal names what is missing: reading the topics.
        if (!stale || Date.now() - retryingSince > RETRY_BUDGET_MS)
          throw asNotAuthorized(err, { TOPIC: ['READ', topics] });
        await new Promise((resolve) => setTimeout(resolve, 200));
        await cluster.refreshMetadata();
      }
      pending = pending.filter((r) => r.next < r.range.to);
    }
  } catch (err) {
    throw asNotAuthorized(err, { TOPIC: ['READ', topics] });
  } finally {
    await cluster.disconnect();
  }
}

/** One Fetch to each leader of the ranges still open, handing what came over in order. */
async function fetchOnce(
  cluster: KafkajsCluster,
  pending: Reading[],
  onRecords: RangeHandler,
): Promise<void> {
  const byLeader = new Map<string, Reading[]>();
  for (const topic of new Set(pending.map((r) => r.range.topic))) {
    const of = pending.filter((r) => r.range.topic === topic);
    const leaders = cluster.findLeaderForPartitions(
      topic,
      of.map((r) => r.range.partition),
    );
    for (const [leader, partitions] of Object.entries(leaders)) {
      const list = byLeader.get(leader) ?? [];
      list.push(...of.filter((r) => partitions.includes(r.range.partition)));
      byLeader.set(leader, list);
    }
  }
  await Promise.all(
    [...byLeader].map(async ([nodeId, readings]) => {
      const broker = await cluster.findBroker({ nodeId });
      const topics = [...new Set(readings.map((r) => r.range.topic))].map((topic) => ({
        topic,
        partitions: readings
          .filter((r) => r.range.topic === topic)
          .map((r) => ({
            partition: r.range.partition,
            fetchOffset: String(r.next),
            maxBytes: PARTITION_BYTES,
          })),
      }));
      const { responses } = await broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: WAIT_MS,
        minBytes: 1,
        maxBytes: FETCH_BYTES,
        topics,
      });
      // A response holds at most FETCH_BYTES: once earlier partitions filled it, later ones come
      // back empty though they hold records. Empty means "nothing to read" only in a response
      // that carried no records at all.
      const crowded = responses.some((t) => t.partitions.some((d) => d.messages.length > 0));
      for (const { topicName, partitions } of responses)
        for (const data of partitions) {
          const reading = readings.find(
            (r) => r.range.topic === topicName && r.range.partition === data.partition,
          );
          if (reading) await handOver(reading, data, onRecords, crowded);
        }
    }),
  );
}

/**
 * Hands a partition's fetched records over, up to its range's end, and moves the range on.
 * `crowded`: some partition of the same response got records, so an empty one may have been
 * left out for want of room, and is asked again.
 */
async function handOver(
  reading: Reading,
  data: FetchedPartition,
  onRecords: RangeHandler,
  crowded: boolean,
): Promise<void> {
  const { range } = reading;
  const batch = new Batch(range.topic, String(reading.next), data);
  if (batch.isEmptyIncludingFiltered() && data.messages.length > 0) {
    // Only records below the position came (the batch holding it lost the rest to compaction):
    // the position itself holds nothing; one offset on, as kafkajs's consumer moves.
    reading.next += 1n;
    await onRecords(range, [], reading.next);
    return;
  }
  if (batch.isEmptyIncludingFiltered()) {
    if (crowded) return;
    // Nothing at or past the position. Up to the last stable offset there is nothing left to
    // read (compaction emptied the tail); past it, an open transaction holds the range's end
    // back, and the next fetch asks again.
    const lso = BigInt(data.lastStableOffset);
    const stable = lso >= 0n ? lso : BigInt(data.highWatermark); // -1: the broker did not say
    if (stable > reading.next) {
      reading.next = stable < range.to ? stable : range.to;
      await onRecords(range, [], reading.next);
    }
    return;
  }
  // The last offset read, markers and aborted records included: the position moves past them.
  const last = BigInt(batch.lastOffset());
  const records = batch.messages.filter((m) => BigInt(m.offset) < range.to);
  reading.next = last + 1n < range.to ? last + 1n : range.to;
  await onRecords(range, records, reading.next);
}
