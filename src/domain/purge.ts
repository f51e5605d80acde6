import type { EventOf } from './events.js';
import type { JobState } from './state.js';

// What folding a purge does to a cluster, apart from the reducer: the job id is remembered as
// purged, with who purged it and when, and everything else the cluster held of the job goes.

/** What a reader keeps of a purged job: enough to say so, and by whom and when. */
export interface PurgedJob {
  name: string;
  /** Epoch ms of the purge. */
  at: number;
  issuedBy: string;
}

/**
 * The parts of a cluster a purge clears (a structural type, so this module need not import
 * cluster.ts, which imports it).
 */
export interface PurgeTarget {
  jobs: Map<string, JobState>;
  outcomes: Map<string, { jobId: string }>;
  dryRuns: Map<string, { jobId: string }>;
  commandsOf: Map<string, string[]>;
  endedCommands: Set<string>;
  purged: Map<string, PurgedJob>;
}

/**
 * Forgets a purged job: its state, its open dry runs, and the remembered outcomes of its
 * commands, so a reader that folded its whole history ends where one that reads the compacted
 * log (only the JobPurged event is left of the job) starts. The job id's next seq is kept by
 * the caller, like any other event's: a later event naming the id must not reuse a key.
 * Scanning the window of ended jobs' commands costs up to ENDED_COMMANDS_KEPT lookups, once
 * per purge, which is rare.
 */
export function forgetPurged(cluster: PurgeTarget, event: EventOf<'JobPurged'>): void {
  const { jobId } = event;
  cluster.jobs.delete(jobId);
  for (const id of cluster.commandsOf.get(jobId) ?? []) cluster.outcomes.delete(id);
  cluster.commandsOf.delete(jobId);
  for (const id of cluster.endedCommands) {
    if (cluster.outcomes.get(id)?.jobId !== jobId) continue;
    cluster.endedCommands.delete(id);
    cluster.outcomes.delete(id);
  }
  for (const [id, run] of cluster.dryRuns) if (run.jobId === jobId) cluster.dryRuns.delete(id);
  cluster.purged.set(jobId, { name: event.name, at: event.at, issuedBy: event.issuedBy });
}

/** "Job "x" (id) was purged on <time> by <who>": what a reader says of a purged job. */
export function describePurged(jobId: string, p: PurgedJob): string {
  return `Job "${p.name}" (${jobId}) was purged on ${new Date(p.at).toISOString()} by ${p.issuedBy}: its events are deleted from the job log`;
}
