import { systemClock, type Clock } from '../domain/clock.js';
import type { Outcome } from '../domain/cluster.js';
import type { LostRange } from '../domain/data-loss.js';
import type { CommandPayloads, CommandType } from '../domain/commands.js';
import { compileJobConfig, type JobConfigInput } from '../domain/config.js';
import { deadLetterTopics } from '../domain/error-policy.js';
import { DeadLetterTopicMissingError, JobPurgedError } from '../domain/job-errors.js';
import { SluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import { liveWorkers, type WorkerPresence } from '../domain/presence.js';
import { isJobGroup, snapshotInputTopic, snapshotTopic, topicNames } from '../domain/resources.js';
import type { SnapshotCopy } from '../domain/snapshot-copy.js';
import type { PurgedJob } from '../domain/purge.js';
import type { JobState } from '../domain/state.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Kafka } from '../kafka/port.js';
import type { TopicReplication } from '../kafka/topics.js';
import { lostRecords } from '../kafka/positions.js';
import type { CommandSender } from '../log/commands.js';
import type { JobLog } from '../log/job-log.js';
import { readPresence } from '../log/presence.js';
import type { Logger } from '../observability/logger.js';
import { randomBytes } from 'node:crypto';
import { dryRunResume, type DryRunResult } from './dry-run.js';
import { Job } from './job.js';
import { copySnapshot, dropTopics } from './snapshot-copy.js';
import { listSnapshots, type ExportedSnapshotInfo } from './snapshots.js';
import { statusChange, type StatusChange } from './status-events.js';

/**
 * What a client is made of: the namespace's job log, followed, a sender of commands on it, and
 * the Kafka they run on, through which it reads a job's committed offsets before a resume.
 */
export interface ClientParts {
  log: JobLog;
  sender: CommandSender;
  logger: Logger;
  kafka: Kafka;
  /** Whose "now" decides which workers are live; default the wall clock. */
  clock?: Clock | undefined;
  /** How the topics of exported snapshots are replicated; default the broker's. */
  replication?: TopicReplication | undefined;
}

/**
 * The client: submits and controls jobs through the control topic, and knows every job's state
 * by folding the job log, like any other reader of it. Made from options by
 * `SluiceClient.connect` (src/node/client.ts).
 */
export class SluiceClient {
  readonly namespace: string;
  readonly issuedBy: string;
  readonly logger: Logger;
  private readonly log: JobLog;
  private readonly sender: CommandSender;
  private readonly kafka: Kafka;
  private readonly clock: Clock;
  private readonly replication: TopicReplication;
  private readonly listeners = new Map<string, Set<(c: StatusChange) => void>>();

  constructor(parts: ClientParts) {
    this.log = parts.log;
    this.sender = parts.sender;
    this.kafka = parts.kafka;
    this.clock = parts.clock ?? systemClock;
    this.replication = parts.replication ?? {};
    this.logger = parts.logger;
    this.namespace = parts.log.namespace;
    this.issuedBy = parts.sender.issuedBy;
    parts.log.onEvent((event, after, before) => {
      const change = statusChange(before, after, event);
      if (!change) return;
      for (const l of this.listeners.get(event.jobId) ?? []) {
        try {
          l(change);
        } catch (err) {
          this.logger.error({ err, jobId: event.jobId }, 'onStatusChange listener threw');
        }
      }
    });
  }

  /**
   * Submits a job; resolves once the coordinator has accepted it. A dead-letter topic its error
   * policy names must exist: otherwise it rejects at once with DeadLetterTopicMissingError
   * (`SLUICE_DEAD_LETTER_TOPIC_MISSING`), and sends nothing.
   */
  async submit(pipeline: string, config: JobConfigInput): Promise<Job> {
    const jobId = randomBytes(8).toString('hex');
    const compiled = compileJobConfig(config);
    for (const topic of deadLetterTopics(compiled.errorPolicy))
      if (!(await this.topicExists(topic)))
        throw new DeadLetterTopicMissingError(compiled.name, topic, 'policy');
    await this.send(jobId, 'SubmitJob', { pipeline, config: compiled });
    return new Job(this, jobId);
  }

  /** A job by id, or by name (the live job of that name, else the latest ended one). */
  getJob(idOrName: string): Job {
    const byId = this.log.state(idOrName);
    if (byId) return new Job(this, byId.jobId);
    const live = this.log.liveJob(idOrName);
    if (live) return new Job(this, live.jobId);
    const ended = this.log
      .jobs()
      .filter((j) => j.name === idOrName)
      .sort((a, b) => b.submittedAt - a.submittedAt)[0];
    if (ended) return new Job(this, ended.jobId);
    const purged = this.log.purgedJob(idOrName);
    if (purged) throw new JobPurgedError(...purged);
    throw new SluiceError(
      'SLUICE_JOB_NOT_FOUND',
      `No job has the id or name "${idOrName}" in namespace "${this.namespace}". List jobs with \`sluice jobs\`.`,
      {
        details: { job: idOrName, namespace: this.namespace },
      },
    );
  }

  /** Every job, newest first. */
  listJobs(): Job[] {
    return this.log
      .jobs()
      .sort((a, b) => b.submittedAt - a.submittedAt)
      .map((j) => new Job(this, j.jobId));
  }

  /** Stops following the log and disconnects. Pending commands reject. */
  async close(): Promise<void> {
    await this.sender.close();
    await this.log.close();
  }

  /** @internal The current state of a job; JobPurgedError for a purged one. */
  state(jobId: string): JobState {
    const s = this.log.state(jobId);
    if (s) return s;
    const purge = this.log.purged(jobId);
    if (purge) throw new JobPurgedError(jobId, purge);
    throw new SluiceError('SLUICE_JOB_NOT_FOUND', `No job has the id "${jobId}".`, {
      details: { jobId },
    });
  }

  /** Who purged a job and when, if this client's log says it was purged. */
  purgeOf(jobId: string): PurgedJob | undefined {
    return this.log.purged(jobId);
  }

  /** @internal Every event of a job, in order, rejections included; JobPurgedError once purged. */
  history(jobId: string): JobEvent[] {
    const purge = this.log.purged(jobId);
    if (purge) throw new JobPurgedError(jobId, purge);
    return this.log.history(jobId);
  }

  /**
   * @internal The partitions where records past the job's committed offsets were deleted, in
   * every consumer group of the job (its sources' and its stateful stages'): what a resume that
   * does not accept data loss refuses (see {@link Job.resume}).
   */
  async lostRecords(jobId: string): Promise<LostRange[]> {
    const ids = this.log.jobs().map((j) => j.jobId);
    // A group belongs to the job with the longest id it is named after: `<ns>.job.a.b` is job
    // "a.b"'s group if that job exists, not the group of a stage "b" of job "a".
    const owner = (group: string): string | undefined =>
      ids
        .filter((id) => isJobGroup(this.namespace, id, group))
        .sort((a, b) => b.length - a.length)[0];
    return withAdmin(this.kafka, async (admin) => {
      const groups = (await admin.listGroups()).filter((g) => owner(g) === jobId).sort();
      const lost: LostRange[] = [];
      for (const group of groups) lost.push(...(await lostRecords(admin, group)));
      return lost;
    });
  }

  /**
   * The namespace's live workers, by worker id, as `<ns>.workers` says now: each with the
   * pipelines it hosts and the fingerprint of each one's code. A worker counts as live until
   * it stops cleanly, or for 30 s after its last refresh (a crash). Reads the whole presence
   * topic, so call it when needed rather than in a loop.
   */
  async liveWorkers(): Promise<WorkerPresence[]> {
    const table = await readPresence(this.kafka, topicNames(this.namespace).workers);
    return liveWorkers(table, this.clock.now());
  }

  /** Every exported snapshot of the namespace, newest first: what `sluice snapshots` lists. */
  snapshots(): ExportedSnapshotInfo[] {
    return listSnapshots(this.log.jobs(), (id) => this.log.history(id));
  }

  /**
   * Deletes an exported snapshot: first the job log records the deletion (from then on no job
   * can start from it), then its topics go. A name no snapshot has, but whose topics a crashed
   * export or deletion left behind, has those topics deleted; otherwise it rejects with
   * `SLUICE_SNAPSHOT_UNAVAILABLE`.
   */
  async deleteSnapshot(name: string): Promise<void> {
    const all = this.snapshots();
    const found = all.find((s) => s.name === name);
    if (found) {
      await this.send(found.jobId, 'DeleteSnapshot', { name });
      await this.dropTopics(found.topics);
      return;
    }
    const used = new Set(all.flatMap((s) => s.topics));
    const prefixes = [
      snapshotTopic(this.namespace, name, ''),
      snapshotInputTopic(this.namespace, name, ''),
    ];
    const leftovers = await withAdmin(this.kafka, async (admin) =>
      (await admin.listTopics()).filter(
        (t) => prefixes.some((p) => t.startsWith(p)) && !used.has(t),
      ),
    );
    if (leftovers.length === 0)
      throw new SluiceError(
        'SLUICE_SNAPSHOT_UNAVAILABLE',
        `No exported snapshot is named "${name}" in namespace "${this.namespace}". List them with \`sluice snapshots\`.`,
        { details: { snapshot: name, namespace: this.namespace } },
      );
    await this.dropTopics(leftovers);
  }

  /** @internal The job holding the exported snapshot of this name. */
  snapshotOwner(name: string): string | undefined {
    return this.log.jobs().find((j) => j.exportedSnapshots[name] !== undefined)?.jobId;
  }

  /** @internal Copies a suspended job's state into the snapshot's own topics, checked. */
  copySnapshot(jobId: string, name: string): Promise<SnapshotCopy> {
    const job = this.state(jobId);
    const otherJobIds = this.log.jobs().map((j) => j.jobId);
    return copySnapshot(this.kafka, {
      namespace: this.namespace,
      job,
      name,
      otherJobIds,
      replication: this.replication,
      clock: this.clock,
    });
  }

  /** @internal A dry run of a job's resume on the live hosts of its pipeline (see Job.tryResume). */
  dryRun(jobId: string, timeoutMs: number): Promise<DryRunResult> {
    return dryRunResume(
      {
        state: (id) => this.state(id),
        history: (id) => this.history(id),
        liveWorkers: () => this.liveWorkers(),
        send: (id, type, payload) => this.send(id, type, payload),
        onEvent: (listener) => this.log.onEvent((event) => listener(event)),
        clock: this.clock,
      },
      jobId,
      timeoutMs,
    );
  }

  /** @internal Deletes those of these topics that exist. */
  async dropTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await withAdmin(this.kafka, (admin) => dropTopics(admin, topics));
  }

  /** @internal Whether the cluster has this topic: a dead-letter topic, before a resume. */
  async topicExists(topic: string): Promise<boolean> {
    return withAdmin(this.kafka, async (admin) => (await admin.listTopics()).includes(topic));
  }

  /**
   * Calls `listener` with every event read from the log from now on, and the job's state after
   * it; returns the unsubscribe function.
   */
  onEvent(listener: (event: JobEvent, state: JobState | undefined) => void): () => void {
    return this.log.onEvent((event, after) => listener(event, after));
  }

  /** @internal Subscribes to a job's status changes. */
  subscribe(jobId: string, listener: (c: StatusChange) => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @internal Publishes a command and waits for the coordinator's outcome; rejects with
   * `CommandRejectedError` carrying the coordinator's reason.
   */
  send<K extends CommandType>(
    jobId: string,
    type: K,
    payload: CommandPayloads[K],
    commandId?: string,
  ): Promise<Outcome> {
    return this.sender.send(jobId, type, payload, commandId);
  }
}
