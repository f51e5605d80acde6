import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../domain/errors.js';
import { stopInstance, writeState, type InstanceState } from '../instance.js';
import { checkReachableOwned } from '../probe.js';
import { startWatchdog } from '../process.js';
import type { ClusterBroker, Infra, ProgressFn, RegistryControl } from '../types.js';
import { waitForBrokers, startKafkaCluster } from './cluster.js';
import {
  brokerControl,
  exited,
  firstExit,
  pidsOf,
  probeLogin,
  registryControlOf,
  type Servers,
} from './controls.js';
import { APICURIO_VERSION, ensureApicurio, ensureKafka, KAFKA_VERSION } from './fetch.js';
import type { TestCertificates } from '../tls-certs.js';
import type { Jdk } from './jdk.js';
import { startKafka, type BrokerSecurity } from './kafka.js';
import { startApicurio } from './registry.js';

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
  /** Make the broker's client listener require SASL with these credentials, or TLS. */
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
    `Starting ${what}${listenerNote(opts.brokerSecurity)} and Apicurio Registry ${APICURIO_VERSION} (java ${jdk.major}) in ${dir}`,
  );
  let brokers: ClusterBroker[];
  let tls: TestCertificates | undefined;
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
    tls = kafka[0]?.tls;
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
      { connection: opts.brokerSecurity && probeLogin(opts.brokerSecurity, kafka[0]?.tls) },
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
    ...(tls && { tls }),
  };
}

function listenerNote(security: JavaStartOptions['brokerSecurity']): string {
  if (!security) return '';
  return 'sasl' in security ? ' (SASL listener)' : ' (TLS listener)';
}
