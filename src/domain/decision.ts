import type { EventDraft, RejectionCode } from './events.js';
import type { Outcome } from './cluster.js';
import type { JobState } from './state.js';
import { allowed, ALLOWED_FROM } from './transitions.js';

// The shape of a decision and the small builders every decider shares (decide.ts,
// decide-export.ts).

/** The result of checking a command against the state. */
export type Decision =
  | { kind: 'accepted'; events: EventDraft[] }
  | { kind: 'rejected'; code: RejectionCode; reason: string }
  | { kind: 'duplicate'; outcome: Outcome };

/** Accepted if the job's status allows the event type, with the events `events` makes. */
export function transition(
  job: JobState,
  type: keyof typeof ALLOWED_FROM,
  events: () => EventDraft[],
): Decision {
  if (!allowed(job.status, type)) return illegal(job, describe(type), ALLOWED_FROM[type]);
  return { kind: 'accepted', events: events() };
}

export function illegal(job: JobState, action: string, from: readonly string[]): Decision {
  return reject(
    'ILLEGAL_TRANSITION',
    `Cannot ${action}: job "${job.name}" is ${job.status}; that is allowed only from ${from.join(', ')}.`,
  );
}

export function staleReport(job: JobState, type: string, run: number): Decision {
  const why = run < job.run ? 'resumed or restarted since' : 'that run has not started';
  return reject(
    'STALE_REPORT',
    `${type} from run ${run} of job "${job.name}" ignored: the job is on run ${job.run} (${why}).`,
  );
}

export function ok(events: EventDraft[]): Decision {
  return { kind: 'accepted', events };
}

export function reject(code: RejectionCode, reason: string): Decision {
  return { kind: 'rejected', code, reason };
}

function describe(type: keyof typeof ALLOWED_FROM): string {
  const verbs: Record<keyof typeof ALLOWED_FROM, string> = {
    JobStarted: 'start',
    SnapshotCommitted: 'commit a snapshot',
    JobSuspended: 'suspend',
    JobSuspendedDueToError: 'suspend on a failure',
    JobResumed: 'resume',
    JobRestarted: 'restart',
    JobCancelled: 'cancel',
    JobCompleting: 'begin completing',
    JobCompleted: 'complete',
    JobFailed: 'fail',
    SnapshotExportStarted: 'export a snapshot',
    SnapshotExported: 'export a snapshot',
    ConfigUpdated: 'update the config (only a suspended job can change its config)',
    SnapshotDeleted: 'delete a snapshot',
    JobPurged: 'purge',
  };
  return verbs[type];
}
