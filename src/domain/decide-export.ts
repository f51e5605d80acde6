import { isValidName } from './config.js';
import { exportedSnapshot, type Cluster } from './cluster.js';
import { illegal, reject, type Decision } from './decision.js';
import type { SnapshotCopy } from './snapshot-copy.js';
import type { JobState } from './state.js';
import { isSuspended } from './status.js';

/**
 * An ExportSnapshot: accepted only from a suspended job, with a copy of its state made in its
 * current run at its last snapshot (docs/operations.md, "Exporting a snapshot").
 */
export function decideExport(
  cluster: Cluster,
  job: JobState,
  name: string,
  copy: SnapshotCopy | null,
): Decision {
  // Only a suspended job's changelogs stand still while the exporter copies them.
  if (!isSuspended(job.status))
    return illegal(job, 'export a snapshot', ['SUSPENDED', 'SUSPENDED_DUE_TO_ERROR']);
  if (!isValidName(name)) {
    return reject(
      'INVALID_ARGUMENT',
      `Snapshot name "${name}" must be letters, digits, ".", "_" or "-".`,
    );
  }
  if (exportedSnapshot(cluster, name))
    return reject(
      'SNAPSHOT_NAME_IN_USE',
      `A snapshot named "${name}" already exists; pick another name.`,
    );
  const snapshot = job.lastSnapshot;
  if (!snapshot)
    return reject(
      'NO_SNAPSHOT',
      `Job "${job.name}" has no committed snapshot yet (its guarantee is ${job.config.processingGuarantee}); there is nothing to export.`,
    );
  if (copy === null)
    return reject(
      'INVALID_ARGUMENT',
      `An export of job "${job.name}" must carry the copy of its state; export with \`sluice export-snapshot\` or job.exportSnapshot(), which copy the state before they send the command.`,
    );
  // The copy was read while the job was suspended in copy.run; a resume since (a new run)
  // may have moved the changelogs under it, so it might not be the state of any one moment.
  if (copy.run !== job.run || copy.snapshotId !== snapshot.snapshotId)
    return reject(
      'INVALID_ARGUMENT',
      `The copy for snapshot "${name}" was made in run ${copy.run} at snapshot ${copy.snapshotId}, but job "${job.name}" is now in run ${job.run} at snapshot ${snapshot.snapshotId}: it moved during the copy. Export again.`,
    );
  // The copy is complete and checked before this command is sent, so the job passes through
  // SUSPENDED_EXPORTING_SNAPSHOT and back in one transaction, which keeps the audit trail honest.
  return {
    kind: 'accepted',
    events: [
      { type: 'SnapshotExportStarted', jobId: job.jobId, name, snapshotId: snapshot.snapshotId },
      { type: 'SnapshotExported', jobId: job.jobId, name, snapshotId: snapshot.snapshotId, copy },
    ],
  };
}
