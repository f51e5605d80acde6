import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '../domain/errors.js';
import { stopInstance, writeState, type InstanceState } from './instance.js';
import { checkReachableOwned } from './probe.js';
import { freePort } from './process.js';
import type { Infra, ProgressFn } from './types.js';

/** Images that mirror what the Java path runs; docker/compose.yml names the same ones. */
export const KAFKA_IMAGE = 'apache/kafka:4.1.1';
export const APICURIO_IMAGE = 'apicurio/apicurio-registry:3.0.9';

/**
 * Cheap check first (a socket or DOCKER_HOST), then ask testcontainers whether an engine really
 * answers: on machines with only the docker client installed, that is a fast "no".
 */
export async function dockerAnswers(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker', 'run', 'docker.sock')];
  if (!env.DOCKER_HOST && !sockets.some((s) => existsSync(s))) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), 15000);
    return true;
  } catch {
    return false;
  }
}

/** Starts Kafka (KRaft) and Apicurio Registry as containers through testcontainers. */
export async function startDockerInfra(opts: {
  name: string;
  dir: string;
  owner: number | null;
  timeoutMs: number;
  onProgress: ProgressFn;
}): Promise<Infra> {
  if (opts.owner === null) {
    // testcontainers' reaper removes containers when this process exits; `infra up` must outlive it.
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  // The broker advertises the host port it is reached on, so host and container ports are equal.
  const port = await freePort();
  opts.onProgress(`Starting ${KAFKA_IMAGE} and ${APICURIO_IMAGE} with Docker`);
  const state: InstanceState = {
    name: opts.name,
    dir: opts.dir,
    source: 'docker',
    owner: opts.owner,
    pids: [],
    containers: [],
    brokers: [`127.0.0.1:${port}`],
    registryUrl: '',
    ready: false,
    startedAt: new Date().toISOString(),
  };
  writeState(state);
  try {
    const [kafka, registry] = await Promise.all([
      new GenericContainer(KAFKA_IMAGE)
        .withExposedPorts({ container: port, host: port })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_NUM_PARTITIONS: '1',
        })
        .withWaitStrategy(Wait.forListeningPorts())
        .start(),
      new GenericContainer(APICURIO_IMAGE)
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp('/health/ready', 8080))
        .start(),
    ]);
    state.containers = [kafka.getId(), registry.getId()];
    state.registryUrl = `http://127.0.0.1:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
    writeState(state);
    await checkReachableOwned(state.brokers, state.registryUrl, opts.timeoutMs, {});
  } catch (err) {
    await stopInstance(state, 5000).catch(() => undefined);
    throw new SluiceError(
      'SLUICE_INFRA_START_FAILED',
      `Docker could not start Kafka and the registry: ${String(err)}`,
      { cause: err },
    );
  }
  state.ready = true;
  writeState(state);
  return {
    brokers: state.brokers,
    registryUrl: state.registryUrl,
    source: 'docker',
    owned: opts.owner !== null,
    stop: () => stopInstance(state),
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
