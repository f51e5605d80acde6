/** An error as reported over the wire: enough to diagnose, without the live object. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack: string | null;
}

/** Where the failing record sits, with a bounded preview of its value. */
export interface RecordRef {
  topic: string;
  partition: number;
  /** A decimal string: Kafka offsets are 64-bit. */
  offset: string;
  key: string | null;
  valuePreview: string | null;
}

/** Why a job is suspended (by a user or by an error) or why it failed. */
export interface SuspensionCause {
  requestedByUser: boolean;
  dueToError: boolean;
  description: string;
  error: ErrorInfo | null;
  stage: string | null;
  worker: string | null;
  record: RecordRef | null;
  /** The snapshot a resume starts from, if any. */
  snapshotId: string | null;
  /** Epoch milliseconds. */
  at: number;
  /**
   * The fingerprint of the pipeline code that failed ({@link FailureReport.fingerprint}): a
   * resume compares it with what the live workers run. null for a user's suspension, a failure
   * that is not the code's, and a cause written before fingerprints (Avro's default); a cause
   * folded from a JSON history of that time may lack it altogether.
   */
  fingerprint: string | null;
}

/** A failure as a worker reports it; the coordinator turns it into a {@link SuspensionCause}. */
export interface FailureReport {
  description: string;
  error: ErrorInfo;
  stage: string | null;
  worker: string | null;
  record: RecordRef | null;
  /**
   * The fingerprint of the code that failed on the record (the worker's fingerprint of the
   * pipeline: docs/failure-handling.md, "Code fingerprints"). null when the failure is not the
   * code's: Kafka kept failing, or the run could not start; the same code may then be resumed.
   */
  fingerprint: string | null;
  /**
   * What the job's error policy chose: a rule naming SUSPEND or FAIL, or a spent error budget
   * (SUSPEND). null, as reports before policies have it: `suspendOnFailure` decides.
   */
  action?: 'SUSPEND' | 'FAIL' | null;
}

/** One source or state-topic partition's position in a snapshot. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** A committed snapshot: source offsets plus state-topic offsets. */
export interface SnapshotRef {
  snapshotId: string;
  sourceOffsets: PartitionOffset[];
  stateOffsets: PartitionOffset[];
  /** Epoch milliseconds. */
  at: number;
}

/** What to do with the failing record when resuming a job suspended due to an error. */
export const FAILING_RECORD_ACTIONS = ['RETRY', 'SKIP', 'DEAD_LETTER'] as const;
export type FailingRecordAction = (typeof FAILING_RECORD_ACTIONS)[number];
