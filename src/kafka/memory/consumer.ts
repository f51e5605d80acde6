import { errorType, PositionOutOfRangeError } from '../errors.js';
import type {
  ConsumeOptions,
  ConsumerOptions,
  GroupConsumer,
  GroupMetadata,
  PartitionOffset,
} from '../port.js';
import { fetchPartition, type BatchHost, type FetchOutcome } from './batch.js';
import { Membership } from './membership.js';
import { parseOffset } from './offsets.js';
import type { ClientProcess } from './process.js';
import { pickReady, type Owned, type Share } from './share.js';
import { Wakeup } from './wakeup.js';

/**
 * How long a consumer waits before fetching again when a round of batches moved no position
 * (each returned without resolving anything). kafkajs fetches again at once; here that would
 * spin on microtasks without virtual time ever moving, so it waits a little on the clock.
 */
const NO_PROGRESS_DELAY_MS = 50;

/**
 * A group member modelled on kafkajs's consumer runner (`fetchPartition` does one batch,
 * `Membership` the group protocol). Its loop: rejoin once its generation ended (noticed at its
 * next fetch, or from a heartbeat's or commit's error), heartbeat when due, fetch up to
 * `partitionsInParallel` owned partitions that have something below their last stable offset
 * (in turn), handle their batches at once, and wait for data, at most `fetchMaxWaitMs`, when
 * there is none. Errors never stop it: it backs off (`retryBackoffMs`) and goes on, rejoining
 * first if the error says so. Positions come from the group's committed offsets at each new
 * share, as kafkajs resolves them anew after every join.
 */
