import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import { isUnknownTopic } from './errors.js';
import type { Admin, Kafka, PartitionOffsets } from './port.js';

export type { PartitionOffsets } from './port.js';

/** Runs `fn` with a connected admin client, and always disconnects it. */
export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
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
  clock: Clock = systemClock,
): Promise<PartitionOffsets[]> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    try {
      return await admin.offsets(topic);
    } catch (err) {
      if (!isUnknownTopic(err) || clock.now() > deadline) throw err;
      await clock.sleep(200);
    }
  }
}
