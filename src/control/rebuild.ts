import type { EventCodec } from '../codec/log-codec.js';
import { emptyCluster, fold, type Cluster } from '../domain/cluster.js';
import { logReaderGroupPrefix, topicNames } from '../domain/resources.js';
import type { Kafka } from '../kafka/port.js';
import { LogReader } from '../log/log-reader.js';
import { failpoint } from '../observability/failpoint.js';
import type { Logger } from '../observability/logger.js';

/**
 * The state of every job of a namespace, folded from its whole job log: what a coordinator
 * decides against once elected. `heartbeat` keeps its membership of the election while a long
 * log is read.
 */
export async function rebuildState(o: {
  kafka: Kafka;
  codec: EventCodec;
  namespace: string;
  logger: Logger;
  heartbeat?: (() => Promise<void>) | undefined;
}): Promise<{ cluster: Cluster; events: number }> {
  const cluster = emptyCluster();
  const reader = new LogReader({
    kafka: o.kafka,
    codec: o.codec,
    topic: topicNames(o.namespace).jobs,
    logger: o.logger,
    groupPrefix: logReaderGroupPrefix(o.namespace, 'coordinator-rebuild'),
    onProgress: () => o.heartbeat?.(),
  });
  try {
    await reader.start((e) => {
      fold(cluster, e);
      failpoint('coordinator.during-rebuild', reader.eventsRead === 1_000);
    });
  } finally {
    await reader.stop();
  }
  return { cluster, events: reader.eventsRead };
}
