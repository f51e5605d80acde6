import { assertNever } from '../domain/assert.js';
import type { JobState } from '../domain/state.js';

/**
 * One or two sentences on where a job stands and what to do next, worded for the console's
 * buttons (the CLI's `describeStatus` names commands instead). Pure.
 */
export function nextStep(s: JobState): string {
  switch (s.status) {
    case 'NOT_RUNNING':
      return `Waiting for a worker that hosts pipeline "${s.pipeline}"; none has started it yet.`;
    case 'STARTING':
      return `Starting: waiting for a worker that hosts pipeline "${s.pipeline}" to report its tasks running.`;
    case 'RUNNING':
      return s.workers.length === 0 ? 'Running.' : `Running on ${s.workers.join(', ')}.`;
    case 'COMPLETING':
      return 'Its sources are exhausted; the workers are finishing the last records.';
    case 'COMPLETED':
      return 'Completed: every record of its sources was processed.';
    case 'CANCELLED':
      return 'Cancelled; it ended for good.';
    case 'SUSPENDED':
      return 'Suspended, its snapshot kept. Resume it to go on from there, or cancel it.';
    case 'SUSPENDED_DUE_TO_ERROR':
      if (s.suspensionCause.error?.name === 'SLUICE_SOURCE_DATA_LOST')
        return 'Suspended: records it had not read were deleted. Restore them and resume, or resume from the CLI with --accept-data-loss.';
      return s.suspensionCause.record
        ? 'Suspended due to an error on the record below. Deploy the fix, then Resume to retry it; or move past it with Skip record or Dead-letter.'
        : 'Suspended due to an error. Fix the cause, then Resume.';
    case 'SUSPENDED_EXPORTING_SNAPSHOT':
      return `Suspended; exporting its last snapshot as "${s.exportingAs}".`;
    case 'FAILED':
      return 'Failed; a failed job cannot be resumed. Submit it with suspendOnFailure to have the next failure suspend it instead.';
    default:
      return assertNever(s);
  }
}
