import { RegistryClient } from '../codec/registry.js';
import type { Credentials } from '../domain/security.js';
import { createKafka } from '../kafka/kafkajs/adapter.js';
import type { Kafka } from '../kafka/port.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { Compiled } from './options.js';
import { registryCaOf } from './security.js';

/** A component's connections: Kafka through the port, and the schema registry. */
export interface Connections {
  kafka: Kafka;
  registry: RegistryClient;
}

/**
 * The one place a Kafka client and a registry client are made from options: the kafkajs
 * adapter behind the port, and registry basic auth from the security settings (or `registryAuth`)
 * and the registry's CA from `security.registryCa`.
 */
export function connections(
  o: Compiled & { registryAuth?: Credentials | undefined; retry?: RetryPolicy },
  clientId: string,
  logger: Logger,
): Connections {
  return {
    kafka: createKafka({ brokers: o.brokers, clientId, logger, security: o.security }),
    // Registration waits out an unavailable registry within the same budget as Kafka calls: a
    // worker started while the registry restarts should start, not exit.
    registry: new RegistryClient(
      {
        url: o.registryUrl,
        auth: o.registryAuth ?? o.security?.registryAuth,
        ca: registryCaOf(o.security),
      },
      {
        policy: o.retry ?? DEFAULT_RETRY,
        onRetry: (err, attempt, delayMs) =>
          logger.warn({ err, attempt, delayMs }, 'schema registry unavailable; retrying'),
      },
    ),
  };
}
