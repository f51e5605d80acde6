import { SluiceError } from '../domain/errors.js';
import type { ConsumedRecord, Kafka } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';
import { parseChangelogKey } from '../domain/resources.js';
import { splitTask } from './task.js';

/**
 * A changelog record's value: JSON, as the state store writes it, or null for a deleted key.
 * One that does not parse was not written by Sluice (or was damaged): restoring around it would
 * give the key a wrong value, so the task does not open, and the error names the record.
 */
function stateValue(
  topic: string,
  partition: number,
  stage: string,
  message: ConsumedRecord,
): unknown {
  if (!message.value) return undefined;
  try {
    return JSON.parse(message.value.toString()) as unknown;
  } catch (err) {
    throw new SluiceError(
      'SLUICE_STATE_UNREADABLE',
      `The state of stage "${stage}" cannot be restored: the changelog record ${topic}-${partition}@${message.offset} is not JSON (${err instanceof Error ? err.message : String(err)}). Delete it (kafka-delete-records up to offset ${BigInt(message.offset) + 1n} drops it and everything before it) or restore the topic from a backup, then resume; or cancel the job.`,
      { cause: err, details: { topic, partition, offset: message.offset, stage } },
    );
  }
}

/**
 * Calls `load` for every changelog record of the given source partitions, in order, and
 * `progress` with the changelog offsets read so far out of those to read.
 */
export async function restoreState(
  kafka: Kafka,
  changelogs: { topic: string; stage: string; exact?: boolean }[],
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
  // Except where the hop reads several source topics (a table join's copy in the first hop):
  // their tasks share partition numbers, so the task is the one the key names.
  const exact = new Set(changelogs.filter((c) => c.exact).map((c) => c.topic));
  let restored = 0;
  const started = Date.now();
  await readToEnd(
    kafka,
    changelogs.map((c) => c.topic),
    (topic, partition, message) => {
      const parsed = message.key ? parseChangelogKey(message.key.toString()) : undefined;
      const stage = stageOf.get(topic);
      if (!parsed || stage === undefined || parsed.partition !== partition) return;
      const named = `${parsed.topic}:${partition}`;
      const task = exact.has(topic)
        ? owned.has(named)
          ? named
          : undefined
        : taskOf.get(partition);
      if (task === undefined) return;
      load(task, stage, parsed.key, stateValue(topic, partition, stage, message));
      restored++;
      if (restored % 50_000 === 0) logger.info({ restored }, 'restoring state');
    },
    new Map(),
    progress,
  );
  logger.info({ restored, ms: Date.now() - started }, 'state restored');
  return restored;
}
