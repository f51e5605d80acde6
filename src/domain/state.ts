import type { SnapshotRef, SuspensionCause } from './cause.js';
import type { JobConfig } from './config.js';
import type { ErrorCounts } from './error-counts.js';
import type { ResumePlan } from './resume-plan.js';
import type { SnapshotCopy } from './snapshot-copy.js';
import type { SuspendedStatus } from './status.js';

/** Fields every job has, whatever its status. */
export interface JobBase {
  jobId: string;
  name: string;
  pipeline: string;
  config: JobConfig;
  submittedAt: number;
  submittedBy: string;
  /** The last committed snapshot, or null before the first. */
  lastSnapshot: SnapshotRef | null;
  /**
   * What the current run does with the record its last suspension failed on: set by a resume,
   * cleared by a submit or a restart. Workers start a run from it, so they need no history.
   */
  plan: ResumePlan;
  /** Per stage, what the job skipped and dead-lettered, as of its last snapshot. */
  errorCounts: ErrorCounts;
  /** Snapshots exported from this job, by name. */
  exportedSnapshots: Record<string, string>;
  /**
   * What each of those snapshots copied, by name; a snapshot exported before copies existed
   * has none and points at the job's own topics. Kept in the state so that a worker starting
   * from the checkpoint needs no history to seed a job from a snapshot, or to know which of an
   * ended job's topics must stay.
   */
  snapshotCopies: Record<string, SnapshotCopy>;
  /** Workers that reported running this job's tasks in the current run. */
  workers: string[];
  /**
   * The current run, from 1: every resume and restart starts a new run of the job's tasks, and
   * bumps it. Derived from the log alone (`apply`), so every reader agrees on it. Workers put
   * the run they were started under on their reports, so a report of a run that a resume or a
   * restart has replaced is refused (`STALE_REPORT`) instead of moving the new run.
   */
  run: number;
  /** How many events of this job have been applied: the next event's seq. */
  version: number;
  updatedAt: number;
}

/**
 * A job's state, one variant per group of statuses. A variant holds only the fields that make
 * sense for it: a suspension cause exists only while suspended, a failure cause only when failed.
 */
export type JobState =
  | (JobBase & {
      status: 'NOT_RUNNING' | 'STARTING' | 'RUNNING' | 'COMPLETING' | 'COMPLETED' | 'CANCELLED';
    })
  | (JobBase & { status: SuspendedStatus; suspensionCause: SuspensionCause })
  | (JobBase & {
      status: 'SUSPENDED_EXPORTING_SNAPSHOT';
      suspensionCause: SuspensionCause;
      /** The suspended status the job returns to when the export ends. */
      returnTo: SuspendedStatus;
      exportingAs: string;
    })
  | (JobBase & { status: 'FAILED'; failureCause: SuspensionCause });
