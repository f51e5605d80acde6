import type { SchemaRegistry } from '../codec/registry.js';
import type { CommandPayloads, ReportType } from '../domain/commands.js';
import type { JobState } from '../domain/state.js';
import { withAdmin } from '../kafka/offsets.js';
import type { FailureReport } from '../domain/cause.js';
import type { Kafka } from '../kafka/port.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { TopicReplication } from '../kafka/topics.js';
import type { CommandSender } from '../log/commands.js';
import type { JobLog } from '../log/job-log.js';
import { sendReport } from '../log/report.js';
import { failpoint } from '../observability/failpoint.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, type JobMetrics, type MetricsSink } from '../observability/metrics.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { allStages } from '../pipeline/stages.js';
import { errorInfo, failureReport, openFailureReport, readFailureReport } from './failure.js';
import { CompletionCheck } from './completion.js';
import { Hop } from './hop.js';
import { drainThenFreeze, type HopInput } from './progress.js';
import { prepareRun } from './prepare-run.js';
import { RecordPolicy } from './policy.js';
import type { HopEvents } from './hop-spec.js';
import type { ResumePlan } from '../domain/resume-plan.js';
import { Deserializer, Serializer } from './serde.js';
import { Topology } from './topology.js';

/** What a runner needs from its worker. */
export interface RunnerDeps {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** The namespace's job log, followed: jobs' states (a worker's starts from the checkpoint, without histories). */
  log: JobLog;
  /** Sends the worker's reports (started, failed, completed) to the coordinator. */
  reports: CommandSender;
  namespace: string;
  worker: string;
  logger: Logger;
  retry: RetryPolicy;
  /** Where the job's counters go; default nowhere. */
  metrics?: MetricsSink;
  clock: Clock;
  /** Replication of the changelog and repartition topics the job creates; default the broker's. */
  replication?: TopicReplication | undefined;
}

/** A runner: its worker's dependencies, the job, its pipeline, and what this run does about an earlier failure. */
export interface RunnerOptions extends RunnerDeps {
  /** The job's state as the run starts: its `run` is the one every report of this runner names. */
  job: JobState;
  pipeline: PipelineDef;
  plan: ResumePlan;
  /**
   * The worker's fingerprint of the pipeline's code, put on the reports of failures the code
   * caused; none (null) when left out.
   */
  fingerprint?: string | null | undefined;
}

/**
 * Runs one job on this worker as a chain of hops. The first hop reads the sources; each
 * stateful stage starts a new hop fed by an internal repartition topic keyed by its grouping
 * key, so a key's state lives in exactly one task whatever the source partitioning, and any
 * number of workers share each hop's partitions through the hop's consumer group.
 */
export class JobRunner {
  private readonly hops: Hop[] = [];
  private readonly topology: Topology;
  private readonly log: Logger;
  /** One per sink: a pipeline that branches writes several. */
  private readonly serializers: Serializer[];
  private readonly metrics: JobMetrics;
  private failed = false;
  private stopped = false;
  private reportedStart = false;
  private completion: CompletionCheck | undefined;

  private readonly deps: RunnerDeps;
  private readonly job: JobState;
  private readonly pipeline: PipelineDef;
  private readonly plan: ResumePlan;
  private readonly fingerprint: string | null;

  constructor(o: RunnerOptions) {
    this.deps = o;
    ({ job: this.job, pipeline: this.pipeline, plan: this.plan } = o);
    this.fingerprint = o.fingerprint ?? null;
    const { deps, job, pipeline } = this;
    this.log = deps.logger.child({ jobId: job.jobId, run: job.run, worker: deps.worker });
    this.topology = new Topology({ namespace: deps.namespace, jobId: job.jobId, pipeline });
    this.serializers = pipeline.sinks.map(
      (sink) => new Serializer({ sink, registry: deps.registry }),
    );
    this.metrics = (deps.metrics ?? NO_METRICS).job(job.jobId, job.pipeline);
  }

  async start(): Promise<void> {
    const sourceEnds = await withAdmin(this.deps.kafka, (admin) =>
      prepareRun(admin, {
        kafka: this.deps.kafka,
        namespace: this.deps.namespace,
        log: this.deps.log,
        job: this.job,
        pipeline: this.pipeline,
        topology: this.topology,
        plan: this.plan,
        replication: this.deps.replication,
        logger: this.log,
      }),
    );
    if (sourceEnds) {
      this.completion = new CompletionCheck({
        kafka: this.deps.kafka,
        log: this.log,
        clock: this.deps.clock,
        sourceEnds,
        hops: this.topology.hops,
        groupOf: (i) => this.topology.groupOf(i),
        inputOf: (i) => this.inputOf(i),
        failed: () => this.failed,
        complete: async () => {
          if (this.deps.log.state(this.job.jobId)?.status !== 'COMPLETED')
            await this.report('ReportCompleted', { worker: this.deps.worker });
        },
      });
    }
    for (const s of this.serializers) await s.ready();
    const specs = this.topology.specs({
      json: new Deserializer({ format: 'json', registry: this.deps.registry }),
      source: new Deserializer({
        format: this.pipeline.source.format,
        registry: this.deps.registry,
      }),
      sinks: this.serializers,
      retry: this.deps.retry,
      reader: (format) => new Deserializer({ format, registry: this.deps.registry }),
    });
    // One per job on this worker, shared by its hops: the error budget counts the job's records.
    const policy = new RecordPolicy(
      this.job.config.errorPolicy,
      allStages(this.pipeline.stages),
      () => this.deps.clock.now(),
      (stage) => this.metrics.errorHandled(stage, 'retried'),
    );
    specs.forEach((spec, i) => {
      this.hops.push(
        new Hop({
          kafka: this.deps.kafka,
          spec,
          guarantee: this.job.config.processingGuarantee,
          plan: this.plan,
          jobId: this.job.jobId,
          jobName: this.job.name,
          events: this.hopEvents(i),
          logger: this.log,
          clock: this.deps.clock,
          // A later run may follow a broker crash mid-commit, whose transaction the coordinator
          // has been seen to forget and a later commit to complete (see sweep in open.ts).
          sweepOnFirstOpen: this.job.run > 1,
          metrics: this.metrics.hop(i, {
            source: i === 0,
            sink: !spec.outputs.some((o) => o.internal),
          }),
          policy: policy.active ? policy : undefined,
        }),
      );
    });
    for (const hop of this.hops) await hop.start();
    this.completion?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.completion?.stop();
    // Every hop at once: stopping them one by one would let later hops go on writing outputs
    // while the first leaves its group.
    for (const hop of this.hops) hop.freeze();
    for (const hop of this.hops) await hop.stop();
    this.hops.length = 0;
  }

