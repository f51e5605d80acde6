/** Every status a job can be in. */
export const JOB_STATUSES = [
  'NOT_RUNNING',
  'STARTING',
  'RUNNING',
  'SUSPENDED',
  'SUSPENDED_DUE_TO_ERROR',
  'SUSPENDED_EXPORTING_SNAPSHOT',
  'COMPLETING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;

/** A job's status. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves. */
export const TERMINAL_STATUSES = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** The two statuses from which a job can be resumed; they behave alike in every way. */
export const SUSPENDED_STATUSES = [
  'SUSPENDED',
  'SUSPENDED_DUE_TO_ERROR',
] as const satisfies readonly JobStatus[];
export type SuspendedStatus = (typeof SUSPENDED_STATUSES)[number];

/** True for COMPLETED, FAILED and CANCELLED. */
export function isTerminal(status: JobStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly JobStatus[]).includes(status);
}

/** True for SUSPENDED and SUSPENDED_DUE_TO_ERROR. */
export function isSuspended(status: JobStatus): status is SuspendedStatus {
  return (SUSPENDED_STATUSES as readonly JobStatus[]).includes(status);
}

/** Processing guarantees, as in Jet. */
export const PROCESSING_GUARANTEES = ['NONE', 'AT_LEAST_ONCE', 'EXACTLY_ONCE'] as const;
export type ProcessingGuarantee = (typeof PROCESSING_GUARANTEES)[number];

/** Statuses in which a job's tasks run on the workers that host its pipeline. */
export const TASK_STATUSES = [
  'NOT_RUNNING',
  'STARTING',
  'RUNNING',
  'COMPLETING',
] as const satisfies readonly JobStatus[];

/** True while the job's tasks should run: from its submission until it completes or stops. */
export function runsTasks(status: JobStatus): boolean {
  return (TASK_STATUSES as readonly JobStatus[]).includes(status);
}

/**
 * True when the job's state no longer moves: suspended, or ended with its state kept. An
 * exported snapshot can seed a new job only then.
 */
export function hasSettledState(status: JobStatus): boolean {
  return isSuspended(status) || status === 'CANCELLED' || status === 'COMPLETED';
}
