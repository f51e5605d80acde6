import type {
  Kafka as KafkaJSClient,
  Producer as KafkaJSProducer,
  ProducerConfig,
  RecordMetadata,
  Transaction as KafkaJSTransaction,
} from 'kafkajs';
import type {
  GroupMetadata,
  PartitionOffset,
  Producer,
  TopicRecords,
  Transaction,
  TransactionalOptions,
  TransactionalProducer,
  Written,
} from '../port.js';
import { authorized, type Needs } from '../authorization.js';
import kafkajs from './loader.js';
import { GROUP_GENERATION, type GroupGeneration } from './txn-offset-commit.js';

/**
 * How a producer retries a send. kafkajs's producers take the client's retry settings: a first
 * retry after 200 ms. A transaction's first send usually needs one: it asks the coordinator to
 * add its partitions while the markers of the previous transaction are still being written, and
 * gets CONCURRENT_TRANSACTIONS back for a few milliseconds. Java's client retries that after
 * 20 ms; on a local broker the markers are written well within that, so this retries after
 * 5 ms, doubling up to the client's largest delay (a back-to-back 500-record transaction: 34 to
 * 37 ms with 20 ms, 21 ms with 5 ms). Twelve retries span about 15 s; past them the send fails,
 * and the caller's retry policy decides (a hop reopens its task, then suspends the job once the
 * budget is spent). `npm run bench:transactions` measures one transaction of 500 records with
 * the client's retry and with this one.
 */
export const SEND_RETRY = { retries: 12, initialRetryTime: 5, multiplier: 2, maxRetryTime: 5_000 };

/**
 * Producer settings every Sluice producer shares: the murmur2 partitioner that Java clients use
 * (so keyed records land where any Kafka tool expects), idempotence, and {@link SEND_RETRY}.
 */
export function producerConfig(extra: ProducerConfig = {}): ProducerConfig {
  return {
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: SEND_RETRY,
    ...extra,
  };
}

/** kafkajs's answer to a send, as the port gives it: where each partition's records begin. */
function written(metadata: RecordMetadata[]): Written[] {
  return metadata.map((m) => ({
    topic: m.topicName,
    partition: m.partition,
    baseOffset: m.baseOffset ?? '-1',
  }));
}

/** A plain (idempotent, non-transactional) producer. */
export class KafkajsProducer implements Producer {
  private readonly producer: KafkaJSProducer;

  constructor(client: KafkaJSClient) {
    this.producer = client.producer(producerConfig());
  }

  connect(): Promise<void> {
    // An idempotent producer asks for a producer id: WRITE on some topic, or IDEMPOTENT_WRITE.
    return authorized({ CLUSTER: ['IDEMPOTENT_WRITE', 'kafka-cluster'] }, () =>
      this.producer.connect(),
    );
  }

  async send(records: TopicRecords[]): Promise<Written[]> {
    // The port's records are kafkajs's messages structurally: handed over as they are.
    const sent = await authorized(writing(records), () =>
      this.producer.sendBatch({ topicMessages: records }),
    );
    return written(sent);
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Connects a kafkajs transactional producer and takes its id over: see {@link KafkajsTransactionalProducer.init}. */
export async function initTransactions(producer: KafkaJSProducer): Promise<void> {
  await producer.connect();
  const tx = await producer.transaction(); // InitProducerId with the transactional id
  await tx.abort(); // nothing was sent: ends the local transaction without a request
}

/** A producer owning a transactional id. */
export class KafkajsTransactionalProducer implements TransactionalProducer {
  private readonly producer: KafkaJSProducer;

  private readonly id: string;

  constructor(client: KafkaJSClient, options: TransactionalOptions) {
    this.id = options.transactionalId;
    this.producer = client.producer(
      producerConfig({
        transactionalId: options.transactionalId,
        transactionTimeout: options.transactionTimeoutMs,
      }),
    );
  }

  /**
   * Connects and takes over the transactional id, as Java's `initTransactions()` does: the id's
   * epoch is bumped, so an earlier producer with the id (a zombie task, a worker the
   * coordinator is stopping) can commit nothing more; its open transaction is aborted; and one
   * already committing completes before this resolves.
   *
   * kafkajs's `connect()` alone does none of this. It registers the producer without its
   * transactional id and defers that to the first `transaction()` call, so a task that only
   * connected had fenced nobody: the previous owner could still commit, and offsets and state
   * read then could be one commit behind (shown by test/kafka/fencing.int.test.ts).
   */
  init(): Promise<void> {
    return authorized({ TRANSACTIONAL_ID: ['WRITE', this.id] }, () =>
      initTransactions(this.producer),
    );
  }

  async begin(): Promise<Transaction> {
    return new KafkajsTransaction(await this.producer.transaction(), this.id);
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkajsTransaction implements Transaction {
  constructor(
    private readonly tx: KafkaJSTransaction,
    private readonly id: string,
  ) {}

  async send(records: TopicRecords[]): Promise<Written[]> {
    const needs = { ...writing(records), TRANSACTIONAL_ID: ['WRITE', this.id] } satisfies Needs;
    return written(await authorized(needs, () => this.tx.sendBatch({ topicMessages: records })));
  }

  /**
   * Sent as TxnOffsetCommit v3 (txn-offset-commit.ts): with the group member's id and
   * generation, when given, so the group coordinator refuses the offsets of a zombie.
   */
  async sendOffsets(group: GroupMetadata, offsets: PartitionOffset[]): Promise<void> {
    const byTopic = new Map<
      string,
      { partition: number; offset: string; metadata: string | null }[]
    >();
    for (const { topic, partition, offset, metadata } of offsets) {
      const list = byTopic.get(topic) ?? [];
      list.push({ partition, offset, metadata: metadata ?? null });
      byTopic.set(topic, list);
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    if (group.generationId !== undefined) {
      const generation: GroupGeneration = {
        generationId: group.generationId,
        memberId: group.memberId ?? '',
        groupInstanceId: null,
      };
      Object.defineProperty(topics, GROUP_GENERATION, { value: generation });
    }
    await authorized({ GROUP: ['READ', group.groupId], TRANSACTIONAL_ID: ['WRITE', this.id] }, () =>
      this.tx.sendOffsets({ consumerGroupId: group.groupId, topics }),
    );
  }

  commit(): Promise<void> {
    return authorized({ TRANSACTIONAL_ID: ['WRITE', this.id] }, () => this.tx.commit());
  }

  abort(): Promise<void> {
    return this.tx.abort();
  }
}

/**
 * What a send needs: WRITE on its topics, and, for an idempotent producer's id, WRITE on some
 * topic (or IDEMPOTENT_WRITE on the cluster, KIP-679).
 */
function writing(records: TopicRecords[]): Needs {
  return {
    TOPIC: ['WRITE', records.map((r) => r.topic)],
    CLUSTER: ['IDEMPOTENT_WRITE', 'kafka-cluster'],
  };
}
