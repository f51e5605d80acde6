import { DEFAULT_SESSION_TIMEOUT_MS, TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import { coordinatorGroup } from '../domain/resources.js';
import { isSluiceError } from '../domain/errors.js';
import type { ConsumeOptions, GroupConsumer, Kafka, TransactionalProducer } from '../kafka/port.js';

/**
 * The election's member: the owner of `<ns>.control`'s one partition is the active coordinator.
 * It reads `<ns>.reports` too, and both topics go to that one member (`one-member`): dealt to
 * two, the reports would sit with a member that is not elected.
 */
export function electionConsumer(
  kafka: Kafka,
  namespace: string,
  sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS,
): GroupConsumer {
  return failingFastOnRefusal(
    kafka.consumer({
      groupId: coordinatorGroup(namespace),
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(500, Math.floor(sessionTimeoutMs / 6)),
      assignment: 'one-member',
    }),
  );
}

/**
 * A consumer whose `start()` rejects when the authorizer refuses its join: a coordinator
 * started under a principal without the coordinator role would otherwise stand by for ever,
 * its consumer crashed for good (SLUICE_NOT_AUTHORIZED, which nothing retries).
 */
function failingFastOnRefusal(consumer: GroupConsumer): GroupConsumer {
  return {
    async start(options: ConsumeOptions): Promise<void> {
      let refused: Error | undefined;
      await consumer.start({
        ...options,
        onCrash: (err, restarting) => {
          if (!restarting && isSluiceError(err, 'SLUICE_NOT_AUTHORIZED')) refused = err;
          options.onCrash?.(err, restarting);
        },
      });
      if (!refused) return;
      await consumer.stop();
      throw refused;
    },
    pause: (topics) => consumer.pause(topics),
    seek: (topic, partition, offset) => consumer.seek(topic, partition, offset),
    commit: (offsets) => consumer.commit(offsets),
    groupMetadata: () => consumer.groupMetadata(),
    stop: () => consumer.stop(),
  };
}

/**
 * The elected coordinator's transactional producer, on the one transactional id every
 * coordinator of a namespace shares: taking it over fences a zombie, aborts its open
 * transaction and lets one it was committing finish, before the rebuild.
 *
 * Every producer opened is kept until closed. An activation still running when the coordinator
 * stops (a rebalance a leaving peer caused) opens one that is not the current one any more, and
 * its open socket kept a stopped coordinator from exiting.
 */
export class ElectionProducer {
  private readonly open = new Set<TransactionalProducer>();
  /** The producer of the latest takeover, once its init() has begun. */
  current: TransactionalProducer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly namespace: string,
  ) {}

  /**
   * Closes earlier producers and takes the id over with a new one; undefined when `stale()`
   * (stopped, or superseded by a newer activation) before or during init(). kafkajs reconnects a
   * producer disconnected in the middle of a request, so one that went stale during init() is
   * closed again once init() is over.
   */
  async takeOver(stale: () => boolean): Promise<TransactionalProducer | undefined> {
    await this.closeAll();
    if (stale()) return undefined;
    const producer = this.kafka.transactionalProducer({
      transactionalId: coordinatorGroup(this.namespace),
      transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.coordinator,
    });
    this.open.add(producer);
    this.current = producer;
    await producer.init();
    if (!stale()) return producer;
    this.open.delete(producer);
    if (this.current === producer) this.current = undefined;
    await producer.disconnect().catch(() => undefined);
    return undefined;
  }

  /** Disconnects every producer still open. */
  async closeAll(): Promise<void> {
    const open = [...this.open];
    this.open.clear();
    this.current = undefined;
    await Promise.all(open.map((p) => p.disconnect().catch(() => undefined)));
  }
}
