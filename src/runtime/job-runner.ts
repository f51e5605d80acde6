import type { Consumer, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { SluiceClient } from '../client/client.js';
import type { RegistryClient } from '../codec/registry.js';
import type { JobState } from '../domain/state.js';
import { producerConfig } from '../kafka/connect.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Logger } from '../observability/logger.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { isStateful } from '../pipeline/stages.js';
import { execute, type Output } from './execute.js';
import { errorInfo, failureReport } from './failure.js';
import { restoreState } from './restore.js';
import { Deserializer, Serializer } from './serde.js';
import { deadLetterMessage, plannedAction, type ResumePlan } from './resume-plan.js';
import { StateStore } from './state-store.js';
import { commitTask, type Task } from './task.js';
import { changelogTopic, ensureChangelogs, jobGroup } from './topics.js';

/** What a runner needs from its worker. */
export interface RunnerDeps {
  kafka: Kafka;
  registry: RegistryClient;
  client: SluiceClient;
  namespace: string;
  worker: string;
  logger: Logger;
}

/**
 * Runs one job's pipeline on this worker: the job's source partitions this worker owns in the
 * job's consumer group, with state restored from the changelogs, outputs and offsets committed
 * under the job's processing guarantee, and the first failing record reported, not skipped.
 */
export class JobRunner {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private readonly tasks = new Map<string, Task>();
  private readonly changelogs: { topic: string; stage: string }[];
  private readonly deserializer: Deserializer;
  private readonly serializer: Serializer;
  private readonly log: Logger;
  private ready: Promise<void> = Promise.resolve();
  private frozen = false;
  private started = false;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshots = 0;
  private dirty = false;
  private endOffsets: Map<string, bigint> | undefined;
  private completionReported = false;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly job: JobState,
    private readonly pipeline: PipelineDef,
    private readonly resume: ResumePlan,
  ) {
    this.log = deps.logger.child({ jobId: job.jobId, worker: deps.worker });
    this.changelogs = pipeline.stages
      .filter(isStateful)
      .map((s) => ({ stage: s.name, topic: changelogTopic(deps.namespace, job.jobId, s.name) }));
    this.deserializer = new Deserializer(pipeline.source.format, deps.registry);
    this.serializer = new Serializer(pipeline.sink, deps.registry);
  }

  private get guarantee(): JobState['config']['processingGuarantee'] {
    return this.job.config.processingGuarantee;
  }

  private get groupId(): string {
    return jobGroup(this.deps.namespace, this.job.jobId);
  }

  /** Joins the job's consumer group and starts processing. */
  async start(): Promise<void> {
    const { kafka } = this.deps;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: this.pipeline.source.topics });
      const widest = Math.max(...meta.topics.map((t) => t.partitions.length));
      await ensureChangelogs(
        admin,
        this.changelogs.map((c) => c.topic),
        widest,
      );
      if (this.pipeline.source.bounded) {
        this.endOffsets = new Map();
        for (const topic of this.pipeline.source.topics) {
          for (const o of await topicOffsets(admin, topic)) {
            if (o.high > o.low) this.endOffsets.set(`${topic}:${o.partition}`, o.high);
          }
        }
      }
    } finally {
      await admin.disconnect();
    }
    await this.serializer.ready();
    if (this.guarantee !== 'EXACTLY_ONCE') {
      this.producer = kafka.producer(producerConfig());
      await this.producer.connect();
    }
    const consumer = kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const owned = new Set<string>();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment))
        for (const p of partitions) owned.add(`${topic}:${p}`);
      this.ready = this.onAssignment(owned);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.pipeline.source.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: this.guarantee === 'NONE',
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        await this.ready;
        if (this.frozen) return;
        await this.process(batch.topic, batch.partition, batch.messages, {
          resolveOffset,
          heartbeat,
          isRunning,
          isStale,
        });
      },
    });
    if (this.pipeline.source.bounded) this.checkCompletion();
    this.snapshotTimer = setInterval(
      () => void this.reportSnapshot(),
      this.job.config.snapshotIntervalMs,
    );
  }

  /** Stops processing; open transactions are aborted by disconnecting their producers. */
  async stop(): Promise<void> {
    this.frozen = true;
    clearInterval(this.snapshotTimer);
    await this.consumer?.disconnect().catch(() => undefined);
    await Promise.all(
      [...this.tasks.values()].map(async (t) => {
        await t.producer?.disconnect().catch(() => undefined);
      }),
    );
    await this.producer?.disconnect().catch(() => undefined);
    this.tasks.clear();
  }

  /** Deletes what only this job used: its changelog topics and consumer group. */
  async cleanup(): Promise<void> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = this.changelogs.map((c) => c.topic).filter((t) => existing.has(t));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.deleteGroups([this.groupId]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }

  private async onAssignment(owned: Set<string>): Promise<void> {
    for (const [id, task] of this.tasks) {
      if (!owned.has(id)) {
        await task.producer?.disconnect().catch(() => undefined);
        this.tasks.delete(id);
      }
    }
    const fresh = [...owned].filter((id) => !this.tasks.has(id));
    const tasks: Task[] = [];
    for (const id of fresh) {
      const [topic, partition] = splitTask(id);
      const task: Task = { topic, partition, state: new StateStore(), committed: undefined };
      if (this.guarantee === 'EXACTLY_ONCE') {
        // One transactional id per source partition. Connecting first matters: it fences the
        // previous owner and aborts its open transaction, whose changelog writes would
        // otherwise hold back the read_committed restore below until the transaction times out.
        task.producer = this.deps.kafka.producer(
          producerConfig({
            transactionalId: `${this.groupId}.${topic}.${partition}`,
            transactionTimeout: 60_000,
          }),
        );
        await task.producer.connect();
      }
      tasks.push(task);
    }
    const byId = new Map(tasks.map((t) => [`${t.topic}:${t.partition}`, t]));
    await restoreState(
      this.deps.kafka,
      this.changelogs,
      new Set(byId.keys()),
      (id, stage, key, value) => byId.get(id)?.state.restore(stage, key, value),
      this.log,
    );
    for (const [id, task] of byId) this.tasks.set(id, task);
    if (!this.started) {
      this.started = true;
      await this.deps.client
        .send(this.job.jobId, 'ReportStarted', { worker: this.deps.worker })
        .catch((err: unknown) => this.log.warn({ err }, 'could not report the start'));
    }
  }

  private async process(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    ctl: {
      resolveOffset: (o: string) => void;
      heartbeat: () => Promise<void>;
      isRunning: () => boolean;
      isStale: () => boolean;
    },
  ): Promise<void> {
    const task = this.tasks.get(`${topic}:${partition}`);
    if (!task) return;
    const outputs: Message[] = [];
    const deadLetters: Message[] = [];
    let last: string | undefined;
    let failed: { err: unknown; message: KafkaMessage } | undefined;
    for (const message of messages) {
      if (!ctl.isRunning() || ctl.isStale()) break;
      const planned = plannedAction(this.resume, topic, partition, message.offset);
      if (planned !== undefined) {
        if (planned === 'DEAD_LETTER' && this.resume.record) {
          deadLetters.push(
            deadLetterMessage(this.job.jobId, message, this.resume.record, this.resume.cause),
          );
        }
        last = message.offset;
        continue;
      }
      const mark = task.state.mark();
      try {
        const value = await this.deserializer.read(message.value);
        for (const out of await execute(this.pipeline.stages, value, task.state))
          outputs.push(this.toRecord(out));
        last = message.offset;
      } catch (err) {
        task.state.revertTo(mark); // the failing record's partial state writes go too
        failed = { err, message };
        break;
      }
    }
    if (last !== undefined) {
      // Everything before the failing record is committed: a resume starts exactly at it.
      const topics = [{ topic: this.pipeline.sink.topic, messages: outputs }];
      if (this.resume.deadLetterTopic)
        topics.push({ topic: this.resume.deadLetterTopic, messages: deadLetters });
      await commitTask(task, topics, last, {
        guarantee: this.guarantee,
        groupId: this.groupId,
        changelogs: this.changelogs,
        producer: this.producer,
        consumer: this.consumer,
      });
      this.dirty = true;
      ctl.resolveOffset(last);
    }
    await ctl.heartbeat();
    if (failed) await this.fail(task, failed.err, failed.message);
    else if (this.endOffsets) this.checkCompletion();
  }

  private toRecord(out: Output): Message {
    const key = this.pipeline.sink.key ? this.pipeline.sink.key(out.value) : out.key;
    return { key, value: this.serializer.write(out.value) };
  }

  /** Freezes the whole job on this worker at once and reports the failing record. */
  private async fail(task: Task, err: unknown, message: KafkaMessage): Promise<void> {
    this.frozen = true;
    this.consumer?.pause(this.pipeline.source.topics.map((topic) => ({ topic })));
    const failure = failureReport(err, this.deps.worker, task.topic, task.partition, message);
    this.log.error(
      { err, stage: failure.stage, record: failure.record },
      'record failed; job frozen',
    );
    await this.deps.client
      .send(this.job.jobId, 'ReportFailure', { failure })
      .catch((e: unknown) =>
        this.log.error({ err: e, failure: errorInfo(err) }, 'could not report the failure'),
      );
  }

  private async reportSnapshot(): Promise<void> {
    if (!this.dirty || this.frozen || this.guarantee === 'NONE') return;
    this.dirty = false;
    const sourceOffsets = [...this.tasks.values()]
      .filter((t) => t.committed !== undefined)
      .map((t) => ({ topic: t.topic, partition: t.partition, offset: t.committed ?? '0' }));
    await this.deps.client
      .send(this.job.jobId, 'ReportSnapshot', {
        worker: this.deps.worker,
        snapshotId: `${this.deps.worker}-${++this.snapshots}`,
        sourceOffsets,
        stateOffsets: [],
      })
      .catch((err: unknown) => this.log.warn({ err }, 'could not report a snapshot'));
  }

  /** A bounded job is done when every source partition is committed up to its end offset. */
  private checkCompletion(): void {
    if (!this.endOffsets || this.completionReported) return;
    for (const [id, end] of this.endOffsets) {
      const committed = this.tasks.get(id)?.committed;
      if (committed === undefined || BigInt(committed) < end) return;
    }
    this.completionReported = true;
    void this.deps.client
      .send(this.job.jobId, 'ReportCompleted', { worker: this.deps.worker })
      .catch((err: unknown) => this.log.warn({ err }, 'could not report completion'));
  }
}

function splitTask(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}
