import type { ExportedSnapshotInfo } from '../client/snapshots.js';
import { describeEvent } from '../client/status-events.js';
import type { SuspensionCause } from '../domain/cause.js';
import type { JobEvent } from '../domain/events.js';
import type { PipelineHost } from '../domain/presence.js';
import { failedCode } from '../domain/same-code.js';
import type { JobState } from '../domain/state.js';
import { isSuspended, isTerminal } from '../domain/status.js';
import { allowed } from '../domain/transitions.js';
import { redacted } from '../observability/redact.js';
import type {
  ActionName,
  CauseView,
  HostRow,
  JobDetail,
  JobMetrics,
  JobRow,
  TimelineEntry,
} from './api-types.js';
import { nextStep } from './next-step.js';
import { redactPreview } from './preview.js';

/**
 * What the console shows, made from the folded job log: pure, so a view is the same whoever
 * asks. Everything that leaves the server goes through `redacted` (src/observability/redact.ts):
 * a record's value preview, an error message or a pipeline argument may hold a URL with a
 * password in it, and the page must never show one.
 */

/** At most this many events on a job's page: a long-lived job commits a snapshot a second. */
export const TIMELINE_LIMIT = 300;

/** A job's line in the list. */
export function rowOf(s: JobState, metrics: JobMetrics | null = null): JobRow {
  return redacted({
    jobId: s.jobId,
    name: s.name,
    pipeline: s.pipeline,
    status: s.status,
    suspended: isSuspended(s.status) || s.status === 'SUSPENDED_EXPORTING_SNAPSHOT',
    ended: isTerminal(s.status),
    guarantee: s.config.processingGuarantee,
    submittedAt: s.submittedAt,
    submittedBy: s.submittedBy,
    updatedAt: s.updatedAt,
    run: s.run,
    workers: [...s.workers],
    metrics,
  });
}

/** Suspended jobs first, then the others; newest first within each. */
export function sortRows(rows: JobRow[]): JobRow[] {
  return [...rows].sort(
    (a, b) => Number(b.suspended) - Number(a.suspended) || b.submittedAt - a.submittedAt,
  );
}

/** One timeline entry; `status` only where the event changed it. */
export function entryOf(
  e: JobEvent,
  before: JobState | undefined,
  after: JobState | undefined,
): TimelineEntry {
  const changed = after !== undefined && after.status !== before?.status;
  return redacted({
    seq: e.seq,
    at: e.at,
    type: e.type === 'Unknown' ? `Unknown(${e.originalType})` : e.type,
    status: changed ? after.status : null,
    who: e.issuedBy,
    detail: describeEvent(e),
    rejected: e.type === 'CommandRejected' ? e.code : null,
  });
}

/** What the job page needs, from the state, its history, the exports and the live hosts. */
export function detailOf(
  s: JobState,
  timeline: TimelineEntry[],
  exported: ExportedSnapshotInfo[],
  hosts: readonly PipelineHost[],
  metrics: JobMetrics | null = null,
  metricsHistory: JobMetrics[] = [],
): JobDetail {
  const failed = failedCode(s);
  const hostRows: HostRow[] = hosts.map((h) => ({
    ...h,
    runsFailingCode: failed === null ? null : h.fingerprint === failed,
  }));
  const cause =
    'suspensionCause' in s ? s.suspensionCause : 'failureCause' in s ? s.failureCause : null;
  const shown = timeline.slice(-TIMELINE_LIMIT);
  return redacted({
    row: rowOf(s, metrics),
    nextStep: nextStep(s),
    config: {
      suspendOnFailure: s.config.suspendOnFailure,
      snapshotIntervalMs: s.config.snapshotIntervalMs,
      args: { ...s.config.args },
      initialSnapshotName: s.config.initialSnapshotName ?? null,
      errorPolicy: s.config.errorPolicy ?? null,
    },
    cause: cause && causeView(cause),
    causeKind: 'failureCause' in s ? 'failure' : cause ? 'suspension' : null,
    lastSnapshot: s.lastSnapshot && {
      snapshotId: s.lastSnapshot.snapshotId,
      at: s.lastSnapshot.at,
    },
    exported: exported
      .filter((x) => x.jobId === s.jobId)
      .map((x) => ({
        name: x.name,
        snapshotId: x.snapshotId,
        exportedAt: x.exportedAt,
        exportedBy: x.exportedBy,
        stages: x.stages,
      })),
    timeline: shown,
    timelineOmitted: timeline.length - shown.length,
    hosts: hostRows,
    actions: actionsFor(s),
    metricsHistory,
  });
}

/** The whole history as timeline entries, folded in order. */
export function timelineOf(
  events: JobEvent[],
  fold: (s: JobState | undefined, e: JobEvent) => JobState | undefined,
): TimelineEntry[] {
  let state: JobState | undefined;
  return events.map((e) => {
    const before = state;
    state = fold(state, e);
    return entryOf(e, before, state);
  });
}

function causeView(c: SuspensionCause): CauseView {
  return {
    description: c.description,
    byUser: c.requestedByUser,
    dueToError: c.dueToError,
    at: c.at,
    error: c.error,
    stage: c.stage,
    worker: c.worker,
    // `?? null`: a cause folded from a JSON history older than fingerprints has none.
    fingerprint: c.fingerprint ?? null,
    record: c.record && {
      ...c.record,
      valuePreview: c.record.valuePreview && redactPreview(c.record.valuePreview),
    },
    snapshotId: c.snapshotId,
  };
}

/**
 * The buttons a job's status allows, by the same table the coordinator decides with
 * (src/domain/transitions.ts). Skip and dead-letter need a failing record; a refusal the table
 * cannot foresee (no snapshot to export, a name in use) is the coordinator's to give, and the
 * page shows its reason.
 */
export function actionsFor(s: JobState): ActionName[] {
  const out: ActionName[] = [];
  if (allowed(s.status, 'JobSuspended')) out.push('suspend');
  if (allowed(s.status, 'JobResumed')) {
    out.push('resume');
    if ('suspensionCause' in s && s.suspensionCause.record) out.push('skip', 'dead-letter');
  }
  if (allowed(s.status, 'JobRestarted')) out.push('restart');
  if (allowed(s.status, 'SnapshotExportStarted')) out.push('export-snapshot');
  if (allowed(s.status, 'ConfigUpdated')) out.push('update-config');
  if (allowed(s.status, 'JobCancelled')) out.push('cancel');
  return out;
}
