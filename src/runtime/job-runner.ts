import { COMPLETION_CHECK_MS, DRAIN_TIMEOUT_MS } from '../domain/settings.js';
import type { SchemaRegistry } from '../codec/registry.js';
import type { CommandPayloads, CommandType } from '../domain/commands.js';
import { SluiceError } from '../domain/errors.js';
import type { JobState } from '../domain/state.js';
import { changelogTopic, jobGroup, repartitionTopic, stageGroup } from '../domain/resources.js';
import { topicOffsets, withAdmin } from '../kafka/offsets.js';
import type { ConsumedRecord, Kafka } from '../kafka/port.js';
import { committedOffsets } from '../kafka/positions.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { CommandSender } from '../log/commands.js';
import type { JobLog } from '../log/job-log.js';
import { sendReport } from '../log/report.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, type JobMetrics, type MetricsSink } from '../observability/metrics.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { isStateful, type StageDef, type StatefulStage } from '../pipeline/stages.js';
import { errorInfo, failureReport } from './failure.js';
import { Hop, type HopSpec } from './hop.js';
import { drain, includesWritten, inputEnds, shortOf, topicsOf, type HopInput } from './progress.js';
import { checkStagesMatch, savedStages, seedFromSnapshot } from './snapshot-state.js';
import type { ResumePlan } from '../domain/resume-plan.js';
import { Deserializer, Serializer } from './serde.js';
import { ensureChangelogs, ensureRepartitions } from './topics.js';

/** What a runner needs from its worker. */
export interface RunnerDeps {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** The namespace's job log, followed: jobs' states and histories. */
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
}

/** A runner: its worker's dependencies, the job, its pipeline, and what this run does about an earlier failure. */
export interface RunnerOptions extends RunnerDeps {
  job: JobState;
  pipeline: PipelineDef;
  plan: ResumePlan;
}

/** Stages up to the next stateful one; every stateful stage starts a segment of its own. */
interface Segment {
  head: StatefulStage | undefined;
  stages: StageDef[];
}

/**
 * Runs one job on this worker as a chain of hops. The first hop reads the sources; each
 * stateful stage starts a new hop fed by an internal repartition topic keyed by its grouping
 * key, so a key's state lives in exactly one task whatever the source partitioning, and any
 * number of workers share each hop's partitions through the hop's consumer group.
 */
export class JobRunner {
  private readonly hops: Hop[] = [];
  private readonly segments: Segment[];
  private readonly log: Logger;
  private readonly serializer: Serializer;
  private readonly metrics: JobMetrics;
  private failed = false;
  private stopped = false;
  private reportedStart = false;
  private ends: Map<string, bigint>[] | undefined;
  private completion: 'running' | 'checking' | 'reported' = 'running';
  private stopCompletionChecks: () => void = () => undefined;

  private readonly deps: RunnerDeps;
  private readonly job: JobState;
  private readonly pipeline: PipelineDef;
  private readonly plan: ResumePlan;

  constructor(o: RunnerOptions) {
    this.deps = o;
    ({ job: this.job, pipeline: this.pipeline, plan: this.plan } = o);
    const { deps, job, pipeline } = this;
    this.log = deps.logger.child({ jobId: job.jobId, worker: deps.worker });
    this.segments = split(pipeline.stages);
    this.serializer = new Serializer(pipeline.sink, deps.registry);
    this.metrics = (deps.metrics ?? NO_METRICS).job(job.jobId, job.pipeline);
  }

  private get changelogs(): { topic: string; stage: string }[] {
    return this.segments.flatMap((s) =>
      s.head
        ? [
            {
              stage: s.head.name,
              topic: changelogTopic(this.deps.namespace, this.job.jobId, s.head.name),
            },
          ]
        : [],
    );
  }

  private get repartitions(): string[] {
    return this.segments.flatMap((s) =>
      s.head ? [repartitionTopic(this.deps.namespace, this.job.jobId, s.head.name)] : [],
    );
  }

  private groupOf(segment: Segment): string {
    const { namespace } = this.deps;
    return segment.head
      ? stageGroup(namespace, this.job.jobId, segment.head.name)
      : jobGroup(namespace, this.job.jobId);
  }

