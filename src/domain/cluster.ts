import { apply } from './apply.js';
import { endsJob, type EventDraft, type JobEvent, type RejectionCode } from './events.js';
import type { JobState } from './state.js';
import { isTerminal } from './status.js';

/** What became of one command: the events it produced, or why it was refused. */
export interface Outcome {
  commandId: string;
  jobId: string;
  accepted: boolean;
  eventIds: string[];
  rejection: { code: RejectionCode; reason: string } | null;
}

/**
 * Every job's state plus the indexes decisions need: the next seq per job id, and each command's
 * outcome (for idempotence). Built by folding the whole job log with {@link fold}.
 */
export interface Cluster {
  jobs: Map<string, JobState>;
  nextSeq: Map<string, number>;
  outcomes: Map<string, Outcome>;
  /**
   * The dry runs accepted (`DryRunRequested`), by request id, and which workers answered each
   * (`DryRunCompleted`): a report is decided against it. A job's entries go when the job ends.
   */
  dryRuns: Map<string, { jobId: string; answered: Set<string> }>;
}

/** An empty cluster: the state before the first event. */
export function emptyCluster(): Cluster {
  return { jobs: new Map(), nextSeq: new Map(), outcomes: new Map(), dryRuns: new Map() };
}

/**
 * True for an event the state already holds: one a reader is given again, after its consumer
 * restarted (a broker restart makes it read the log again from the start).
 */
export function alreadyFolded(cluster: Cluster, event: JobEvent): boolean {
  return event.seq < (cluster.nextSeq.get(event.jobId) ?? 0);
}

/** Folds one event into the cluster. Mutates it in place: the coordinator folds millions of events. */
export function fold(cluster: Cluster, event: JobEvent): Cluster {
  // An event re-delivered (a reader restarted mid-batch) is already in the state.
  if (alreadyFolded(cluster, event)) return cluster;
  const next = apply(cluster.jobs.get(event.jobId), event);
  if (next) cluster.jobs.set(event.jobId, next);
  cluster.nextSeq.set(event.jobId, Math.max(cluster.nextSeq.get(event.jobId) ?? 0, event.seq + 1));
  foldDryRun(cluster, event);
  const known = cluster.outcomes.get(event.commandId);
  if (known) {
    known.eventIds.push(event.eventId);
  } else {
    const rejected = event.type === 'CommandRejected';
    cluster.outcomes.set(event.commandId, {
      commandId: event.commandId,
      jobId: event.jobId,
      accepted: !rejected,
      eventIds: [event.eventId],
      rejection: rejected ? { code: event.code, reason: event.reason } : null,
    });
  }
  return cluster;
}

/** Keeps {@link Cluster.dryRuns}: requests in, answers noted, an ended job's requests out. */
function foldDryRun(cluster: Cluster, event: JobEvent): void {
  if (event.type === 'DryRunRequested') {
    cluster.dryRuns.set(event.requestId, { jobId: event.jobId, answered: new Set() });
  } else if (event.type === 'DryRunCompleted') {
    cluster.dryRuns.get(event.requestId)?.answered.add(event.worker);
  } else if (endsJob(event) && cluster.dryRuns.size > 0) {
    for (const [id, request] of cluster.dryRuns)
      if (request.jobId === event.jobId) cluster.dryRuns.delete(id);
  }
}

/** The live (non-terminal) job with this name, if any: names are unique among live jobs. */
export function liveJobNamed(cluster: Cluster, name: string): JobState | undefined {
  for (const job of cluster.jobs.values()) {
    if (job.name === name && !isTerminal(job.status)) return job;
  }
  return undefined;
}

/** The job and snapshot id behind an exported snapshot name. */
export function exportedSnapshot(
  cluster: Cluster,
  name: string,
): { jobId: string; snapshotId: string } | undefined {
  for (const job of cluster.jobs.values()) {
    const snapshotId = job.exportedSnapshots[name];
    if (snapshotId !== undefined) return { jobId: job.jobId, snapshotId };
  }
  return undefined;
}

/** Envelope fields the coordinator supplies when it appends a decision's events. */
export interface StampContext {
  commandId: string;
  issuedBy: string;
  at: number;
}

/**
 * Gives drafted events their place in each job's history (seq, and the unique eventId that is
 * also the record key). Does not fold them: the caller folds after the append commits.
 */
export function stamp(cluster: Cluster, drafts: EventDraft[], ctx: StampContext): JobEvent[] {
  const seqs = new Map<string, number>();
  return drafts.map((draft) => {
    const seq = seqs.get(draft.jobId) ?? cluster.nextSeq.get(draft.jobId) ?? 0;
    seqs.set(draft.jobId, seq + 1);
    return {
      ...draft,
      seq,
      eventId: `${draft.jobId}/${seq}`,
      commandId: ctx.commandId,
      issuedBy: ctx.issuedBy,
      at: ctx.at,
    };
  });
}

/**
 * The longest rejection reason kept in an event, in characters. A validation error can list
 * every unknown field of a record: 100,000 of them would make a reason of megabytes.
 */
export const MAX_REASON_CHARS = 1_000;

/** The longest command type name kept in a rejection (a garbage record can name anything). */
const MAX_TYPE_CHARS = 200;

/** The rejection event for a command that could not be applied; long texts are cut. */
export function rejectionDraft(
  jobId: string,
  commandType: string,
  code: RejectionCode,
  reason: string,
  source: { partition: number; offset: string } | null = null,
  rawPreview: string | null = null,
): EventDraft {
  const kept =
    reason.length > MAX_REASON_CHARS
      ? `${reason.slice(0, MAX_REASON_CHARS)}… (${reason.length - MAX_REASON_CHARS} more characters)`
      : reason;
  return {
    type: 'CommandRejected',
    jobId,
    commandType: commandType.slice(0, MAX_TYPE_CHARS),
    code,
    reason: kept,
    source,
    rawPreview,
  };
}
