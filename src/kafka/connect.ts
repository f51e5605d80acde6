import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../observability/logger.js';

/** What every Sluice component needs to reach Kafka. */
export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

/**
 * A kafkajs client whose own logs go through pino. kafkajs logs expected conditions (a group
 * rebalancing, a broker restarting) at error level; they are kept, at warn, because an operator
 * debugging a stall wants them, but they must not look like Sluice failures.
 */
export function createKafka(opts: KafkaOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { namespace, ...rest };
        if (level <= logLevel.WARN) log.warn(fields, message);
        else log.debug(fields, message);
      },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}
