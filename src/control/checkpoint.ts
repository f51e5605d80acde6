import {
  checkpointOf,
  endedOutcomesOf,
  parseCheckpoint,
  type JobCheckpoint,
  type LogPosition,
} from '../domain/checkpoint.js';
import type { Cluster } from '../domain/cluster.js';
import type { JobEvent } from '../domain/events.js';
import { jobPartition, type Topics } from '../domain/resources.js';
import type { Kafka, ProducedRecord, TransactionalProducer } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
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

/** What a checkpoint topic holds: the jobs' states and the log positions they cover. */
export interface Checkpoint {
  jobs: JobCheckpoint[];
  /** Per job-log partition, the next offset after what the states cover. */
  positions: Map<number, bigint>;
}

/**
 * Reads the checkpoint topic to its end (read_committed): the latest record per key. A record
 * this version cannot read is left out, so its job, or its partition, is read from the log.
 */
export async function readCheckpoint(kafka: Kafka, topic: string): Promise<Checkpoint> {
  const latest = new Map<string, string | null>();
  await readToEnd(kafka, [topic], (_t, _p, r) => {
    const key = r.key?.toString();
    if (key !== undefined) latest.set(key, r.value ? r.value.toString() : null);
  });
  const jobs: JobCheckpoint[] = [];
  const positions = new Map<number, bigint>();
  for (const value of latest.values()) {
    const parsed = value === null ? undefined : parseCheckpoint(value);
    if (!parsed) continue;
    if ('partition' in parsed) positions.set(parsed.partition, BigInt(parsed.offset));
    else jobs.push(parsed);
  }
  return { jobs, positions };
}

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

  /** After a rebuild: where the log ended; `all` marks every job to be written. */
  rebuilt(cluster: Cluster, ends: ReadonlyMap<number, bigint>, all: boolean): void {
    this.dirty.clear();
    this.ends.clear();
    this.moved.clear();
    for (const [p, end] of ends) this.ends.set(p, end);
    if (all) {
      // Every job id the log names, with a state or only refusals (see JobCheckpoint.state).
      for (const jobId of cluster.nextSeq.keys()) this.dirty.add(jobId);
      for (const p of ends.keys()) this.moved.add(p);
    }
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
      const position: LogPosition = { v: 1, partition: p, offset: String(this.ends.get(p) ?? 0n) };
      records.push({
        partition: p,
        record: { key: `position/${p}`, value: JSON.stringify(position) },
      });
    }
    for (let i = 0; i < records.length; i += RECORDS_PER_TRANSACTION) {
      const tx = await producer.begin();
      try {
        await tx.send([
          {
            topic: this.topics.checkpoint,
            messages: records
              .slice(i, i + RECORDS_PER_TRANSACTION)
              .map((r) => ({ ...r.record, partition: r.partition })),
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
    this.log.debug({ jobs: ids.size, partitions: moved.length }, 'checkpoint written');
    return ids.size;
  }
}
