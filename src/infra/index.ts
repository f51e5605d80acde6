/**
 * Finding or starting the Kafka broker and schema registry that Sluice runs on.
 *
 * @example
 * ```ts
 * import { resolveInfra } from 'sluice/infra';
 * const infra = await resolveInfra({ onProgress: console.error });
 * // ... use infra.brokers and infra.registryUrl ...
 * await infra.stop(); // stops only what this process started
 * ```
 */
export { resolveInfra, stopShared, type ResolveOptions } from './resolve.js';
export {
  givenEndpoints,
  parseBrokers,
  parseRegistryUrl,
  type GivenEndpointInput,
} from './endpoints.js';
export { probeBroker, probeRegistry } from './probe.js';
export { cacheRoot } from './paths.js';
export { KAFKA_VERSION, APICURIO_VERSION } from './java/fetch.js';
export type {
  Access,
  BasicAuth,
  BrokerConnection,
  BrokerControl,
  ClusterBroker,
  ClusterControl,
  RegistryControl,
  Endpoints,
  Infra,
  InfraSource,
  ProgressFn,
} from './types.js';
export type { BrokerSasl, BrokerSecurity, BrokerTls } from './java/kafka.js';
export { makeTestCertificates, type TestCertificates } from './tls-certs.js';
