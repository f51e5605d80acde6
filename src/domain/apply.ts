import { assertNever } from './assert.js';
import type { JobConfig } from './config.js';
import { NO_ERROR_POLICY } from './error-policy.js';
import { NO_PLAN, planOf } from './resume-plan.js';
import { isAudit, type JobEvent } from './events.js';
import type { JobBase, JobState } from './state.js';
import { allowed } from './transitions.js';

/**
 * The one reducer: a job's state is `events.reduce(apply, undefined)`. Pure and total: an event
 * that does not fit the state (which a log written by the coordinator never holds) leaves the
 * state as it was, so any reader can replay any log without crashing.
 */
export function apply(state: JobState | undefined, event: JobEvent): JobState | undefined {
  if (event.type === 'JobSubmitted') {
    // A second submit is refused by `decide`; in a log it still counts, like any misfit event.
    if (state) return { ...state, version: state.version + 1 };
    return {
      status: 'NOT_RUNNING',
      jobId: event.jobId,
      name: event.config.name,
      pipeline: event.pipeline,
      config: withPolicy(event.config),
      submittedAt: event.at,
      submittedBy: event.issuedBy,
      lastSnapshot: null,
      plan: NO_PLAN,
      errorCounts: [],
      exportedSnapshots: {},
      snapshotCopies: {},
      workers: [],
      run: 1,
      // Not 1: refusals of commands sent before the submit already hold this job id's first seqs.
      version: event.seq + 1,
      updatedAt: event.at,
    };
  }
  if (!state) return state;
  const base = bump(state, event.at);
  // Audit entries (a rejection, a dry run's request and answers) count in the job's history
  // but change nothing: a dry run must leave the job exactly as a resume would find it.
  if (isAudit(event) || event.type === 'Unknown') return { ...state, version: base.version };
  if (!allowed(state.status, event.type)) return { ...state, version: base.version };

  switch (event.type) {
    case 'JobStarted': {
      const workers = base.workers.includes(event.worker)
        ? base.workers
        : [...base.workers, event.worker];
      return { ...base, status: 'RUNNING', workers };
    }
    case 'SnapshotCommitted':
      return {
        ...state,
        ...base,
        lastSnapshot: {
          snapshotId: event.snapshotId,
          sourceOffsets: event.sourceOffsets,
          stateOffsets: event.stateOffsets,
          at: event.at,
        },
        // A JSON history written before the counts has none.
        errorCounts: event.errorCounts ?? [],
      };
    case 'JobSuspended':
      return { ...base, status: 'SUSPENDED', suspensionCause: event.cause, workers: [] };
    case 'JobSuspendedDueToError':
      return {
        ...base,
        status: 'SUSPENDED_DUE_TO_ERROR',
        suspensionCause: event.cause,
        workers: [],
      };
    case 'JobResumed':
    case 'JobRestarted': {
      // The only events that start the job's tasks afresh: a new run, whose workers report anew.
      const plan =
        event.type === 'JobRestarted'
          ? NO_PLAN
          : planOf(event, 'suspensionCause' in state ? state.suspensionCause : null);
      return { ...base, status: 'STARTING', workers: [], run: base.run + 1, plan };
    }
    case 'JobCancelled':
      return { ...base, status: 'CANCELLED', workers: [] };
    case 'JobCompleting':
      return { ...base, status: 'COMPLETING' };
    case 'JobCompleted':
      return { ...base, status: 'COMPLETED', workers: [] };
    case 'JobFailed':
      return { ...base, status: 'FAILED', failureCause: event.cause, workers: [] };
    case 'SnapshotExportStarted':
      if (state.status !== 'SUSPENDED' && state.status !== 'SUSPENDED_DUE_TO_ERROR')
        return { ...state, ...base };
      return {
        ...base,
        status: 'SUSPENDED_EXPORTING_SNAPSHOT',
        suspensionCause: state.suspensionCause,
        returnTo: state.status,
        exportingAs: event.name,
      };
    case 'SnapshotExported': {
      const exportedSnapshots = { ...state.exportedSnapshots, [event.name]: event.snapshotId };
      const snapshotCopies = { ...state.snapshotCopies };
      // A name exported again replaces what the name copied before.
      if (event.copy) snapshotCopies[event.name] = event.copy;
      else delete snapshotCopies[event.name];
      if (state.status === 'SUSPENDED_EXPORTING_SNAPSHOT') {
        return {
          ...base,
          exportedSnapshots,
          snapshotCopies,
          status: state.returnTo,
          suspensionCause: state.suspensionCause,
        };
      }
      return { ...state, ...base, exportedSnapshots, snapshotCopies };
    }
    case 'SnapshotDeleted': {
      const exportedSnapshots = { ...state.exportedSnapshots };
      const snapshotCopies = { ...state.snapshotCopies };
      delete exportedSnapshots[event.name];
      delete snapshotCopies[event.name];
      return { ...state, ...base, exportedSnapshots, snapshotCopies };
    }
    case 'ConfigUpdated':
      // The event states the resulting config; the delta is there for auditors.
      return { ...state, ...base, config: withPolicy(event.config) };
    case 'JobPurged':
      // Gone: a reader of the compacted log sees no state before this event either.
      return undefined;
    default:
      return assertNever(event);
  }
}

/** A config folded from a JSON history written before error policies has none: no policy. */
function withPolicy(config: JobConfig): JobConfig {
  return (config.errorPolicy as JobConfig['errorPolicy'] | undefined)
    ? config
    : { ...config, errorPolicy: NO_ERROR_POLICY };
}

/** Replays a job's whole history. */
export function replay(events: Iterable<JobEvent>): JobState | undefined {
  let state: JobState | undefined;
  for (const e of events) state = apply(state, e);
  return state;
}

/** The common fields after one more event; status-specific fields are dropped unless re-added. */
function bump(state: JobState, at: number): JobBase {
  return {
    jobId: state.jobId,
    name: state.name,
    pipeline: state.pipeline,
    config: state.config,
    submittedAt: state.submittedAt,
    submittedBy: state.submittedBy,
    lastSnapshot: state.lastSnapshot,
    plan: state.plan,
    errorCounts: state.errorCounts,
    exportedSnapshots: state.exportedSnapshots,
    snapshotCopies: state.snapshotCopies,
    workers: state.workers,
    run: state.run,
    version: state.version + 1,
    updatedAt: at,
  };
}
