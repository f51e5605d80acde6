import {
  CHECKPOINT_VERSION,
  checkpointOf,
  endedOutcomesOf,
  type LogPosition,
} from '../domain/checkpoint.js';
import type { Clock } from '../domain/clock.js';
import type { Cluster } from '../domain/cluster.js';
import type { JobEvent } from '../domain/events.js';
import { jobPartition, type Topics } from '../domain/resources.js';
import type { ProducedRecord, TransactionalProducer } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';

/**
 * How often the active coordinator checkpoints the jobs that changed, and after how many events
 * read past the last checkpoint a rebuild writes a full one: what a failover reads of the log
 * is then bounded by a few seconds of events, not by the log's length.
 */
export const CHECKPOINT_INTERVAL_MS = 5_000;
export const FULL_CHECKPOINT_AFTER_EVENTS = 1_000;

/** Records per checkpoint transaction: a first checkpoint of many jobs goes in several. */
const RECORDS_PER_TRANSACTION = 2_000;

/**
 * Writes the active coordinator's checkpoints: the states of the jobs that changed since the
 * last one, and where the log stood, so that the next coordinator (after a failover) folds the
 * checkpoint and reads only the log's tail. Written with the election's transactional producer,
 * so a fenced coordinator cannot write one. The states go before the positions (a first
 * checkpoint may take several transactions): a state ahead of its partition's position is
 * harmless, since folding skips the events a state already holds.
 */
export class Checkpointer {
  private readonly dirty = new Set<string>();
  /** Per job-log partition, the next offset after the events folded so far. */
  private readonly ends = new Map<number, bigint>();
  private readonly moved = new Set<number>();

  constructor(
    private readonly topics: Topics,
    private readonly jobsPartitions: number,
    private readonly log: Logger,
  ) {}

  /**
   * After a rebuild: where the log ended, and the jobs read from its tail, which the checkpoint
   * does not hold yet; `all` marks every job. They must be written before (or with) any
   * position past their events: a position moved on alone would, at the next failover, skip
   * the tail's events on top of the older states the checkpoint still holds.
   */
  rebuilt(
    cluster: Cluster,
    ends: ReadonlyMap<number, bigint>,
    tailJobs: ReadonlySet<string>,
    all: boolean,
  ): void {
    this.dirty.clear();
    this.ends.clear();
    this.moved.clear();
    for (const [p, end] of ends) {
      this.ends.set(p, end);
      this.moved.add(p);
    }
    // Every job id the log names, with a state or only refusals (see JobCheckpoint.state).
    for (const jobId of all ? cluster.nextSeq.keys() : tailJobs) this.dirty.add(jobId);
  }

  /** After a batch's transaction committed: its events, and each partition's new end. */
  appended(events: readonly JobEvent[], ends: ReadonlyMap<number, bigint>): void {
    for (const e of events) this.dirty.add(e.jobId);
    for (const [p, end] of ends) {
      this.ends.set(p, end);
      this.moved.add(p);
    }
  }

  /** True when a checkpoint would write anything. */
  get due(): boolean {
    return this.dirty.size > 0 || this.moved.size > 0;
  }

  private stopTimer: () => void = () => undefined;

  /**
   * Every CHECKPOINT_INTERVAL_MS until {@link stop}: writes what changed in `cluster`, in
   * `turn` with the command batches (see {@link writeSoon}).
   */
  start(
    clock: Clock,
    cluster: Cluster,
    turn: (work: () => Promise<unknown>) => Promise<unknown>,
    producer: () => TransactionalProducer | undefined,
  ): void {
    this.stop();
    this.stopTimer = clock.every(CHECKPOINT_INTERVAL_MS, () =>
      this.writeSoon(cluster, producer, turn),
    );
  }

  stop(): void {
    this.stopTimer();
  }

  /**
   * {@link write} in `turn` (after the batch in hand), if anything is due and `producer()`
   * still gives the producer of the state's election (undefined once it was replaced). A failure is logged: the log is still the truth, and a missed
   * checkpoint only makes the next rebuild longer.
   */
  writeSoon(
    cluster: Cluster,
    producer: () => TransactionalProducer | undefined,
    turn: (work: () => Promise<unknown>) => Promise<unknown>,
  ): void {
    turn(async () => {
      const p = producer();
      if (p && this.due) await this.write(cluster, p);
    }).catch((err: unknown) =>
      this.log.warn({ err }, 'could not write a checkpoint; trying again at the next interval'),
    );
  }

  /**
   * Writes the changed jobs and the positions, in transactions of `producer`. Called only
   * between batches, when everything folded is committed. On failure, what was not written
   * stays due.
   */
  async write(cluster: Cluster, producer: TransactionalProducer): Promise<number> {
    const started = Date.now();
    const ids = new Set(this.dirty);
    const ended = endedOutcomesOf(cluster, ids);
    const records: { partition: number; record: ProducedRecord }[] = [];
    for (const jobId of ids) {
      const c = checkpointOf(cluster, jobId, ended);
      if (!c) continue;
      records.push({
        partition: jobPartition(jobId, this.jobsPartitions),
        record: { key: `job/${jobId}`, value: JSON.stringify(c) },
      });
    }
    const moved = [...this.moved];
    for (const p of moved) {
      const offset = String(this.ends.get(p) ?? 0n);
      const position: LogPosition = { v: CHECKPOINT_VERSION, partition: p, offset };
      records.push({
        partition: p,
        record: { key: `position/${p}`, value: JSON.stringify(position) },
      });
    }
    for (let i = 0; i < records.length; i += RECORDS_PER_TRANSACTION) {
      const tx = await producer.begin();
      try {
        // Sends of bounded size: the client puts a send's records for a partition in one batch,
        // and the broker refuses a batch over message.max.bytes (1 MB by default).
        for (const part of bySize(records.slice(i, i + RECORDS_PER_TRANSACTION)))
          await tx.send([
            {
              topic: this.topics.checkpoint,
              messages: part.map((r) => ({ ...r.record, partition: r.partition })),
            },
          ]);
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    }
    for (const id of ids) this.dirty.delete(id);
    for (const p of moved) this.moved.delete(p);
    const ms = Date.now() - started;
    // Commands wait while a checkpoint is written (both use the election's producer): say so
    // when one took long, as after a bulk load of jobs.
    const fields = { jobs: ids.size, partitions: moved.length, ms };
    if (ms >= 1_000) this.log.info(fields, 'checkpoint written; commands waited for it');
    else this.log.debug(fields, 'checkpoint written');
    return ids.size;
  }
}

/** Bytes of record values per send, well under a broker's default message.max.bytes. */
const BYTES_PER_SEND = 256 * 1024;

/** Splits records into consecutive runs of at most BYTES_PER_SEND of values (one at least). */
function bySize<T extends { record: ProducedRecord }>(records: T[]): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size =
      typeof r.record.value === 'string' ? r.record.value.length : (r.record.value?.length ?? 0);
    if (part.length > 0 && bytes + size > BYTES_PER_SEND) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(r);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
