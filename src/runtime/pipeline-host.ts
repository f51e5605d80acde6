import { CLEANUP_DELAY_MS } from '../domain/settings.js';
import { isSluiceError } from '../domain/errors.js';
import { endsJob, type EventOf, type JobEvent } from '../domain/events.js';
import { pointerSnapshots } from '../domain/snapshot-copy.js';
import { NO_PLAN } from '../domain/resume-plan.js';
import type { JobState } from '../domain/state.js';
import { runsTasks } from '../domain/status.js';
import { withRetry } from '../kafka/retry.js';
import { sendReport } from '../log/report.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { answerDryRun } from './dry-run.js';
import { errorInfo } from './failure.js';
import { JobRunner, type RunnerDeps } from './job-runner.js';

/** Builds a pipeline from a job's `args`. Code is registered by name, never shipped over the wire. */
export type PipelineFactory = (args: Record<string, string>) => PipelineDef;

/** What a pipeline host needs: its runners' dependencies, and who watches the jobs' states. */
export interface PipelineHostOptions extends RunnerDeps {
  /** The pipelines hosted, by name. */
  factories: ReadonlyMap<string, PipelineFactory>;
  /**
   * The fingerprint of each hosted pipeline's code, by name: a failure the code causes is
   * reported with it. A pipeline without one reports none (null).
   */
  fingerprints?: ReadonlyMap<string, string> | undefined;
  /** Called with the state of each hosted job as the log moves it (for the metrics). */
  observe?: (state: JobState) => void;
}

/**
 * Runs the jobs of the pipelines a worker hosts. It follows the job log: it starts a job's
 * tasks when the job is submitted, resumed or restarted, and stops them when the job is
 * suspended, cancelled, failed or completed. Several workers hosting the same pipeline share a
 * job's source partitions through the job's consumer group.
 */
export class PipelineHost {
  private readonly running = new Map<string, JobRunner>();
  /** Per job: its starts and stops in log order. Jobs do not wait for each other. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly cleanups = new Set<Promise<void>>();
  /** Dry runs being answered; each is bounded in time (see answerDryRun). */
  private readonly dryRuns = new Set<Promise<void>>();
  private stopFollowing: (() => void) | undefined;

  constructor(private readonly deps: PipelineHostOptions) {}

  /** Starts the hosted jobs the log holds, and follows the log from now on. */
  start(): void {
    const { log } = this.deps;
    this.stopFollowing = log.onEvent((event, state) => {
      if (!state) return;
      this.observe(state);
      // Beside the job's queue: a dry run starts and stops nothing, and must not wait for a
      // stop (or delay a start) of the job's tasks.
      if (event.type === 'DryRunRequested') this.dryRun(state, event);
      else this.enqueue(state, event);
    });
    for (const state of log.jobs()) {
      this.observe(state);
      this.enqueue(state);
    }
  }

  /** Stops every job's tasks on this worker; waits for starts, stops and cleanups under way. */
  async stop(): Promise<void> {
    this.stopFollowing?.();
    await Promise.all(this.queues.values());
    await Promise.all(this.cleanups);
    await Promise.all(this.dryRuns);
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    this.running.clear();
  }

  /**
   * In log order, one step at a time: starts and stops of a job never interleave. Each job has
   * its own queue, so stopping one job (which waits for its fetches to end) never delays
   * starting another.
   */
  private enqueue(state: JobState, event?: JobEvent): void {
    const { logger } = this.deps;
    const next = (this.queues.get(state.jobId) ?? Promise.resolve())
      .then(() => this.reconcile(state, event))
      .catch((err: unknown) =>
        logger.error({ err, jobId: state.jobId }, 'could not start or stop a job'),
      );
    this.queues.set(state.jobId, next);
    void next.then(() => {
      if (this.queues.get(state.jobId) === next) this.queues.delete(state.jobId);
    });
  }

  /** Answers a dry run of a hosted job's resume; a worker not hosting its pipeline stays out. */
  private dryRun(state: JobState, request: EventOf<'DryRunRequested'>): void {
    const { deps } = this;
    const factory = deps.factories.get(state.pipeline);
    if (!factory) return;
    const answering: Promise<void> = answerDryRun({
      ...deps,
      job: state,
      request,
      build: () => factory(state.config.args),
      fingerprint: deps.fingerprints?.get(state.pipeline) ?? null,
    })
      .catch((err: unknown) =>
        deps.logger.error({ err, jobId: state.jobId }, 'could not answer a dry run'),
      )
      .finally(() => this.dryRuns.delete(answering));
    this.dryRuns.add(answering);
  }