  async start(): Promise<void> {
    await withAdmin(this.deps.kafka, async (admin) => {
      const meta = await admin.partitions(this.pipeline.source.topics);
      const widest = Math.max(...meta.map((t) => t.partitions.length));
      await ensureChangelogs(
        admin,
        this.changelogs.map((c) => c.topic),
        widest,
      );
      await ensureRepartitions(admin, this.repartitions, widest);
      const stages = this.changelogs.map((c) => c.stage);
      const snapshotName = this.job.config.initialSnapshotName;
      if (snapshotName !== null) await this.seed(snapshotName, stages, widest);
      // Before anything runs: fixed code must not silently drop the state it resumes from.
      checkStagesMatch(
        await savedStages(admin, this.deps.namespace, this.job.jobId),
        stages,
        widest,
        `Job "${this.job.name}"`,
      );
      if (this.pipeline.source.bounded) {
        const sourceEnds = new Map<string, bigint>();
        for (const topic of this.pipeline.source.topics) {
          for (const o of await topicOffsets(admin, topic))
            if (o.high > o.low) sourceEnds.set(`${topic}:${o.partition}`, o.high);
        }
        this.ends = [sourceEnds];
      }
    });
    await this.serializer.ready();
    const json = new Deserializer('json', this.deps.registry);
    const source = new Deserializer(this.pipeline.source.format, this.deps.registry);
    this.segments.forEach((segment, i) => {
      const next = this.segments[i + 1];
      const spec: HopSpec = {
        index: i,
        inputs: segment.head
          ? [repartitionTopic(this.deps.namespace, this.job.jobId, segment.head.name)]
          : this.pipeline.source.topics,
        deserializer: segment.head ? json : source,
        stages: segment.stages,
        output: next?.head
          ? {
              topic: repartitionTopic(this.deps.namespace, this.job.jobId, next.head.name),
              key: (
                (head: StatefulStage) => (out) =>
                  head.key(out.value)
              )(next.head),
              write: (v) => Buffer.from(JSON.stringify(v) ?? 'null'),
              internal: true,
            }
          : {
              topic: this.pipeline.sink.topic,
              key: (out) => (this.pipeline.sink.key ? this.pipeline.sink.key(out.value) : out.key),
              write: (v) => this.serializer.write(v),
              internal: false,
            },
        changelogs: segment.head
          ? this.changelogs.filter((c) => c.stage === segment.head?.name)
          : [],
        groupId: this.groupOf(segment),
        retry: this.deps.retry,
      };
      this.hops.push(
        new Hop({
          kafka: this.deps.kafka,
          spec,
          guarantee: this.job.config.processingGuarantee,
          plan: this.plan,
          jobId: this.job.jobId,
          events: {
            started: () => i === 0 && this.reportStarted(),
            failed: (err, topic, partition, message) =>
              this.fail(i, err, topic, partition, message),
          },
          logger: this.log,
          clock: this.deps.clock,
          metrics: this.metrics.hop(i, { source: i === 0, sink: !spec.output.internal }),
        }),
      );
    });
    for (const hop of this.hops) await hop.start();
    // A bounded job is checked on a timer, not on commits: the last commit may be another
    // worker's, or land while a check is running.
    if (this.ends)
      this.stopCompletionChecks = this.deps.clock.every(
        COMPLETION_CHECK_MS,
        () => void this.checkCompletion(),
      );
  }

