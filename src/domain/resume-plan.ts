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
}

/** A fresh start, or a plain resume: every record is processed. */
export const NO_PLAN: ResumePlan = {
  action: 'RETRY',
  record: null,
  deadLetterTopic: null,
  cause: null,
  acceptDataLoss: false,
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
 * What the current run does with the record its last suspension failed on. Read from the
 * history, not from the event at hand, so a worker that joins the run later (or restarts) skips
 * or dead-letters the same record as the workers that saw the resume happen.
 */
export function resumePlan(history: readonly JobEvent[]): ResumePlan {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobRestarted' || e?.type === 'JobSubmitted') return NO_PLAN;
    if (e?.type === 'JobResumed')
      return {
        action: e.failingRecord,
        record: e.record,
        deadLetterTopic: e.deadLetterTopic,
        cause: lastErrorCause(history.slice(0, i)),
        acceptDataLoss: e.acceptDataLoss,
      };
  }
  return NO_PLAN;
}

/** The cause of the job's latest suspension due to an error, from its history. */
function lastErrorCause(history: readonly JobEvent[]): SuspensionCause | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i];
    if (e?.type === 'JobSuspendedDueToError') return e.cause;
  }
  return null;
}
