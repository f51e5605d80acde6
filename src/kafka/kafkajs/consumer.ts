import type {
  Consumer as KafkaJSConsumer,
  ConsumerConfig,
  ConsumerRunConfig,
  Kafka as KafkaJSClient,
} from 'kafkajs';
import type {
  ConsumeOptions,
  ConsumerOptions,
  GroupConsumer,
  GroupMetadata,
  PartitionOffset,
} from '../port.js';
import { asNotAuthorized, type Needs } from '../authorization.js';
import { isTransient, positionOutOfRange } from '../errors.js';
import { oneMemberAssigner } from './one-member.js';
import { STOP_OUT_OF_RANGE } from './out-of-range.js';
import { restartOnError } from './restart.js';

/**
 * How long before a consumer that kafkajs does not restart is started again, when its error is
 * one Sluice counts as transient (see restartLater).
 */
const RESTART_AFTER_MS = 2_000;

/**
 * How long a fetch waits on the broker for records when there are none. kafkajs's default is
 * 5 s, and disconnecting waits for the fetch in flight: every reader that caught up and then
 * stopped (a coordinator's rebuild of the job log, a read to the end, a hop being suspended)
 * took up to 5 s to stop. A coordinator's activation over an empty log measured 5.1 s, of which
 * 5.0 s was that wait. Records that arrive still end the wait at once; an idle consumer only
 * fetches twice a second instead of every 5 s.
 */
export const FETCH_WAIT_MS = 500;

/**
 * Consumer settings every Sluice consumer shares: {@link FETCH_WAIT_MS}, and read_committed
 * (kafkajs's default too, stated once here: job logs, changelogs, repartition topics and sinks
 * are written in transactions).
 */
export function consumerConfig(config: ConsumerConfig): ConsumerConfig {
  return { maxWaitTimeInMs: FETCH_WAIT_MS, readUncommitted: false, ...config };
}

/**
 * A group consumer on kafkajs, with {@link consumerConfig}'s settings; it resolves offsets
 * only as the handler says.
 */
export class KafkajsConsumer implements GroupConsumer {
  private readonly consumer: KafkaJSConsumer;
  private group: GroupMetadata;
  /**
   * Set once stop() is called. kafkajs's runner may still rejoin the group while it stops (a
   * heartbeat answered REBALANCE_IN_PROGRESS because a peer left; kafkajs PR #1571, unmerged)
   * or restart after a crash: neither is passed on to the handler any more.
   */
  private stopping = false;
  /** The topics paused, applied again whenever the consumer joins (see pause). */
  private readonly paused = new Set<string>();

  constructor(client: KafkaJSClient, options: ConsumerOptions) {
    this.group = { groupId: options.groupId };
    this.consumer = client.consumer(
      consumerConfig({
        groupId: options.groupId,
        ...(options.sessionTimeoutMs !== undefined && { sessionTimeout: options.sessionTimeoutMs }),
        ...(options.heartbeatIntervalMs !== undefined && {
          heartbeatInterval: options.heartbeatIntervalMs,
        }),
        ...(options.rebalanceTimeoutMs !== undefined && {
          rebalanceTimeout: options.rebalanceTimeoutMs,
        }),
        ...(options.assignment === 'one-member' && { partitionAssigners: [oneMemberAssigner] }),
        // kafkajs's default for consumers, marked for its ConsumerGroup (out-of-range.ts).
        ...(options.deletedRecords === 'stop' && {
          retry: { retries: 5, [STOP_OUT_OF_RANGE]: true } as ConsumerConfig['retry'],
        }),
      }),
    );
  }