  /** Deletes what only this job used: changelogs, repartition topics, consumer groups. */
  async cleanup(): Promise<void> {
    await withAdmin(this.deps.kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const { changelogs, repartitions, groups } = this.topology;
      const topics = [...changelogs.map((c) => c.topic), ...repartitions].filter((t) =>
        existing.has(t),
      );
      if (topics.length > 0) await admin.deleteTopics(topics);
      await admin.deleteGroups(groups).catch(() => undefined);
    });
  }

  /** What hop `i` tells the runner: that it started, and each failure, with its report. */
  private hopEvents(i: number): HopEvents {
    const w = this.deps.worker;
    return {
      started: () => i === 0 && this.reportStarted(),
      failed: (err, topic, partition, message, beat) =>
        this.fail(
          i,
          err,
          () => failureReport(err, w, topic, partition, message, this.fingerprint),
          beat,
        ),
      cannotOpen: (err, attempts, ms, beat) =>
        this.fail(i, err, () => openFailureReport(err, w, attempts, ms), beat),
      // No heartbeat to keep: the consumer is the part that failed.
      cannotRead: (err, attempts, ms) =>
        this.fail(
          i,
          err,
          () => readFailureReport(err, w, attempts, ms),
          () => Promise.resolve(),
        ),
    };
  }

  private reportStarted(): void {
    if (this.reportedStart) return;
    this.reportedStart = true;
    void this.report('ReportStarted', { worker: this.deps.worker }).catch((err: unknown) =>
      this.log.warn({ err }, 'could not report the start'),
    );
  }

  /** The run this runner was started for: its reports carry it, whatever the log says later. */
  get run(): number {
    return this.job.run;
  }

  private report<K extends ReportType>(
    type: K,
    payload: Omit<CommandPayloads[K], 'run'>,
  ): Promise<void> {
    const { reports, retry, clock } = this.deps;
    const to = { jobId: this.job.jobId, run: this.job.run };
    // A failure report is retried until it arrives or this run is stopped: the hops are
    // frozen, and without it the job would show RUNNING for ever (see sendReport).
    const keepTrying = type === 'ReportFailure' ? () => !this.stopped : undefined;
    return sendReport(reports, to, type, payload, retry, this.log, clock, keepTrying);
  }

  /**
   * Freezes the failing hop and those before it at once; lets each later hop finish what was
   * already handed to it (so the failure snapshot holds every output of the records before the
   * failing one), then freezes it too, and reports the failing record.
   */
  private async fail(
    index: number,
    err: unknown,
    report: () => FailureReport,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    this.metrics.error();
    if (this.failed) return;
    this.failed = true;
    this.hops.slice(0, index + 1).forEach((h) => h.freeze());
    failpoint('worker.during-drain', index + 1 < this.hops.length);
    const hops = this.hops.map((hop, j) => ({ index: j, hop, input: this.inputOf(j) }));
    const later = hops.slice(index + 1);
    await drainThenFreeze(this.deps.kafka, later, {
      clock: this.deps.clock,
      heartbeat,
      log: this.log,
    });
    const failure = report();
    this.log.error(
      { err, stage: failure.stage, record: failure.record },
      failure.record ? 'record failed; job frozen' : 'job frozen: ' + failure.description,
    );
    if (this.stopped) {
      // Stopped while later hops drained (up to DRAIN_TIMEOUT_MS, see drainThenFreeze): the job was suspended,
      // restarted or stopped meanwhile, maybe by another worker's report of this record. The
      // coordinator would refuse a report of a replaced run (STALE_REPORT); one of a run
      // suspended meanwhile would only be refused as ILLEGAL_TRANSITION. Neither is sent.
      this.log.warn('the run was stopped meanwhile; failure not reported');
      return;
    }
    await this.report('ReportFailure', { failure }).catch((e: unknown) =>
      this.log.error({ err: e, failure: errorInfo(err) }, 'could not report the failure'),
    );
  }

  /** Hop i's repartition input, for the progress measures; undefined for the first hop. */
  private inputOf(i: number): HopInput | undefined {
    const hop = this.hops[i];
    const topic = this.topology.inputTopic(i);
    if (!hop || topic === undefined) return undefined;
    return {
      topic,
      groupId: this.topology.groupOf(i),
      tasks: hop.tasks,
      written: this.hops[i - 1]?.written ?? new Map<string, bigint>(),
      transactional: this.job.config.processingGuarantee === 'EXACTLY_ONCE',
    };
  }
}
