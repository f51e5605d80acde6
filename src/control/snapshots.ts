import type { PartitionOffset } from '../domain/cause.js';
import type { Clock } from '../domain/clock.js';
import type { Command } from '../domain/commands.js';
import { countsFromMetadata, sumCounts, type ErrorCounts } from '../domain/error-counts.js';
import type { JobState } from '../domain/state.js';
import { changelogTopic, isJobGroup, jobGroup } from '../domain/resources.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin, Kafka, Producer } from '../kafka/port.js';
import type { CommandCodec } from '../codec/log-codec.js';
import type { Topics } from '../domain/resources.js';
import { sendReport } from './command-batch.js';
import type { ReportedRun } from '../log/report.js';
import type { Logger } from '../observability/logger.js';

/** How long a snapshot tick may wait for the broker before the next one starts. */
const TICK_TIMEOUT_MS = 10_000;

/** A snapshot to record: what a job's consumer groups and changelogs hold now. */
export interface Positions {
  sourceOffsets: PartitionOffset[];
  stateOffsets: PartitionOffset[];
  /** Per stage, what the job's tasks skipped and dead-lettered, from their commits' metadata. */
  errorCounts: ErrorCounts;
}

/** What a snapshot taker needs. */
export interface SnapshotTakerOptions {
  kafka: Kafka;
  namespace: string;
  /**
   * Records one snapshot (the coordinator sends it as a command), as of `run`: the job's run
   * when its positions were read.
   */
  record: (jobId: string, run: number, snapshotId: string, p: Positions) => Promise<void>;
  log: Logger;
  clock: Clock;
}

/**
 * Records snapshots for the active coordinator: one `SnapshotCommitted` per job per interval.
 * A snapshot is what Kafka already holds, committed offsets plus the state topics, so taking
 * one means reading the job's consumer groups and changelog ends; the tasks commit on their
 * own schedule. A snapshot is also recorded once after a job is suspended and its workers have
 * left, so the log holds the position a resume starts from.
 */
export class SnapshotTaker {
  /** Per job, the positions last recorded, to skip snapshots of a job that did not move. */
  private readonly last = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  /** Per job, when it was last looked at: a job that did not move is not read every tick. */
  private readonly checkedAt = new Map<string, number>();
  /** Per suspended job, the version whose final snapshot was handled. */
  private readonly settled = new Map<string, number>();

  private readonly kafka: Kafka;
  private readonly namespace: string;
  private readonly record: SnapshotTakerOptions['record'];
  private readonly log: Logger;
  private readonly clock: Clock;
  private stopTicks: () => void = () => undefined;

  constructor(o: SnapshotTakerOptions) {
    ({ kafka: this.kafka, namespace: this.namespace, record: this.record } = o);
    ({ log: this.log, clock: this.clock } = o);
  }

  /**
   * Ticks every second until {@link stop}; `jobs` gives the current jobs, or none while inactive.
   * A tick caught on a request to a broker that died waits for the client's request timeout
   * (30 s); it is abandoned after {@link TICK_TIMEOUT_MS} instead, so snapshots resume as soon
   * as the broker is back, and whatever it finds later is not recorded: it would be older than
   * what the next ticks record.
   */
  start(jobs: () => Iterable<JobState> | undefined): void {
    let busy = false;
    let ticks = 0;
    this.stop();
    this.stopTicks = this.clock.every(1000, () => {
      const current = jobs();
      if (busy || !current) return;
      busy = true;
      const tick = ++ticks;
      const unstick = this.clock.after(TICK_TIMEOUT_MS, () => {
        this.log.warn({ ms: TICK_TIMEOUT_MS }, 'snapshot tick got no answer; starting a new one');
        ticks++;
        busy = false;
      });
      void this.tick(current, this.clock.now(), () => tick === ticks)
        .catch((err: unknown) => this.log.warn({ err }, 'could not take snapshots'))
        .finally(() => {
          unstick();
          if (tick === ticks) busy = false;
        });
    });
  }

  stop(): void {
    this.stopTicks();
  }

