import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../../domain/errors.js';
import { freePort, killService, spawnService, tail, type ServiceProcess } from '../process.js';
import type { TestCertificates } from '../tls-certs.js';
import { saslListenerProperties, scramFormatArgs, type BrokerSecurity } from './kafka-sasl.js';
import { brokerCertificates, tlsListenerProperties } from './kafka-tls.js';

const run = promisify(execFile);

export type { BrokerSasl, BrokerSecurity } from './kafka-sasl.js';
export type { BrokerTls } from './kafka-tls.js';

/** A KRaft node (broker and controller) started from the cached jars. */
export interface LocalKafka {
  process: ServiceProcess;
  brokers: string[];
  logFile: string;
  /** Its folder: properties (and so its ports), data, cluster id and logs; a restart reuses it all. */
  dir: string;
  /** Its `node.id`: 1 for a single broker, 1..n in a cluster. */
  nodeId: number;
  /** The JVM's heap flags, kept so a restart runs it as it ran before. */
  heap: readonly string[];
  /** A TLS broker's CA and certificates (see BrokerTls). */
  tls?: TestCertificates | undefined;
}

/** One node's place in a KRaft quorum. */
export interface KafkaNode {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  /** `controller.quorum.voters`: `id@host:controllerPort` of every node, comma-separated. */
  voters: string;
}

/** The broker defaults for the internal topics and for topics created without settings. */
export interface ReplicationDefaults {
  /** Replicas of every partition (`default.replication.factor` and the internal topics'). */
  factor: number;
  /** In-sync replicas a write to an internal topic needs; topics too when `factor` > 1. */
  minIsr: number;
}

/** One broker: every replication setting must be 1, or nothing internal ever gets a leader. */
const SINGLE: ReplicationDefaults = { factor: 1, minIsr: 1 };

/** The heap of a single broker, which the whole test suite shares. */
const SINGLE_HEAP = ['-Xms256m', '-Xmx1g'] as const;

/**
 * Single-node settings. Replication factor 1 for the internal topics, or the group and
 * transaction coordinators never become available on one broker; no initial rebalance delay,
 * so tests do not wait 3 s per consumer group. With `security`, the client listener is
 * SASL_PLAINTEXT (see {@link saslListenerProperties}) or SSL, whose `certificates` must be given
 * (see {@link tlsListenerProperties}), instead of PLAINTEXT.
 */
export function serverProperties(
  dir: string,
  brokerPort: number,
  controllerPort: number,
  security?: BrokerSecurity,
  extra: Record<string, string> = {},
): string {
  const node = { nodeId: 1, brokerPort, controllerPort, voters: `1@127.0.0.1:${controllerPort}` };
  return nodeProperties(dir, node, SINGLE, security, extra);
}

/**
 * The settings of one node (broker and controller both) of a local KRaft quorum, with the
 * replication defaults given: the single broker's, or a cluster's (see cluster.ts).
 */
