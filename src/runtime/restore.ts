import type { Kafka } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';
import { parseChangelogKey } from '../domain/resources.js';

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
  const stageOf = new Map(changelogs.map((c) => [c.topic, c.stage]));
  let restored = 0;
  const started = Date.now();
  await readToEnd(
    kafka,
    changelogs.map((c) => c.topic),
    (topic, _partition, message) => {
      const parsed = message.key ? parseChangelogKey(message.key.toString()) : undefined;
      const stage = stageOf.get(topic);
      if (!parsed || stage === undefined) return;
      const task = `${parsed.topic}:${parsed.partition}`;
      if (!owned.has(task)) return;
      load(
        task,
        stage,
        parsed.key,
        message.value ? (JSON.parse(message.value.toString()) as unknown) : undefined,
      );
      restored++;
      if (restored % 50_000 === 0) logger.info({ restored }, 'restoring state');
    },
    new Map(),
    progress,
  );
  logger.info({ restored, ms: Date.now() - started }, 'state restored');
  return restored;
}
