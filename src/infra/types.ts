import type { ConnectionSecurity } from '../domain/security.js';
import type { TestCertificates } from './tls-certs.js';

/** Where a Kafka broker and a schema registry came from. */
export type InfraSource = 'given' | 'running' | 'docker' | 'java';

/** The two addresses every Sluice component needs. */
export interface Endpoints {
  /** Kafka bootstrap servers, `host:port` each. */
  brokers: string[];
  /** Base URL of a Confluent-compatible schema registry API. */
  registryUrl: string;
}

/** A resolved infrastructure: its endpoints, where they came from, and how to let go of them. */
export interface Infra extends Endpoints {
  source: InfraSource;
  /** True when this process started the servers and {@link Infra.stop} will stop them. */
  owned: boolean;
  /** Stops the servers this process started; does nothing for given or shared ones. */
  stop(): Promise<void>;
  /**
   * The broker process, for fault injection: present only when this process started it from
   * Java. Use it on a private instance (see `ResolveOptions.private`), never on one others share.
   */
  broker?: BrokerControl | undefined;
  /** The registry process, for fault injection, on the same terms as {@link Infra.broker}. */
  registry?: RegistryControl | undefined;
  /**
   * A local cluster's brokers (see `ResolveOptions.brokerCount`), on the same terms as
   * {@link Infra.broker}, which a cluster leaves undefined; absent for a single broker.
   */
  cluster?: ClusterControl | undefined;
  /**
   * A TLS broker's private CA and certificates (see `ResolveOptions.brokerSecurity`): clients
   * trust `ca` and present `clientCert` and `clientKey`. Absent for any other broker.
   */
  tls?: TestCertificates | undefined;
}

/** The brokers of a local cluster, each killed and restarted on its own. */
export interface ClusterControl {
  /** In node-id order: `brokers[i].nodeId` is `i + 1`. */
  brokers: ClusterBroker[];
}

/**
 * One broker of a local cluster. Kafka's metadata names a partition's leader by node id, which
 * finds the broker to kill: `cluster.brokers.find((b) => b.nodeId === leader)`.
 */
export interface ClusterBroker extends BrokerControl {
  /** Its `node.id`, as metadata names leaders and replicas. */
  readonly nodeId: number;
  /** Its `host:port`, one of `Infra.brokers`. */
  readonly address: string;
}

/** Crashes and restarts a local registry in place; its schemas are kept (file storage). */
export interface RegistryControl {
  /** Kills the registry with SIGKILL and resolves once it has exited: connections are refused. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same schemas; resolves once it answers. */
  start(): Promise<void>;
}

/** Crashes and restarts a local broker in place, as tests of broker outages need. */
export interface BrokerControl {
  /** Kills the broker with SIGKILL (no controlled shutdown) and resolves once it has exited. */
  kill(): Promise<void>;
  /**
   * Starts the killed broker again on the same ports, with the same data and cluster id (no
   * re-format), so clients reconnect to the address they already know; resolves once it answers.
   */
  start(): Promise<void>;
}

/** Progress of long work (downloads, server start-up), one human-readable line per step. */
export type ProgressFn = (message: string) => void;

/** TLS and SASL settings for reaching a broker. */
export type BrokerConnection = Pick<ConnectionSecurity, 'ssl' | 'sasl'>;

/** HTTP basic-auth credentials for a schema registry. */
export interface BasicAuth {
  username: string;
  password: string;
}

/** How to get past the servers' security, when they have any. */
export interface Access {
  connection?: BrokerConnection | undefined;
  registryAuth?: BasicAuth | undefined;
  /** PEM CA certificate(s) (the text) that signed an `https:` registry's certificate. */
  registryCa?: string | undefined;
}