export function nodeProperties(
  dir: string,
  node: KafkaNode,
  replication: ReplicationDefaults,
  security?: BrokerSecurity,
  extra: Record<string, string> = {},
): string {
  const listener = !security ? 'PLAINTEXT' : 'sasl' in security ? 'SASL_PLAINTEXT' : 'SSL';
  const { brokerPort, controllerPort } = node;
  const { factor, minIsr } = replication;
  return [
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${node.voters}`,
    `listeners=${listener}://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${listener}://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${listener}`,
    `listener.security.protocol.map=${listener}:${listener},CONTROLLER:PLAINTEXT`,
    ...(security ? securityProperties(security) : []),
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${factor}`,
    // One broker leaves Kafka's default (1); a cluster's topics refuse writes that fewer replicas hold.
    ...(factor > 1 ? [`min.insync.replicas=${minIsr}`] : []),
    `offsets.topic.replication.factor=${factor}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${factor}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=10',
    `share.coordinator.state.topic.replication.factor=${factor}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    // A broker restarted in place (a crash, a test's kill) registers a new incarnation, which the
    // controller refuses until the old one's session expires: 9 s by default, on top of the JVM
    // start. Loopback heartbeats do not get lost, so a shorter session only shortens that wait.
    // In a cluster it is also how long a killed broker keeps its partitions' leadership.
    'broker.heartbeat.interval.ms=1000',
    'broker.session.timeout.ms=4000',
    ...Object.entries(extra).map(([key, value]) => `${key}=${value}`),
    '',
  ].join('\n');
}

function securityProperties(security: BrokerSecurity): string[] {
  if ('sasl' in security) return saslListenerProperties(security);
  const { certificates } = security.tls;
  if (!certificates) throw new Error('a TLS broker needs its certificates made first');
  return tlsListenerProperties(security.tls, certificates);
}

const LOG4J = (logFile: string): string => `Configuration:
  Appenders:
    File:
      name: file
      fileName: "${logFile}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.server.KafkaConfig
        level: WARN
      - name: org.apache.kafka.common.config.AbstractConfig
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: file
`;

/**
 * Formats KRaft storage in `dir` and starts the broker; readiness is the caller's to wait for.
 * With `security`, the client listener requires SASL (see {@link BrokerSecurity}).
 */
export async function startKafka(
  java: string,
  distDir: string,
  dir: string,
  security?: BrokerSecurity,
  extra?: Record<string, string>,
): Promise<LocalKafka> {
  mkdirSync(dir, { recursive: true });
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const tls =
    security && 'tls' in security ? await brokerCertificates(security.tls, dir) : undefined;
  const secured =
    tls && security && 'tls' in security
      ? { tls: { ...security.tls, certificates: tls } }
      : security;
  // The properties hold the SASL password when secured: readable by this user only.
  writeFileSync(
    join(dir, 'server.properties'),
    serverProperties(dir, brokerPort, controllerPort, secured, extra),
    { mode: 0o600 },
  );
  // A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
  await formatKafka(java, distDir, dir, newClusterId(), security);
  const kafka = launchKafka(java, distDir, dir, [`127.0.0.1:${brokerPort}`], 1, SINGLE_HEAP);
  return { ...kafka, tls };
}

/**
 * Writes the logging setup and formats KRaft storage in `dir`, whose server.properties is
 * written already, for the cluster `clusterId`: every node of a cluster is formatted with the
 * same id. With `security`, the SCRAM credentials go into the metadata at the same time.
 */
export async function formatKafka(
  java: string,
  distDir: string,
  dir: string,
  clusterId: string,
  security?: BrokerSecurity,
): Promise<void> {
  writeFileSync(join(dir, 'log4j2.yaml'), LOG4J(join(dir, 'server.log')));
  try {
    await run(
      java,
      [
        '-cp',
        join(distDir, 'libs', '*'),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        join(dir, 'server.properties'),
        ...(security && 'sasl' in security ? scramFormatArgs(security) : []),
      ],
      { timeout: 60000 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new SluiceError(
      'SLUICE_INFRA_START_FAILED',
      `Formatting Kafka storage in ${dir} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      // execFile's error quotes the whole command line, which holds the SCRAM password.
      { cause: security && 'sasl' in security ? undefined : err },
    );
  }
}

/**
 * Starts the node already formatted in `dir`, with the properties written there and the heap
 * flags given, e.g. `['-Xms128m', '-Xmx512m']`.
 */
export function launchKafka(
  java: string,
  distDir: string,
  dir: string,
  brokers: string[],
  nodeId: number,
  heap: readonly string[],
): LocalKafka {
  const child = spawnService(
    java,
    [
      ...heap,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(dir, 'log4j2.yaml')}`,
      `-Dsluice.instance=${dir}`,
      '-cp',
      join(distDir, 'libs', '*'),
      'kafka.Kafka',
      join(dir, 'server.properties'),
    ],
    { cwd: dir, logFile: join(dir, 'stdout.log') },
  );
  return { process: child, brokers, logFile: join(dir, 'server.log'), dir, nodeId, heap };
}

/**
 * Kills the broker with SIGKILL, as a crash or a pulled plug would: no controlled shutdown, no
 * flush, open transactions left for the restarted broker to recover. Resolves once it is gone.
 */
export function killKafka(k: LocalKafka, timeoutMs = 10_000): Promise<void> {
  return killService(k.process, k.dir, 'Kafka', timeoutMs);
}

/**
 * Starts a stopped broker again from its folder, without formatting it: the same properties
 * (so the same ports, and clients reconnect to the address they know), the same data and the
 * same cluster id. Readiness is the caller's to wait for.
 */
export function restartKafka(java: string, distDir: string, k: LocalKafka): LocalKafka {
  return { ...launchKafka(java, distDir, k.dir, k.brokers, k.nodeId, k.heap), tls: k.tls };
}

/**
 * A KRaft cluster id: 16 random bytes in URL-safe base64. One that starts with "-" would be read
 * as an option by the storage tool (1 start in 64 failed that way), so, like Kafka's own
 * Uuid.randomUuid, draw again.
 */
export function newClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The end of the broker's logs, for error messages. */
export function kafkaLogTail(k: LocalKafka): string {
  return tail(k.logFile);
}
