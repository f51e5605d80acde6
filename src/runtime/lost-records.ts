import { TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import { describeLostRanges, SourceDataLostError, type LostRange } from '../domain/data-loss.js';
import { taskTransactionalId } from '../domain/resources.js';
import type { PositionOutOfRangeError } from '../kafka/errors.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Admin, Kafka } from '../kafka/port.js';
import { lostRecords } from '../kafka/positions.js';
import type { Logger } from '../observability/logger.js';

/** A hop as the check sees it: its consumer group and the topics it reads. */
export interface HopInputs {
  groupId: string;
  topics: string[];
}

/** What {@link checkLostRecords} checks, and whether the run's resume accepted a loss. */
export interface LostRecordsCheck {
  jobName: string;
  /** Every hop of the job: the sources' group first, then each repartition topic's. */
  hops: HopInputs[];
  /** The resume that started this run accepted data loss (`ResumePlan.acceptDataLoss`). */
  accept: boolean;
  log: Logger;
}

/**
 * Before a run reads anything: on every partition a hop's group has committed on, the committed
 * offset must still exist. When retention or `deleteRecords` removed records past it while the
 * job was stopped, a consumer would start at the log start and skip them without a word, so
 * the run refuses to start (`SourceDataLostError`, which the worker reports as the failure to
 * start), unless its resume accepted the loss. Then the run goes on from the log start: the
 * lost ranges are logged as a warning, and the groups' offsets are moved there before any task
 * opens, so that no later start of the job meets the same gap again (a partition with nothing
 * left to read would otherwise keep its old offset).
 */
export async function checkLostRecords(
  kafka: Kafka,
  admin: Admin,
  check: LostRecordsCheck,
): Promise<void> {
  const found: { groupId: string; lost: LostRange[] }[] = [];
  for (const hop of check.hops) {
    const lost = await lostRecords(admin, hop.groupId, hop.topics);
    if (lost.length > 0) found.push({ groupId: hop.groupId, lost });
  }
  const all = found.flatMap((f) => f.lost);
  if (all.length === 0) return;
  if (!check.accept) throw new SourceDataLostError(check.jobName, all);
  check.log.warn(
    { lost: all },
    `records deleted while the job was stopped are skipped, as its resume accepted: ${describeLostRanges(all)}`,
  );
  for (const { groupId, lost } of found)
    for (const range of lost) await moveToLogStart(kafka, admin, groupId, range);
}

/**
 * Commits the partition's log start as the group's offset, in a transaction of the partition's
 * task id: taking the id over fences a task of another worker that already runs the partition
 * (all the job's workers check at once), and the offset is read again after the fencing, so an
 * offset such a task committed past the log start is never moved back.
 */
async function moveToLogStart(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  range: LostRange,
): Promise<void> {
  const { topic, partition } = range;
  const producer = kafka.transactionalProducer({
    transactionalId: taskTransactionalId(groupId, topic, partition),
    transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.task,
  });
  await producer.init();
  try {
    const now = (await admin.committed(groupId, [topic])).find((p) => p.partition === partition);
    if (now === undefined || BigInt(now.offset) >= BigInt(range.earliest)) return;
    const tx = await producer.begin();
    try {
      await tx.sendOffsets({ groupId }, [{ topic, partition, offset: range.earliest }]);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Why a running hop stopped at records deleted before it read them (its consumer's
 * `deletedRecords: 'stop'`): every range its group lost past its committed offsets, as a
 * {@link SourceDataLostError} that a resume with `acceptDataLoss` goes past (checkLostRecords
 * finds the same ranges then). The consumer's own error when the offsets show no such range
 * (the partition was cut short, or the group had committed nothing there), or when they cannot
 * be read. A chunk whose commit was still on its way may have landed since the offsets were
 * read: the range named then starts up to a chunk early; the resume skips only what is gone.
 */
export async function deletedBeforeRead(
  kafka: Kafka,
  job: { groupId: string; topics: string[]; jobName: string },
  err: PositionOutOfRangeError,
): Promise<Error> {
  try {
    const lost = await withAdmin(kafka, (admin) => lostRecords(admin, job.groupId, job.topics));
    return lost.length > 0 ? new SourceDataLostError(job.jobName, lost, 'running') : err;
  } catch {
    return err;
  }
}
