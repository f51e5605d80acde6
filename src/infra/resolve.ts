import { randomBytes } from 'node:crypto';
import { SluiceError } from '../domain/errors.js';
import { dockerAnswers, startDockerInfra } from './docker.js';
import { givenEndpoints, type GivenEndpointInput } from './endpoints.js';
import {
  instanceDir,
  processesAlive,
  readState,
  reapStale,
  SHARED_INSTANCE,
  stopInstance,
} from './instance.js';
import { findJava } from './java/jdk.js';
import { MAX_LOCAL_BROKERS } from './java/cluster.js';
import { startJavaInfra } from './java/index.js';
import type { BrokerSecurity } from './java/kafka.js';
import { checkReachable, probeBroker, probeRegistry } from './probe.js';
import type { Access, Infra, ProgressFn } from './types.js';

/** Kafka 4.x brokers and Apicurio 3.0 both need Java 17. */
const MIN_JAVA = 17;

/** How to find or start the infrastructure. */
export interface ResolveOptions extends GivenEndpointInput {
  /**
   * `owned`: servers started here stop when this process ends (tests, the demo).
   * `shared`: servers started here keep running for later commands (`sluice infra up`).
   * `find`: never start anything; throws SLUICE_INFRA_NOT_RUNNING when nothing is found.
   */
  mode?: 'owned' | 'shared' | 'find';
  /** Which way to start servers: `auto` (Docker, then Java), `docker` or `java`. Default: SLUICE_INFRA or auto. */
  strategy?: 'auto' | 'docker' | 'java';
  onProgress?: ProgressFn;
  /** How long to wait for servers to answer. Default 120 s (a cold JVM on two cores is slow). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Start a broker whose client listener requires SASL (SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN)
   * with these credentials (`{ sasl }`), or TLS with a private CA's certificates (`{ tls }`,
   * mutual by default; the CA and certificates come back as `Infra.tls`), next to a plain
   * registry. Owned mode and Java only: given endpoints and the shared instance are never used,
   * since nothing says they are secured the same way.
   */
  brokerSecurity?: BrokerSecurity;
  /**
   * Start a new pair for this caller alone, from Java, even when endpoints are given or the
   * shared instance runs: for tests that kill and restart its broker (see {@link Infra.broker}),
   * which must never touch servers others use. Owned mode only.
   */
  private?: boolean;
  /**
   * Broker settings added to a private instance's (see {@link private}), for tests that need the
   * broker to behave otherwise, e.g. `transaction.partition.verification.enable: 'false'`.
   */
  brokerProperties?: Record<string, string>;
  /**
   * Start this many brokers (default 1) as one KRaft cluster on this machine, each node a broker
   * and a controller, with three replicas and two in sync by default (`default.replication.factor`,
   * `min.insync.replicas`, the offsets and transaction-state topics' alike; fewer on fewer
   * brokers). More than one implies {@link private}, and hands its brokers out for fault
   * injection as `Infra.cluster` instead of `Infra.broker`. At most 5; not with
   * {@link brokerSecurity}.
   */
  brokerCount?: number;
  /** How to log in to given endpoints when they are secured (the check that they answer needs it). */
  access?: Access;
}

/**
 * Finds or starts a Kafka broker and a Confluent-compatible schema registry, in this order:
 * 1. given endpoints (flags, or SLUICE_BROKERS and SLUICE_REGISTRY_URL), used as they are;
 * 2. the pair `sluice infra up` left running;
 * 3. a Docker engine, through testcontainers;
 * 4. a JDK, with Kafka and Apicurio fetched from Maven Central;
 * 5. otherwise a SLUICE_INFRA_NOT_FOUND error that says what to install or set.
 */
