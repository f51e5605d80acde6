import type { AuditEventType, KnownEventType } from './events.js';
import { JOB_STATUSES, TERMINAL_STATUSES, type JobStatus } from './status.js';

const LIVE = JOB_STATUSES.filter((s) => s !== 'COMPLETED' && s !== 'FAILED' && s !== 'CANCELLED');

/**
 * From which statuses each lifecycle event may happen. `decide` checks commands against it and
 * `apply` ignores an event that breaks it, so the two can never disagree.
 */
export const ALLOWED_FROM: Record<
  Exclude<KnownEventType, 'JobSubmitted' | AuditEventType>,
  readonly JobStatus[]
> = {
  JobStarted: ['NOT_RUNNING', 'STARTING', 'RUNNING'],
  SnapshotCommitted: LIVE,
  JobSuspended: ['RUNNING', 'STARTING', 'NOT_RUNNING', 'COMPLETING'],
  JobSuspendedDueToError: ['RUNNING', 'STARTING', 'NOT_RUNNING', 'COMPLETING'],
  JobResumed: ['SUSPENDED', 'SUSPENDED_DUE_TO_ERROR'],
  JobRestarted: ['RUNNING', 'STARTING'],
  JobCancelled: LIVE,
  JobCompleting: ['RUNNING'],
  JobCompleted: ['RUNNING', 'COMPLETING'],
  JobFailed: ['RUNNING', 'STARTING', 'NOT_RUNNING', 'COMPLETING'],
  SnapshotExportStarted: ['SUSPENDED', 'SUSPENDED_DUE_TO_ERROR'],
  SnapshotExported: [
    'RUNNING',
    'SUSPENDED',
    'SUSPENDED_DUE_TO_ERROR',
    'SUSPENDED_EXPORTING_SNAPSHOT',
  ],
  ConfigUpdated: ['SUSPENDED', 'SUSPENDED_DUE_TO_ERROR'],
  // A job's exports outlive it: they are deleted by name, whatever became of the job.
  SnapshotDeleted: JOB_STATUSES,
  // Only an ended job: a live one has tasks, topics and groups that still need its state.
  JobPurged: TERMINAL_STATUSES,
};

/** True when `type` may happen to a job in `status`. */
export function allowed(status: JobStatus, type: keyof typeof ALLOWED_FROM): boolean {
  return ALLOWED_FROM[type].includes(status);
}
