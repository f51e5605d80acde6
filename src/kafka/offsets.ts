import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/** One partition's offsets. */
export interface PartitionOffsets {
  partition: number;
  low: bigint;
  high: bigint;
}

/**
 * The low and high watermarks of every partition of a topic. A topic created a moment ago may
 * not be known to every broker yet ("does not host this topic-partition"); that is retried for
 * a few seconds rather than failing a job start or a restore.
 */
export async function topicOffsets(
  admin: Admin,
  topic: string,
  timeoutMs = 10_000,
): Promise<PartitionOffsets[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({
        partition: o.partition,
        low: BigInt(o.low),
        high: BigInt(o.high),
      }));
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (
        (type !== 'UNKNOWN_TOPIC_OR_PARTITION' &&
          type !== 'LEADER_NOT_AVAILABLE' &&
          type !== 'NOT_LEADER_FOR_PARTITION') ||
        Date.now() > deadline
      )
        throw err;
      await sleep(200);
    }
  }
}
