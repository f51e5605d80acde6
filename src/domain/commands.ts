import type { FailingRecordAction, FailureReport, PartitionOffset } from './cause.js';
import type { JobConfig, JobConfigDelta } from './config.js';

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
  ResumeJob: { failingRecord: FailingRecordAction; deadLetterTopic: string | null };
  CancelJob: Record<never, never>;
  RestartJob: Record<never, never>;
  ExportSnapshot: { name: string };
  UpdateConfig: { delta: JobConfigDelta };
  // Sent by workers, not users.
  ReportStarted: { worker: string };
  ReportSnapshot: {
    worker: string;
    snapshotId: string;
    sourceOffsets: PartitionOffset[];
    stateOffsets: PartitionOffset[];
  };
  ReportFailure: { failure: FailureReport };
  ReportCompleting: { worker: string };
  ReportCompleted: { worker: string };
}

export type CommandType = keyof CommandPayloads;

export const COMMAND_TYPES = [
  'SubmitJob',
  'SuspendJob',
  'ResumeJob',
  'CancelJob',
  'RestartJob',
  'ExportSnapshot',
  'UpdateConfig',
  'ReportStarted',
  'ReportSnapshot',
  'ReportFailure',
  'ReportCompleting',
  'ReportCompleted',
] as const satisfies readonly CommandType[];

/** A command on the control topic. */
export type Command = {
  [K in CommandType]: CommandEnvelope & { type: K } & CommandPayloads[K];
}[CommandType];

/** The command of one type. */
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;
