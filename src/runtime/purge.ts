import type { Clock, Cancel } from '../domain/clock.js';
import type { Kafka } from '../kafka/port.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Logger } from '../observability/logger.js';

/**
 * How often a hop deletes the records of its repartition topic that its group has committed
 * past: Kafka Streams' repartition.purge.interval.ms.
 */
export const PURGE_INTERVAL_MS = 30_000;

/** What a hop's purge needs: its group, its repartition topic, and the partitions it owns. */
export interface PurgeSpec {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** This worker's partitions of `topic` now. */
  owned: () => number[];
  clock: Clock;
  log: Logger;
}

/**
 * Deletes, every {@link PURGE_INTERVAL_MS}, the records of a repartition topic below what the
 * hop reading it has committed, on the partitions this worker owns. Repartition topics are
 * made with no time retention (`retention.ms=-1`, see topics.ts): a job suspended for longer
 * than a week must still find, on resume, the records its frozen hop had not read; and with
 * no retention a topic would otherwise grow for ever. Below a committed offset every record
 * is processed and its outputs committed, so nothing a resume, a dry run or an export reads
 * (the failing record, the unread input) is deleted. A purge that fails is tried again at the
 * next interval: the records wait, nothing is lost.
 */
export class InputPurge {
  private cancel: Cancel | undefined;
  private running = false;
  /** Per partition, the offset last purged below: a call only when the group moved on. */
  private readonly done = new Map<number, bigint>();

  constructor(private readonly spec: PurgeSpec) {}

  start(): void {
    this.cancel ??= this.spec.clock.every(PURGE_INTERVAL_MS, () => void this.purge());
  }

  stop(): void {
    this.cancel?.();
  }

  /** One round; public for tests. */
  async purge(): Promise<void> {
    const { kafka, groupId, topic, log } = this.spec;
    const owned = new Set(this.spec.owned());
    if (this.running || owned.size === 0) return;
    this.running = true;
    try {
      await withAdmin(kafka, async (admin) => {
        const below = (await admin.committed(groupId, [topic])).filter(
          (p) => owned.has(p.partition) && BigInt(p.offset) > (this.done.get(p.partition) ?? 0n),
        );
        if (below.length === 0) return;
        await admin.deleteRecords(
          topic,
          below.map((p) => ({ partition: p.partition, offset: p.offset })),
        );
        for (const p of below) this.done.set(p.partition, BigInt(p.offset));
      });
    } catch (err) {
      log.warn(
        { err, topic },
        'could not delete processed records of the repartition topic; trying again later',
      );
    } finally {
      this.running = false;
    }
  }
}
