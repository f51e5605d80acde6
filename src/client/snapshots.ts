import type { EventOf, JobEvent } from '../domain/events.js';
import { copyTopics } from '../domain/snapshot-copy.js';
import type { JobState } from '../domain/state.js';

/** One exported snapshot, as `sluice snapshots` lists it. */
export interface ExportedSnapshotInfo {
  name: string;
  jobId: string;
  jobName: string;
  snapshotId: string;
  /** When the export was recorded (epoch ms), and who sent it. */
  exportedAt: number;
  exportedBy: string;
  /**
   * False for a snapshot exported before exports copied state: it points at its job's live
   * topics, so it moves with the job and is gone once the job is cleaned up.
   */
  copied: boolean;
  /** Per stateful stage: state records and unread input records the snapshot holds. */
  stages: { stage: string; records: number; inputRecords: number }[];
  /** The snapshot's own topics (none for a pointer snapshot). */
  topics: string[];
}

/** The namespace's exported snapshots, newest first, from the folded log. */
export function listSnapshots(
  jobs: JobState[],
  history: (jobId: string) => JobEvent[],
): ExportedSnapshotInfo[] {
  const list: ExportedSnapshotInfo[] = [];
  for (const job of jobs) {
    const names = Object.keys(job.exportedSnapshots);
    if (names.length === 0) continue;
    const events = history(job.jobId);
    for (const name of names) {
      // The last export of that name: a deleted name can be exported again.
      const e = events.findLast(
        (x): x is EventOf<'SnapshotExported'> => x.type === 'SnapshotExported' && x.name === name,
      );
      if (!e) continue;
      const sum = (ns: number[]): number => ns.reduce((a, b) => a + b, 0);
      list.push({
        name,
        jobId: job.jobId,
        jobName: job.name,
        snapshotId: e.snapshotId,
        exportedAt: e.at,
        exportedBy: e.issuedBy,
        // `copy` is missing from events folded from JSON histories older than copies.
        copied: Boolean(e.copy),
        stages: (e.copy?.stages ?? []).map((s) => ({
          stage: s.stage,
          records: sum(s.records),
          inputRecords: sum(s.inputRecords),
        })),
        topics: e.copy ? copyTopics(e.copy) : [],
      });
    }
  }
  return list.sort((a, b) => b.exportedAt - a.exportedAt);
}
