import type { RecordPolicy } from './policy.js';
import type { ReadFailure, TaskOpenFailure } from './failure.js';
import type { Clock } from '../domain/clock.js';
import type { ResumePlan } from '../domain/resume-plan.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import type { BatchControl as KafkaBatchControl, ConsumedRecord, Kafka } from '../kafka/port.js';
import type { RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { JobMetrics } from '../observability/metrics.js';
import type { ChunkSpec } from './chunk.js';
import type { HopTable } from './join-tables.js';

/** What a hop's chunks need of their batch: the consumer's control, and where the batch ends. */
export interface BatchControl extends KafkaBatchControl {
  /** The offset of the batch's last record handed to the hop. */
  lastDelivered: string | undefined;
  /** The batch's last offset, past records the hop never sees: commit markers, aborted records. */
  end: string;
}

/** One hop of a job: input topics, the stages up to the next repartition, one output. */
export interface HopSpec extends ChunkSpec {
  index: number;
  inputs: string[];
  changelogs: { topic: string; stage: string; exact?: boolean }[];
  /** The tables the hop's join stages read (join-tables.ts). */
  tables?: HopTable[];
  groupId: string;
  /** How long failing commits are retried before the job is told. */
  retry: RetryPolicy;
  /** The input is the job's repartition topic: processed records are deleted (purge.ts). */
  purgeInput?: boolean;
}

/** What a hop tells its job runner. */
export interface HopEvents {
  /** The first assignment is restored and processing starts. */
  started(): void;
  /**
   * A record failed; the hop is frozen already. `heartbeat` keeps this worker's membership of
   * the hop's group while the runner waits: the failing partition must not move to another
   * worker, which would meet the same record and fail again.
   */
  failed(
    err: unknown,
    topic: string,
    partition: number,
    message: ConsumedRecord,
    heartbeat: () => Promise<void>,
  ): Promise<void>;
  /**
   * Tasks could not be opened (their state restored, their producer initialised) with an
   * error that is not retried, or past the retry budget; the hop is frozen already.
   */
  cannotOpen(
    err: TaskOpenFailure,
    attempts: number,
    elapsedMs: number,
    heartbeat: () => Promise<void>,
  ): Promise<void>;
  /**
   * The hop's consumer kept crashing past the retry budget, or stopped for good; the hop is
   * frozen already.
   */
  cannotRead(err: ReadFailure, attempts: number, elapsedMs: number): Promise<void>;
}

/** What a hop is made of. */
export interface HopOptions {
  kafka: Kafka;
  spec: HopSpec;
  guarantee: ProcessingGuarantee;
  /** What this run does with the record an earlier run failed on. */
  plan: ResumePlan;
  jobId: string;
  /** The job's name, for messages. */
  jobName: string;
  events: HopEvents;
  logger: Logger;
  clock: Clock;
  metrics?: JobMetrics;
  /**
   * EXACTLY_ONCE: sweep each task the first time this hop opens it (see sweep in open.ts), not
   * only after a failed commit here. For runs after the first: the run before may have ended
   * on a commit that failed in a broker crash, on this worker or another.
   */
  sweepOnFirstOpen?: boolean;
  /** The job's error policy on this worker, shared by its hops; none: failures stop the job. */
  policy?: RecordPolicy | undefined;
}
