import type { LostRange } from '../domain/data-loss.js';
import { topicOffsets, withAdmin } from './offsets.js';
import type { Admin, Kafka } from './port.js';

/** Where a consumer group stands on one partition. */
export interface GroupPosition {
  /** The next offset to read, as committed; undefined when the group committed none. */
  committed: string | undefined;
  /** The partition's first offset, where a group without a commit starts from the beginning. */
  low: bigint;
  /** The committed offset's metadata (a task's error counts); null when none. */
  metadata: string | null;
}

/** A group's committed offsets (the next offset to read) on the topics, by `topic:partition`; partitions without a commit are left out. */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<Map<string, string>> {
  const at = new Map<string, string>();
  if (topics.length === 0) return at;
  for (const { topic, partition, offset } of await admin.committed(groupId, topics))
    if (BigInt(offset) >= 0n) at.set(`${topic}:${partition}`, offset);
  return at;
}

/** A group's committed positions on every partition of the topics, by `topic:partition`. */
export async function groupPositions(
  kafka: Kafka,
  groupId: string,
  topics: string[],
): Promise<Map<string, GroupPosition>> {
  const positions = new Map<string, GroupPosition>();
  if (topics.length === 0) return positions;
  await withAdmin(kafka, async (admin) => {
    const committed = new Map<string, { offset: string; metadata: string | null }>();
    for (const { topic, partition, offset, metadata } of await admin.committed(groupId, topics))
      if (BigInt(offset) >= 0n)
        committed.set(`${topic}:${partition}`, { offset, metadata: metadata ?? null });
    for (const topic of topics)
      for (const { partition, low } of await topicOffsets(admin, topic)) {
        const id = `${topic}:${partition}`;
        const at = committed.get(id);
        positions.set(id, { committed: at?.offset, low, metadata: at?.metadata ?? null });
      }
  });
  return positions;
}

/**
 * The partitions on which a group's committed offset lies below the log start: records it had
 * not read yet were deleted (retention, `deleteRecords`), and a consumer would start at the log
 * start without a word. On the topics given, or, without, on every partition the group
 * committed on; partitions without a commit (they start at the beginning anyway) and topics
 * that no longer exist are left out. Sorted by topic, then partition.
 */
export async function lostRecords(
  admin: Admin,
  groupId: string,
  topics?: string[],
): Promise<LostRange[]> {
  if (topics?.length === 0) return [];
  const existing = new Set(await admin.listTopics());
  const committed = new Map<string, Map<number, bigint>>();
  for (const { topic, partition, offset } of await admin.committed(groupId, topics)) {
    const at = BigInt(offset);
    if (at < 0n || !existing.has(topic)) continue;
    const partitions = committed.get(topic) ?? new Map<number, bigint>();
    partitions.set(partition, at);
    committed.set(topic, partitions);
  }
  const lost: LostRange[] = [];
  for (const topic of [...committed.keys()].sort())
    for (const { partition, low } of await topicOffsets(admin, topic)) {
      const at = committed.get(topic)?.get(partition);
      if (at !== undefined && at < low)
        lost.push({ topic, partition, committed: String(at), earliest: String(low) });
    }
  return lost.sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}
