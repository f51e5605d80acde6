import type { ReadFrom } from '../log/job-log.js';
import { hostname, userInfo } from 'node:os';
import { z } from 'zod';
import { parseOrThrow } from '../domain/config.js';
import type { ConnectionSecurity, Credentials } from '../domain/security.js';
import { topicNames } from '../domain/resources.js';
import { retryPolicy, type RetryPolicy } from '../kafka/retry.js';
import type { TopicReplication } from '../kafka/topics.js';
import type { Logger } from '../observability/logger.js';
import type { RestoreProgress } from '../observability/metrics.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_SESSION_TIMEOUT_MS } from '../domain/settings.js';
import { defaultLogger } from '../observability/logger.js';

/** The retry policy's compiler, for surfaces that name its settings their own way (the CLI's flags). */
export { retryPolicy, type RetryPolicy };

/** What every component needs to reach a namespace. */
export interface ConnectionOptions {
  /** Kafka bootstrap servers, `host:port` each. */
  brokers: string[];
  /** Base URL of a Confluent-compatible schema registry API. */
  registryUrl: string;
  /** TLS, SASL and registry basic auth; see `loadSecurity` for reading them from flags, env or a file. */
  security?: ConnectionSecurity | undefined;
  /** Default: SLUICE_NAMESPACE or "sluice". */
  namespace?: string | undefined;
  logger?: Logger | undefined;
}

/**
 * How the topics a component creates are replicated: the namespace's control and job log
 * topics (any component may create them, whichever starts first), and a job's state changelogs
 * and repartition topics (workers). Each left out is not sent, so the broker's default applies;
 * topics that already exist keep theirs.
 */
export interface TopicOptions {
  /** Replicas of each partition, 1 or more. Default: the broker's `default.replication.factor`. */
  replicationFactor?: number | undefined;
  /**
   * The topics' `min.insync.replicas`: replicas that must have a write (acks=all, as Sluice's
   * producers ask) before it counts. 1 or more, and at most `replicationFactor` when both are
   * given. Default: the broker's `min.insync.replicas`.
   */
  minInsyncReplicas?: number | undefined;
}

/** How to reach a Sluice namespace as a client. */
export interface ClientOptions extends ConnectionOptions, TopicOptions {
  /** Registry basic auth; overrides `security.registryAuth` (kept for callers that set only this). */
  registryAuth?: Credentials | undefined;
  /** Recorded with every command; default `<os user>@<host>`. */
  issuedBy?: string | undefined;
  /** How long a command may wait for the coordinator's answer. Default 30 s. */
  commandTimeoutMs?: number | undefined;
  /**
   * Where the client starts reading the job log: `start` (default) reads every event, so every
   * job's history is at hand; `checkpoint` folds the coordinator's last checkpoint and reads
   * only the events after it, which costs the same however long the log is, but holds a job's
   * history only from then on (`history()` of an older job throws SLUICE_HISTORY_UNAVAILABLE).
   */
  readFrom?: ReadFrom | undefined;
  /**
   * Whether the client keeps its view of the job log current from the start (default true).
   * With false it reads the log once, as of connect, and starts following only when it sends
   * its first command: a one-shot look (`sluice jobs`) then has no consumer group to join or
   * leave. Its jobs' snapshots and listeners see nothing newer until then.
   */
  follow?: boolean | undefined;
}

/** How to run a coordinator. */
export interface CoordinatorOptions extends ConnectionOptions, TopicOptions {
  /** Shown in logs; defaults to host:pid. */
  memberName?: string | undefined;
  /**
   * How long the election waits for a silent coordinator before a standby takes over: the
   * failover time after a crash. Kafka's floor is 6 s (group.min.session.timeout.ms). Default 10 s.
   */
  sessionTimeoutMs?: number | undefined;
  /** Partitions of `<ns>.jobs` when it is created. Default 3. */
  jobsPartitions?: number | undefined;
}

/** How to run a worker. */
export interface WorkerOptions extends ConnectionOptions, TopicOptions {
  /** Shown in logs, failure reports and the job's worker list; default host:pid. */
  workerId?: string | undefined;
  /** Take part in the coordinator election (default true): any worker can be the coordinator. */
  coordinator?: boolean | undefined;
  /**
   * How long transient Kafka errors (a broker down, a leader change, a timeout) are retried,
   * when starting a job and when committing, before the job is suspended or failed.
   */
  retry?: Partial<RetryPolicy> | undefined;
  /**
   * Serve Prometheus metrics (`/metrics`) and health (`/livez`, `/readyz`) on this port; 0 picks
   * a free one. Default: no server, and no metrics kept.
   */
  metricsPort?: number | undefined;
  /**
   * Called as a job's state is restored on this worker (changelog offsets read out of those to
   * read, over the job's hops); `sluice worker` draws a progress bar from it on a terminal.
   */
  onRestoreProgress?: ((p: RestoreProgress) => void) | undefined;
}

/** Options compiled: defaults in, every field checked. */
export interface Compiled {
  brokers: string[];
  registryUrl: string;
  security: ConnectionSecurity | undefined;
  namespace: string;
  logger: Logger;
  /** The settings of {@link TopicOptions} that were given; empty for the broker's defaults. */
  replication: TopicReplication;
}

const ms = (min: number) => z.number().int().min(min).max(2_147_483_647);

