import type { ConsumerConfig, Kafka, LogEntry, Producer, ProducerConfig } from 'kafkajs';
import kafkajs from './kafkajs.js';

const { logLevel } = kafkajs;
import type { ConnectionSecurity } from '../domain/security.js';
import type { Logger } from '../observability/logger.js';
import { kafkaConnection } from './security.js';

/** What every Sluice component needs to reach Kafka. */
export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TLS and SASL; only `ssl` and `sasl` matter here (registry auth goes to the registry client). */
  security?: ConnectionSecurity | undefined;
}

/**
 * A kafkajs client whose own logs go through pino. kafkajs logs conditions it retries (a group
 * coordinator loading, a broker restarting) at error level; Sluice decides what is a failure
 * and logs that itself, so kafkajs errors become `info` and the rest `debug`, visible with
 * SLUICE_LOG_LEVEL=info when debugging a stall.
 */
export function createKafka(opts: KafkaOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new kafkajs.Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    ...kafkaConnection(opts.security),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { namespace, ...rest };
        if (level <= logLevel.ERROR) log.info(fields, message);
        else log.debug(fields, message);
      },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/**
 * How a producer retries a send. kafkajs's producers take the client's retry settings: a first
 * retry after 200 ms. A transaction's first send usually needs one: it asks the coordinator to
 * add its partitions while the markers of the previous transaction are still being written, and
 * gets CONCURRENT_TRANSACTIONS back for a few milliseconds. Java's client retries that after
 * 20 ms; so does this, doubling up to the client's largest delay. Eleven retries span about
 * 20 s, as the client's eight did; past them the send fails, and the caller's retry policy
 * decides (a hop reopens its task, then suspends the job once the budget is spent).
 * `npm run bench:transactions` measures one transaction of 500 records both ways.
 */
export const SEND_RETRY = { retries: 11, initialRetryTime: 20, multiplier: 2, maxRetryTime: 5_000 };

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
 * Connects a transactional producer and takes over its transactional id, as Java's
 * `initTransactions()` does: the id's epoch is bumped, so an earlier producer with the id (a
 * zombie task, a worker the coordinator is stopping) can commit nothing more; its open
 * transaction is aborted; and one already committing completes before this resolves.
 *
 * kafkajs's `connect()` alone does none of this. It registers the producer without its
 * transactional id and defers that to the first `transaction()` call, so a task that only
 * connected had fenced nobody: the previous owner could still commit, and offsets and state
 * read then could be one commit behind (shown by test/kafka/fencing.int.test.ts).
 */
export async function initTransactions(producer: Producer): Promise<void> {
  await producer.connect();
  const tx = await producer.transaction(); // InitProducerId with the transactional id
  await tx.abort(); // nothing was sent: ends the local transaction without a request
}
