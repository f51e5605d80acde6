import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SluiceClient } from '../client/client.js';
import type { RegistryClient } from '../codec/registry.js';
import type { CommandPayloads, CommandType } from '../domain/commands.js';
import { SluiceError } from '../domain/errors.js';
import type { JobState } from '../domain/state.js';
import { changelogTopic, jobGroup, repartitionTopic, stageGroup } from '../domain/resources.js';
import { topicOffsets } from '../kafka/offsets.js';
import { committedOffsets } from '../kafka/positions.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, type JobMetrics, type MetricsSink } from '../observability/metrics.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { isStateful, type StageDef, type StatefulStage } from '../pipeline/stages.js';
import { errorInfo, failureReport } from './failure.js';
import { Hop, type HopSpec } from './hop.js';
import { splitTask } from './task.js';
import { checkStagesMatch, savedStages, seedFromSnapshot } from './snapshot-state.js';
import { sendReport } from './report.js';
import type { ResumePlan } from './resume-plan.js';
import { Deserializer, Serializer } from './serde.js';
import { ensureChangelogs, ensureRepartitions } from './topics.js';

/** What a runner needs from its worker. */
export interface RunnerDeps {
  kafka: Kafka;
  registry: RegistryClient;
  client: SluiceClient;
  namespace: string;
  worker: string;
  logger: Logger;
  retry: RetryPolicy;
  /** Where the job's counters go; default nowhere. */
  metrics?: MetricsSink;
}

/** How often a bounded job checks whether every partition reached its end offset. */
const COMPLETION_CHECK_MS = 500;

