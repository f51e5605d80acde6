import { hostname } from 'node:os';
import { SluiceClient } from '../client/client.js';
import { RegistryClient } from '../codec/registry.js';
import { Coordinator } from '../control/coordinator.js';
import { resolveNamespace } from '../control/topics.js';
import type { SuspensionCause } from '../domain/cause.js';
import { SluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import type { ConnectionSecurity } from '../domain/security.js';
import type { JobState } from '../domain/state.js';
import { createKafka } from '../kafka/connect.js';
import { retryPolicy, withRetry, type RetryPolicy } from '../kafka/retry.js';
import {
  startObservabilityServer,
  type ObservabilityServer,
  type Readiness,
} from '../observability/http.js';
import { defaultLogger, type Logger } from '../observability/logger.js';
import { NO_METRICS, withRestoreListener, type RestoreProgress } from '../observability/metrics.js';
import { WorkerMetrics } from '../observability/prometheus.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { errorInfo } from './failure.js';
import { JobRunner, type RunnerDeps } from './job-runner.js';
import { sendReport } from './report.js';
import { NO_PLAN, type ResumePlan } from './resume-plan.js';

/** Builds a pipeline from a job's `args`. Code is registered by name, never shipped over the wire. */
export type PipelineFactory = (args: Record<string, string>) => PipelineDef;

/** How to run a worker. */
export interface WorkerOptions {
  brokers: string[];
  registryUrl: string;
  /** TLS, SASL and registry basic auth, for every client the worker makes. */
  security?: ConnectionSecurity | undefined;
  namespace?: string;
  logger?: Logger;
  /** Shown in logs, failure reports and the job's worker list; default host:pid. */
  workerId?: string;
  /** Take part in the coordinator election (default true): any worker can be the coordinator. */
  coordinator?: boolean;
  /**
   * How long transient Kafka errors (a broker down, a leader change, a timeout) are retried,
   * when starting a job and when committing, before the job is suspended or failed.
   */
  retry?: Partial<RetryPolicy>;
  /**
   * Serve Prometheus metrics (`/metrics`) and health (`/livez`, `/readyz`) on this port; 0 picks
   * a free one (see {@link Worker.metricsPort}). Default: no server, and no metrics kept.
   */
  metricsPort?: number;
  /**
   * Called as a job's state is restored on this worker (changelog offsets read out of those to
   * read, over the job's hops); `sluice worker` draws a progress bar from it on a terminal.
   */
  onRestoreProgress?: (p: RestoreProgress) => void;
}

const ENDED_BY = new Set(['JobCancelled', 'JobCompleted', 'JobFailed']);

/** How long an ended job's topics stay, so every worker stops its part before they go. */
const CLEANUP_DELAY_MS = 5000;

/**
 * Hosts pipelines and runs the jobs that use them. It follows the job log: it starts a job's
 * tasks when the job is submitted, resumed or restarted, and stops them when the job is
 * suspended, cancelled, failed or completed. Several workers hosting the same pipeline share a
 * job's source partitions through the job's consumer group.
 */
export class Worker {
  readonly workerId: string;
  private readonly factories = new Map<string, PipelineFactory>();
  private readonly running = new Map<string, JobRunner>();
  private readonly log: Logger;
  private client: SluiceClient | undefined;
  private coordinator: Coordinator | undefined;
  /** Per job: its starts and stops in log order. Jobs do not wait for each other. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly metrics: WorkerMetrics | undefined;
  private server: ObservabilityServer | undefined;
  /** Why the worker is not ready yet (or any more), for `/readyz`; undefined once started. */
  private notReady: string | undefined = 'not started';
  private readonly retry: RetryPolicy;

  constructor(private readonly opts: WorkerOptions) {
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
    this.log = (opts.logger ?? defaultLogger()).child({
      component: 'worker',
      worker: this.workerId,
    });
    const port = opts.metricsPort;
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `metricsPort must be an integer from 0 to 65535 (0 picks a free port), not ${port}.`,
        { details: { metricsPort: port } },
      );
    if (port !== undefined) this.metrics = new WorkerMetrics();
    this.retry = retryPolicy(opts.retry);
  }

  /** The namespace this worker serves (the option, else SLUICE_NAMESPACE, else the default). */
  get namespace(): string {
    return resolveNamespace(this.opts.namespace);
  }

  /** The port `/metrics`, `/livez` and `/readyz` are served on, once started; else undefined. */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  /** Hosts a pipeline under a name; jobs name it when they are submitted. */
  register(name: string, factory: PipelineFactory): this {
    this.factories.set(name, factory);
    return this;
  }

  /** The pipelines this worker hosts. */
  get pipelines(): string[] {
    return [...this.factories.keys()];
  }

  async start(): Promise<void> {
    // Served first, so a probe can tell "starting" from "down" while Kafka is being reached.
    if (this.metrics && this.opts.metricsPort !== undefined)
      this.server = await this.serve(this.metrics, this.opts.metricsPort);
    try {
      await this.connect();
    } catch (err) {
      this.notReady = 'start failed';
      await this.server?.close();
      this.server = undefined;
      throw err;
    }
  }

  private async connect(): Promise<void> {
    const namespace = this.namespace;
    const kafka = createKafka({
      brokers: this.opts.brokers,
      clientId: 'sluice-worker',
      logger: this.log,
      security: this.opts.security,
    });
    const registry = new RegistryClient({
      url: this.opts.registryUrl,
      auth: this.opts.security?.registryAuth,
    });
    if (this.opts.coordinator !== false) {
      this.notReady = 'joining the coordinator election';
      this.coordinator = new Coordinator({
        kafka,
        registry,
        namespace,
        logger: this.log,
        memberName: this.workerId,
      });
      await this.coordinator.start();
    }
    this.notReady = 'reading the job log';
    const client = await SluiceClient.connect({
      ...this.opts,
      namespace,
      issuedBy: `worker:${this.workerId}`,
      logger: this.log,
    });
    this.client = client;
    const deps: RunnerDeps = {
      kafka,
      registry,
      client,
      namespace,
      worker: this.workerId,
      logger: this.log,
      retry: this.retry,
      metrics: this.opts.onRestoreProgress
        ? withRestoreListener(this.metrics ?? NO_METRICS, this.opts.onRestoreProgress)
        : this.metrics,
    };
    const reconcile = (state: JobState | undefined, event?: JobEvent): void => {
      if (!state) return;
      // In log order, one step at a time: starts and stops of a job never interleave. Each job
      // has its own queue, so stopping one job (which waits for its fetches to end) never
      // delays starting another.
      const next = (this.queues.get(state.jobId) ?? Promise.resolve())
        .then(() => this.reconcile(deps, state, event))
        .catch((err: unknown) =>
          this.log.error({ err, jobId: state.jobId }, 'could not start or stop a job'),
        );
      this.queues.set(state.jobId, next);
      void next.then(() => {
        if (this.queues.get(state.jobId) === next) this.queues.delete(state.jobId);
      });
    };
    client.onEvent((event, state) => {
      this.observe(state);
      reconcile(state, event);
    });
    for (const job of client.listJobs()) {
      this.observe(job.snapshot());
      reconcile(job.snapshot());
    }
    this.notReady = undefined;
    this.log.info({ pipelines: this.pipelines, metricsPort: this.metricsPort }, 'worker started');
  }

  async stop(): Promise<void> {
    this.notReady = 'stopping';
    await Promise.all(this.queues.values());
    await Promise.all(this.cleanups);
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    this.running.clear();
    await this.client?.close();
    await this.coordinator?.stop();
    await this.server?.close();
    this.server = undefined;
  }

  /** Live while the event loop answers; ready once the job log is read and the election joined. */
  private readiness(): Readiness {
    return this.notReady === undefined ? { ready: true } : { ready: false, reason: this.notReady };
  }

  private async serve(metrics: WorkerMetrics, port: number): Promise<ObservabilityServer> {
    try {
      return await startObservabilityServer({
        port,
        scrape: () => metrics.scrape(),
        readiness: () => this.readiness(),
        logger: this.log,
      });
    } catch (err) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `Could not serve metrics on port ${port}: ${err instanceof Error ? err.message : String(err)}. Pick a free port, or 0 for any.`,
        { cause: err, details: { metricsPort: port } },
      );
    }
  }

  /** Keeps the metrics' view of a hosted job's status (and suspension) current. */
  private observe(state: JobState | undefined): void {
    if (state && this.factories.has(state.pipeline)) this.metrics?.track(state);
  }

  private async reconcile(deps: RunnerDeps, state: JobState, event?: JobEvent): Promise<void> {
    const factory = this.factories.get(state.pipeline);
    if (!factory) return;
    const current = this.running.get(state.jobId);
    const wanted =
      state.status === 'NOT_RUNNING' ||
      state.status === 'STARTING' ||
      state.status === 'RUNNING' ||
      state.status === 'COMPLETING';
    const newRun = event?.type === 'JobResumed' || event?.type === 'JobRestarted';
    if (current && (!wanted || newRun)) {
      await current.stop();
      this.running.delete(state.jobId);
      this.log.info({ jobId: state.jobId, status: state.status }, 'job stopped on this worker');
    }
    if (event && ENDED_BY.has(event.type) && Object.keys(state.exportedSnapshots).length > 0) {
      // An exported snapshot is the job's state topics and offsets, kept by reference: a job
      // started from it later reads them, so they stay until the namespace is cleaned up.
      this.log.info(
        { jobId: state.jobId, snapshots: Object.keys(state.exportedSnapshots) },
        'job ended; its state topics stay for its exported snapshots',
      );
      return;
    }
    if (event && ENDED_BY.has(event.type)) {
      // Every worker of the job reads the same event and stops its part; deleting the topics
      // at once would pull them from under workers that have not stopped yet.
      const runner = new JobRunner(deps, state, factory(state.config.args), NO_PLAN);
      const cleanup = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          runner
            .cleanup()
            .catch((err: unknown) =>
              this.log.warn({ err, jobId: state.jobId }, 'could not delete the job state'),
            )
            .finally(() => {
              this.cleanups.delete(cleanup);
              resolve();
            });
        }, CLEANUP_DELAY_MS);
        timer.unref();
      });
      this.cleanups.add(cleanup);
      return;
    }
    if (!wanted || this.running.has(state.jobId)) return;
    const plan = resumePlan(this.client?.history(state.jobId) ?? []);
    this.log.info({ jobId: state.jobId, pipeline: state.pipeline }, 'starting job on this worker');
    const attempt = async (): Promise<void> => {
      const runner = new JobRunner(deps, state, factory(state.config.args), plan);
      this.running.set(state.jobId, runner);
      try {
        await runner.start();
      } catch (err) {
        this.running.delete(state.jobId);
        await runner.stop().catch(() => undefined);
        throw err;
      }
    };
    try {
      await withRetry(attempt, deps.retry, (err, n, delayMs) =>
        this.log.warn(
          { err, jobId: state.jobId, attempt: n, delayMs },
          'job start failed; retrying',
        ),
      );
    } catch (err) {
      // Not transient, or the retry budget ran out: the job must not look as if it ran here.
      this.log.error({ err, jobId: state.jobId }, 'could not start the job');
      const failure = {
        description: `Worker ${this.workerId} could not start the job`,
        error: errorInfo(err),
        stage: null,
        worker: this.workerId,
        record: null,
      };
      await sendReport(
        deps.client,
        state.jobId,
        'ReportFailure',
        { failure },
        deps.retry,
        this.log,
      ).catch((e: unknown) => this.log.error({ err: e }, 'could not report the failure'));
    }
  }
}

/**
 * What the current run does with the record its last suspension failed on. Read from the history,
 * not from the event at hand, so a worker that joins the run later (or restarts) skips or
 * dead-letters the same record as the workers that saw the resume happen.
 */
function resumePlan(history: JobEvent[]): ResumePlan {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobRestarted' || e?.type === 'JobSubmitted') return NO_PLAN;
    if (e?.type === 'JobResumed')
      return {
        action: e.failingRecord,
        record: e.record,
        deadLetterTopic: e.deadLetterTopic,
        cause: lastErrorCause(history.slice(0, i)),
      };
  }
  return NO_PLAN;
}

/** The cause of the job's latest suspension due to an error, from its history. */
function lastErrorCause(history: JobEvent[]): SuspensionCause | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobSuspendedDueToError') return e.cause;
  }
  return null;
}
