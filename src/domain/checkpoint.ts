import { restoreJob, type Cluster, type Outcome } from './cluster.js';
import type { PurgedJob } from './purge.js';
import type { JobState } from './state.js';
import { isTerminal } from './status.js';

/**
 * One job as a checkpoint holds it: what folding its events up to then gave. The job log stays
 * the source of truth and the audit log; a checkpoint only saves a reader the replay of it.
 * JSON, not Avro: it is derived data, rebuilt from the log whenever it is missing or cannot be
 * read, and never read by anything but Sluice.
 */
export interface JobCheckpoint {
  v: 2;
  jobId: string;
  /**
   * null for a job id the log holds only refusals for (a command naming a job that does not
   * exist): its next seq must be kept all the same, or a later event would reuse a seq.
   */
  state: JobState | null;
  nextSeq: number;
  /** The outcomes of its commands still remembered (see Cluster.commandsOf). */
  outcomes: Outcome[];
  /** Its dry runs still open, with the workers that answered. */
  dryRuns: { requestId: string; answered: string[] }[];
  /**
   * Set for a purged job (its state is then null): who purged it and when. Left out otherwise,
   * and by writers older than purges, which read it as a job id known only from refusals.
   */
  purged?: PurgedJob;
}

/** Where a checkpoint's states stand in one partition of the job log: the next offset to read. */
export interface LogPosition {
  v: 2;
  partition: number;
  offset: string;
}

/**
 * 2: job states hold `snapshotCopies`. A reader skips records of any other version, and a
 * coordinator whose rebuild skipped any writes a whole checkpoint of its own version.
 */
export const CHECKPOINT_VERSION = 2;

/**
 * The checkpoint of a job of `cluster`. `endedOutcomes` are the remembered outcomes of ended
 * jobs' commands by job (the window is not indexed by job, so the caller gathers them once).
 */
export function checkpointOf(
  cluster: Cluster,
  jobId: string,
  endedOutcomes: ReadonlyMap<string, Outcome[]>,
): JobCheckpoint | undefined {
  const state = cluster.jobs.get(jobId) ?? null;
  const nextSeq = cluster.nextSeq.get(jobId);
  if (nextSeq === undefined) return undefined;
  const ids = cluster.commandsOf.get(jobId);
  const outcomes = ids
    ? ids.flatMap((id) => {
        const o = cluster.outcomes.get(id);
        return o ? [o] : [];
      })
    : (endedOutcomes.get(jobId) ?? []);
  const dryRuns = [...cluster.dryRuns]
    .filter(([, r]) => r.jobId === jobId)
    .map(([requestId, r]) => ({ requestId, answered: [...r.answered] }));
  const purged = cluster.purged.get(jobId);
  return {
    v: CHECKPOINT_VERSION,
    jobId,
    state,
    nextSeq,
    outcomes,
    dryRuns,
    ...(purged && { purged }),
  };
}

/** The remembered outcomes of ended jobs' commands, by job, for the jobs in `jobIds`. */
export function endedOutcomesOf(
  cluster: Cluster,
  jobIds: ReadonlySet<string>,
): Map<string, Outcome[]> {
  const by = new Map<string, Outcome[]>();
  for (const id of cluster.endedCommands) {
    const o = cluster.outcomes.get(id);
    if (!o || !jobIds.has(o.jobId)) continue;
    const list = by.get(o.jobId) ?? [];
    list.push(o);
    by.set(o.jobId, list);
  }
  return by;
}

/**
 * Folds checkpoints into an empty cluster: the state as of the positions they were written at.
 * Ended jobs' outcomes join the window oldest job first (by the job's last change), then the
 * window is trimmed as folding would have.
 */
export function clusterFromCheckpoints(cluster: Cluster, jobs: Iterable<JobCheckpoint>): Cluster {
  const ended: JobCheckpoint[] = [];
  for (const c of jobs) {
    if (!c.state || isTerminal(c.state.status)) ended.push(c);
    else restoreJob(cluster, c.jobId, c.state, c.nextSeq, c.outcomes, c.dryRuns);
  }
  const endedAt = (c: JobCheckpoint): number => c.state?.updatedAt ?? c.purged?.at ?? 0;
  ended.sort((a, b) => endedAt(a) - endedAt(b));
  for (const c of ended)
    restoreJob(cluster, c.jobId, c.state, c.nextSeq, c.outcomes, c.dryRuns, c.purged);
  return cluster;
}

/** A checkpoint record's value, or undefined for one this version cannot read (then the log is read instead). */
export function parseCheckpoint(text: string): JobCheckpoint | LogPosition | undefined {
  try {
    const value = JSON.parse(text) as { v?: unknown; state?: unknown; partition?: unknown };
    if (value.v !== CHECKPOINT_VERSION) return undefined;
    if (typeof value.partition === 'number') return value as LogPosition;
    if (typeof (value as { jobId?: unknown }).jobId === 'string' && 'state' in value)
      return value as JobCheckpoint;
    return undefined;
  } catch {
    return undefined;
  }
}
