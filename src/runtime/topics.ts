import type { Admin } from '../kafka/port.js';

/** Creates compacted changelog topics when missing, with as many partitions as the widest source. */
export async function ensureChangelogs(
  admin: Admin,
  topics: string[],
  partitions: number,
): Promise<void> {
  await ensure(admin, topics, partitions, { 'cleanup.policy': 'compact' });
}

/** Creates repartition topics when missing; plain retention, they only carry records between hops. */
export async function ensureRepartitions(
  admin: Admin,
  topics: string[],
  partitions: number,
): Promise<void> {
  await ensure(admin, topics, partitions, {});
}

async function ensure(
  admin: Admin,
  topics: string[],
  partitions: number,
  config: Record<string, string>,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await admin
    .createTopics(missing.map((topic) => ({ topic, partitions, config })))
    .catch(async (err: unknown) => {
      const now = new Set(await admin.listTopics());
      if (!missing.every((t) => now.has(t))) throw err;
    });
}