  async start(o: ConsumeOptions): Promise<void> {
    const c = this.consumer;
    const { onAssignment, onBatchEnd, onCrash } = o;
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      if (this.stopping) return;
      // The generation is Sluice's addition to the event (generation.ts).
      const { generationId } = payload as { generationId?: number | null };
      this.group = {
        groupId: payload.groupId,
        memberId: payload.memberId,
        ...(typeof generationId === 'number' && { generationId }),
      };
      this.applyPauses();
      onAssignment?.(payload.memberAssignment);
    });
    // Also after a fetch of only markers or aborted records, which kafkajs never hands to
    // eachBatch: it moves its own position past them and reports them here (batchSize 0).
    if (onBatchEnd)
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) =>
        onBatchEnd({
          topic: payload.topic,
          partition: payload.partition,
          size: payload.batchSize,
          firstOffset: payload.firstOffset,
          lastOffset: payload.lastOffset,
        }),
      );
    const needs: Needs = { GROUP: ['READ', this.group.groupId], TOPIC: ['READ', o.topics] };
    c.on(c.events.CRASH, ({ payload }) => {
      if (this.stopping) return;
      // Records deleted before they were read (out-of-range.ts): a restart would meet them again.
      const lost = positionOutOfRange(payload.error);
      if (lost) return onCrash?.(lost, false);
      const restarting = payload.restart || this.restartLater(payload.error, run, onCrash);
      // A refusal is passed on as such, naming what is missing: the reader fails fast with it.
      onCrash?.(asNotAuthorized(payload.error, needs) as Error, restarting);
    });
    try {
      await c.connect();
      await c.subscribe({ topics: o.topics, fromBeginning: true });
    } catch (err) {
      throw asNotAuthorized(err, needs);
    }
    const run: ConsumerRunConfig = {
      autoCommit: o.autoCommit,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsInParallel ?? 1,
      eachBatch: restartOnError(async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
        o.eachBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            // kafkajs's messages are the port's records structurally: no copy.
            records: batch.messages,
            lastOffset: batch.lastOffset(),
            lag: BigInt(batch.offsetLag()),
          },
          { resolveOffset, heartbeat, isRunning, isStale },
        ),
      ),
    };
    await c.run(run);
  }

  /**
   * kafkajs restarts a crashed consumer only when the error is marked retriable, and some that
   * are transient are not: no broker answering FindCoordinator ends a join with
   * KafkaJSGroupCoordinatorNotFound (kafkajs issues #1445, #1630), and the consumer stays
   * stopped, its partitions unread while the job shows RUNNING. Such a consumer is started
   * again here after a pause; whoever watches the crashes holds it to a retry budget. True when
   * a restart is scheduled.
   */
  private restartLater(
    err: Error,
    run: ConsumerRunConfig,
    onCrash: ConsumeOptions['onCrash'],
  ): boolean {
    if (!isTransient(err)) return false;
    const attempt = (): void => {
      if (this.stopping) return;
      // kafkajs disconnected it on the crash. A start that fails later crashes again and comes
      // back through the CRASH event; one that fails to connect is tried again from here.
      this.consumer
        .connect()
        .then(() => this.consumer.run(run))
        .catch((e: unknown) => {
          if (this.stopping) return;
          const failure = e instanceof Error ? e : new Error(String(e));
          onCrash?.(failure, true);
          setTimeout(attempt, RESTART_AFTER_MS).unref();
        });
    };
    setTimeout(attempt, RESTART_AFTER_MS).unref();
    return true;
  }

  /**
   * kafkajs keeps pauses in its consumer group, which a crash discards and a restart makes
   * anew, and it throws when asked between the two ("Consumer group was not initialized"):
   * thrown from a hop frozen during a broker outage, that ended the worker process, and the
   * job showed RUNNING with nobody running it. The pause is kept here and applied again on
   * each join.
   */
  pause(topics: string[]): void {
    for (const topic of topics) this.paused.add(topic);
    this.applyPauses();
  }

  private applyPauses(): void {
    if (this.paused.size === 0) return;
    try {
      this.consumer.pause([...this.paused].map((topic) => ({ topic })));
    } catch {
      // Between a crash and its restart: applied on the next join.
    }
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  commit(offsets: PartitionOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets);
  }

  groupMetadata(): GroupMetadata {
    return this.group;
  }

  stop(): Promise<void> {
    this.stopping = true;
    return this.consumer.disconnect();
  }
}
