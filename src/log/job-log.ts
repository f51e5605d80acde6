import { EventCodec } from '../codec/log-codec.js';
import type { SchemaRegistry } from '../codec/registry.js';
import {
  alreadyFolded,
  emptyCluster,
  fold,
  liveJobNamed,
  type Outcome,
} from '../domain/cluster.js';
import type { JobEvent } from '../domain/events.js';
import type { PurgedJob } from '../domain/purge.js';
import { logReaderGroupPrefix, topicNames } from '../domain/resources.js';
import type { JobState } from '../domain/state.js';
import { withAdmin } from '../kafka/offsets.js';
import type { Kafka } from '../kafka/port.js';
import type { TopicReplication } from '../kafka/topics.js';
import type { Logger } from '../observability/logger.js';
import { LogReader } from './log-reader.js';
import { readCheckpoint } from './checkpoint-reader.js';
import { clusterFromCheckpoints } from '../domain/checkpoint.js';
import { SluiceError } from '../domain/errors.js';
import { ensureTopics } from './topics.js';

/** Called with each new event, the job's state after it, and before it. */
export type EventListener = (
  event: JobEvent,
  after: JobState | undefined,
  before: JobState | undefined,
) => void;

/** What opening a namespace's job log needs. */
export interface JobLogOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  namespace: string;
  logger: Logger;
  /** Who reads (`client`, `worker`): names the reader's throwaway consumer group. */
  reader: string;
  /** Replication of the namespace's topics if this creates them; default the broker's. */
  replication?: TopicReplication | undefined;
  /** Where to start: every event (default), or the coordinator's last checkpoint. */
  readFrom?: ReadFrom | undefined;
  /**
   * Whether to keep following the log after reading it (default true). A reader that only
   * looks once (`sluice jobs`, `status`) need not: it has no group to join or leave, and it
   * starts following only when it sends a command ({@link JobLog.follow}).
   */
  follow?: boolean | undefined;
}

/** Where a reader starts the job log; see ClientOptions.readFrom. */
export type ReadFrom = 'start' | 'checkpoint';

/**
 * A namespace's job log, followed and folded: every job's state and history as of the last
 * event read, kept current until {@link close}. Clients and workers read the log this way; each
 * reader replays the whole history, which is what makes the log the single source of truth.
 */
export class JobLog {
  private readonly cluster = emptyCluster();
  private readonly histories = new Map<string, JobEvent[]>();
  private readonly listeners = new Set<EventListener>();
  private readonly progress = new Set<() => void>();
  private reader: LogReader | undefined;
  private following: Promise<void> | undefined;
  /** Jobs folded from the checkpoint: their histories here begin after it. */
  private readonly partial = new Set<string>();

  private constructor(private readonly opts: JobLogOptions) {}

  /** Makes sure the namespace's topics exist and reads the log up to now. */
  static async open(opts: JobLogOptions): Promise<JobLog> {
    const topics = topicNames(opts.namespace);
    await withAdmin(opts.kafka, (admin) =>
      ensureTopics(admin, topics, { replication: opts.replication }),
    );
    const codec = new EventCodec(opts.registry, topics.jobs);
    await codec.ready();
    const log = new JobLog(opts);
    let from: Map<number, bigint> | undefined;
    if (opts.readFrom === 'checkpoint') {
      const checkpoint = await readCheckpoint(opts.kafka, topics.checkpoint);
      clusterFromCheckpoints(log.cluster, checkpoint.jobs);
      for (const c of checkpoint.jobs) log.partial.add(c.jobId);
      from = checkpoint.positions;
    }
    log.reader = new LogReader({
      kafka: opts.kafka,
      codec,
      topic: topics.jobs,
      logger: opts.logger,
      groupPrefix: logReaderGroupPrefix(opts.namespace, opts.reader),
      onProgress: () => log.progress.forEach((f) => f()),
      from,
    });
    await log.reader.start((e) => log.apply(e));
    if (opts.follow !== false) await log.follow();
    return log;
  }

