import type { FailingRecordAction, SuspensionCause } from '../domain/cause.js';
import { compileConfigDelta, type JobConfig, type JobConfigDeltaInput } from '../domain/config.js';
import { SourceDataLostError, type LostRange } from '../domain/data-loss.js';
import type { JobEvent } from '../domain/events.js';
import { hostsOf, type WorkerPresence } from '../domain/presence.js';
import { ResumeSameCodeError, retriesFailedCode, sameCodeAsFailure } from '../domain/same-code.js';
import {
  DeadLetterTopicMissingError,
  JobCancelledError,
  JobFailedError,
  JobNotSuspendedError,
  JobSuspendedError,
  CommandRejectedError,
} from '../domain/job-errors.js';
import { isValidName } from '../domain/config.js';
import { copyTopics, type SnapshotCopy } from '../domain/snapshot-copy.js';
import { isSuspended } from '../domain/status.js';
import type { JobState } from '../domain/state.js';
import type { JobStatus } from '../domain/status.js';
import { allowed } from '../domain/transitions.js';
import type { CommandPayloads, CommandType } from '../domain/commands.js';
import type { Outcome } from '../domain/cluster.js';
import { DEFAULT_DRY_RUN_TIMEOUT_MS } from '../domain/settings.js';
import type { DryRunResult, TryResumeOptions } from './dry-run.js';
import type { StatusChange } from './status-events.js';

/** Options for {@link Job.resume}. */
export interface ResumeOptions {
  /** What to do with the record the job failed on: RETRY (default), SKIP, or DEAD_LETTER. */
  failingRecord?: FailingRecordAction;
  deadLetterTopic?: string;
  /**
   * Go on although records past the job's committed offsets were deleted while it was stopped
   * (retention, `deleteRecords`): it resumes from each such partition's earliest offset, and
   * the job log records who accepted the loss. Without it, such a resume is refused with
   * `SLUICE_SOURCE_DATA_LOST`. Default false.
   */
  acceptDataLoss?: boolean;
  /**
   * Resume although the job failed in code that every live worker hosting its pipeline still
   * runs (same fingerprint): without it, such a resume that retries the failing record is
   * refused with `SLUICE_RESUME_SAME_CODE`. The job log records who forced it. Default false.
   */
  force?: boolean;
}

/** What a {@link Job} needs from its client; the client implements it. */
export interface JobHost {
  state(jobId: string): JobState;
  history(jobId: string): JobEvent[];
  send<K extends CommandType>(
    jobId: string,
    type: K,
    payload: CommandPayloads[K],
  ): Promise<Outcome>;
  subscribe(jobId: string, listener: (c: StatusChange) => void): () => void;
  /** Partitions where records past the job's committed offsets were deleted. */
  lostRecords(jobId: string): Promise<LostRange[]>;
  /** Whether the cluster has this topic. */
  topicExists(topic: string): Promise<boolean>;
  /** The namespace's live workers, with the fingerprints of the code they run. */
  liveWorkers(): Promise<WorkerPresence[]>;
  /** Copies a suspended job's state into a snapshot's own topics (src/client/snapshot-copy.ts). */
  copySnapshot(jobId: string, name: string): Promise<SnapshotCopy>;
  /** The job that holds the exported snapshot of this name, if any. */
  snapshotOwner(name: string): string | undefined;
  /** Deletes those of these topics that exist. */
  dropTopics(topics: string[]): Promise<void>;
  /** Runs a dry run of the job's resume on the live hosts (src/client/dry-run.ts). */
  dryRun(jobId: string, timeoutMs: number): Promise<DryRunResult>;
}

/**
 * A handle on one job. Reads come from the client's fold of the job log, so they are as fresh as
 * the log; command methods resolve once the coordinator has applied the command.
 */
export class Job {
  constructor(
    private readonly client: JobHost,
    readonly id: string,
  ) {}

  get name(): string {
    return this.snapshot().name;
  }

  status(): JobStatus {
    return this.snapshot().status;
  }

  config(): JobConfig {
    return this.snapshot().config;
  }

  /** The whole state, as folded from the log. */
  snapshot(): JobState {
    return this.client.state(this.id);
  }

