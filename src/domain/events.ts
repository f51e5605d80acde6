import type { FailingRecordAction, PartitionOffset, RecordRef, SuspensionCause } from './cause.js';
import type { JobConfig, JobConfigDelta } from './config.js';
import type { ErrorCounts } from './error-counts.js';
import type { DryRunAnswer } from './dry-run-answer.js';
import type { SnapshotCopy } from './snapshot-copy.js';

/** Fields every lifecycle event carries. */
export interface EventEnvelope {
  /** `<jobId>/<seq>`: unique, so compaction never drops history; a purge writes tombstones. */
  eventId: string;
  jobId: string;
  /** Position in the job's own history, from 0. */
  seq: number;
  /** The command this event answers. */
  commandId: string;
  issuedBy: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Why a command was refused, as a stable code plus a sentence. */
export const REJECTION_CODES = [
  'MALFORMED',
  'UNKNOWN_JOB',
  'JOB_EXISTS',
  'NAME_IN_USE',
  'ILLEGAL_TRANSITION',
  'NO_SNAPSHOT',
  'SNAPSHOT_NAME_IN_USE',
  'UNKNOWN_SNAPSHOT',
  'INVALID_ARGUMENT',
  /** A report of a run that a resume or a restart has replaced (see `JobState.run`). */
  'STALE_REPORT',
  /** A purge of a job whose exported snapshots still exist: they are deleted first. */
  'SNAPSHOTS_EXIST',
  /**
   * A command read from the topic of the other writer: a report on `<ns>.control` (past the
   * cut-over, see domain/channels.ts), or an operator's command on `<ns>.reports`.
   */
  'WRONG_TOPIC',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Each event type's own fields. */
export interface EventPayloads {
  JobSubmitted: { pipeline: string; config: JobConfig };
  JobStarted: { worker: string };
  SnapshotCommitted: {
    snapshotId: string;
    worker: string;
    sourceOffsets: PartitionOffset[];
    stateOffsets: PartitionOffset[];
    /**
     * Per stage, what the job skipped and dead-lettered since it started, as of this snapshot.
     * Avro reads [] for a snapshot written before the counts; a JSON history may lack it.
     */
    errorCounts?: ErrorCounts;
  };
  JobSuspended: { cause: SuspensionCause };
  JobSuspendedDueToError: { cause: SuspensionCause };
  /**
   * `record` is the record the job was suspended on, so workers know what to skip or
   * dead-letter. `acceptDataLoss`: the resume goes on past records deleted while the job was
   * stopped (the envelope's `issuedBy` says who accepted that).
   */
  JobResumed: {
    failingRecord: FailingRecordAction;
    deadLetterTopic: string | null;
    record: RecordRef | null;
    acceptDataLoss: boolean;
    /** The resume overrode the same-code check (the envelope's `issuedBy` says who). */
    force: boolean;
  };
  JobRestarted: Record<never, never>;
  JobCancelled: Record<never, never>;
  JobCompleting: { worker: string };
  JobCompleted: Record<never, never>;
  JobFailed: { cause: SuspensionCause };
  SnapshotExportStarted: { name: string; snapshotId: string };
  /** `copy` is null for a snapshot exported before exports copied state (a pointer to the job's topics). */
  SnapshotExported: { name: string; snapshotId: string; copy: SnapshotCopy | null };
  SnapshotDeleted: { name: string };
  ConfigUpdated: { delta: JobConfigDelta; config: JobConfig };
  /**
   * A dry run of a resume was asked for, on `record` (the suspension cause's). An audit entry:
   * it changes nothing in the job's state, and the live hosts of its pipeline answer it.
   */
  DryRunRequested: { requestId: string; record: RecordRef };
  /** One worker's answer to a dry run; an audit entry too. */
  DryRunCompleted: DryRunAnswer;
  /**
   * An ended job was purged: every reader drops its state, and the coordinator wrote, in the
   * same transaction, a tombstone for each of its earlier events (`<jobId>/0` to
   * `<jobId>/<seq - 1>`), which compaction then removes. This event's own key is never
   * tombstoned: the log keeps who purged what (`issuedBy`) and when (`at`), and a reader that
   * reads the compacted log still learns the job id's next seq from it. `name` and `status`
   * (the status it ended in) keep the audit entry readable once the rest is gone.
   */
  JobPurged: { name: string; status: string };
  CommandRejected: {
    commandType: string;
    code: RejectionCode;
    reason: string;
    /** Where the command came from on the control topic, so an auditor can find the raw record. */
    source: { partition: number; offset: string } | null;
    /** Base64 of the first bytes of a record that could not be decoded. */
    rawPreview: string | null;
  };
}

export type KnownEventType = keyof EventPayloads;

export const EVENT_TYPES = [
  'JobSubmitted',
  'JobStarted',
  'SnapshotCommitted',
  'JobSuspended',
  'JobSuspendedDueToError',
  'JobResumed',
  'JobRestarted',
  'JobCancelled',
  'JobCompleting',
  'JobCompleted',
  'JobFailed',
  'SnapshotExportStarted',
  'SnapshotExported',
  'ConfigUpdated',
  'CommandRejected',
  'SnapshotDeleted',
  'DryRunRequested',
  'DryRunCompleted',
  'JobPurged',
] as const satisfies readonly KnownEventType[];

/**
 * Events that are kept in a job's history and change nothing else in its state (the reducer
 * only counts them): a rejection, and a dry run's request and answers.
 */
export const AUDIT_EVENTS = [
  'CommandRejected',
  'DryRunRequested',
  'DryRunCompleted',
] as const satisfies readonly KnownEventType[];
export type AuditEventType = (typeof AUDIT_EVENTS)[number];

/** True for an event the reducer only counts (see {@link AUDIT_EVENTS}). */
export function isAudit(event: JobEvent): event is EventOf<AuditEventType> {
  return (AUDIT_EVENTS as readonly string[]).includes(event.type);
}

/** An event written by a newer Sluice that this reader does not know: kept and reported, never dropped. */
export interface UnknownEvent extends EventEnvelope {
  type: 'Unknown';
  /** The writer's name for the event type. */
  originalType: string;
  payload: unknown;
}

/** A known lifecycle event. */
export type KnownEvent = {
  [K in KnownEventType]: EventEnvelope & { type: K } & EventPayloads[K];
}[KnownEventType];

/** Any event in the job log. */
export type JobEvent = KnownEvent | UnknownEvent;

/** The event of one type. */
export type EventOf<K extends KnownEventType> = Extract<KnownEvent, { type: K }>;

/** Fields of an event before the log assigns its place (seq, eventId). */
export type EventDraft = {
  [K in KnownEventType]: { type: K; jobId: string } & EventPayloads[K];
}[KnownEventType];

/** The events that end a job: after them its tasks stop for good and its state may go. */
export const ENDING_EVENTS = [
  'JobCancelled',
  'JobCompleted',
  'JobFailed',
] as const satisfies readonly KnownEventType[];

/** True for an event that ends its job. */
export function endsJob(event: JobEvent): boolean {
  return (ENDING_EVENTS as readonly string[]).includes(event.type);
}

/**
 * The record keys a purge tombstones: every earlier event of the job, `<jobId>/0` up to the
 * purge's own seq, which is kept. Derived from the event alone, so `decide` stays pure and any
 * reader can tell what a purge removed.
 */
export function purgedKeys(event: EventOf<'JobPurged'>): string[] {
  const keys: string[] = [];
  for (let seq = 0; seq < event.seq; seq++) keys.push(`${event.jobId}/${seq}`);
  return keys;
}