  /** Records the snapshots due now, while `current` holds. */
  async tick(
    jobs: Iterable<JobState>,
    now: number,
    current: () => boolean = () => true,
  ): Promise<void> {
    const due = [...jobs].filter((j) => this.due(j, now));
    if (due.length === 0) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const groups = await admin.listGroups();
      for (const job of due) {
        const mine = groups.filter((g) => isJobGroup(this.namespace, job.jobId, g));
        // A suspended job's final position counts once its workers have left its groups. It is
        // settled only once recorded (or found already recorded): a tick that fails midway, or
        // is abandoned, leaves it for the next.
        const settles = job.status !== 'RUNNING' && job.status !== 'COMPLETING';
        if (settles && !(await this.allLeft(admin, mine))) continue;
        this.checkedAt.set(job.jobId, now);
        const positions = await this.positions(admin, job.jobId, mine);
        if (!current()) return;
        // Per run: a snapshot the coordinator refused as of a run replaced meanwhile (the
        // state read at the tick's start is older than the log by then) is taken again in the
        // new run, even if nothing moved.
        const key = JSON.stringify({ run: job.run, positions });
        // Nothing committed yet, or nothing new: there is no position to record.
        const empty = positions.sourceOffsets.length + positions.stateOffsets.length === 0;
        if (!empty && this.last.get(job.jobId) !== key) {
          const n = (this.counts.get(job.jobId) ?? job.version) + 1;
          this.counts.set(job.jobId, n);
          await this.record(job.jobId, job.run, `${job.jobId}-${n}`, positions);
          this.last.set(job.jobId, key);
        }
        if (settles) this.settled.set(job.jobId, job.version);
      }
    } catch (err) {
      this.log.warn({ err }, 'could not take snapshots; trying again at the next interval');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private due(job: JobState, now: number): boolean {
    if (job.config.processingGuarantee === 'NONE') return false;
    if (job.status === 'SUSPENDED' || job.status === 'SUSPENDED_DUE_TO_ERROR')
      return this.settled.get(job.jobId) !== job.version;
    if (job.status !== 'RUNNING' && job.status !== 'COMPLETING') return false;
    const since = Math.max(job.lastSnapshot?.at ?? 0, this.checkedAt.get(job.jobId) ?? 0);
    return now - since >= job.config.snapshotIntervalMs;
  }

  private async allLeft(admin: Admin, groupIds: string[]): Promise<boolean> {
    if (groupIds.length === 0) return true;
    const groups = await admin.describeGroups(groupIds);
    return groups.every((g) => g.members.length === 0);
  }

  private async positions(admin: Admin, jobId: string, groupIds: string[]): Promise<Positions> {
    const sourceOffsets: PartitionOffset[] = [];
    const stateOffsets: PartitionOffset[] = [];
    const counts: ErrorCounts[] = [];
    for (const groupId of [...groupIds].sort()) {
      const into = groupId === jobGroup(this.namespace, jobId) ? sourceOffsets : stateOffsets;
      for (const p of await admin.committed(groupId))
        if (BigInt(p.offset) >= 0n) {
          into.push({ topic: p.topic, partition: p.partition, offset: p.offset });
          counts.push(countsFromMetadata(p.metadata));
        }
    }
    const prefix = changelogTopic(this.namespace, jobId, '');
    for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort())
      for (const o of await topicOffsets(admin, topic))
        stateOffsets.push({ topic, partition: o.partition, offset: String(o.high) });
    return { sourceOffsets, stateOffsets, errorCounts: sumCounts(counts) };
  }
}

/** The command that records a snapshot: it goes through the reports topic like any report. */
export function snapshotCommand(
  { jobId, run }: ReportedRun,
  snapshotId: string,
  worker: string,
  positions: Positions,
  at: number,
): Command {
  return {
    type: 'ReportSnapshot',
    commandId: `${jobId}/snapshot/${snapshotId}`,
    jobId,
    issuedBy: worker,
    at,
    worker,
    snapshotId,
    ...positions,
    run,
  };
}

/**
 * The active coordinator's snapshots: a {@link SnapshotTaker} whose snapshots are published as
 * `ReportSnapshot` commands, like any client's, so they go through the log in order.
 */
export class SnapshotRecorder {
  private producer: Producer | undefined;
  private taker: SnapshotTaker | undefined;

  constructor(
    private readonly o: Omit<SnapshotTakerOptions, 'record'> & {
      topics: Topics;
      codec: CommandCodec;
      /** Who records: `coordinator:<member>`. */
      worker: string;
    },
  ) {}

  /** Registers the reports' schema under the reports topic's subject. */
  ready(): Promise<number> {
    return this.o.codec.ready();
  }

  /** Every second until {@link stop}: records the snapshots due among `jobs()`. */
  start(jobs: () => Iterable<JobState> | undefined): void {
    this.taker?.stop();
    this.taker = new SnapshotTaker({
      ...this.o,
      record: (jobId, run, snapshotId, p) =>
        this.publish(
          snapshotCommand({ jobId, run }, snapshotId, this.o.worker, p, this.o.clock.now()),
        ),
    });
    this.taker.start(jobs);
  }

  stop(): void {
    this.taker?.stop();
  }

  /** Stops, and closes the producer. */
  async close(): Promise<void> {
    this.stop();
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  private async publish(command: Command): Promise<void> {
    if (!this.producer) {
      this.producer = this.o.kafka.producer();
      await this.producer.connect();
    }
    await sendReport(this.producer, this.o.codec, this.o.topics, command);
  }
}
