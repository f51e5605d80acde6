import { countsFromMetadata } from '../domain/error-counts.js';
import { TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import { taskTransactionalId } from '../domain/resources.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Kafka, TransactionalProducer } from '../kafka/port.js';
import { groupPositions, type GroupPosition } from '../kafka/positions.js';
import type { Logger } from '../observability/logger.js';
import { restoreState } from './restore.js';
import { StateStore } from './state-store.js';
import { splitTask, type Task } from './task.js';

/** What opening a hop's tasks needs to know about the hop. */
export interface OpenSpec {
  groupId: string;
  changelogs: { topic: string; stage: string; exact?: boolean }[];
  guarantee: ProcessingGuarantee;
  /** Where the hop's outputs go. */
  outputs: { topic: string }[];
  /** EXACTLY_ONCE: tasks whose last commit failed here, to sweep (see sweep). */
  sweep?: ReadonlySet<string>;
  /**
   * False once a task is no longer this worker's to open: a newer assignment moved it, or the
   * hop is stopping. Asked before each takeover of a transactional id (see openTasks).
   */
  stillOwned?: (id: string) => boolean;
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
    // Opening an assignment takes a request per task, and a rebalance may move a task to
    // another worker meanwhile. Taking its id over then would fence the new owner, whose next
    // commit would fail and wait out the fenced pause (found by test/runtime/hop.test.ts).
    if (spec.stillOwned?.(id) === false) continue;
    const [topic, partition] = splitTask(id);
    const task: Task = {
      topic,
      partition,
      state: new StateStore(),
      committed: undefined,
      errorCounts: [],
    };
    if (spec.guarantee === 'EXACTLY_ONCE') {
      // One transactional id per input partition, taken over before anything is read: the
      // previous owner is fenced, its open transaction aborted, and one it was committing
      // completes first, so the offsets and state read below include it.
      task.producer = kafka.transactionalProducer({
        transactionalId: taskTransactionalId(spec.groupId, topic, partition),
        transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.task,
      });
      await task.producer.init();
      // Not the dead-letter topic: it may not exist, and takes one record per resume at most.
      if (spec.sweep?.has(id)) {
        const writes = [
          ...new Set(spec.outputs.map((o) => o.topic)),
          ...spec.changelogs.map((c) => c.topic),
        ];
        await sweep(kafka, task.producer, writes, id, log);
      }
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
    task.errorCounts = countsFromMetadata(at.metadata);
    positioned(task, at);
  }
  const restored = new Map<string, number>();
  await restoreState(
    kafka,
    spec.changelogs,
    new Set(byId.keys()),
    (id, stage, key, value) => {
      restored.set(id, (restored.get(id) ?? 0) + 1);
      byId.get(id)?.state.restore(stage, key, value);
    },
    log,
    progress,
  );
  // Each task's starting offset beside the changelog records its state came from: what tells
  // a task restored short of its changelog from one that reads on from the wrong offset, when
  // a crash test's outputs come out wrong (join-stream.int.test.ts, docs/operations.md).
  if (spec.changelogs.length > 0)
    log.info(
      {
        tasks: Object.fromEntries(
          [...byId].map(([id, t]) => [
            id,
            { from: t.committed ?? null, restored: restored.get(id) ?? 0 },
          ]),
        ),
      },
      'tasks opened',
    );
  return byId;
}

/**
 * Aborts, at the task's new epoch, records that a failed commit may have left open. When the
 * broker crashes during a commit, the restarted transaction coordinator may not know the
 * transaction any more (seen once in the broker-restart test: the new producer got epoch 1, not
 * the epoch after next). Taking the id over then aborts nothing, the records stay open on their
 * partitions, and the task's next commit commits them along with the chunk processed again. A
 * transaction that writes one record to every partition the hop writes, then aborts, closes
 * them as aborted: the abort marker ends whatever that producer id has open there. Reproduced
 * with a batch written outside any known transaction, on a broker with
 * transaction.partition.verification.enable=false: the next commit committed it, and with this
 * sweep first it was aborted. read_committed readers never see the swept records.
 */
export async function sweep(
  kafka: Kafka,
  producer: TransactionalProducer,
  topics: string[],
  id: string,
  log: Logger,
): Promise<void> {
  const found = await withAdmin(kafka, (admin) => admin.partitions(topics));
  const tx = await producer.begin();
  try {
    await tx.send(
      found.map((t) => ({
        topic: t.topic,
        messages: t.partitions.map((partition) => ({
          key: 'sluice-sweep',
          value: Buffer.alloc(0),
          partition,
        })),
      })),
    );
  } finally {
    await tx.abort();
  }
  log.info({ task: id, topics }, 'aborted what the failed commit may have left open');
}
