import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../domain/errors.js';
import { stopInstance, writeState, type InstanceState } from '../instance.js';
import { checkReachableOwned, probeBroker, probeRegistry, waitUntil } from '../probe.js';
import { isAlive, startWatchdog, tail } from '../process.js';
import type {
  BrokerConnection,
  ClusterBroker,
  Infra,
  ProgressFn,
  RegistryControl,
} from '../types.js';
import { ensureApicurio, ensureKafka, KAFKA_VERSION, APICURIO_VERSION } from './fetch.js';
import { startKafkaCluster, waitForBrokers } from './cluster.js';
import type { Jdk } from './jdk.js';
import {
  killKafka,
  restartKafka,
  startKafka,
  type BrokerSecurity,
  type LocalKafka,
} from './kafka.js';
import { killApicurio, startApicurio, type LocalRegistry } from './registry.js';

/** How to start a local pair from Maven Central's jars. */
export interface JavaStartOptions {
  jdk: Jdk;
  name: string;
  dir: string;
  /** The pid whose death stops the servers, or null to leave them running (`infra up`). */
  owner: number | null;
  timeoutMs: number;
  onProgress: ProgressFn;
  env?: NodeJS.ProcessEnv;
  /** Make the broker's client listener require SASL with these credentials. */
  brokerSecurity?: BrokerSecurity | undefined;
  /** Settings added to the broker's (see ResolveOptions.brokerProperties). */
  brokerProperties?: Record<string, string> | undefined;
  /** Brokers to start: 1 (the default) for one broker, more for a local cluster (cluster.ts). */
  brokerCount?: number | undefined;
}

/** Fetches (once), formats, starts and waits for Kafka (a broker or a cluster) and an Apicurio registry. */
export async function startJavaInfra(opts: JavaStartOptions): Promise<Infra> {
  const { jdk, dir } = opts;
  const count = opts.brokerCount ?? 1;
  const [kafkaDist, apicurioDist] = await Promise.all([
    ensureKafka(opts.onProgress, opts.env),
    ensureApicurio(opts.onProgress, opts.env),
  ]);
  const state: InstanceState = {
    name: opts.name,
    dir,
    source: 'java',
    owner: opts.owner,
    pids: [],
    containers: [],
    brokers: [],
    registryUrl: '',
    ready: false,
    startedAt: new Date().toISOString(),
  };
  writeState(state);
  const what =
    count > 1 ? `a ${count}-broker cluster of Kafka ${KAFKA_VERSION}` : `Kafka ${KAFKA_VERSION}`;
  opts.onProgress(
    `Starting ${what}${opts.brokerSecurity ? ' (SASL listener)' : ''} and Apicurio Registry ${APICURIO_VERSION} (java ${jdk.major}) in ${dir}`,
  );
  let brokers: ClusterBroker[];
  let registryControl: RegistryControl | undefined;
  let starting: Promise<unknown>[] = [];
  try {
    // Record each server's pid as soon as it runs, so a failure of the other still stops it.
    const record = <T extends { process: { pid: number } }>(started: T): T => {
      state.pids.push(started.process.pid);
      return started;
    };
    const kafkaStart = (
      count > 1
        ? startKafkaCluster(jdk.java, kafkaDist, dir, count, opts.brokerProperties)
        : startKafka(
            jdk.java,
            kafkaDist,
            join(dir, 'kafka'),
            opts.brokerSecurity,
            opts.brokerProperties,
          ).then((k) => [k])
    ).then((nodes) => nodes.map(record));
    const registryStart = startApicurio(jdk.java, apicurioDist, join(dir, 'registry')).then(record);
    starting = [kafkaStart, registryStart];
    const [kafka, registry] = await Promise.all([kafkaStart, registryStart]);
    const servers: Servers = { kafka, registry };
    state.pids = pidsOf(servers);
    state.brokers = kafka.flatMap((k) => k.brokers);
    state.registryUrl = registry.registryUrl;
    if (opts.owner !== null) state.watchdog = startWatchdog(opts.owner, state.pids, dir);
    writeState(state);
    const kafkaDied = () => firstExit(servers.kafka);
    await checkReachableOwned(
      state.brokers,
      state.registryUrl,
      opts.timeoutMs,
      {
        broker: kafkaDied,
        registry: () => exited('Apicurio Registry', registry.process.exitCode(), registry.logFile),
      },
      { connection: opts.brokerSecurity && probeLogin(opts.brokerSecurity) },
    );
    if (count > 1) await waitForBrokers(state.brokers, count, opts.timeoutMs, kafkaDied);
    brokers = kafka.map((_, i) => brokerControl(opts, kafkaDist, state, servers, i));
    registryControl = registryControlOf(opts, apicurioDist, state, servers);
  } catch (err) {
    await Promise.allSettled(starting); // a server still starting must be recorded before the stop
    await stopInstance(state, 5000).catch(() => rmSync(dir, { recursive: true, force: true }));
    if (err instanceof SluiceError) throw err;
    throw new SluiceError(
      'SLUICE_INFRA_START_FAILED',
      `Could not start the local servers: ${String(err)}`,
      { cause: err },
    );
  }
  state.ready = true;
  writeState(state);
  opts.onProgress(`Kafka at ${state.brokers.join(',')}, registry at ${state.registryUrl}`);
  return {
    brokers: state.brokers,
    registryUrl: state.registryUrl,
    source: 'java',
    owned: opts.owner !== null,
    stop: () => stopInstance(state),
    // A cluster hands out its brokers one by one: "the broker" would be a guess.
    broker: count === 1 ? brokers[0] : undefined,
    registry: registryControl,
    ...(count > 1 && { cluster: { brokers } }),
  };
}

