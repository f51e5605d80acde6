import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { topicOffsets } from '../kafka/offsets.js';
import type { Logger } from '../observability/logger.js';
import { parseChangelogKey } from './topics.js';

/**
 * Calls `load` for every changelog record of the given source partitions, in order, and
 * `progress` with the changelog offsets read so far out of those to read.
 */
export async function restoreState(
  kafka: Kafka,
  changelogs: { topic: string; stage: string }[],
  owned: Set<string>,
  load: (task: string, stage: string, key: string, value: unknown) => void,
  logger: Logger,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<number> {
  if (changelogs.length === 0 || owned.size === 0) return 0;
  const admin = kafka.admin();
  await admin.connect();
  const targets = new Map<string, bigint>();
  const lows = new Map<string, bigint>();
  try {
    for (const { topic } of changelogs) {
      for (const o of await topicOffsets(admin, topic)) {
        if (o.high > o.low) targets.set(`${topic}:${o.partition}`, o.high - 1n);
        lows.set(`${topic}:${o.partition}`, o.low);
      }
    }
  } finally {
    await admin.disconnect();
  }
  // Offsets, not records: compaction leaves gaps, so a record count has no known total.
  let total = 0;
  for (const [id, target] of targets) total += Number(target - (lows.get(id) ?? 0n) + 1n);
  const read = new Map<string, number>();
  let done = 0;
  progress(0, total);
  if (targets.size === 0) return 0;
  const stageOf = new Map(changelogs.map((c) => [c.topic, c.stage]));
  // kafkajs cannot assign partitions by hand, so a throwaway group reads every changelog
  // partition and keeps the records of the tasks this worker now owns.
  const consumer = kafka.consumer({ groupId: `restore-${randomUUID()}` });
  let restored = 0;
  const started = Date.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: changelogs.map((c) => c.topic), fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const id = `${payload.topic}:${payload.partition}`;
        const target = targets.get(id);
        if (target !== undefined) {
          const last = BigInt(payload.lastOffset);
          const upTo = Number((last < target ? last : target) - (lows.get(id) ?? 0n) + 1n);
          done += upTo - (read.get(id) ?? 0);
          read.set(id, upTo);
          progress(done, total);
          if (last >= target) targets.delete(id);
        }
        if (targets.size === 0) resolve();
      });
      void consumer.run({
        eachMessage: ({ topic, message }) => {
          const parsed = message.key ? parseChangelogKey(message.key.toString()) : undefined;
          const stage = stageOf.get(topic);
          if (!parsed || stage === undefined) return Promise.resolve();
          const task = `${parsed.topic}:${parsed.partition}`;
          if (!owned.has(task)) return Promise.resolve();
          load(
            task,
            stage,
            parsed.key,
            message.value ? (JSON.parse(message.value.toString()) as unknown) : undefined,
          );
          restored++;
          if (restored % 50_000 === 0) logger.info({ restored }, 'restoring state');
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  logger.info({ restored, ms: Date.now() - started }, 'state restored');
  return restored;
}
