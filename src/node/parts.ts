import type { SchemaRegistry } from '../codec/registry.js';
import type { Clock } from '../domain/clock.js';
import type { Kafka } from '../kafka/port.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { TopicReplication } from '../kafka/topics.js';
import { topicNames } from '../domain/resources.js';
import { CommandSender } from '../log/commands.js';
import { JobLog, type ReadFrom } from '../log/job-log.js';
import { PresenceBeacon } from '../log/presence.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsSink } from '../observability/metrics.js';
import type { JobState } from '../domain/state.js';
import { PipelineHost, type PipelineFactory } from '../runtime/pipeline-host.js';

/**
 * What a client's or a worker's parts are built on, whatever stands behind the Kafka port: the
 * kafkajs adapter for `Worker` and `SluiceClient.connect`, the in-memory Kafka in the
 * simulation (test/sim/), which so runs the same assembly.
 */
export interface PartsOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  namespace: string;
  logger: Logger;
  clock: Clock;
  /** How long a command (a report, for a worker) waits for the coordinator's answer. */
  commandTimeoutMs: number;
  /** Replication of the topics the parts create; default the broker's. */
  replication?: TopicReplication | undefined;
}

/** A namespace's job log, followed, and a sender of commands on it. */
export interface ClientParts {
  log: JobLog;
  sender: CommandSender;
}

/** Opens the job log (reading it up to now) and a command sender recorded as `issuedBy`. */
export async function openClientParts(
  o: PartsOptions & { issuedBy: string; reader: string; readFrom?: ReadFrom; follow?: boolean },
): Promise<ClientParts> {
  const { kafka, registry, namespace, logger, clock } = o;
  const log = await JobLog.open({
    kafka,
    registry,
    namespace,
    logger,
    reader: o.reader,
    replication: o.replication,
    readFrom: o.readFrom,
    follow: o.follow,
  });
  try {
    const sender = await CommandSender.open({
      kafka,
      registry,
      log,
      issuedBy: o.issuedBy,
      timeoutMs: o.commandTimeoutMs,
      clock,
    });
    return { log, sender };
  } catch (err) {
    await log.close().catch(() => undefined);
    throw err;
  }
}

/** A worker's running parts, stopped in reverse by {@link stopWorkerParts}. */
export interface WorkerParts extends ClientParts {
  host: PipelineHost;
  /** The worker's presence on `<ns>.workers`, when it was given fingerprints to announce. */
  presence: PresenceBeacon | undefined;
}

/**
 * Starts the parts of a worker that runs jobs: its job log and report sender, a pipeline host
 * that starts the hosted pipelines' jobs as the log says and, given the pipelines'
 * fingerprints, the worker's presence record on `<ns>.workers`, written once the host runs.
 */
export async function startWorkerParts(
  o: PartsOptions & {
    workerId: string;
    retry: RetryPolicy;
    factories: ReadonlyMap<string, PipelineFactory>;
    /**
     * The fingerprint of each hosted pipeline's code, by name (see `Worker.register`): put on
     * the reports of failures the code causes, and announced on `<ns>.workers`.
     */
    fingerprints?: ReadonlyMap<string, string> | undefined;
    metrics?: MetricsSink | undefined;
    observe?: (state: JobState) => void;
  },
): Promise<WorkerParts> {
  const { log, sender } = await openClientParts({
    ...o,
    issuedBy: `worker:${o.workerId}`,
    reader: 'worker',
    // A worker needs jobs' states, never their histories: its start costs the same however
    // long the log is.
    readFrom: 'checkpoint',
  });
  const host = new PipelineHost({
    kafka: o.kafka,
    registry: o.registry,
    log,
    reports: sender,
    namespace: o.namespace,
    worker: o.workerId,
    logger: o.logger,
    retry: o.retry,
    metrics: o.metrics,
    factories: o.factories,
    fingerprints: o.fingerprints,
    ...(o.observe && { observe: o.observe }),
    clock: o.clock,
    replication: o.replication,
  });
  host.start();
  let presence: PresenceBeacon | undefined;
  if (o.fingerprints) {
    presence = new PresenceBeacon({
      kafka: o.kafka,
      topic: topicNames(o.namespace).workers,
      workerId: o.workerId,
      pipelines: Object.fromEntries(o.fingerprints),
      clock: o.clock,
      logger: o.logger,
    });
    try {
      await presence.start();
    } catch (err) {
      await host.stop().catch(() => undefined);
      await sender.close().catch(() => undefined);
      await log.close().catch(() => undefined);
      throw err;
    }
  }
  return { log, sender, host, presence };
}

/**
 * Stops a worker's jobs on this worker, then its presence, its sender and its log. The
 * presence goes after the jobs: until this worker can no longer start a job's tasks, a resume
 * must count it among the pipeline's live hosts.
 */
export async function stopWorkerParts(parts: WorkerParts): Promise<void> {
  await parts.host.stop();
  await parts.presence?.stop();
  await parts.sender.close();
  await parts.log.close();
}
