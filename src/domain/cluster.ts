import { apply } from './apply.js';
import { endsJob, type EventDraft, type JobEvent, type RejectionCode } from './events.js';
import { forgetPurged, type PurgedJob } from './purge.js';
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
  /**
   * Indexes a decision would otherwise find by scanning every job, which made a coordinator's
   * cost per command grow with the jobs its log ever held: live jobs by name, exported
   * snapshots by name.
   */
  /**
   * A set per name: a log folded in order has one live job per name, but a cluster restored
   * from a checkpoint whose states were written at different times (a checkpoint cut short
   * between transactions) can hold two for a while, until the tail ends the stale one.
   */
  liveNames: Map<string, Set<string>>;
  exports: Map<string, { jobId: string; snapshotId: string }>;
  /**
   * Bounds {@link outcomes}: the newest ids of a live job's commands (KEPT_PER_LIVE_JOB) are
   * kept with it until it ends; the others join `endedCommands` (oldest first), of which the
   * newest `keepEnded` are kept. A repeat of a command older than that is decided again:
   * refused against an ended job, a snapshot report or a state report already past, harmlessly.
   */
  commandsOf: Map<string, string[]>;
  endedCommands: Set<string>;
  keepEnded: number;
  /**
   * Purged job ids, with who purged each and when, so a reader can say a job was purged rather
   * than that it never existed, and a submit cannot take the id again. Not bounded: an entry is
   * about a hundred bytes where the job's state was kilobytes, and `nextSeq` already keeps one
   * entry per job id for ever.
   */
  purged: Map<string, PurgedJob>;
}

/** How many command ids of ended jobs a cluster remembers, so a late repeat stays a no-op. */
export const ENDED_COMMANDS_KEPT = 100_000;

/** How many of a live job's newest command ids are kept with it; older ones join the window. */
export const KEPT_PER_LIVE_JOB = 20;

/** An empty cluster: the state before the first event. */
export function emptyCluster(keepEnded = ENDED_COMMANDS_KEPT): Cluster {
  return {
    jobs: new Map(),
    nextSeq: new Map(),
    outcomes: new Map(),
    dryRuns: new Map(),
    liveNames: new Map(),
    exports: new Map(),
    commandsOf: new Map(),
    endedCommands: new Set(),
    keepEnded,
    purged: new Map(),
  };
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
  const before = cluster.jobs.get(event.jobId);
  const next = apply(before, event);
  if (next) cluster.jobs.set(event.jobId, next);
  if (next !== before) index(cluster, event.jobId, before, next);
  cluster.nextSeq.set(event.jobId, Math.max(cluster.nextSeq.get(event.jobId) ?? 0, event.seq + 1));
  // A purge the reducer accepted (it ignores one of a live job, which no coordinator writes),
  // or the first event of a job whose history compaction has removed: the same either way.
  if (event.type === 'JobPurged' && next === undefined) forgetPurged(cluster, event);
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
    keepOutcome(cluster, event.jobId, event.commandId, next);
  }
  if (endsJob(event)) forgetEnded(cluster, event.jobId);
  return cluster;
}

/**
 * Puts one job back as a checkpoint saved it (see domain/checkpoint.ts): its state, next seq,
 * remembered outcomes and open dry runs, with the indexes (and, for a purged job, the purge). Ended jobs are to be restored after
 * live ones, oldest first, so their commands join the window in about the order they ended.
 */
export function restoreJob(
  cluster: Cluster,
  jobId: string,
  state: JobState | null,
  nextSeq: number,
  outcomes: readonly Outcome[],
  dryRuns: readonly { requestId: string; answered: readonly string[] }[],
  purged?: PurgedJob,
): void {
  const before = cluster.jobs.get(jobId);
  if (state) cluster.jobs.set(jobId, state);
  cluster.nextSeq.set(jobId, nextSeq);
  if (purged) cluster.purged.set(jobId, purged);
  index(cluster, jobId, before, state ?? before);
  for (const o of outcomes) {
    cluster.outcomes.set(o.commandId, { ...o, eventIds: [...o.eventIds] });
    keepOutcome(cluster, jobId, o.commandId, state ?? undefined);
  }
  for (const r of dryRuns)
    cluster.dryRuns.set(r.requestId, { jobId, answered: new Set(r.answered) });
}

/** Notes a new outcome's id: with its live job, or among the ended ones (no job, or an ended one). */
function keepOutcome(
  cluster: Cluster,
  jobId: string,
  commandId: string,
  job: JobState | undefined,
): void {
  if (job && !isTerminal(job.status)) {
    const ids = cluster.commandsOf.get(jobId);
    if (!ids) {
      cluster.commandsOf.set(jobId, [commandId]);
      return;
    }
    ids.push(commandId);
    // A long-running job sends a snapshot report every few seconds: its oldest ids join the
    // shared window, so neither memory nor the job's checkpoint record grows with its age.
    if (ids.length <= KEPT_PER_LIVE_JOB) return;
    const oldest = ids.shift();
    if (oldest !== undefined) cluster.endedCommands.add(oldest);
    trimEnded(cluster);
    return;
  }
  cluster.endedCommands.add(commandId);
  trimEnded(cluster);
}

/** A job ended: its commands' ids join the bounded window of ended jobs' commands. */
function forgetEnded(cluster: Cluster, jobId: string): void {
  for (const id of cluster.commandsOf.get(jobId) ?? []) cluster.endedCommands.add(id);
  cluster.commandsOf.delete(jobId);
  trimEnded(cluster);
}

function trimEnded(cluster: Cluster): void {
  // A Set iterates in insertion order: the first is the oldest.
  for (const id of cluster.endedCommands) {
    if (cluster.endedCommands.size <= cluster.keepEnded) break;
    cluster.endedCommands.delete(id);
    cluster.outcomes.delete(id);
  }
}

/** Keeps the name and export indexes in step with one job's change. */
function index(
  cluster: Cluster,
  jobId: string,
  before: JobState | undefined,
  after: JobState | undefined,
): void {
  if (before && !isTerminal(before.status)) {
    const ids = cluster.liveNames.get(before.name);
    ids?.delete(jobId);
    if (ids?.size === 0) cluster.liveNames.delete(before.name);
  }
  if (after && !isTerminal(after.status)) {
    const ids = cluster.liveNames.get(after.name);
    if (ids) ids.add(jobId);
    else cluster.liveNames.set(after.name, new Set([jobId]));
  }
  const was = before?.exportedSnapshots ?? {};
  const now = after?.exportedSnapshots ?? {};
  if (was === now) return;
  for (const name of Object.keys(was))
    if (!(name in now) && cluster.exports.get(name)?.jobId === jobId) cluster.exports.delete(name);
  for (const [name, snapshotId] of Object.entries(now))
    if (was[name] !== snapshotId) cluster.exports.set(name, { jobId, snapshotId });
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
  const [jobId] = cluster.liveNames.get(name) ?? [];
  return jobId === undefined ? undefined : cluster.jobs.get(jobId);
}

/** The job and snapshot id behind an exported snapshot name. */
export function exportedSnapshot(
  cluster: Cluster,
  name: string,
): { jobId: string; snapshotId: string } | undefined {
  return cluster.exports.get(name);
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
