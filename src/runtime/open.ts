import type { Kafka } from 'kafkajs';
import { taskTransactionalId } from '../domain/resources.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import { initTransactions, producerConfig } from '../kafka/connect.js';
import { groupPositions, type GroupPosition } from '../kafka/positions.js';
import type { Logger } from '../observability/logger.js';
import { restoreState } from './restore.js';
import { StateStore } from './state-store.js';
import { splitTask, type Task } from './task.js';

/** What opening a hop's tasks needs to know about the hop. */
export interface OpenSpec {
  groupId: string;
  changelogs: { topic: string; stage: string }[];
  guarantee: ProcessingGuarantee;
}

/**
 * Opens tasks: fences their previous owners, reads where the group stands on each, calls
 * `positioned` with it (the hop moves its consumer there), then restores their state from the
 * changelogs.
 *
 * The positions are read after the fencing on purpose. kafkajs read the offsets when it joined,
 * before the fencing; a killed owner's transaction that was already committing completes during
 * the fencing, so those offsets may be one commit behind the state the restore reads, and that
 * commit would be counted twice.
 */
export async function openTasks(
  kafka: Kafka,
  spec: OpenSpec,
  ids: string[],
  positioned: (task: Task, at: GroupPosition) => void,
  log: Logger,
  progress: (done: number, total: number) => void,
): Promise<Map<string, Task>> {
  const byId = new Map<string, Task>();
  for (const id of ids) {
    const [topic, partition] = splitTask(id);
    const task: Task = { topic, partition, state: new StateStore(), committed: undefined };
    if (spec.guarantee === 'EXACTLY_ONCE') {
      // One transactional id per input partition, taken over before anything is read: the
      // previous owner is fenced, its open transaction aborted, and one it was committing
      // completes first, so the offsets and state read below include it.
      task.producer = kafka.producer(
        producerConfig({
          transactionalId: taskTransactionalId(spec.groupId, topic, partition),
          transactionTimeout: 60_000,
        }),
      );
      await initTransactions(task.producer);
    }
    byId.set(id, task);
  }
  // Where each task stands, which a bounded job's completion check needs even for a partition
  // that has nothing left to read.
  const topics = [...new Set([...byId.values()].map((t) => t.topic))];
  const positions = await groupPositions(kafka, spec.groupId, topics);
  for (const [id, task] of byId) {
    const at = positions.get(id);
    if (!at) continue;
    task.committed = at.committed;
    positioned(task, at);
  }
  await restoreState(
    kafka,
    spec.changelogs,
    new Set(byId.keys()),
    (id, stage, key, value) => byId.get(id)?.state.restore(stage, key, value),
    log,
    progress,
  );
  return byId;
}
