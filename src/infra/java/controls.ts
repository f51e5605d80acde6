/**
 * Fault control of a local instance's servers: each broker and the registry killed and started
 * again in place, with the state file and the watchdog kept in step with their pids.
 */
import { SluiceError } from '../../domain/errors.js';
import { writeState, type InstanceState } from '../instance.js';
import { probeBroker, probeRegistry, waitUntil } from '../probe.js';
import { isAlive, startWatchdog, tail } from '../process.js';
import type { TestCertificates } from '../tls-certs.js';
import type { BrokerConnection, ClusterBroker, RegistryControl } from '../types.js';
import type { JavaStartOptions } from './index.js';
import { killKafka, restartKafka, type BrokerSecurity, type LocalKafka } from './kafka.js';
import { killApicurio, startApicurio, type LocalRegistry } from './registry.js';

/**
 * Kills and restarts broker `index` in place, keeping the instance's state file and its
 * watchdog in step with its pid, so a stop, a reap or the owner's death still finds it.
 */
export function brokerControl(
  opts: JavaStartOptions,
  kafkaDist: string,
  state: InstanceState,
  servers: Servers,
  index: number,
): ClusterBroker {
  const node = (): LocalKafka => {
    const k = servers.kafka[index];
    if (k === undefined) throw new Error(`no broker ${index}`);
    return k;
  };
  const connection = opts.brokerSecurity && probeLogin(opts.brokerSecurity, node().tls);
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
export interface Servers {
  /** One broker, or a cluster's nodes in node-id order. */
  kafka: LocalKafka[];
  registry: LocalRegistry;
}

export function pidsOf(servers: Servers): number[] {
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
export function registryControlOf(
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

/**
 * How the probe gets in: as the broker's own user (any of the enabled mechanisms would do), or
 * over TLS trusting the private CA and presenting the client certificate it signed.
 */
export function probeLogin(security: BrokerSecurity, certs?: TestCertificates): BrokerConnection {
  if ('sasl' in security) return { sasl: { mechanism: 'scram-sha-256', ...security.sasl } };
  if (!certs) throw new Error('a TLS broker without its certificates');
  return { ssl: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } };
}

/** The first broker found dead, with its log; undefined while all run. */
export function firstExit(kafka: LocalKafka[]): string | undefined {
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

export function exited(
  what: string,
  code: number | null | undefined,
  logFile: string,
): string | undefined {
  if (code === undefined) return undefined;
  return `${what} exited (code ${code}) before it was ready. Its log (${logFile}) ends with:\n${tail(logFile)}`;
}
