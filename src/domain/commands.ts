import type { FailingRecordAction, FailureReport, PartitionOffset } from './cause.js';
import type { JobConfig, JobConfigDelta } from './config.js';
import type { ErrorCounts } from './error-counts.js';
import type { DryRunAnswer } from './dry-run-answer.js';
import type { SnapshotCopy } from './snapshot-copy.js';

/** Fields every command carries. */
export interface CommandEnvelope {
  /** Unique per command; a repeated command changes nothing and keeps its first outcome. */
  commandId: string;
  jobId: string;
  /** Who issued it: configuration, the CLI user, or the Kafka principal. */
  issuedBy: string;
  /** Epoch milliseconds when it was issued. */
  at: number;
}

/** Each command type's own fields. */
export interface CommandPayloads {
  SubmitJob: { pipeline: string; config: JobConfig };
  SuspendJob: Record<never, never>;
  ResumeJob: {
    failingRecord: FailingRecordAction;
    deadLetterTopic: string | null;
    /**
     * Go on although records past the job's committed offsets were deleted while it was
     * stopped: the run starts at each such partition's earliest offset, and the deleted records
     * are skipped. Without it, a run that would skip them fails to start with
     * `SLUICE_SOURCE_DATA_LOST`.
     */
    acceptDataLoss: boolean;
    /**
     * Resume although every live worker hosting the pipeline runs the code the job failed
     * with: the client refuses such a resume (`SLUICE_RESUME_SAME_CODE`) unless forced. The
     * coordinator records it on the event, so the log says who overrode the check.
     */
    force: boolean;
  };
  CancelJob: Record<never, never>;
  RestartJob: Record<never, never>;
  /**
   * Records an export the sender has already copied (`copy`); null, as a JSON command or a
   * sender older than copies writes it, is refused: see src/domain/snapshot-copy.ts.
   */
  ExportSnapshot: { name: string; copy: SnapshotCopy | null };
  /** Forgets an exported snapshot; sent for the job that exported it. */
  DeleteSnapshot: { name: string };
  UpdateConfig: { delta: JobConfigDelta };
  /**
   * Asks every live worker hosting the job's pipeline to run the record the job was suspended
   * on through its current code, changing nothing (docs/failure-handling.md, "Dry run").
   * `requestId` names the request in the answers.
   */
  RequestDryRun: { requestId: string };
  /** A worker's answer to a dry run. Not a report on a run: the job is suspended, none runs. */
  ReportDryRun: DryRunAnswer;
  /**
   * Deletes an ended job from the log: its events are tombstoned, and every reader forgets it
   * (docs/operations.md, "Purging ended jobs"). Refused for a job that has not ended, and for
   * one whose exported snapshots still exist.
   */
  PurgeJob: Record<never, never>;
  // Sent by workers (snapshots by the coordinator), not users.
  ReportStarted: { worker: string } & RunOfReport;
  ReportSnapshot: {
    worker: string;
    snapshotId: string;
    sourceOffsets: PartitionOffset[];
    stateOffsets: PartitionOffset[];
    /** Per stage, what the job skipped and dead-lettered so far; none when left out. */
    errorCounts?: ErrorCounts;
  } & RunOfReport;
  ReportFailure: { failure: FailureReport } & RunOfReport;
  ReportCompleting: { worker: string } & RunOfReport;
  ReportCompleted: { worker: string } & RunOfReport;
}

/** The run a report belongs to. */
export interface RunOfReport {
  /**
   * The job's run (`JobState.run`) when the sender's tasks started, or when the coordinator
   * read a snapshot's positions: a report of a run that has been replaced is refused as
   * `STALE_REPORT`. Absent from reports written before runs existed, which are decided as before.
   */
  run?: number;
}

export type CommandType = keyof CommandPayloads;

export const COMMAND_TYPES = [
  'SubmitJob',
  'SuspendJob',
  'ResumeJob',
  'CancelJob',
  'RestartJob',
  'ExportSnapshot',
  'DeleteSnapshot',
  'UpdateConfig',
  'RequestDryRun',
  'ReportDryRun',
  'PurgeJob',
  'ReportStarted',
  'ReportSnapshot',
  'ReportFailure',
  'ReportCompleting',
  'ReportCompleted',
] as const satisfies readonly CommandType[];

/** The commands that report on a run of a job: each may name its run. */
export const REPORT_TYPES = [
  'ReportStarted',
  'ReportSnapshot',
  'ReportFailure',
  'ReportCompleting',
  'ReportCompleted',
] as const satisfies readonly CommandType[];
export type ReportType = (typeof REPORT_TYPES)[number];

/**
 * What workers send, on `<ns>.reports`: reports on a run, and answers to a dry run. Everything
 * else is an operator's command, on `<ns>.control` (see domain/channels.ts).
 */
export const WORKER_COMMAND_TYPES = [
  ...REPORT_TYPES,
  'ReportDryRun',
] as const satisfies readonly CommandType[];
export type WorkerCommandType = (typeof WORKER_COMMAND_TYPES)[number];

/** A command on the control topic. */
export type Command = {
  [K in CommandType]: CommandEnvelope & { type: K } & CommandPayloads[K];
}[CommandType];

/** The command of one type. */
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

/** True for a worker's (or, for snapshots, the coordinator's) report on a run of a job. */
export function isReport(command: Command): command is CommandOf<ReportType> {
  return (REPORT_TYPES as readonly string[]).includes(command.type);
}
