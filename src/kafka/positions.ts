import type { Kafka } from 'kafkajs';
import { topicOffsets } from './offsets.js';

/** Where a consumer group stands on one partition. */
export interface GroupPosition {
  /** The next offset to read, as committed; undefined when the group committed none. */
  committed: string | undefined;
  /** The partition's first offset, where a group without a commit starts from the beginning. */
  low: bigint;
}

/** A group's committed positions on every partition of the topics, by `topic:partition`. */
export async function groupPositions(
  kafka: Kafka,
  groupId: string,
  topics: string[],
): Promise<Map<string, GroupPosition>> {
  const positions = new Map<string, GroupPosition>();
  if (topics.length === 0) return positions;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      const low = new Map((await topicOffsets(admin, topic)).map((o) => [o.partition, o.low]));
      for (const { partition, offset } of partitions)
        positions.set(`${topic}:${partition}`, {
          committed: BigInt(offset) >= 0n ? offset : undefined,
          low: low.get(partition) ?? 0n,
        });
    }
  } finally {
    await admin.disconnect();
  }
  return positions;
}
