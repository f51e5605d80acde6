import type { FailingRecordAction, RecordRef, SuspensionCause } from './cause.js';
import type { JobEvent } from './events.js';

/** How a run began: what to do with the record an earlier run failed on. */
export interface ResumePlan {
  action: FailingRecordAction;
  record: RecordRef | null;
  deadLetterTopic: string | null;
  /** Why the earlier run stopped: written into each dead letter's headers. */
  cause: SuspensionCause | null;
  /**
   * The resume accepted that records deleted while the job was stopped are skipped: the run
   * starts at the earliest offset of each partition whose committed offset was deleted.
   */
  acceptDataLoss: boolean;
  /** Who resumed, and when (epoch ms); null for a run a submit or a restart began. */
  resumedBy: string | null;
  resumedAt: number | null;
}

/** A fresh start, or a plain resume: every record is processed. */
export const NO_PLAN: ResumePlan = {
  action: 'RETRY',
  record: null,
  deadLetterTopic: null,
  cause: null,
  acceptDataLoss: false,
  resumedBy: null,
  resumedAt: null,
};

/** SKIP or DEAD_LETTER when this record is the one the plan names; undefined otherwise. */
export function plannedAction(
  plan: ResumePlan,
  topic: string,
  partition: number,
  offset: string,
): 'SKIP' | 'DEAD_LETTER' | undefined {
  const r = plan.record;
  if (!r || plan.action === 'RETRY') return undefined;
  return r.topic === topic && r.partition === partition && r.offset === offset
    ? plan.action
    : undefined;
}

/**
 * What the current run does with the record its last suspension failed on, from the job's
 * history. The folded state holds the same (`JobState.plan`, set by `apply` from the resume and
 * the suspension before it), which is what workers read: a worker that joins the run later, or
 * restarts, skips or dead-letters the same record as those that saw the resume happen.
 */
export function resumePlan(history: readonly JobEvent[]): ResumePlan {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobRestarted' || e?.type === 'JobSubmitted') return NO_PLAN;
    if (e?.type === 'JobResumed') return planOf(e, suspensionBefore(history.slice(0, i)));
  }
  return NO_PLAN;
}

/** The plan a resume starts, given the cause the job was suspended with (if due to an error). */
export function planOf(
  e: Extract<JobEvent, { type: 'JobResumed' }>,
  cause: SuspensionCause | null,
): ResumePlan {
  return {
    action: e.failingRecord,
    record: e.record,
    deadLetterTopic: e.deadLetterTopic,
    cause: cause?.dueToError ? cause : null,
    // Left out of JSON histories written before it: no loss accepted.
    acceptDataLoss: e.acceptDataLoss ?? false,
    resumedBy: e.issuedBy,
    resumedAt: e.at,
  };
}

/** The cause of the job's latest suspension, from its history. */
function suspensionBefore(history: readonly JobEvent[]): SuspensionCause | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobSuspendedDueToError' || e?.type === 'JobSuspended') return e.cause;
  }
  return null;
}
