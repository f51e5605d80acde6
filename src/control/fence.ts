import { failpoint } from '../observability/failpoint.js';
import { FENCE_TIMEOUT_MS, TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import type { Clock } from '../domain/clock.js';
import type { Cluster } from '../domain/cluster.js';
import type { JobEvent } from '../domain/events.js';
import { isJobGroup, taskTransactionalId } from '../domain/resources.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Admin, Kafka } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';

/** Producers opened at once while fencing: enough to be quick, few enough to spare the broker. */
const FENCE_CONCURRENCY = 8;

/**
 * The transactional ids the jobs' exactly-once tasks use: one per partition of every topic any
 * of a job's consumer groups reads, whether it committed there yet (its offsets) or not (its
 * members' assignments).
 */
async function transactionalIds(
  admin: Admin,
  namespace: string,
  jobIds: string[],
): Promise<string[]> {
  const all = await admin.listGroups();
  const groupIds = all.filter((g) => jobIds.some((jobId) => isJobGroup(namespace, jobId, g)));
  if (groupIds.length === 0) return [];
  const groups = await admin.describeGroups(groupIds);
  const ids: string[] = [];
  for (const groupId of groupIds) {
    const topics = new Set((await admin.committed(groupId)).map((p) => p.topic));
    for (const member of groups.find((g) => g.groupId === groupId)?.members ?? [])
      for (const topic of Object.keys(member.assignment)) topics.add(topic);
    if (topics.size === 0) continue;
    for (const { topic, partitions } of await admin.partitions([...topics].sort()))
      for (const partition of partitions) ids.push(taskTransactionalId(groupId, topic, partition));
  }
  return ids;
}

/**
 * Fences the jobs' tasks before the coordinator appends the events that stop them. Taking over
 * a task's transactional id bumps its epoch: a transaction already committing completes first
 * (the broker answers only then), an open one is aborted, and the task's producer can commit
 * nothing more. A task must then open a new producer, which a worker does only after a pause
 * long enough to have read the event (see runtime/hop.ts), so no output of the job appears
 * after the event.
 *
 * Resolves to the number of ids fenced.
 */
async function fenceJobs(kafka: Kafka, namespace: string, jobIds: string[]): Promise<number> {
  const ids = await withAdmin(kafka, (admin) => transactionalIds(admin, namespace, jobIds));
  let next = 0;
  const fenceNext = async (): Promise<void> => {
    for (let id = ids[next++]; id !== undefined; id = ids[next++]) {
      const producer = kafka.transactionalProducer({
        transactionalId: id,
        transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.fence,
      });
      try {
        await producer.init(); // the fencing itself
        failpoint('coordinator.during-fencing', next < ids.length);
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FENCE_CONCURRENCY, ids.length) }, fenceNext));
  return ids.length;
}

/** Events that stop a job's tasks: their transactions must not commit after these appear. */
const STOPPING: ReadonlySet<JobEvent['type']> = new Set([
  'JobSuspendedDueToError',
  'JobSuspended',
  'JobFailed',
]);

/**
 * Fences every exactly-once job that `events` stop, before the coordinator appends them. Best
 * effort: a fence that fails or hangs is logged and the events go out anyway, since a job that
 * failed must be seen as stopped even when a broker misbehaves.
 */
export async function fenceStoppingJobs(
  kafka: Kafka,
  namespace: string,
  cluster: Cluster,
  events: JobEvent[],
  log: Logger,
  clock: Clock,
): Promise<void> {
  const jobIds = [
    ...new Set(
      events
        .filter((e) => STOPPING.has(e.type))
        .filter((e) => cluster.jobs.get(e.jobId)?.config.processingGuarantee === 'EXACTLY_ONCE')
        .map((e) => e.jobId),
    ),
  ];
  if (jobIds.length === 0) return;
  const started = clock.now();
  // Settled here whatever happens, so a fence still running after the timeout rejects nowhere.
  const fencing = fenceJobs(kafka, namespace, jobIds).then(
    (fenced) => ({ fenced }),
    (err: unknown) => ({ err }),
  );
  let cancel: () => void = () => undefined;
  const timeout = new Promise<{ err: Error }>((resolve) => {
    cancel = clock.after(FENCE_TIMEOUT_MS, () =>
      resolve({ err: new Error(`no answer within ${FENCE_TIMEOUT_MS} ms`) }),
    );
  });
  const outcome = await Promise.race([fencing, timeout]);
  cancel();
  if ('fenced' in outcome)
    log.debug(
      { jobIds, fenced: outcome.fenced, ms: clock.now() - started },
      'job transactions fenced',
    );
  else
    log.warn(
      { err: outcome.err, jobIds },
      'could not fence the jobs’ transactions; a commit in flight may land after the event',
    );
}
