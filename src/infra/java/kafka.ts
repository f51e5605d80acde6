import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../../domain/errors.js';
import { freePort, spawnService, tail, type ServiceProcess } from '../process.js';

const run = promisify(execFile);

/** A single-node KRaft broker started from the cached jars. */
export interface LocalKafka {
  process: ServiceProcess;
  brokers: string[];
  logFile: string;
}

/**
 * Single-node settings. Replication factor 1 for the internal topics, or the group and
 * transaction coordinators never become available on one broker; no initial rebalance delay,
 * so tests do not wait 3 s per consumer group.
 */
export function serverProperties(dir: string, brokerPort: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
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

/** Formats KRaft storage in `dir` and starts the broker; readiness is the caller's to wait for. */
export async function startKafka(java: string, distDir: string, dir: string): Promise<LocalKafka> {
  mkdirSync(dir, { recursive: true });
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  const logFile = join(dir, 'server.log');
  writeFileSync(props, serverProperties(dir, brokerPort, controllerPort));
  writeFileSync(join(dir, 'log4j2.yaml'), LOG4J(logFile));
  const classpath = join(distDir, 'libs', '*');
  // A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
  const clusterId = newClusterId();
  try {
    await run(
      java,
      ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props],
      { timeout: 60000 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new SluiceError(
      'SLUICE_INFRA_START_FAILED',
      `Formatting Kafka storage in ${dir} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }
  const process = spawnService(
    java,
    [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(dir, 'log4j2.yaml')}`,
      `-Dsluice.instance=${dir}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      props,
    ],
    { cwd: dir, logFile: join(dir, 'stdout.log') },
  );
  return { process, brokers: [`127.0.0.1:${brokerPort}`], logFile };
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
