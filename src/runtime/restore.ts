import type { Kafka } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';
import { parseChangelogKey } from '../domain/resources.js';
import { splitTask } from './task.js';

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
  // A changelog partition holds the state of the task of the same partition: a stateful hop
  // reads one topic (a repartition topic, or the single source of a groupByKey stage). The task
  // named in the key is not matched, so state kept while the stage read a repartition topic
  // stays its own once it reads the source, keyed the same way, and back.
  const taskOf = new Map([...owned].map((id) => [splitTask(id)[1], id]));
  const stageOf = new Map(changelogs.map((c) => [c.topic, c.stage]));
  let restored = 0;
  const started = Date.now();
  await readToEnd(
    kafka,
    changelogs.map((c) => c.topic),
    (topic, partition, message) => {
      const parsed = message.key ? parseChangelogKey(message.key.toString()) : undefined;
      const stage = stageOf.get(topic);
      if (!parsed || stage === undefined || parsed.partition !== partition) return;
      const task = taskOf.get(partition);
      if (task === undefined) return;
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
