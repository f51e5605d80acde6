import { assertNever } from '../domain/assert.js';
import type { JobState } from '../domain/state.js';

/**
 * One or two sentences on where a job stands and what a user can do next, for `sluice status`
 * (human and `--json`). Pure: the same state always reads the same.
 *
 * A job that no worker has picked up is NOT_RUNNING (or STARTING after a resume or restart).
 * Neither the client nor the coordinator knows which pipelines the workers host — workers only
 * ever report jobs they started — so the text says what is known (no worker has started it)
 * rather than claiming that none hosts the pipeline.
 */
export function describeStatus(s: JobState): string {
  // Job names are letters, digits, ".", "_" and "-" (see compileJobConfig): safe as a shell word.
  const ref = s.name;
  const startOne = `Start one with \`sluice worker <module>\`, where the module's default export has a "${s.pipeline}" factory.`;
  switch (s.status) {
    case 'NOT_RUNNING':
      return `Waiting for a worker that hosts pipeline "${s.pipeline}": no worker has started it yet. ${startOne}`;
    case 'STARTING':
      return `Starting after a resume or restart: waiting for a worker that hosts pipeline "${s.pipeline}" to report its tasks running. If this lasts, no worker has started it yet. ${startOne}`;
    case 'RUNNING':
      return s.workers.length === 0
        ? 'Running.'
        : `Running on ${plural(s.workers.length, 'worker')}: ${s.workers.join(', ')}.`;
    case 'COMPLETING':
      return 'Its sources are exhausted; the workers are finishing the last records.';
    case 'COMPLETED':
      return 'Completed: every record of its sources was processed.';
    case 'CANCELLED':
      return 'Cancelled; it ends for good. Submit it again to run it anew.';
    case 'SUSPENDED':
      return `${sentence(s.suspensionCause.description)} Resume it with \`sluice resume ${ref}\`.`;
    case 'SUSPENDED_DUE_TO_ERROR':
      // Records deleted past the committed offsets: no failing record to retry or skip.
      if (s.suspensionCause.error?.name === 'SLUICE_SOURCE_DATA_LOST')
        return `Suspended due to an error: records it had not read were deleted (see the error). Restore them and \`sluice resume ${ref}\`, or \`sluice resume ${ref} --accept-data-loss\` to go on without them.`;
      return `Suspended due to an error: ${sentence(s.suspensionCause.description)} Fix the cause, then \`sluice resume ${ref}\` to retry the failing record, or add --skip-failing-record or --dead-letter <topic> to move past it.`;
    case 'SUSPENDED_EXPORTING_SNAPSHOT':
      return `Suspended; exporting its last snapshot as "${s.exportingAs}".`;
    case 'FAILED':
      return `Failed: ${sentence(s.failureCause.description)} A failed job cannot be resumed; a job submitted with --suspend-on-failure is suspended instead, and can be.`;
    default:
      return assertNever(s);
  }
}

/** Causes are written by several hands, with or without a closing full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