const connection = z.object({
  brokers: z.array(z.string().regex(/^\S+:\d+$/, 'must be host:port')).min(1),
  registryUrl: z.url({ protocol: /^https?$/ }),
  security: z.looseObject({}).optional(),
  namespace: z.string().optional(),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null).optional(),
  // Kafka's replication factor is a 16-bit integer.
  replicationFactor: z.number().int().min(1).max(32_767).optional(),
  minInsyncReplicas: z.number().int().min(1).max(32_767).optional(),
});

/**
 * More replicas in sync than there are replicas would refuse every write (NOT_ENOUGH_REPLICAS),
 * and Kafka creates such a topic without a word. Only checkable when both are given: the
 * broker's default replication factor is not known here.
 */
function insyncWithinReplicas(o: TopicOptions, ctx: z.RefinementCtx): void {
  const { replicationFactor: rf, minInsyncReplicas: isr } = o;
  if (rf === undefined || isr === undefined || isr <= rf) return;
  ctx.addIssue({
    code: 'custom',
    path: ['minInsyncReplicas'],
    message: `must be at most replicationFactor (${rf}), not ${isr}: with fewer replicas than that, every write to the topics would be refused`,
  });
}

const clientSchema = connection
  .extend({
    registryAuth: z.object({ username: z.string(), password: z.string() }).optional(),
    issuedBy: z.string().min(1).max(200).optional(),
    commandTimeoutMs: ms(1).optional(),
    readFrom: z.enum(['start', 'checkpoint']).optional(),
    follow: z.boolean().optional(),
  })
  .superRefine(insyncWithinReplicas);

const coordinatorSchema = connection
  .extend({
    memberName: z.string().min(1).optional(),
    // Kafka refuses a session timeout under group.min.session.timeout.ms (6 s by default); a
    // broker configured lower accepts less, so only a sane floor is checked here.
    sessionTimeoutMs: ms(1000).optional(),
    jobsPartitions: z.number().int().min(1).max(1000).optional(),
  })
  .superRefine(insyncWithinReplicas);

const workerSchema = connection
  .extend({
    workerId: z.string().min(1).max(200).optional(),
    coordinator: z.boolean().optional(),
    retry: z.looseObject({}).optional(),
    metricsPort: z
      .custom<number>((p) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535, {
        error: (i) =>
          `must be an integer from 0 to 65535 (0 picks a free port), not ${String(i.input)}`,
      })
      .optional(),
    onRestoreProgress: z
      .custom<(p: RestoreProgress) => void>((f) => typeof f === 'function')
      .optional(),
  })
  .superRefine(insyncWithinReplicas);

/** The namespace from a flag (or option), then SLUICE_NAMESPACE, then "sluice". */
export function resolveNamespace(
  given: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return (
    given ??
    (env.SLUICE_NAMESPACE && env.SLUICE_NAMESPACE.length > 0 ? env.SLUICE_NAMESPACE : 'sluice')
  );
}

function compileConnection(o: ConnectionOptions & TopicOptions): Compiled {
  const namespace = resolveNamespace(o.namespace);
  topicNames(namespace); // validates it, with its own message
  return {
    brokers: o.brokers,
    registryUrl: o.registryUrl,
    security: o.security,
    namespace,
    logger: o.logger ?? defaultLogger(),
    replication: {
      ...(o.replicationFactor !== undefined && { replicationFactor: o.replicationFactor }),
      ...(o.minInsyncReplicas !== undefined && { minInsyncReplicas: o.minInsyncReplicas }),
    },
  };
}

/** A client's options, checked, with their defaults. */
export function compileClientOptions(o: ClientOptions): Compiled & {
  registryAuth: Credentials | undefined;
  issuedBy: string;
  commandTimeoutMs: number;
  readFrom: ReadFrom;
  follow: boolean;
} {
  parseOrThrow(clientSchema, o, 'client options');
  return {
    ...compileConnection(o),
    registryAuth: o.registryAuth ?? o.security?.registryAuth,
    issuedBy: o.issuedBy ?? `${safeUser()}@${hostname()}`,
    commandTimeoutMs: o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    readFrom: o.readFrom ?? 'start',
    follow: o.follow ?? true,
  };
}

/** A coordinator's options, checked, with their defaults. */
export function compileCoordinatorOptions(o: CoordinatorOptions): Compiled & {
  memberName: string;
  sessionTimeoutMs: number;
  jobsPartitions: number | undefined;
} {
  parseOrThrow(coordinatorSchema, o, 'coordinator options');
  return {
    ...compileConnection(o),
    memberName: o.memberName ?? `${hostname()}:${process.pid}`,
    sessionTimeoutMs: o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    jobsPartitions: o.jobsPartitions,
  };
}

/** A worker's options, checked, with their defaults. */
export function compileWorkerOptions(o: WorkerOptions): Compiled & {
  workerId: string;
  coordinator: boolean;
  retry: RetryPolicy;
  metricsPort: number | undefined;
} {
  parseOrThrow(workerSchema, o, 'worker options');
  return {
    ...compileConnection(o),
    workerId: o.workerId ?? `${hostname()}:${process.pid}`,
    coordinator: o.coordinator ?? true,
    retry: retryPolicy(o.retry),
    metricsPort: o.metricsPort,
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