  /**
   * Keeps the log current from now on (see {@link JobLogOptions.follow}); once is enough.
   * Rejects when the follower cannot join its group (an ACL missing), stopping it: a refused
   * reader must not keep the process alive. The next call tries again.
   */
  follow(): Promise<void> {
    this.following ??= this.reader!.follow((err) =>
      this.opts.logger.error(
        { err },
        'the job log reader stopped; this process no longer sees new events',
      ),
    ).catch(async (err: unknown) => {
      this.following = undefined;
      await this.reader?.stop().catch(() => undefined);
      throw err;
    });
    return this.following;
  }

  get namespace(): string {
    return this.opts.namespace;
  }

  /** Events read from the log so far (after the checkpoint, for a reader that started there). */
  get eventsRead(): number {
    return this.reader?.eventsRead ?? 0;
  }

  /** A job's current state, or undefined when the log holds no such job. */
  state(jobId: string): JobState | undefined {
    return this.cluster.jobs.get(jobId);
  }

  /** Who purged a job and when, if the log says it was purged. */
  purged(jobId: string): PurgedJob | undefined {
    return this.cluster.purged.get(jobId);
  }

  /** The purged job of this id, else the latest purged job of this name, if any. */
  purgedJob(idOrName: string): [jobId: string, purge: PurgedJob] | undefined {
    const byId = this.cluster.purged.get(idOrName);
    if (byId) return [idOrName, byId];
    let found: [string, PurgedJob] | undefined;
    for (const entry of this.cluster.purged)
      if (entry[1].name === idOrName && (!found || entry[1].at >= found[1].at)) found = entry;
    return found;
  }

  /** Every job's current state. */
  jobs(): JobState[] {
    return [...this.cluster.jobs.values()];
  }

  /**
   * Every event of a job, in order, rejections included. A reader that started from a
   * checkpoint holds only the events after it: for a job the checkpoint held, it throws
   * SLUICE_HISTORY_UNAVAILABLE rather than give part of a history as the whole.
   */
  history(jobId: string): JobEvent[] {
    if (this.partial.has(jobId))
      throw new SluiceError(
        'SLUICE_HISTORY_UNAVAILABLE',
        `This reader of ${this.opts.namespace} started from the coordinator's checkpoint, so it holds the events of job ${jobId} only from then on. Read the whole log for its history (\`sluice history\` does; in code, connect with readFrom: 'start').`,
        { details: { jobId } },
      );
    return [...(this.histories.get(jobId) ?? [])];
  }

  /** The live (non-terminal) job with this name, if any: names are unique among live jobs. */
  liveJob(name: string): JobState | undefined {
    return liveJobNamed(this.cluster, name);
  }

  /** What became of a command, once the log holds its events. */
  outcome(commandId: string): Outcome | undefined {
    return this.cluster.outcomes.get(commandId);
  }

  /** Calls `listener` with every event read from now on; returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` after each batch of events: a command's events are written in one
   * transaction, so by then all of them have been read.
   */
  onProgress(listener: () => void): () => void {
    this.progress.add(listener);
    return () => this.progress.delete(listener);
  }

  /** Stops following the log. */
  async close(): Promise<void> {
    await this.reader?.stop();
  }

  private apply(e: JobEvent): void {
    // A reader whose consumer restarted reads the log again: an event it had already must not
    // be listed twice in the history, nor reach listeners again (a worker would act on an old
    // JobResumed a second time, restarting the job's tasks).
    if (alreadyFolded(this.cluster, e)) return;
    const before = this.cluster.jobs.get(e.jobId);
    fold(this.cluster, e);
    let h = this.histories.get(e.jobId);
    if (!h) this.histories.set(e.jobId, (h = []));
    h.push(e);
    // A purged job's events are on their way out of the log: a reader that starts later never
    // sees them, and this one forgets them too, so both tell the same.
    if (e.type === 'JobPurged' && this.cluster.purged.has(e.jobId)) this.histories.delete(e.jobId);
    const after = this.cluster.jobs.get(e.jobId);
    for (const l of this.listeners) {
      try {
        l(e, after, before);
      } catch (err) {
        this.opts.logger.error({ err, jobId: e.jobId }, 'job log listener threw');
      }
    }
  }
}