  /** A new job started from an exported snapshot takes its state and positions first. */
  private async seed(snapshotName: string, stages: string[], partitions: number): Promise<void> {
    const from = this.deps.log.jobs().find((s) => s.exportedSnapshots[snapshotName] !== undefined);
    if (!from) {
      throw new SluiceError(
        'SLUICE_STATE_INCOMPATIBLE',
        `No exported snapshot is named "${snapshotName}" any more; cancel this job and submit it again without initialSnapshotName, or with another snapshot.`,
      );
    }
    await seedFromSnapshot(
      this.deps.kafka,
      {
        namespace: this.deps.namespace,
        jobId: this.job.jobId,
        from,
        snapshotName,
        sourceTopics: this.pipeline.source.topics,
        stages,
        partitions,
      },
      this.log,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopCompletionChecks();
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
      const topics = [...this.changelogs.map((c) => c.topic), ...this.repartitions].filter((t) =>
        existing.has(t),
      );
      if (topics.length > 0) await admin.deleteTopics(topics);
      await admin.deleteGroups(this.segments.map((s) => this.groupOf(s))).catch(() => undefined);
    });
  }

  private reportStarted(): void {
    if (this.reportedStart) return;
    this.reportedStart = true;
    void this.report('ReportStarted', { worker: this.deps.worker }).catch((err: unknown) =>
      this.log.warn({ err }, 'could not report the start'),
    );
  }

  private report<K extends CommandType>(type: K, payload: CommandPayloads[K]): Promise<void> {
    const { reports, retry, clock } = this.deps;
    return sendReport(reports, this.job.jobId, type, payload, retry, this.log, clock);
  }

  /**
   * Freezes the failing hop and those before it at once; lets each later hop finish what was
   * already handed to it (so the failure snapshot holds every output of the records before the
   * failing one), then freezes it too, and reports the failing record.
   */
  private async fail(
    index: number,
    err: unknown,
    topic: string,
    partition: number,
    message: ConsumedRecord,
  ): Promise<void> {
    this.metrics.error();
    if (this.failed) return;
    this.failed = true;
    this.hops.slice(0, index + 1).forEach((h) => h.freeze());
    for (let j = index + 1; j < this.hops.length; j++) {
      const input = this.inputOf(j);
      const drained = input
        ? await drain(this.deps.kafka, input, DRAIN_TIMEOUT_MS, this.deps.clock).catch(() => false)
        : true;
      if (!drained)
        this.log.warn(
          { hop: j },
          'a later hop did not finish its input in time; a resume reprocesses the rest',
        );
      this.hops[j]?.freeze();
    }
    const failure = failureReport(err, this.deps.worker, topic, partition, message);
    this.log.error(
      { err, stage: failure.stage, record: failure.record },
      'record failed; job frozen',
    );
    if (this.stopped) {
      // Stopped while later hops drained (up to DRAIN_TIMEOUT_MS): the job was suspended,
      // restarted or stopped meanwhile, maybe by another worker's report of this record. A
      // report now would land on whatever run comes next, a resumed one, and suspend it.
      this.log.warn('the run was stopped meanwhile; failure not reported');
      return;
    }
    await this.report('ReportFailure', { failure }).catch((e: unknown) =>
      this.log.error({ err: e, failure: errorInfo(err) }, 'could not report the failure'),
    );
  }

  /**
   * A bounded job is done when the first hop has read every source partition to the end offset
   * taken at start, and each later hop has read its repartition topic to the end that topic had
   * once the hop before it was done.
   */
  private async checkCompletion(): Promise<void> {
    const ends = this.ends;
    if (!ends || this.completion !== 'running' || this.failed) return;
    this.completion = 'checking';
    const admin = this.deps.kafka.admin();
    try {
      await admin.connect();
      for (let i = 0; i < this.hops.length; i++) {
        const input = this.inputOf(i);
        const target =
          ends[i] ?? (input ? await inputEnds(admin, input) : new Map<string, bigint>());
        // Not yet holding every batch this worker's hop before committed: measured again at
        // the next check.
        if (input && !includesWritten(input, target)) return;
        ends[i] = target;
        // The group's offsets, not this worker's tasks: other workers may own partitions.
        const segment = this.segments[i];
        const at = segment
          ? await committedOffsets(admin, this.groupOf(segment), topicsOf(target))
          : new Map<string, string>();
        const short = shortOf(target, at);
        if (short) {
          const { id, committed, end } = short;
          this.log.debug(
            { hop: i, partition: id, committed: committed?.toString(), end: String(end) },
            'not done yet',
          );
          if (i > 0 && ends.length > i) ends.length = i; // re-measure later hops next time
          return;
        }
      }
      // Done either way: another worker may have reported it already.
      this.completion = 'reported';
      this.stopCompletionChecks();
      if (this.deps.log.state(this.job.jobId)?.status !== 'COMPLETED')
        await this.report('ReportCompleted', { worker: this.deps.worker });
    } catch (err) {
      this.log.warn({ err }, 'could not check or report completion');
    } finally {
      await admin.disconnect().catch(() => undefined);
      if (this.completion === 'checking') this.completion = 'running';
    }
  }

  /** Hop i's repartition input, for the progress measures; undefined for the first hop. */
  private inputOf(i: number): HopInput | undefined {
    const hop = this.hops[i];
    const segment = this.segments[i];
    if (i === 0 || !hop || !segment?.head) return undefined;
    return {
      topic: repartitionTopic(this.deps.namespace, this.job.jobId, segment.head.name),
      groupId: this.groupOf(segment),
      tasks: hop.tasks,
      written: this.hops[i - 1]?.written ?? new Map<string, bigint>(),
      transactional: this.job.config.processingGuarantee === 'EXACTLY_ONCE',
    };
  }
}

function split(stages: StageDef[]): Segment[] {
  const segments: Segment[] = [{ head: undefined, stages: [] }];
  for (const stage of stages) {
    if (isStateful(stage)) segments.push({ head: stage, stages: [stage] });
    else segments.at(-1)?.stages.push(stage);
  }
  return segments;
}
