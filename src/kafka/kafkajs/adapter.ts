import type { Kafka as KafkaJSClient, LogEntry } from 'kafkajs';
import type { ConnectionSecurity } from '../../domain/security.js';
import type {
  Admin,
  ConsumerOptions,
  GroupConsumer,
  Kafka,
  PartitionRange,
  Producer,
  RangeHandler,
  TransactionalOptions,
  TransactionalProducer,
} from '../port.js';
import { KafkajsAdmin } from './admin.js';
import { kafkaConnection } from './connection.js';
import { KafkajsConsumer } from './consumer.js';
import kafkajs from './loader.js';
import { KafkajsProducer, KafkajsTransactionalProducer } from './producer.js';
import { readRanges } from './ranges.js';

const { logLevel } = kafkajs;

/** How the client retries a request (a producer's sends retry as SEND_RETRY says instead). */
export const CLIENT_RETRY = { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 };

/** The logging the adapter needs: pino's shape, so a pino logger fits. */
export interface AdapterLogger {
  child(bindings: Record<string, unknown>): AdapterLogger;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** What every Sluice component needs to reach Kafka. */
export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: AdapterLogger;
  /** TLS and SASL; only `ssl` and `sasl` matter here (registry auth goes to the registry client). */
  security?: ConnectionSecurity | undefined;
  /**
   * A one-shot client, for a reachability probe: connections and requests time out after this
   * long, nothing is retried, and the client logs nothing (its errors are the probe's answer).
   */
  probeTimeoutMs?: number;
}

/**
 * The port on kafkajs: a client whose own logs go through pino. kafkajs logs conditions it
 * retries (a group coordinator loading, a broker restarting) at error level; Sluice decides what
 * is a failure and logs that itself, so kafkajs errors become `info` and the rest `debug`,
 * visible with SLUICE_LOG_LEVEL=info when debugging a stall.
 */
export function createKafka(opts: KafkaOptions): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  const probe = opts.probeTimeoutMs;
  const client = new kafkajs.Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    ...kafkaConnection(opts.security),
    ...(probe !== undefined && { connectionTimeout: probe, requestTimeout: probe }),
    logLevel: probe !== undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { namespace, ...rest };
        if (level <= logLevel.ERROR) log.info(fields, message);
        else log.debug(fields, message);
      },
    retry:
      probe !== undefined
        ? { retries: 0 }
        : { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  return new KafkajsKafka(client);
}

/** The port's factory over one kafkajs client. */
class KafkajsKafka implements Kafka {
  constructor(private readonly client: KafkaJSClient) {}

  admin(): Admin {
    return new KafkajsAdmin(this.client.admin());
  }

  producer(): Producer {
    return new KafkajsProducer(this.client);
  }

  transactionalProducer(options: TransactionalOptions): TransactionalProducer {
    return new KafkajsTransactionalProducer(this.client, options);
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    return new KafkajsConsumer(this.client, options);
  }

  readRanges(ranges: PartitionRange[], onRecords: RangeHandler): Promise<void> {
    return readRanges(this.client, ranges, onRecords);
  }
}
