import type { PartitionOffset } from './cause.js';
import type { JobState } from './state.js';

/**
 * One stateful stage as an exported snapshot holds it: a copy of its changelog, and of the
 * records it had not yet read from its repartition topic, in topics of the snapshot's own.
 * Counts are per partition (index = partition): the copies are written without transactions,
 * so a copy's end offsets equal them, which is how a reader checks a copy is whole.
 */
export interface StageCopy {
  stage: string;
  /** `<ns>.snapshot.<name>.<stage>`: the changelog's records, keys and partitions kept. */
  topic: string;
  records: number[];
  /** The source changelog's ends the copy read up to (read_committed). */
  stateOffsets: PartitionOffset[];
  /** `<ns>.snapshot-input.<name>.<stage>`, or null when the stage had no repartition topic. */
  inputTopic: string | null;
  inputRecords: number[];
}

/**
 * What an export copied, sent with `ExportSnapshot` and kept on `SnapshotExported`. The copy is
 * made by the exporter (the client) before the command is sent, while the job is suspended in
 * run `run`; the coordinator records it only if the job is still suspended in that run, so the
 * changelogs cannot have moved during the copy. A snapshot exported before copies existed has
 * none (null): it points at its job's live topics.
 */
export interface SnapshotCopy {
  run: number;
  snapshotId: string;
  /** The job's committed source offsets at export: where a job started from it begins. */
  sourceOffsets: PartitionOffset[];
  stages: StageCopy[];
}

/** Every topic a copy wrote. */
export function copyTopics(copy: SnapshotCopy): string[] {
  return copy.stages.flatMap((s) => (s.inputTopic === null ? [s.topic] : [s.topic, s.inputTopic]));
}

/** How many records a copy holds, state and unread inputs. */
export function copyRecords(copy: SnapshotCopy): { state: number; input: number } {
  const sum = (ns: number[]): number => ns.reduce((a, b) => a + b, 0);
  return {
    state: sum(copy.stages.map((s) => sum(s.records))),
    input: sum(copy.stages.map((s) => sum(s.inputRecords))),
  };
}

/**
 * The job's exported snapshots that point at its live topics (exported before copies): while
 * any is left, the job's topics must outlive it. `copy` is missing from events folded from
 * JSON histories older than copies, so a missing copy counts as none.
 */
export function pointerSnapshots(job: JobState): string[] {
  return Object.keys(job.exportedSnapshots).filter((name) => !job.snapshotCopies[name]);
}
