/**
 * The console's HTTP API as the page sees it: plain JSON shapes, shared by the server and the
 * page. This file imports nothing, so the page's own build (src/console/page/tsconfig.json,
 * DOM and no Node) can compile it as well.
 */

/** A job status, as the job log spells it. */
export type StatusName = string;

/** One line of the job list. */
export interface JobRow {
  jobId: string;
  name: string;
  pipeline: string;
  status: StatusName;
  /** Suspended (by a user or an error): listed first, and marked. */
  suspended: boolean;
  /** COMPLETED, FAILED or CANCELLED. */
  ended: boolean;
  guarantee: string;
  submittedAt: number;
  submittedBy: string;
  updatedAt: number;
  run: number;
  workers: string[];
  /** From the workers' metrics endpoints the console was given; null when none reports the job. */
  metrics: JobMetrics | null;
}

/** A job's counters as the workers' Prometheus endpoints report them, summed over workers. */
export interface JobMetrics {
  recordsIn: number;
  recordsOut: number;
  lag: number;
  /** When the console scraped them: epoch ms. */
  at: number;
}

/** The failing record of a suspension or failure. */
export interface RecordView {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  valuePreview: string | null;
}

/** Why a job is suspended or failed. */
export interface CauseView {
  description: string;
  byUser: boolean;
  dueToError: boolean;
  at: number;
  error: { name: string; message: string; stack: string | null } | null;
  stage: string | null;
  worker: string | null;
  fingerprint: string | null;
  record: RecordView | null;
  snapshotId: string | null;
}

/** One event of a job's timeline, as `sluice history` prints it. */
export interface TimelineEntry {
  seq: number;
  at: number;
  type: string;
  /** The status the event led to, when it changed it. */
  status: StatusName | null;
  who: string;
  detail: string;
  /** A refused command: its rejection code. */
  rejected: string | null;
}

/** An exported snapshot of the job. */
export interface ExportedView {
  name: string;
  snapshotId: string;
  exportedAt: number;
  exportedBy: string;
  stages: { stage: string; records: number; inputRecords: number }[];
}

/** A live worker hosting the job's pipeline. */
export interface HostRow {
  workerId: string;
  fingerprint: string;
  seenAt: number;
  /** Whether it runs the code the job failed in; null when there is nothing to compare. */
  runsFailingCode: boolean | null;
}

/** Everything the job page shows. */
export interface JobDetail {
  row: JobRow;
  /** Where the job stands and what to do next, for this page's buttons. */
  nextStep: string;
  config: {
    suspendOnFailure: boolean;
    snapshotIntervalMs: number;
    args: Record<string, string>;
    initialSnapshotName: string | null;
    errorPolicy: unknown;
  };
  cause: CauseView | null;
  /** Which cause: a suspension's, or a failure's. */
  causeKind: 'suspension' | 'failure' | null;
  lastSnapshot: { snapshotId: string; at: number } | null;
  exported: ExportedView[];
  timeline: TimelineEntry[];
  /** How many earlier events the timeline leaves out. */
  timelineOmitted: number;
  hosts: HostRow[];
  /** The actions the job's status allows now. */
  actions: ActionName[];
  /** The job's metrics over the last scrapes, oldest first (empty without metrics targets). */
  metricsHistory: JobMetrics[];
}

/** What the page can ask of a job. */
export type ActionName =
  | 'suspend'
  | 'resume'
  | 'skip'
  | 'dead-letter'
  | 'cancel'
  | 'restart'
  | 'export-snapshot'
  | 'update-config';

/** A server-sent event: a job changed (its row, and the event that changed it), or was purged. */
export type StreamMessage =
  | { type: 'job'; row: JobRow; entry: TimelineEntry }
  | { type: 'removed'; jobId: string }
  | { type: 'metrics'; rows: { jobId: string; metrics: JobMetrics | null }[] };

/** Every error the API answers with. */
export interface ApiError {
  error: {
    code: string;
    message: string;
    /** For a command the coordinator refused: its rejection code and reason. */
    rejectionCode?: string;
    reason?: string;
  };
}

/** Who the console acts as, and the namespace it watches. */
export interface ConsoleInfo {
  namespace: string;
  issuedBy: string;
}
