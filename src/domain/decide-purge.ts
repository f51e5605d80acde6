import type { Cluster } from './cluster.js';
import { illegal, ok, reject, type Decision } from './decision.js';
import { describePurged } from './purge.js';
import type { JobState } from './state.js';
import { isTerminal, TERMINAL_STATUSES } from './status.js';

/**
 * A purge of `job`: only once it has ended, and only once no exported snapshot of it is left
 * (an export is recorded in the job's own events, and its copies are named after it: purging
 * the job would leave them with no record of where they came from, and `sluice snapshots
 * delete` could no longer find them). The tombstones are not part of the decision: the
 * coordinator derives them from the JobPurged event's seq (`purgedKeys`).
 */
export function decidePurge(job: JobState): Decision {
  if (!isTerminal(job.status)) return illegal(job, 'purge', TERMINAL_STATUSES);
  const exports = Object.keys(job.exportedSnapshots).sort();
  if (exports.length > 0)
    return reject(
      'SNAPSHOTS_EXIST',
      `Cannot purge job "${job.name}" (${job.jobId}): its exported snapshot${exports.length > 1 ? 's' : ''} ${exports.map((n) => `"${n}"`).join(', ')} still exist${exports.length > 1 ? '' : 's'}. Delete ${exports.length > 1 ? 'them' : 'it'} first with \`sluice snapshots delete <name>\`, then purge the job.`,
    );
  return ok([{ type: 'JobPurged', jobId: job.jobId, name: job.name, status: job.status }]);
}

/** The refusal of a command naming a job id the cluster holds no job for: purged, or never one. */
export function unknownJob(cluster: Cluster, jobId: string): Decision {
  const purged = cluster.purged.get(jobId);
  if (purged)
    return reject('UNKNOWN_JOB', `${describePurged(jobId, purged)}; nothing can be done to it.`);
  return reject('UNKNOWN_JOB', `No job has id "${jobId}".`);
}

/** The refusal of a submit under a purged job's id, or undefined: ids are never reused. */
export function purgedIdTaken(cluster: Cluster, jobId: string): Decision | undefined {
  const purged = cluster.purged.get(jobId);
  if (!purged) return undefined;
  return reject(
    'JOB_EXISTS',
    `${describePurged(jobId, purged)}; a job id is never used again (its seqs go on), so submit under another id.`,
  );
}
