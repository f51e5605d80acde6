import type { KafkaConfig } from 'kafkajs';

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
}

/** Progress of long work (downloads, server start-up), one human-readable line per step. */
export type ProgressFn = (message: string) => void;

/** TLS and SASL settings for reaching a broker, in kafkajs's own terms. */
export type BrokerConnection = Pick<KafkaConfig, 'ssl' | 'sasl'>;

/** HTTP basic-auth credentials for a schema registry. */
export interface BasicAuth {
  username: string;
  password: string;
}

/** How to get past the servers' security, when they have any. */
export interface Access {
  connection?: BrokerConnection | undefined;
  registryAuth?: BasicAuth | undefined;
}
