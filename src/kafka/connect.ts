import type { Kafka, LogEntry, ProducerConfig } from 'kafkajs';
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
 * Producer settings every Sluice producer shares: the murmur2 partitioner that Java clients use
 * (so keyed records land where any Kafka tool expects), and idempotence.
 */
export function producerConfig(extra: ProducerConfig = {}): ProducerConfig {
  return {
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    ...extra,
  };
}