  /** Keeps the metrics' view of a hosted job's status (and suspension) current. */
  private observe(state: JobState): void {
    if (this.deps.factories.has(state.pipeline)) this.deps.observe?.(state);
  }

  private async reconcile(state: JobState, event?: JobEvent): Promise<void> {
    const deps = this.deps;
    const factory = deps.factories.get(state.pipeline);
    if (!factory) return;
    const current = this.running.get(state.jobId);
    const wanted = runsTasks(state.status);
    // A resume or a restart: the tasks of the run before stop, and the new run's start afresh.
    const newRun = current !== undefined && current.run !== state.run;
    if (current && (!wanted || newRun)) {
      await current.stop();
      this.running.delete(state.jobId);
      deps.logger.info({ jobId: state.jobId, status: state.status }, 'job stopped on this worker');
    }
    const pointers = event && endsJob(event) ? pointerSnapshots(state) : [];
    if (pointers.length > 0) {
      // A snapshot exported before copies is the job's state topics and offsets, kept by
      // reference: a job started from it later reads them, so they stay until the namespace is
      // cleaned up. A snapshot with its own copy needs nothing of the job's.
      deps.logger.info(
        { jobId: state.jobId, snapshots: pointers },
        'job ended; its state topics stay for its exported snapshots',
      );
      return;
    }
    if (event && endsJob(event)) {
      // Every worker of the job reads the same event and stops its part; deleting the topics
      // at once would pull them from under workers that have not stopped yet.
      const runner = new JobRunner({
        ...deps,
        job: state,
        pipeline: factory(state.config.args),
        plan: NO_PLAN,
      });
      const cleanup = new Promise<void>((resolve) => {
        deps.clock.after(CLEANUP_DELAY_MS, () => {
          runner
            .cleanup()
            .catch((err: unknown) =>
              deps.logger.warn({ err, jobId: state.jobId }, 'could not delete the job state'),
            )
            .finally(() => {
              this.cleanups.delete(cleanup);
              resolve();
            });
        });
      });
      this.cleanups.add(cleanup);
      return;
    }
    if (!wanted || this.running.has(state.jobId)) return;
    const plan = state.plan;
    deps.logger.info(
      { jobId: state.jobId, pipeline: state.pipeline },
      'starting job on this worker',
    );
    const attempt = async (): Promise<void> => {
      const runner = new JobRunner({
        ...deps,
        job: state,
        pipeline: factory(state.config.args),
        plan,
        fingerprint: deps.fingerprints?.get(state.pipeline) ?? null,
      });
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
      await withRetry(
        attempt,
        deps.retry,
        (err, n, delayMs) =>
          deps.logger.warn(
            { err, jobId: state.jobId, attempt: n, delayMs },
            'job start failed; retrying',
          ),
        deps.clock,
      );
    } catch (err) {
      // Not transient, or the retry budget ran out: the job must not look as if it ran here.
      deps.logger.error({ err, jobId: state.jobId }, 'could not start the job');
      const failure = {
        description: `Worker ${deps.worker} could not start the job`,
        error: errorInfo(err),
        stage: null,
        worker: deps.worker,
        // Refused before reading anything, the run is still stuck on the record it was to
        // dead-letter: naming it lets the next resume dead-letter (or skip) it.
        record: isSluiceError(err, 'SLUICE_DEAD_LETTER_TOPIC_MISSING') ? plan.record : null,
        // Not the code's failure: nothing in it says the same code cannot be resumed.
        fingerprint: null,
      };
      await sendReport(
        deps.reports,
        { jobId: state.jobId, run: state.run },
        'ReportFailure',
        { failure },
        deps.retry,
        deps.logger,
        deps.clock,
        // Until it arrives, or the job moved on: another run, or no longer running. A job
        // whose first run never started is still NOT_RUNNING, and must hear why too.
        () => {
          const now = deps.log.state(state.jobId);
          return now?.run === state.run && runsTasks(now.status);
        },
      ).catch((e: unknown) => deps.logger.error({ err: e }, 'could not report the failure'));
    }
  }
}
