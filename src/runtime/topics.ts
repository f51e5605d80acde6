import type { Admin } from '../kafka/port.js';
import { createTopics, type TopicReplication } from '../kafka/topics.js';

/**
 * Creates compacted changelog topics when missing, with as many partitions as the widest source
 * and the replication given (default: the broker's).
 */
export async function ensureChangelogs(
  admin: Admin,
  topics: string[],
  partitions: number,
  replication: TopicReplication = {},
): Promise<void> {
  await ensure(admin, topics, partitions, { 'cleanup.policy': 'compact' }, replication);
}

/**
 * Creates repartition topics when missing, with no time retention: a suspended job's frozen hop
 * finds its unread records however long the fix takes (a week's default retention would delete
 * them), and the hop reading a topic deletes what it has committed past (purge.ts).
 */
export async function ensureRepartitions(
  admin: Admin,
  topics: string[],
  partitions: number,
  replication: TopicReplication = {},
): Promise<void> {
  await ensure(admin, topics, partitions, { 'retention.ms': '-1' }, replication);
}

async function ensure(
  admin: Admin,
  topics: string[],
  partitions: number,
  config: Record<string, string>,
  replication: TopicReplication,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await createTopics(
    admin,
    missing.map((topic) => ({ topic, partitions, config })),
    replication,
  ).catch(async (err: unknown) => {
    const now = new Set(await admin.listTopics());
    if (!missing.every((t) => now.has(t))) throw err;
  });
}
