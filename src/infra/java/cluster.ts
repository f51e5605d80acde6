import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../domain/errors.js';
import { probeBroker, waitUntil } from '../probe.js';
import { freePort } from '../process.js';
import {
  formatKafka,
  launchKafka,
  newClusterId,
  nodeProperties,
  type KafkaNode,
  type LocalKafka,
  type ReplicationDefaults,
} from './kafka.js';

/** The most brokers a local cluster may have: each is a JVM, on a developer's machine. */
export const MAX_LOCAL_BROKERS = 5;

/**
 * Settings every node of a local cluster gets besides the single broker's. A cluster is only
 * ever stopped whole (its folder then deleted): each broker's controlled shutdown would wait for
 * controllers that are stopping at the same moment, until the stop gives up and kills it.
 */
const CLUSTER_PROPERTIES: Readonly<Record<string, string>> = {
  'controlled.shutdown.enable': 'false',
};

/**
 * A cluster node's heap: smaller than the single broker's, so three of them and the registry
 * fit beside the tests that use them.
 */
const CLUSTER_HEAP = ['-Xms128m', '-Xmx512m'] as const;

/**
 * The replication a local cluster of `count` brokers defaults to: three replicas where there
 * are three brokers, and writes that need all but one of them, so one broker may be down
 * without stopping any writer. Internal topics (offsets, transaction state) get the same.
 */
export function clusterReplication(count: number): ReplicationDefaults {
  const factor = Math.min(3, count);
  return { factor, minIsr: Math.max(1, factor - 1) };
}

/** `count` distinct free loopback ports (the OS may hand the same one out twice in a row). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * The nodes of a KRaft quorum on loopback: node ids 1..count, each a broker and a controller
 * with its own two ports, all voting in one static quorum.
 */
export async function clusterNodes(count: number): Promise<KafkaNode[]> {
  const ports = await freePorts(2 * count);
  const controllers = ports.slice(count);
  const voters = controllers.map((port, i) => `${i + 1}@127.0.0.1:${port}`).join(',');
  return controllers.map((controllerPort, i) => ({
    nodeId: i + 1,
    brokerPort: ports[i] ?? 0,
    controllerPort,
    voters,
  }));
}

/**
 * Writes, formats with one cluster id, and starts a cluster of `count` nodes under `dir`
 * (`kafka-1`, `kafka-2`, ...), each a broker and a controller. Readiness is the caller's to
 * wait for (see {@link waitForBrokers}).
 */
export async function startKafkaCluster(
  java: string,
  distDir: string,
  dir: string,
  count: number,
  extra: Record<string, string> = {},
): Promise<LocalKafka[]> {
  const nodes = await clusterNodes(count);
  const replication = clusterReplication(count);
  const clusterId = newClusterId();
  const dirs = nodes.map((n) => join(dir, `kafka-${n.nodeId}`));
  await Promise.all(
    nodes.map(async (node, i) => {
      const nodeDir = dirs[i] ?? '';
      mkdirSync(nodeDir, { recursive: true });
      writeFileSync(
        join(nodeDir, 'server.properties'),
        nodeProperties(nodeDir, node, replication, undefined, { ...CLUSTER_PROPERTIES, ...extra }),
      );
      await formatKafka(java, distDir, nodeDir, clusterId);
    }),
  );
  return nodes.map((node, i) =>
    launchKafka(
      java,
      distDir,
      dirs[i] ?? '',
      [`127.0.0.1:${node.brokerPort}`],
      node.nodeId,
      CLUSTER_HEAP,
    ),
  );
}

/**
 * Waits until the cluster reached through `brokers` counts at least `count` registered brokers
 * (one answering is not enough: a topic with three replicas cannot be created on two).
 */
export async function waitForBrokers(
  brokers: string[],
  count: number,
  timeoutMs: number,
  failFast: () => string | undefined,
): Promise<void> {
  await waitUntil(
    `${count} brokers at ${brokers.join(',')}`,
    async () => {
      const registered = await probeBroker(brokers);
      if (registered < count) throw new Error(`${registered} of ${count} brokers registered`);
    },
    { timeoutMs, failFast },
    (message, cause) => new SluiceError('SLUICE_INFRA_START_FAILED', message, { cause }),
  );
}
