import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../domain/errors.js';
import { stopInstance, writeState, type InstanceState } from '../instance.js';
import { checkReachableOwned, probeBroker, probeRegistry, waitUntil } from '../probe.js';
import { isAlive, startWatchdog, tail } from '../process.js';
import type {
  BrokerConnection,
  BrokerControl,
  Infra,
  ProgressFn,
  RegistryControl,
} from '../types.js';
import { ensureApicurio, ensureKafka, KAFKA_VERSION, APICURIO_VERSION } from './fetch.js';
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
}

/** Fetches (once), formats, starts and waits for a Kafka broker and an Apicurio registry. */
export async function startJavaInfra(opts: JavaStartOptions): Promise<Infra> {
  const { jdk, dir } = opts;
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
  opts.onProgress(
    `Starting Kafka ${KAFKA_VERSION}${opts.brokerSecurity ? ' (SASL listener)' : ''} and Apicurio Registry ${APICURIO_VERSION} (java ${jdk.major}) in ${dir}`,
  );
  let kafka: LocalKafka | undefined;
  let registry: LocalRegistry | undefined;
  let broker: BrokerControl | undefined;
  let registryControl: RegistryControl | undefined;
  let starting: Promise<unknown>[] = [];
  try {
    // Record each server's pid as soon as it runs, so a failure of the other still stops it.
    const record = <T extends { process: { pid: number } }>(started: T): T => {
      state.pids.push(started.process.pid);
      return started;
    };
    const kafkaStart = startKafka(
      jdk.java,
      kafkaDist,
      join(dir, 'kafka'),
      opts.brokerSecurity,
      opts.brokerProperties,
    ).then(record);
    const registryStart = startApicurio(jdk.java, apicurioDist, join(dir, 'registry')).then(record);
    starting = [kafkaStart, registryStart];
    [kafka, registry] = await Promise.all([kafkaStart, registryStart]);
    state.pids = [kafka.process.pid, registry.process.pid];
    state.brokers = kafka.brokers;
    state.registryUrl = registry.registryUrl;
    if (opts.owner !== null) state.watchdog = startWatchdog(opts.owner, state.pids, dir);
    writeState(state);
    const k = kafka;
    const r = registry;
    await checkReachableOwned(
      state.brokers,
      state.registryUrl,
      opts.timeoutMs,
      {
        broker: () => exited('Kafka', k.process.exitCode(), k.logFile),
        registry: () => exited('Apicurio Registry', r.process.exitCode(), r.logFile),
      },
      { connection: opts.brokerSecurity && probeLogin(opts.brokerSecurity) },
    );
    const servers = { kafka: k, registry: r };
    broker = brokerControl(opts, kafkaDist, state, servers);
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
    broker,
    registry: registryControl,
  };
}

/**
 * Kills and restarts the broker in place, keeping the instance's state file and its watchdog
 * in step with the broker's pid, so a stop, a reap or the owner's death still finds it.
 */
function brokerControl(
  opts: JavaStartOptions,
  kafkaDist: string,
  state: InstanceState,
  servers: Servers,
): BrokerControl {
  const connection = opts.brokerSecurity && probeLogin(opts.brokerSecurity);
  return {
    kill: async () => {
      // Down on purpose, so not ready: another process's reapStale would otherwise take the
      // dead pid for a crashed instance and remove it, broker data and all, while it is away.
      state.ready = false;
      writeState(state);
      await killKafka(servers.kafka);
    },
    start: async () => {
      const { kafka } = servers;
      if (kafka.process.exitCode() === undefined && isAlive(kafka.process.pid, kafka.dir)) {
        throw new SluiceError(
          'SLUICE_USAGE',
          `Kafka at ${kafka.brokers.join(',')} is still running; kill() it before start().`,
        );
      }
      const k = restartKafka(opts.jdk.java, kafkaDist, kafka);
      servers.kafka = k;
      trackPids(opts, state, servers);
      await waitUntil(
        `Kafka at ${k.brokers.join(',')}`,
        () => probeBroker(k.brokers, 3000, connection),
        {
          timeoutMs: opts.timeoutMs,
          failFast: () => exited('Kafka', k.process.exitCode(), k.logFile),
        },
        (message, cause) =>
          new SluiceError('SLUICE_INFRA_START_FAILED', `A restarted broker failed. ${message}`, {
            cause,
          }),
      );
      state.ready = true;
      writeState(state);
    },
  };
}

/** The servers of an instance, as replaced by restarts. */
interface Servers {
  kafka: LocalKafka;
  registry: LocalRegistry;
}

/**
 * Keeps the state file and the watchdog in step with the servers' pids after a restart, so a
 * stop, a reap or the owner's death still finds them.
 */
function trackPids(opts: JavaStartOptions, state: InstanceState, servers: Servers): void {
  state.pids = [servers.kafka.process.pid, servers.registry.process.pid];
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
      state.ready = true;
      writeState(state);
    },
  };
}

/** The probe logs in as the broker's own user; any of the enabled mechanisms would do. */
function probeLogin(security: BrokerSecurity): BrokerConnection {
  return { sasl: { mechanism: 'scram-sha-256', ...security.sasl } };
}

function exited(
  what: string,
  code: number | null | undefined,
  logFile: string,
): string | undefined {
  if (code === undefined) return undefined;
  return `${what} exited (code ${code}) before it was ready. Its log (${logFile}) ends with:\n${tail(logFile)}`;
}
