import type { SuspensionCause } from './cause.js';
import { SluiceError } from './errors.js';
import { describePurged, type PurgedJob } from './purge.js';
import type { RejectionCode } from './events.js';
import type { JobStatus } from './status.js';

/** `join()` rejects with this when the job is suspended due to an error. */
export class JobSuspendedError extends SluiceError {
  constructor(
    readonly jobId: string,
    readonly suspensionCause: SuspensionCause,
  ) {
    super(
      'SLUICE_JOB_SUSPENDED',
      `Job ${jobId} was suspended due to an error: ${describeCause(suspensionCause)}. Fix the cause, then resume it (or cancel it).`,
      {
        details: { jobId, suspensionCause },
      },
    );
    this.name = 'JobSuspendedError';
  }
}

/** `join()` rejects with this when the job fails (suspendOnFailure was false). */
export class JobFailedError extends SluiceError {
  constructor(
    readonly jobId: string,
    readonly failureCause: SuspensionCause,
  ) {
    super('SLUICE_JOB_FAILED', `Job ${jobId} failed: ${describeCause(failureCause)}.`, {
      details: { jobId, failureCause },
    });
    this.name = 'JobFailedError';
  }
}

/** `join()` rejects with this when the job is cancelled. */
export class JobCancelledError extends SluiceError {
  constructor(readonly jobId: string) {
    super('SLUICE_JOB_CANCELLED', `Job ${jobId} was cancelled.`, { details: { jobId } });
    this.name = 'JobCancelledError';
  }
}

/** A command method rejects with this when the coordinator refused the command. */
export class CommandRejectedError extends SluiceError {
  constructor(
    readonly commandType: string,
    readonly rejectionCode: RejectionCode,
    readonly reason: string,
    readonly jobId: string,
  ) {
    super('SLUICE_COMMAND_REJECTED', `${commandType} rejected (${rejectionCode}): ${reason}`, {
      details: { commandType, rejectionCode, reason, jobId },
    });
    this.name = 'CommandRejectedError';
  }
}

/**
 * A job that was purged (`sluice purge`): its state and history are gone, so reads of it throw
 * this. `SLUICE_JOB_NOT_FOUND`, like a job that never existed (exit code 3), since a script
 * that looks a job up treats both alike; the message and `details` say it was purged, by whom
 * and when.
 */
export class JobPurgedError extends SluiceError {
  constructor(
    readonly jobId: string,
    readonly purge: PurgedJob,
  ) {
    super(
      'SLUICE_JOB_NOT_FOUND',
      `${describePurged(jobId, purge)}. Its audit entry stays: the JobPurged event in the job log.`,
      {
        details: {
          jobId,
          name: purge.name,
          purged: true,
          purgedAt: purge.at,
          purgedBy: purge.issuedBy,
        },
      },
    );
    this.name = 'JobPurgedError';
  }
}

/** `suspensionCause()` throws this when the job is not suspended. */
export class JobNotSuspendedError extends SluiceError {
  constructor(
    readonly jobId: string,
    readonly status: JobStatus,
  ) {
    super(
      'SLUICE_JOB_NOT_SUSPENDED',
      `Job ${jobId} is ${status}, not suspended, so it has no suspension cause.`,
      { details: { jobId, status } },
    );
    this.name = 'JobNotSuspendedError';
  }
}

/**
 * A resume that dead-letters to a topic that does not exist: refused by the client before it is
 * sent, and by the worker before the run reads anything. Sending to it would fail the commit
 * with UNKNOWN_TOPIC_OR_PARTITION until the retry budget ran out, or, on a broker that creates
 * topics on first use, create one with the broker's defaults under a name that may be a typo.
 */
export class DeadLetterTopicMissingError extends SluiceError {
  constructor(
    readonly jobName: string,
    readonly topic: string,
    /** Named by a resume, or by the job's error policy. */
    readonly by: 'resume' | 'policy' = 'resume',
  ) {
    super(
      'SLUICE_DEAD_LETTER_TOPIC_MISSING',
      by === 'resume'
        ? `Dead-letter topic "${topic}" does not exist, so job "${jobName}" cannot write its failing record there; Sluice does not create it. Create the topic, then resume with --dead-letter ${topic} again, or give another topic.`
        : `Dead-letter topic "${topic}", named by the error policy of job "${jobName}", does not exist; Sluice does not create it. Create the topic (then resume the job, if it was suspended for this), or change the policy.`,
      { details: { job: jobName, topic, by } },
    );
    this.name = 'DeadLetterTopicMissingError';
  }
}

/** One line naming what broke and where. */
export function describeCause(c: SuspensionCause): string {
  const parts = [c.description];
  if (c.error) parts.push(`${c.error.name}: ${c.error.message}`);
  if (c.stage) parts.push(`at stage "${c.stage}"`);
  if (c.record) parts.push(`on record ${c.record.topic}/${c.record.partition}@${c.record.offset}`);
  return parts.join(' — ');
}