/**
 * Kills and restarts broker `index` in place, keeping the instance's state file and its
 * watchdog in step with its pid, so a stop, a reap or the owner's death still finds it.
 */
function brokerControl(
  opts: JavaStartOptions,
  kafkaDist: string,
  state: InstanceState,
  servers: Servers,
  index: number,
): ClusterBroker {
  const connection = opts.brokerSecurity && probeLogin(opts.brokerSecurity);
  const node = (): LocalKafka => {
    const k = servers.kafka[index];
    if (k === undefined) throw new Error(`no broker ${index}`);
    return k;
  };
  const { nodeId, brokers } = node();
  return {
    nodeId,
    address: brokers[0] ?? '',
    kill: async () => {
      // Down on purpose, so not ready: another process's reapStale would otherwise take the
      // dead pid for a crashed instance and remove it, broker data and all, while it is away.
      state.ready = false;
      writeState(state);
      await killKafka(node());
    },
    start: async () => {
      const kafka = node();
      if (kafka.process.exitCode() === undefined && isAlive(kafka.process.pid, kafka.dir)) {
        throw new SluiceError(
          'SLUICE_USAGE',
          `Kafka at ${kafka.brokers.join(',')} is still running; kill() it before start().`,
        );
      }
      const k = restartKafka(opts.jdk.java, kafkaDist, kafka);
      servers.kafka[index] = k;
      trackPids(opts, state, servers);
      // In a cluster, answering is not enough: the others must count it in again.
      const running = servers.kafka.filter((s) => s.process.exitCode() === undefined).length;
      await waitUntil(
        `Kafka at ${k.brokers.join(',')}`,
        async () => {
          const registered = await probeBroker(k.brokers, 3000, connection);
          if (servers.kafka.length > 1 && registered < running)
            throw new Error(`${registered} of ${running} running brokers registered`);
        },
        {
          timeoutMs: opts.timeoutMs,
          failFast: () => exited('Kafka', k.process.exitCode(), k.logFile),
        },
        (message, cause) =>
          new SluiceError('SLUICE_INFRA_START_FAILED', `A restarted broker failed. ${message}`, {
            cause,
          }),
      );
      markReady(state, servers);
    },
  };
}

/** The servers of an instance, as replaced by restarts. */
interface Servers {
  /** One broker, or a cluster's nodes in node-id order. */
  kafka: LocalKafka[];
  registry: LocalRegistry;
}

function pidsOf(servers: Servers): number[] {
  return [...servers.kafka.map((k) => k.process.pid), servers.registry.process.pid];
}

/**
 * Ready again once every server runs: a restart of one while another is still killed on
 * purpose must not make the instance look crashed to another process's reapStale.
 */
function markReady(state: InstanceState, servers: Servers): void {
  const down = [...servers.kafka, servers.registry].some((s) => s.process.exitCode() !== undefined);
  state.ready = !down;
  writeState(state);
}

/**
 * Keeps the state file and the watchdog in step with the servers' pids after a restart, so a
 * stop, a reap or the owner's death still finds them.
 */
function trackPids(opts: JavaStartOptions, state: InstanceState, servers: Servers): void {
  state.pids = pidsOf(servers);
  if (opts.owner !== null) {
    // The running watchdog knows only the old pids: replace it with one that knows the new.
    const old = state.watchdog;
    state.watchdog = startWatchdog(opts.owner, state.pids, state.dir);
    if (old !== undefined && isAlive(old)) process.kill(old, 'SIGKILL');
  }
  writeState(state);
}

/** Kills and restarts the registry in place, like {@link brokerControl} the broker. */
function registryControlOf(
  opts: JavaStartOptions,
  apicurioDist: string,
  state: InstanceState,
  servers: Servers,
): RegistryControl {
  return {
    kill: async () => {
      state.ready = false; // as for the broker: not taken for a crashed instance while away
      writeState(state);
      await killApicurio(servers.registry);
    },
    start: async () => {
      const old = servers.registry;
      if (old.process.exitCode() === undefined && isAlive(old.process.pid, old.dir)) {
        throw new SluiceError(
          'SLUICE_USAGE',
          `The registry at ${old.registryUrl} is still running; kill() it before start().`,
        );
      }
      const r = await startApicurio(opts.jdk.java, apicurioDist, old.dir, old.port);
      servers.registry = r;
      trackPids(opts, state, servers);
      await waitUntil(
        `the registry at ${r.registryUrl}`,
        () => probeRegistry(r.registryUrl, 3000),
        {
          timeoutMs: opts.timeoutMs,
          failFast: () => exited('Apicurio Registry', r.process.exitCode(), r.logFile),
        },
        (message, cause) =>
          new SluiceError('SLUICE_INFRA_START_FAILED', `A restarted registry failed. ${message}`, {
            cause,
          }),
      );
      markReady(state, servers);
    },
  };
}

/** The probe logs in as the broker's own user; any of the enabled mechanisms would do. */
function probeLogin(security: BrokerSecurity): BrokerConnection {
  return { sasl: { mechanism: 'scram-sha-256', ...security.sasl } };
}

/** The first broker found dead, with its log; undefined while all run. */
function firstExit(kafka: LocalKafka[]): string | undefined {
  for (const k of kafka) {
    const dead = exited(
      kafka.length > 1 ? `Kafka node ${k.nodeId}` : 'Kafka',
      k.process.exitCode(),
      k.logFile,
    );
    if (dead !== undefined) return dead;
  }
  return undefined;
}

function exited(
  what: string,
  code: number | null | undefined,
  logFile: string,
): string | undefined {
  if (code === undefined) return undefined;
  return `${what} exited (code ${code}) before it was ready. Its log (${logFile}) ends with:\n${tail(logFile)}`;
}