export async function resolveInfra(opts: ResolveOptions = {}): Promise<Infra> {
  const env = opts.env ?? process.env;
  const mode = opts.mode ?? 'owned';
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const onProgress = opts.onProgress ?? (() => undefined);

  if (opts.brokerSecurity || opts.private || (opts.brokerCount ?? 1) !== 1)
    return startPrivate(opts, env);

  const given = givenEndpoints(opts, env);
  if (given) {
    await checkReachable(
      given.brokers,
      given.registryUrl,
      Math.min(timeoutMs, 15_000),
      opts.access,
    );
    return { ...given, source: 'given', owned: false, stop: () => Promise.resolve() };
  }

  const running = await findShared(env);
  if (running) return running;
  if (mode === 'find') {
    throw new SluiceError(
      'SLUICE_INFRA_NOT_RUNNING',
      'No Kafka broker and registry are running. Start them with `sluice infra up`, or give --brokers and --registry (SLUICE_BROKERS, SLUICE_REGISTRY_URL).',
    );
  }

  await reapStale(env);
  const name =
    mode === 'shared' ? SHARED_INSTANCE : `run-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = instanceDir(name, env);
  const owner = mode === 'shared' ? null : process.pid;
  const strategy = opts.strategy ?? parseStrategy(env.SLUICE_INFRA);
  const tried: string[] = [];

  if (strategy !== 'java') {
    if (await dockerAnswers(env))
      return startDockerInfra({ name, dir, owner, timeoutMs, onProgress });
    tried.push('no Docker engine answered');
  }
  if (strategy !== 'docker') {
    const jdk = findJava(MIN_JAVA, env);
    if (jdk) return startJavaInfra({ jdk, name, dir, owner, timeoutMs, onProgress, env });
    tried.push(
      `no Java ${MIN_JAVA}+ found (looked at SLUICE_JAVA_HOME, JAVA_HOME, PATH and /usr/lib/jvm)`,
    );
  }
  throw new SluiceError(
    'SLUICE_INFRA_NOT_FOUND',
    `No Kafka broker and schema registry could be found or started: ${tried.join('; ')}. ` +
      'Do one of: set SLUICE_BROKERS and SLUICE_REGISTRY_URL (or pass --brokers and --registry); ' +
      `start a Docker engine; or install a JDK ${MIN_JAVA}+ and Maven (e.g. apt-get install openjdk-17-jdk-headless maven).`,
    { details: { tried } },
  );
}

/**
 * A private, owned pair from Java, never the shared one: for {@link ResolveOptions.private}, and
 * for a broker that requires SASL ({@link ResolveOptions.brokerSecurity}).
 */
async function startPrivate(opts: ResolveOptions, env: NodeJS.ProcessEnv): Promise<Infra> {
  const count = checkedBrokerCount(opts);
  const what = opts.brokerSecurity
    ? `A ${'sasl' in opts.brokerSecurity ? 'SASL' : 'TLS'} broker (brokerSecurity)`
    : count > 1
      ? `A ${count}-broker cluster (brokerCount)`
      : 'A private instance';
  if ((opts.mode ?? 'owned') !== 'owned' || opts.strategy === 'docker') {
    throw new SluiceError(
      'SLUICE_USAGE',
      `${what} is started only in owned mode, from Java; drop mode and strategy, or set them to "owned" and "java".`,
    );
  }
  const jdk = findJava(MIN_JAVA, env);
  if (!jdk) {
    throw new SluiceError(
      'SLUICE_INFRA_NOT_FOUND',
      `${what} needs Java ${MIN_JAVA}+ (looked at SLUICE_JAVA_HOME, JAVA_HOME, PATH and /usr/lib/jvm). Install a JDK, e.g. apt-get install openjdk-17-jdk-headless maven.`,
    );
  }
  await reapStale(env);
  const kind = opts.brokerSecurity
    ? 'sasl' in opts.brokerSecurity
      ? 'sasl'
      : 'tls'
    : count > 1
      ? 'cluster'
      : 'private';
  const name = `run-${process.pid}-${kind}-${randomBytes(3).toString('hex')}`;
  return startJavaInfra({
    jdk,
    name,
    dir: instanceDir(name, env),
    owner: process.pid,
    timeoutMs: opts.timeoutMs ?? 120_000,
    onProgress: opts.onProgress ?? (() => undefined),
    env,
    brokerSecurity: opts.brokerSecurity,
    brokerProperties: opts.brokerProperties,
    brokerCount: count,
  });
}

/** {@link ResolveOptions.brokerCount}, checked: a whole number of brokers this machine can run. */
function checkedBrokerCount(opts: ResolveOptions): number {
  const count = opts.brokerCount ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_BROKERS) {
    throw new SluiceError(
      'SLUICE_USAGE',
      `brokerCount must be a whole number from 1 to ${MAX_LOCAL_BROKERS}, not ${String(count)}: each broker is a JVM on this machine.`,
    );
  }
  if (count > 1 && opts.brokerSecurity) {
    throw new SluiceError(
      'SLUICE_USAGE',
      'A local cluster (brokerCount > 1) starts plaintext brokers only; drop brokerSecurity, or start one broker.',
    );
  }
  return count;
}

/** The shared instance, if its servers still run and answer; a dead one is cleaned away. */
async function findShared(env: NodeJS.ProcessEnv): Promise<Infra | undefined> {
  const state = readState(instanceDir(SHARED_INSTANCE, env));
  if (!state?.ready) return undefined;
  if (state.source === 'java' && !processesAlive(state)) {
    await stopInstance(state, 5000);
    return undefined;
  }
  try {
    await Promise.all([probeBroker(state.brokers), probeRegistry(state.registryUrl)]);
  } catch {
    return undefined;
  }
  return {
    brokers: state.brokers,
    registryUrl: state.registryUrl,
    source: 'running',
    owned: false,
    stop: () => Promise.resolve(),
  };
}

/** Stops the shared instance `sluice infra up` started; false when none was running. */
export async function stopShared(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const state = readState(instanceDir(SHARED_INSTANCE, env));
  if (!state) return false;
  await stopInstance(state);
  return true;
}

function parseStrategy(raw: string | undefined): 'auto' | 'docker' | 'java' {
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'docker' || raw === 'java') return raw;
  throw new SluiceError(
    'SLUICE_CONFIG_INVALID',
    `SLUICE_INFRA="${raw}" is not one of auto, docker, java.`,
  );
}
