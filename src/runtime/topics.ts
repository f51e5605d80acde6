import type { Admin } from 'kafkajs';

/** The changelog record key: the task it belongs to plus the grouping key. */
export function changelogKey(topic: string, partition: number, key: string): string {
  return `${topic}\u0000${partition}\u0000${key}`;
}

/** Splits a changelog key; undefined for keys another writer made. */
export function parseChangelogKey(
  raw: string,
): { topic: string; partition: number; key: string } | undefined {
  const [topic, partition, ...rest] = raw.split('\u0000');
  if (
    topic === undefined ||
    partition === undefined ||
    rest.length === 0 ||
    !/^\d+$/.test(partition)
  )
    return undefined;
  return { topic, partition: Number(partition), key: rest.join('\u0000') };
}

/** Creates compacted changelog topics when missing, with as many partitions as the widest source. */
export async function ensureChangelogs(
  admin: Admin,
  topics: string[],
  partitions: number,
): Promise<void> {
  await ensure(admin, topics, partitions, [{ name: 'cleanup.policy', value: 'compact' }]);
}

/** Creates repartition topics when missing; plain retention, they only carry records between hops. */
export async function ensureRepartitions(
  admin: Admin,
  topics: string[],
  partitions: number,
): Promise<void> {
  await ensure(admin, topics, partitions, []);
}

async function ensure(
  admin: Admin,
  topics: string[],
  partitions: number,
  configEntries: { name: string; value: string }[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await admin
    .createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: partitions, configEntries })),
      waitForLeaders: true,
    })
    .catch(async (err: unknown) => {
      const now = new Set(await admin.listTopics());
      if (!missing.every((t) => now.has(t))) throw err;
    });
}
