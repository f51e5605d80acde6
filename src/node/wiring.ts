import { RegistryClient } from '../codec/registry.js';
import type { Credentials } from '../domain/security.js';
import { createKafka } from '../kafka/kafkajs/adapter.js';
import type { Kafka } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';
import type { Compiled } from './options.js';

/** A component's connections: Kafka through the port, and the schema registry. */
export interface Connections {
  kafka: Kafka;
  registry: RegistryClient;
}

/**
 * The one place a Kafka client and a registry client are made from options: the kafkajs
 * adapter behind the port, and registry basic auth from the security settings (or `registryAuth`).
 */
export function connections(
  o: Compiled & { registryAuth?: Credentials | undefined },
  clientId: string,
  logger: Logger,
): Connections {
  return {
    kafka: createKafka({ brokers: o.brokers, clientId, logger, security: o.security }),
    registry: new RegistryClient({
      url: o.registryUrl,
      auth: o.registryAuth ?? o.security?.registryAuth,
    }),
  };
}