  /** Why the job is suspended; throws {@link JobNotSuspendedError} when it is not. */
  suspensionCause(): SuspensionCause {
    const s = this.snapshot();
    if ('suspensionCause' in s) return s.suspensionCause;
    throw new JobNotSuspendedError(this.id, s.status);
  }

  /** Every event of the job, rejected commands included. */
  history(): JobEvent[] {
    return this.client.history(this.id);
  }

  async suspend(): Promise<void> {
    await this.client.send(this.id, 'SuspendJob', {});
  }

  /**
   * Resumes a suspended job. Unless `acceptDataLoss`, it first checks that the records after the
   * job's committed offsets still exist, and rejects at once with {@link SourceDataLostError}
   * (`SLUICE_SOURCE_DATA_LOST`, naming each partition and range) when retention or
   * `deleteRecords` removed some while the job was stopped; the worker that starts the run
   * checks again, so a resume sent another way cannot skip them either. A dead-letter topic
   * must exist: otherwise it rejects at once with {@link DeadLetterTopicMissingError}
   * (`SLUICE_DEAD_LETTER_TOPIC_MISSING`), and the worker would refuse the run too. Unless
   * `force`, a job suspended because its code failed on a record is not retried while every
   * live worker hosting its pipeline runs that same code (by fingerprint): it rejects at once
   * with {@link ResumeSameCodeError} (`SLUICE_RESUME_SAME_CODE`), naming them. With no live
   * host, or a cause without a fingerprint, nothing is refused.
   */
  async resume(opts: ResumeOptions = {}): Promise<void> {
    const acceptDataLoss = opts.acceptDataLoss ?? false;
    const force = opts.force ?? false;
    const failingRecord = opts.failingRecord ?? 'RETRY';
    // A job that cannot be resumed is left to the coordinator's refusal, which says why.
    const resumable = allowed(this.status(), 'JobResumed');
    const topic = opts.failingRecord === 'DEAD_LETTER' ? opts.deadLetterTopic : undefined;
    if (resumable && topic && !(await this.client.topicExists(topic)))
      throw new DeadLetterTopicMissingError(this.name, topic);
    if (!acceptDataLoss && resumable) {
      const lost = await this.client.lostRecords(this.id);
      if (lost.length > 0) throw new SourceDataLostError(this.name, lost);
    }
    const state = this.snapshot();
    // Presence is read only when it can refuse: a retry of a record the code failed on.
    if (!force && resumable && retriesFailedCode(state, failingRecord)) {
      const hosts = hostsOf(await this.client.liveWorkers(), state.pipeline);
      const same = sameCodeAsFailure(state, hosts, failingRecord);
      if (same) throw new ResumeSameCodeError(same);
    }
    await this.client.send(this.id, 'ResumeJob', {
      failingRecord,
      deadLetterTopic: opts.deadLetterTopic ?? null,
      acceptDataLoss,
      force,
    });
  }

  /**
   * A dry run of a resume: every live worker hosting the job's pipeline runs the record the job
   * is suspended on through the code it runs now, in a sandbox (the key's saved state read
   * only; nothing written, nothing committed), and answers with the records it would write or
   * the error it throws. Resolves with the answers of every live host, or those that came
   * within `timeoutMs` (30 s by default); `wouldSucceed` is true when none has an error. The
   * request and the answers are recorded in the job's history; nothing else changes, and no
   * resume is sent. Rejects at once with {@link DryRunNotPossibleError}
   * (`SLUICE_DRY_RUN_NOT_POSSIBLE`) for a job not suspended on a record, with
   * {@link NoLiveWorkerError} (`SLUICE_NO_LIVE_WORKER`) when no live worker hosts the pipeline,
   * and with `SLUICE_COMMAND_TIMEOUT` when none answered in time.
   */
  tryResume(opts: TryResumeOptions = {}): Promise<DryRunResult> {
    return this.client.dryRun(this.id, opts.timeoutMs ?? DEFAULT_DRY_RUN_TIMEOUT_MS);
  }

  async cancel(): Promise<void> {
    await this.client.send(this.id, 'CancelJob', {});
  }

