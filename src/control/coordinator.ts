import { hostname } from 'node:os';
import { CommandCodec, EventCodec } from '../codec/log-codec.js';
import type { SchemaRegistry } from '../codec/registry.js';
import type { Cluster } from '../domain/cluster.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { coordinatorGroup, topicNames, type Topics } from '../domain/resources.js';
import { withAdmin } from '../kafka/offsets.js';
import type { TopicReplication } from '../kafka/topics.js';
import type { ConsumedRecord, GroupConsumer, Kafka } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';
import { appendBatch, decideBatch, logEvent } from './command-batch.js';
import { fenceStoppingJobs } from './fence.js';
import { electionConsumer, ElectionProducer } from './election-producer.js';
import { rebuildState } from './rebuild.js';
import { Checkpointer } from './checkpoint.js';
import { SnapshotRecorder } from './snapshots.js';
import { purgeRecords } from './purge.js';
import { offsetsToCommit, readPositions, type ControlPositions } from './cutover.js';
import type { Channel } from '../domain/channels.js';
import { ensureTopics } from '../log/topics.js';

/** At most this many commands share one transaction, which keeps transactions short. */
const MAX_COMMANDS_PER_TRANSACTION = 500;

/** How to run a coordinator. */
export interface CoordinatorDeps {
  kafka: Kafka;
  registry: SchemaRegistry;
  namespace: string;
  logger: Logger;
  /** Shown in logs; defaults to host:pid. */
  memberName?: string;
  sessionTimeoutMs?: number;
  jobsPartitions?: number;
  /** Replication of the namespace's topics if this creates them; default the broker's. */
  replication?: TopicReplication | undefined;
  /** Default: the wall clock. */
  clock?: Clock;
}

/**
 * Turns commands and reports into lifecycle events. Every coordinator joins the election group
 * of the control and reports topics; the member that owns them is the active one. On becoming
 * active it fences any earlier incarnation through its stable transactional id, rebuilds the
 * state from the job log, then handles each batch in one transaction that appends the events
 * and commits the batch's offsets.
 */
export class Coordinator {
  private readonly topics: Topics;
  private readonly log: Logger;
  private readonly events: EventCodec;
  private readonly commands: CommandCodec;
  private positions: ControlPositions | undefined;
  private consumer: GroupConsumer | undefined;
  private cluster: Cluster | undefined;
  private jobsPartitions = 0;
  private applied = 0;
  private active = false;
  private activation: Promise<void> | undefined;
  private generation = 0;
  /** Set by stop(): nothing is activated any more, and every producer opened is closed. */
  private stopped = false;
  private readonly producer: ElectionProducer;
  private readonly snapshots: SnapshotRecorder;
  private checkpoints: Checkpointer | undefined;
  /** Work on the election's producer, one at a time: a batch's transaction, or a checkpoint's. */
  private turn: Promise<unknown> = Promise.resolve();
  private rebuilt: { checkpointed: number; events: number } | undefined;
  private readonly clock: Clock;

  constructor(private readonly opts: CoordinatorDeps) {
    this.clock = opts.clock ?? systemClock;
    this.topics = topicNames(opts.namespace);
    this.producer = new ElectionProducer(opts.kafka, opts.namespace);
    const member = this.member;
    this.log = opts.logger.child({ component: 'coordinator', member, namespace: opts.namespace });
    this.events = new EventCodec(opts.registry, this.topics.jobs);
    this.commands = new CommandCodec(opts.registry, this.topics.control);
    this.snapshots = new SnapshotRecorder({
      kafka: opts.kafka,
      namespace: opts.namespace,
      topics: this.topics,
      codec: new CommandCodec(opts.registry, this.topics.reports),
      worker: `coordinator:${member}`,
      log: this.log,
      clock: this.clock,
    });
  }

  /** This member's name in logs and in the snapshots it records. */
  private get member(): string {
    return this.opts.memberName ?? `${hostname()}:${process.pid}`;
  }

  /** True while this member owns the control partition and has rebuilt the state. */
  isActive(): boolean {
    return this.active;
  }

  /** What this member's last rebuild read: jobs from the checkpoint, events from the log. */
  get lastRebuild(): { checkpointed: number; events: number } | undefined {
    return this.rebuilt;
  }

  /** Commands applied by this member since it started. */
  get commandsApplied(): number {
    return this.applied;
  }

  /** Joins the election and starts handling commands whenever this member is elected. */
  async start(): Promise<void> {
    ({ jobsPartitions: this.jobsPartitions } = await withAdmin(this.opts.kafka, (admin) =>
      ensureTopics(admin, this.topics, {
        jobsPartitions: this.opts.jobsPartitions,
        replication: this.opts.replication,
        clock: this.clock,
      }),
    ));
    await Promise.all([this.events.ready(), this.commands.ready(), this.snapshots.ready()]);
    const { kafka, namespace, sessionTimeoutMs } = this.opts;
    const consumer = (this.consumer = electionConsumer(kafka, namespace, sessionTimeoutMs));
    await consumer.start({
      topics: [this.topics.control, this.topics.reports],
      autoCommit: false, // offsets are committed inside each transaction
      // After any rebalance the state is rebuilt before the next command, even when this member
      // keeps the partition: in between, another member may have owned it and written events.
      onAssignment: (assignment) => {
        // kafkajs may rejoin while it stops (a peer's leave makes the heartbeat answer
        // REBALANCE_IN_PROGRESS): an assignment then must not start an activation.
        if (this.stopped) return;
        const owns = (assignment[this.topics.control] ?? []).includes(0);
        this.deactivate(
          owns
            ? 'rebalanced; rebuilding before the next command'
            : 'the control partition belongs to another member',
        );
        this.log.info({ owns }, owns ? 'elected coordinator' : 'standing by');
        // Rebuild at once rather than on the first command, so that command is not kept waiting.
        if (owns)
          this.activation = this.activate().catch((err: unknown) => this.activationFailed(err));
      },
      onCrash: (err) => this.deactivate(`consumer crashed: ${err.message}`),
      eachBatch: async (batch, { resolveOffset, heartbeat, isRunning, isStale }) => {
        if (this.stopped) return;
        if (!this.cluster) {
          const activation = (this.activation ??= this.activate(heartbeat));
          try {
            await activation;
          } catch (err) {
            // A failed rebuild (a transient error from init(), say) is tried again with the
            // batch that comes again; kept, it would fail every batch until a rebalance.
            if (this.activation === activation) this.activation = undefined;
            throw err;
          }
          if (!this.cluster) throw new Error('coordinator could not rebuild its state; retrying');
        }
        for (
          let i = 0;
          i < batch.records.length && isRunning() && !isStale();
          i += MAX_COMMANDS_PER_TRANSACTION
        ) {
          const chunk = batch.records.slice(i, i + MAX_COMMANDS_PER_TRANSACTION);
          await this.inTurn(() => this.handle(batch.topic, batch.partition, chunk));
          const last = chunk[chunk.length - 1];
          if (last) resolveOffset(last.offset);
          await heartbeat();
        }
      },
    });
  }

