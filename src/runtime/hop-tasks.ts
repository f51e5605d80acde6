import type { ProcessingGuarantee } from '../domain/status.js';
import type { Kafka } from '../kafka/port.js';
import type { GroupPosition } from '../kafka/positions.js';
import type { Logger } from '../observability/logger.js';
import type { JobMetrics } from '../observability/metrics.js';
import { TaskOpenFailure } from './failure.js';
import { openTasks, type OpenSpec } from './open.js';
import type { Task } from './task.js';

/** What a hop's task set needs. */
export interface HopTasksOptions {
  kafka: Kafka;
  spec: Omit<OpenSpec, 'guarantee' | 'sweep' | 'stillOwned'>;
  guarantee: ProcessingGuarantee;
  log: Logger;
  metrics: JobMetrics;
  /** Moves the consumer to where the group stands on a task just opened. */
  seek: (task: Task, at: GroupPosition) => void;
  /** True once the hop is frozen or stopping: nothing more is opened then. */
  frozen: () => boolean;
  /** Called once, when the first assignment's tasks are open. */
  started: () => void;
  /** Called after each successful opening: Kafka answers again. */
  opened?: () => void;
  /** Sweep every task the first time it opens here too (see HopOptions.sweepOnFirstOpen). */
  sweepOnFirstOpen?: boolean;
}

/**
 * The tasks of one hop on this worker: one per input partition its consumer group assigned
 * here, opened as assignments arrive (see open.ts), dropped when a partition moves or a commit
 * fails, and opened again on demand. Assignments are handled one after the other.
 */
export class HopTasks {
  readonly tasks = new Map<string, Task>();
  private ready: Promise<void> = Promise.resolve();
  /** The partitions the latest assignment gave this worker, once its tasks are being opened. */
  private owned = new Set<string>();
  /** The partitions the newest assignment gives this worker, as soon as it is announced. */
  private announced = new Set<string>();
  /** Tasks whose last commit failed here, to sweep when they reopen (see sweep in open.ts). */
  private readonly sweeps = new Set<string>();
  /** Tasks opened here at least once. */
  private readonly openedOnce = new Set<string>();
  private started = false;

  constructor(private readonly o: HopTasksOptions) {}

  /**
   * A new assignment of the hop's partitions. Joins can overlap (a rebalance during a slow
   * restore), so assignments run one after the other: two at once would open two producers
   * with one transactional id, and the fenced one could end up owning the task, failing every
   * commit from then on.
   */
  assign(owned: Set<string>): void {
    this.announced = owned;
    this.ready = this.ready.catch(() => undefined).then(() => this.onAssignment(owned));
    // Awaited by every batch (which rethrows to the consumer); logged here for when none comes.
    this.ready.catch((err: unknown) =>
      this.o.log.warn({ err }, 'could not open the assigned tasks'),
    );
  }

  /**
   * Waits for the assignments' tasks to open. An opening that failed (a transient error from
   * `init()`, say) fails this batch, and the batch comes again; it must not fail every batch
   * from then on: without a rebalance no new assignment replaces it, so the partitions would
   * stall. The tasks it left unopened are opened by {@link taskFor}, batch by batch.
   */
  async whenReady(): Promise<void> {
    const ready = this.ready;
    try {
      await ready;
    } catch (err) {
      if (this.ready === ready) this.ready = Promise.resolve();
      throw err;
    }
  }

  /**
   * The task of an owned partition. One whose commit failed was dropped (its producer may be
   * fenced, its memory ahead of Kafka); it is opened afresh here, from the committed state, and
   * the unresolved records are fetched again.
   */
  async taskFor(id: string): Promise<Task | undefined> {
    if (!this.tasks.has(id) && this.owned.has(id)) {
      this.ready = this.ready.catch(() => undefined).then(() => this.open([id]));
      await this.ready;
    }
    return this.tasks.get(id);
  }

  /**
   * Drops a task whose commit failed: its producer may hold a transaction it cannot end or be
   * fenced, and its memory may be ahead of Kafka. Under EXACTLY_ONCE it is swept when it reopens.
   */
  async fail(id: string, task: Task): Promise<void> {
    await this.drop(id, task);
    if (this.o.guarantee === 'EXACTLY_ONCE') this.sweeps.add(id);
  }

  /**
   * Disconnects every task's producer. A transaction a producer left open is not aborted by
   * that (kafkajs's disconnect sends nothing): the next owner's takeover of the id aborts it,
   * or the broker does at the transaction timeout.
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.tasks.values()].map(async (t) => {
        await t.producer?.disconnect().catch(() => undefined);
      }),
    );
    this.tasks.clear();
  }

  private async onAssignment(owned: Set<string>): Promise<void> {
    this.owned = owned;
    for (const [id, task] of this.tasks) {
      if (!owned.has(id)) await this.drop(id, task);
    }
    await this.open([...owned].filter((i) => !this.tasks.has(i)));
    this.announceStart();
  }

  /** Tells the runner once that processing starts: after the first assignment's tasks opened. */
  private announceStart(): void {
    if (!this.started) {
      this.started = true;
      this.o.started();
    }
  }

  private async drop(id: string, task: Task): Promise<void> {
    this.tasks.delete(id);
    await task.producer?.disconnect().catch(() => undefined);
  }

  /** Opens tasks (see open.ts); the consumer moves to where the group stands on each. */
  private async open(wanted: string[]): Promise<void> {
    // Queued behind an opening that has opened them meanwhile: opening again would take the
    // transactional id from the task just opened.
    const ids = wanted.filter((id) => !this.tasks.has(id));
    if (ids.length === 0) return;
    const { kafka, spec, guarantee, log, metrics, frozen } = this.o;
    let opened: Map<string, Task>;
    const sweep = new Set(this.sweeps);
    if (this.o.sweepOnFirstOpen) for (const id of ids) if (!this.openedOnce.has(id)) sweep.add(id);
    try {
      opened = await openTasks(
        kafka,
        {
          ...spec,
          guarantee,
          sweep,
          stillOwned: (id) => !frozen() && this.announced.has(id),
        },
        ids,
        this.o.seek,
        log,
        (done, total) => metrics.restore(done, total),
      );
    } catch (err) {
      throw new TaskOpenFailure(ids, err);
    }
    for (const [id, task] of opened) this.tasks.set(id, task);
    for (const id of opened.keys()) {
      this.sweeps.delete(id);
      this.openedOnce.add(id);
    }
    this.o.opened?.();
    // The first assignment's opening may have failed and left its tasks to taskFor.
    this.announceStart();
  }
}