/** How long a failure waits for later hops to finish their input before freezing them anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

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
  private reportedStart = false;
  private ends: Map<string, bigint>[] | undefined;
  private completion: 'running' | 'checking' | 'reported' = 'running';
  private completionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly job: JobState,
    private readonly pipeline: PipelineDef,
    private readonly plan: ResumePlan,
  ) {
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
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: this.pipeline.source.topics });
      const widest = Math.max(...meta.topics.map((t) => t.partitions.length));
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
    } finally {
      await admin.disconnect();
    }
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
        new Hop(
          this.deps.kafka,
          spec,
          this.job.config.processingGuarantee,
          this.plan,
          this.job.jobId,
          {
            started: () => i === 0 && this.reportStarted(),
            failed: (err, topic, partition, message) =>
              this.fail(i, err, topic, partition, message),
          },
          this.log,
          this.metrics.hop(i, { source: i === 0, sink: !spec.output.internal }),
        ),
      );
    });
    for (const hop of this.hops) await hop.start();
    // A bounded job is checked on a timer, not on commits: the last commit may be another
    // worker's, or land while a check is running.
    if (this.ends)
      this.completionTimer = setInterval(() => void this.checkCompletion(), COMPLETION_CHECK_MS);
  }

  /** A new job started from an exported snapshot takes its state and positions first. */
  private async seed(snapshotName: string, stages: string[], partitions: number): Promise<void> {
    const from = this.deps.client
      .listJobs()
      .map((j) => j.snapshot())
      .find((s) => s.exportedSnapshots[snapshotName] !== undefined);
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
    clearInterval(this.completionTimer);
    // Every hop at once: stopping them one by one would let later hops go on writing outputs
    // while the first leaves its group.
    for (const hop of this.hops) hop.freeze();
    for (const hop of this.hops) await hop.stop();
    this.hops.length = 0;
  }

  /** Deletes what only this job used: changelogs, repartition topics, consumer groups. */
  async cleanup(): Promise<void> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = [...this.changelogs.map((c) => c.topic), ...this.repartitions].filter((t) =>
        existing.has(t),
      );
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.deleteGroups(this.segments.map((s) => this.groupOf(s))).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }

  private reportStarted(): void {
    if (this.reportedStart) return;
    this.reportedStart = true;
    void this.report('ReportStarted', { worker: this.deps.worker }).catch((err: unknown) =>
      this.log.warn({ err }, 'could not report the start'),
    );
  }

  private report<K extends CommandType>(type: K, payload: CommandPayloads[K]): Promise<void> {
    return sendReport(this.deps.client, this.job.jobId, type, payload, this.deps.retry, this.log);
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
    message: KafkaMessage,
  ): Promise<void> {
    this.metrics.error();
    if (this.failed) return;
    this.failed = true;
    this.hops.slice(0, index + 1).forEach((h) => h.freeze());
    for (let j = index + 1; j < this.hops.length; j++) {
      const drained = await this.drain(j, DRAIN_TIMEOUT_MS).catch(() => false);
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
    await this.report('ReportFailure', { failure }).catch((e: unknown) =>
      this.log.error({ err: e, failure: errorInfo(err) }, 'could not report the failure'),
    );
  }

  /**
   * Waits until hop j's consumer group has committed its input up to the input's current end,
   * every partition of it. Not only this worker's tasks: a partition not assigned here yet (the
   * hop still joining, as it may be when the failure comes seconds after the start) or owned by
   * another worker, which goes on until it reads the event, counts too; treating those as done
   * let the job be suspended with the later hop's outputs of the earlier records missing.
   *
   * The end is read_committed, and a transaction whose commit has returned may still lack its
   * markers for a moment: right after commit() the end left the transaction out in 16 of 200
   * reads on an idle broker. An end taken then left out the failing hop's last commit, and under
   * CI load the suspended job's sink lacked every output before the failing record. So the end
   * is taken once it includes every batch this worker's hop before committed.
   */
  private async drain(j: number, timeoutMs: number): Promise<boolean> {
    const hop = this.hops[j];
    const segment = this.segments[j];
    if (!hop || !segment) return true;
    const deadline = Date.now() + timeoutMs;
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      let ends = await this.repartitionEnds(admin, j);
      while (!this.includesWritten(j, ends)) {
        if (Date.now() > deadline) return false;
        await sleep(50);
        ends = await this.repartitionEnds(admin, j);
      }
      const topics = topicsOf(ends);
      for (;;) {
        const stored = await committedOffsets(admin, this.groupOf(segment), topics);
        const done = [...ends].every(([id, end]) => {
          const committed = hop.tasks.get(id)?.committed;
          const mine = committed === undefined ? -1n : BigInt(committed);
          const group = BigInt(stored.get(id) ?? -1n);
          return (mine > group ? mine : group) >= end;
        });
        if (done) return true;
        if (Date.now() > deadline) return false;
        await sleep(100);
      }
    } finally {
      await admin.disconnect();
    }
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
        const target = ends[i] ?? (await this.repartitionEnds(admin, i));
        // Not yet holding every batch this worker's hop before committed (markers pending, see
        // drain): measured again at the next check.
        if (!this.includesWritten(i, target)) return;
        ends[i] = target;
        // The group's offsets, not this worker's tasks: other workers may own partitions.
        const segment = this.segments[i];
        const at = segment
          ? await committedOffsets(admin, this.groupOf(segment), topicsOf(target))
          : new Map<string, string>();
        for (const [id, end] of target) {
          const committed = at.get(id);
          if (committed === undefined || BigInt(committed) < end) {
            this.log.debug({ hop: i, partition: id, committed, end: String(end) }, 'not done yet');
            if (i > 0 && ends.length > i) ends.length = i; // re-measure later hops next time
            return;
          }
        }
      }
      // Done either way: another worker may have reported it already.
      this.completion = 'reported';
      clearInterval(this.completionTimer);
      if (this.deps.client.state(this.job.jobId).status !== 'COMPLETED')
        await this.report('ReportCompleted', { worker: this.deps.worker });
    } catch (err) {
      this.log.warn({ err }, 'could not check or report completion');
    } finally {
      await admin.disconnect().catch(() => undefined);
      if (this.completion === 'checking') this.completion = 'running';
    }
  }

  /** True when `ends` of hop i's input pass the first offset of every batch this worker's hop i-1 committed there. */
  private includesWritten(i: number, ends: Map<string, bigint>): boolean {
    const written = i > 0 ? this.hops[i - 1]?.written : undefined;
    return [...(written ?? [])].every(([id, first]) => (ends.get(id) ?? -1n) >= first);
  }

  /** The end of hop i's repartition topic; under EXACTLY_ONCE the last offset is a commit marker no reader sees. */
  private async repartitionEnds(admin: Admin, i: number): Promise<Map<string, bigint>> {
    const topic = repartitionTopic(
      this.deps.namespace,
      this.job.jobId,
      this.segments[i]?.head?.name ?? '',
    );
    const marker = this.job.config.processingGuarantee === 'EXACTLY_ONCE' ? 1n : 0n;
    return new Map(
      (await topicOffsets(admin, topic))
        .filter((o) => o.high > o.low)
        .map((o) => [`${topic}:${o.partition}`, o.high - marker]),
    );
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

/** The topics of `topic:partition` keys. */
function topicsOf(ids: Map<string, unknown>): string[] {
  return [...new Set([...ids.keys()].map((id) => splitTask(id)[0]))];
}