export class MemoryConsumer implements GroupConsumer, BatchHost {
  options!: ConsumeOptions;
  readonly maxBatchRecords: number;
  private started = false;
  private readonly membership: Membership;
  private readonly paused = new Set<string>();
  private readonly seeks = new Map<string, number>();
  private active = false;
  private cursor = 0;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly wakeup: Wakeup;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly process: ClientProcess,
    private readonly config: ConsumerOptions,
  ) {
    const wakeup = new Wakeup(process.broker.clock);
    this.wakeup = wakeup;
    this.membership = new Membership(process, config, () => wakeup.wake());
    this.maxBatchRecords = process.broker.config.maxBatchRecords;
  }

  /** Subscribes (every topic must exist), joins, and resolves once the first share is in. */
  async start(options: ConsumeOptions): Promise<void> {
    const { topics } = this.process.broker;
    await this.process.call('join', { groupId: this.groupId, topics: options.topics }, () => {
      if (this.started) throw new Error(`The consumer of ${this.groupId} was already started`);
      for (const t of options.topics) topics.require(t);
      this.started = true;
    });
    this.options = options;
    if (this.stopping !== undefined) return; // stopped while the request was in flight
    this.active = true;
    for (const t of options.topics)
      this.cleanups.push(topics.require(t).watch(() => this.wakeup.wake()));
    this.cleanups.push(this.process.onCrash(() => this.wakeup.wake()));
    if (await this.join()) this.loop = this.run();
  }

  pause(topics: string[]): void {
    this.process.check();
    for (const t of topics) this.paused.add(t);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.process.check();
    this.seeks.set(`${topic}:${partition}`, parseOffset(offset));
    this.wakeup.wake();
  }

  groupMetadata(): GroupMetadata {
    const { member, share } = this.membership;
    return member === undefined || share.generation < 0
      ? { groupId: this.groupId }
      : { groupId: this.groupId, memberId: member.id, generationId: share.generation };
  }

  commit(offsets: PartitionOffset[]): Promise<void> {
    const target = { groupId: this.groupId, topics: offsets.map((o) => o.topic) };
    return this.process.call('offsetCommit', target, () => {
      const parsed = offsets.map((o) => ({ ...o, offset: parseOffset(o.offset) }));
      this.membership.commit(parsed);
      const list = parsed.map((o) => `${o.topic}/${o.partition}=${o.offset}`).join(' ');
      this.process.broker.trace(`${this.process.name} commit ${this.groupId} ${list}`);
    });
  }

  stop(): Promise<void> {
    this.process.check();
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** {@link BatchHost}: false once stopping or crashed. */
  running(): boolean {
    return this.active && !this.process.crashed;
  }

  /** {@link BatchHost}: whether the process crashed. */
  crashed(): boolean {
    return this.process.crashed;
  }

  /** {@link BatchHost}: whether a seek of the partition waits to be applied. */
  seekPending(key: string): boolean {
    return this.seeks.has(key);
  }

  /** {@link BatchHost}: a batch's heartbeat, a request once the interval has passed. */
  heartbeat(): Promise<void> {
    return this.process.call('heartbeat', { groupId: this.groupId }, () => this.membership.beat());
  }

  private get groupId(): string {
    return this.config.groupId;
  }

  private async shutdown(): Promise<void> {
    this.active = false;
    this.wakeup.wake();
    // A join waiting for a rebalance ends with the leave; a batch in flight finishes first.
    if (this.membership.joining) this.membership.leave();
    await this.loop;
    if (!this.process.crashed) this.membership.leave();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.process.broker.trace(`${this.process.name} consumer ${this.groupId} stopped`);
  }

  private async join(): Promise<boolean> {
    this.cursor = 0;
    return this.membership.join(
      this.options.topics,
      () => this.running(),
      this.options.onAssignment,
    );
  }

  private async run(): Promise<void> {
    const { clock, config } = this.process.broker;
    const m = this.membership;
    while (this.running()) {
      const gate = this.process.gate();
      if (gate !== undefined) {
        await gate;
        continue;
      }
      if (m.share.stale) m.rejoin = true;
      if (m.rejoin) {
        if (!(await this.join())) break;
        continue;
      }
      try {
        m.beat(true);
        const fault = this.process.fault('fetch', {
          groupId: this.groupId,
          topics: this.options.topics,
        });
        if (fault?.fatal === true) {
          this.fail(fault.error);
          break;
        }
        if (fault !== undefined) throw fault.error;
      } catch (err) {
        await this.recover(err);
        continue;
      }
      this.wakeup.reset();
      const { ready, cursor, outOfRange } = pickReady({
        share: m.share,
        cursor: this.cursor,
        most: this.options.partitionsInParallel ?? 1,
        paused: this.paused,
        seeks: this.seeks,
        stopOutOfRange: this.config.deletedRecords === 'stop',
      });
      this.cursor = cursor;
      if (outOfRange !== undefined) {
        const { topic, partition, position } = outOfRange;
        this.fail(new PositionOutOfRangeError(topic, partition, String(position)));
        break;
      }
      if (ready.length === 0) {
        await this.wakeup.wait(config.fetchMaxWaitMs);
        continue;
      }
      const share = m.share;
      const outcomes = await Promise.all(ready.map((o) => this.handle(o, share)));
      if (this.process.crashed) break;
      const failure = outcomes.find((o) => o.error !== undefined)?.error;
      if (failure !== undefined) await this.recover(failure.cause);
      else if (!outcomes.some((o) => o.progressed)) await clock.sleep(NO_PROGRESS_DELAY_MS);
    }
  }

  private async handle(o: Owned, share: Share): Promise<FetchOutcome> {
    const outcome = await fetchPartition(this, o, share);
    if (!this.process.crashed && this.options.autoCommit) this.membership.autoCommit(o);
    return outcome;
  }

  /**
   * After an error: rejoin if it says so, and fetch again after a backoff. (kafkajs rejoins
   * without one; here the backoff keeps a handler that throws at once from spinning.)
   */
  private async recover(err: unknown): Promise<void> {
    const broker = this.process.broker;
    const what = errorType(err) ?? (err instanceof Error ? err.message : String(err));
    broker.trace(`${this.process.name} consumer ${this.groupId} error ${what}`);
    this.membership.noteRejoin(err);
    await broker.clock.sleep(broker.config.retryBackoffMs);
  }

  /** A fatal fault: leave the group and stop, as kafkajs does on a crash it does not retry. */
  private fail(err: Error): void {
    this.active = false;
    this.membership.leave();
    this.process.broker.trace(`${this.process.name} consumer ${this.groupId} gave up`);
    this.options.onCrash?.(err, false);
  }
}
