import { hostname } from 'node:os';
import { SluiceClient } from '../client/client.js';
import { RegistryClient } from '../codec/registry.js';
import { Coordinator } from '../control/coordinator.js';
import { resolveNamespace } from '../control/topics.js';
import type { SuspensionCause } from '../domain/cause.js';
import type { JobEvent } from '../domain/events.js';
import type { ConnectionSecurity } from '../domain/security.js';
import type { JobState } from '../domain/state.js';
import { createKafka } from '../kafka/connect.js';
import { defaultLogger, type Logger } from '../observability/logger.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { JobRunner, type RunnerDeps } from './job-runner.js';
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
  private queue: Promise<void> = Promise.resolve();
  private readonly cleanups = new Set<Promise<void>>();

  constructor(private readonly opts: WorkerOptions) {
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
    this.log = (opts.logger ?? defaultLogger()).child({
      component: 'worker',
      worker: this.workerId,
    });
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
    const namespace = resolveNamespace(this.opts.namespace);
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
      this.coordinator = new Coordinator({
        kafka,
        registry,
        namespace,
        logger: this.log,
        memberName: this.workerId,
      });
      await this.coordinator.start();
    }
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
    };
    const reconcile = (state: JobState | undefined, event?: JobEvent): void => {
      if (!state) return;
      // In log order, one step at a time: starts and stops of a job never interleave.
      this.queue = this.queue
        .then(() => this.reconcile(deps, state, event))
        .catch((err: unknown) =>
          this.log.error({ err, jobId: state.jobId }, 'could not start or stop a job'),
        );
    };
    client.onEvent((event, state) => reconcile(state, event));
    for (const job of client.listJobs()) reconcile(job.snapshot());
    this.log.info({ pipelines: this.pipelines }, 'worker started');
  }

  async stop(): Promise<void> {
    await this.queue;
    await Promise.all(this.cleanups);
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    this.running.clear();
    await this.client?.close();
    await this.coordinator?.stop();
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
    const plan: ResumePlan =
      event?.type === 'JobResumed'
        ? {
            action: event.failingRecord,
            record: event.record,
            deadLetterTopic: event.deadLetterTopic,
            cause: lastErrorCause(this.client?.history(state.jobId) ?? []),
          }
        : NO_PLAN;
    const runner = new JobRunner(deps, state, factory(state.config.args), plan);
    this.running.set(state.jobId, runner);
    this.log.info({ jobId: state.jobId, pipeline: state.pipeline }, 'starting job on this worker');
    await runner.start();
  }
}

/** The cause of the job's latest suspension due to an error, from its history. */
function lastErrorCause(history: JobEvent[]): SuspensionCause | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobSuspendedDueToError') return e.cause;
  }
  return null;
}
