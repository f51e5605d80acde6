import { copyRecords } from '../domain/snapshot-copy.js';
import type { JobEvent } from '../domain/events.js';
import type { JobState } from '../domain/state.js';
import type { JobStatus } from '../domain/status.js';

/** What `onStatusChange` listeners receive. */
export interface StatusChange {
  jobId: string;
  previousStatus: JobStatus | null;
  newStatus: JobStatus;
  description: string;
  /** True when a user's command caused it, false when the system did (a failure, a completion). */
  userRequested: boolean;
  event: JobEvent;
}

const USER_EVENTS = new Set([
  'JobSubmitted',
  'JobSuspended',
  'JobResumed',
  'JobRestarted',
  'JobCancelled',
  'SnapshotExportStarted',
  'SnapshotExported',
  'ConfigUpdated',
]);

/** The status change an event caused, or undefined when the status stayed the same. */
export function statusChange(
  before: JobState | undefined,
  after: JobState | undefined,
  event: JobEvent,
): StatusChange | undefined {
  if (!after || before?.status === after.status) return undefined;
  return {
    jobId: after.jobId,
    previousStatus: before?.status ?? null,
    newStatus: after.status,
    description: describeEvent(event),
    userRequested: USER_EVENTS.has(event.type),
    event,
  };
}

/** A short human description of an event, used in status changes and the CLI's history. */
export function describeEvent(e: JobEvent): string {
  switch (e.type) {
    case 'JobSubmitted':
      return `submitted pipeline "${e.pipeline}" as "${e.config.name}" (${e.config.processingGuarantee}, suspendOnFailure=${e.config.suspendOnFailure})`;
    case 'JobStarted':
      return `worker ${e.worker} started its tasks`;
    case 'SnapshotCommitted':
      return `snapshot ${e.snapshotId} committed (${e.sourceOffsets.length} source, ${e.stateOffsets.length} state partitions)`;
    case 'JobSuspended':
    case 'JobSuspendedDueToError':
    case 'JobFailed':
      return e.cause.error
        ? `${e.cause.description} (${e.cause.error.name}: ${e.cause.error.message})`
        : e.cause.description;
    case 'JobResumed': {
      const resumed =
        e.failingRecord === 'RETRY'
          ? 'resumed from the last snapshot'
          : `resumed; failing record: ${e.failingRecord}${e.deadLetterTopic ? ` to ${e.deadLetterTopic}` : ''}`;
      const loss = e.acceptDataLoss
        ? '; accepting data loss: records deleted while it was stopped are skipped'
        : '';
      // `force` is missing from events folded from JSON histories older than it.
      const forced = e.force ? '; forced: even if the live workers run the code it failed in' : '';
      return `${resumed}${loss}${forced}`;
    }
    case 'JobRestarted':
      return 'restarted from the last snapshot';
    case 'JobCancelled':
      return 'cancelled';
    case 'JobCompleting':
      return `sources exhausted (worker ${e.worker}); completing`;
    case 'JobCompleted':
      return 'completed';
    case 'SnapshotExportStarted':
      return `exporting snapshot ${e.snapshotId} as "${e.name}"`;
    case 'SnapshotExported': {
      // `copy` is missing from events folded from JSON histories older than copies.
      if (!e.copy) return `snapshot ${e.snapshotId} exported as "${e.name}"`;
      const n = copyRecords(e.copy);
      return `snapshot ${e.snapshotId} exported as "${e.name}": ${n.state} state and ${n.input} unread records copied for ${e.copy.stages.length} stage(s)`;
    }
    case 'SnapshotDeleted':
      return `exported snapshot "${e.name}" deleted`;
    case 'ConfigUpdated':
      return `config updated: ${JSON.stringify(e.delta)}`;
    case 'DryRunRequested':
      return `dry run ${e.requestId} of a resume requested on record ${e.record.topic}/${e.record.partition}@${e.record.offset}; nothing changes`;
    case 'DryRunCompleted': {
      const code = e.fingerprint ? ` in code ${e.fingerprint}` : '';
      const answer = e.error
        ? `would fail again: ${e.error.name}: ${e.error.message}${e.stage ? ` at stage "${e.stage}"` : ''}`
        : `would succeed, writing ${e.outputCount} record(s)`;
      return `dry run ${e.requestId} on worker ${e.worker}${code}: ${answer}`;
    }
    case 'CommandRejected':
      return `${e.commandType} rejected (${e.code}): ${e.reason}`;
    case 'JobPurged':
      return `purged (it had ended ${e.status}): its earlier events are tombstoned, and every reader forgets the job`;
    case 'Unknown':
      return `event of a type this version does not know: ${e.originalType}`;
  }
}