  /**
   * Deletes the job from the job log: the coordinator records a `JobPurged` event (who and
   * when; it stays, as the audit entry) and, in the same transaction, a tombstone for every
   * earlier event of the job and the job's checkpoint without its state. Every reader forgets the
   * job at once (its state and history then throw `SLUICE_JOB_NOT_FOUND`, saying it was purged);
   * compaction deletes the tombstoned events once `min.compaction.lag.ms` has passed (a day on
   * `<ns>.jobs`), and until then a raw read of the topic still shows them. Only for an ended job
   * (COMPLETED, FAILED or CANCELLED) without exported snapshots: otherwise it rejects with
   * {@link CommandRejectedError} (`SLUICE_COMMAND_REJECTED`, rejection code
   * `ILLEGAL_TRANSITION` or `SNAPSHOTS_EXIST`) carrying the coordinator's reason.
   */
  async purge(): Promise<void> {
    await this.client.send(this.id, 'PurgeJob', {});
  }

  async restart(): Promise<void> {
    await this.client.send(this.id, 'RestartJob', {});
  }

  /**
   * Exports the job's state under `name`, for new jobs to start from (`initialSnapshotName`).
   * The job must be suspended. The state is first copied into topics of the snapshot's own
   * (`<ns>.snapshot.<name>.<stage>`) and checked by counts; only then is the export sent, and
   * the snapshot exists once the coordinator records it. So the snapshot stays as it was when
   * the job resumes or is cancelled, and an export cut short leaves no usable snapshot. A
   * refused export deletes its copy. A job that cannot be exported now is left to the
   * coordinator's refusal, which says why.
   */
  async exportSnapshot(name: string): Promise<void> {
    const s = this.snapshot();
    const taken = this.client.snapshotOwner(name) !== undefined;
    if (!isSuspended(s.status) || s.lastSnapshot === null || taken || !isValidName(name)) {
      await this.client.send(this.id, 'ExportSnapshot', { name, copy: null });
      return;
    }
    const copy = await this.client.copySnapshot(this.id, name);
    try {
      await this.client.send(this.id, 'ExportSnapshot', { name, copy });
    } catch (err) {
      // Another exporter's snapshot of that name may be in those topics: leave them.
      if (err instanceof CommandRejectedError && err.rejectionCode !== 'SNAPSHOT_NAME_IN_USE')
        await this.client.dropTopics(copyTopics(copy)).catch(() => undefined);
      throw err;
    }
  }

  /** Changes the config of a suspended job (snapshot interval, suspendOnFailure, args). */
  async updateConfig(delta: JobConfigDeltaInput): Promise<void> {
    // Checked here, so a bad change fails before it is sent, with every bad field named; and
    // compiled, so a policy's defaults are filled in as the log stores them.
    await this.client.send(this.id, 'UpdateConfig', { delta: compileConfigDelta(delta) });
  }

  /** Calls `listener` on every status change from now on; returns the unsubscribe function. */
  onStatusChange(listener: (change: StatusChange) => void): () => void {
    return this.client.subscribe(this.id, listener);
  }

  /**
   * Resolves when the job completes. Rejects with {@link JobSuspendedError} (carrying the cause)
   * when it is suspended due to an error, {@link JobFailedError} when it fails, and
   * {@link JobCancelledError} when it is cancelled. Unlike Jet's `join()`, which blocks through a
   * suspension, this settles, so the caller learns of the failure; after a resume, call `join()`
   * again for the new run. A user suspension does not settle it.
   */
  join(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (s: JobState): boolean => {
        switch (s.status) {
          case 'COMPLETED':
            resolve();
            return true;
          case 'FAILED':
            reject(new JobFailedError(this.id, s.failureCause));
            return true;
          case 'CANCELLED':
            reject(new JobCancelledError(this.id));
            return true;
          case 'SUSPENDED_DUE_TO_ERROR':
            reject(new JobSuspendedError(this.id, s.suspensionCause));
            return true;
          case 'NOT_RUNNING':
          case 'STARTING':
          case 'RUNNING':
          case 'COMPLETING':
          case 'SUSPENDED':
          case 'SUSPENDED_EXPORTING_SNAPSHOT':
            return false;
        }
      };
      if (settle(this.snapshot())) return;
      const off = this.onStatusChange((change: StatusChange) => {
        if (settle(this.client.state(change.jobId))) off();
      });
    });
  }
}