  /** Leaves the election; a standby takes over after a rebalance. */
  async stop(): Promise<void> {
    this.stopped = true;
    const activation = this.activation;
    this.deactivate('stopping');
    await this.consumer?.stop();
    // An activation still under way ends at its next step (it checks `stopped`); its producer
    // is among those closed below, whether it got that far or not.
    await activation?.catch(() => undefined);
    await this.snapshots.close();
    await this.producer.closeAll();
    this.consumer = undefined;
  }

  /**
   * Fences earlier incarnations, then rebuilds every job's state from the log. A rebalance
   * during the rebuild bumps the generation, and the stale result is dropped.
   */
  private async activate(heartbeat?: () => Promise<void>): Promise<void> {
    const generation = this.generation;
    const started = this.clock.now();
    const fresh = await this.producer.takeOver(
      () => this.stopped || generation !== this.generation,
    );
    if (!fresh) return;
    const { cluster, events, checkpointed, ends, tailJobs, rewriteWhole } = await rebuildState({
      kafka: this.opts.kafka,
      codec: this.events,
      namespace: this.opts.namespace,
      logger: this.log,
      heartbeat,
    });
    const positions = await readPositions(
      this.opts.kafka,
      this.topics,
      coordinatorGroup(this.opts.namespace),
      ends,
    );
    if (generation !== this.generation) return;
    this.positions = positions;
    this.cluster = cluster;
    this.active = true;
    this.rebuilt = { checkpointed, events };
    this.checkpoints = new Checkpointer(this.topics, this.jobsPartitions, this.log);
    this.checkpoints.rebuilt(cluster, ends, tailJobs, rewriteWhole);
    this.snapshots.start(() => this.cluster?.jobs.values());
    // Checked in turn: a checkpoint of a state a rebuild has replaced meanwhile would overwrite
    // newer records with older ones.
    this.checkpoints.start(
      this.clock,
      cluster,
      (work) => this.inTurn(work),
      () => (generation === this.generation ? this.producer.current : undefined),
    );
    this.log.info(
      { jobs: cluster.jobs.size, checkpointed, events, ms: this.clock.now() - started },
      'state rebuilt; coordinator active',
    );
  }

  /** Runs `work` once the work before it on the election's producer is done. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private deactivate(reason: string): void {
    this.snapshots.stop();
    this.checkpoints?.stop();
    this.checkpoints = undefined;
    if (this.active) this.log.info({ reason }, 'coordinator inactive');
    this.active = false;
    this.cluster = undefined;
    this.positions = undefined;
    this.activation = undefined;
    this.generation++;
  }

  private activationFailed(err: unknown): void {
    // The next batch tries again; a broker that is restarting is the usual cause.
    this.log.warn({ err }, 'rebuilding the coordinator state failed; retrying on the next command');
    this.activation = undefined;
  }

  /** Decides a chunk of commands against the state and commits their events and offsets atomically. */
  private async handle(topic: string, partition: number, records: ConsumedRecord[]): Promise<void> {
    const { cluster, positions } = this;
    const producer = this.producer.current;
    if (!cluster || !producer || !positions) throw new Error('coordinator not active');
    const last = records[records.length - 1];
    if (!last) return;
    const channel: Channel = topic === this.topics.reports ? 'reports' : 'control';
    const next = BigInt(last.offset) + 1n;
    const { events, changes } = await decideBatch({
      cluster,
      codec: this.commands,
      channel,
      cutover: positions.cutover,
      partition,
      records,
      now: this.clock.now(),
      log: this.log,
    });
    const { kafka } = this.opts;
    await fenceStoppingJobs(kafka, this.topics.namespace, cluster, events, this.log, this.clock);
    let ends: Map<number, bigint>;
    try {
      ends = await appendBatch({
        producer,
        codec: this.events,
        topics: this.topics,
        groupId: coordinatorGroup(this.opts.namespace),
        jobsPartitions: this.jobsPartitions,
        offsets: offsetsToCommit(this.topics, positions, channel, next),
        events,
        also: purgeRecords(cluster, events, this.topics, this.jobsPartitions),
      });
    } catch (err) {
      this.deactivate(`transaction failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err; // the consumer hands the commands over again from the last committed offset
    }
    if (channel === 'control') positions.control = next;
    this.checkpoints?.appended(events, ends);
    this.applied += records.length;
    for (const e of events) logEvent(this.log, e, changes.get(e));
  }
}
