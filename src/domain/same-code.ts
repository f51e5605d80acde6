/**
 * The resume check of issue 17: a job suspended because its code failed on a record is not
 * resumed (retrying the record) while every live worker hosting its pipeline still runs that
 * very code, which would fail on the same record again. Pure: the live workers come in as data.
 */
import type { FailingRecordAction } from './cause.js';
import { SluiceError } from './errors.js';
import type { PipelineHost } from './presence.js';
import { PRESENCE_LIVE_MS } from './presence.js';
import type { JobState } from './state.js';

/** A resume that would run the failing record through the code that failed on it. */
export interface SameCode {
  jobName: string;
  pipeline: string;
  /** The fingerprint of the code that failed, which every live host still runs. */
  fingerprint: string;
  workers: PipelineHost[];
}

/**
 * The fingerprint of the code a job failed in, when it is suspended due to an error the code
 * caused; null otherwise, and for a cause written before fingerprints.
 */
export function failedCode(job: JobState): string | null {
  if (job.status !== 'SUSPENDED_DUE_TO_ERROR') return null;
  // `?? null`: a cause folded from a JSON history older than fingerprints has no such field.
  return job.suspensionCause.fingerprint ?? null;
}

/**
 * Whether a resume would retry the failing record of a job whose code failed on it: only then
 * can {@link sameCodeAsFailure} refuse it, so a caller reads the live workers only then.
 */
export function retriesFailedCode(job: JobState, failingRecord: FailingRecordAction): boolean {
  return failedCode(job) !== null && failingRecord === 'RETRY';
}

/**
 * What refuses a resume, or undefined when nothing does. Refused only when all of these hold:
 * the job is SUSPENDED_DUE_TO_ERROR with a fingerprint on its cause; the resume retries the
 * failing record (skip and dead-letter move past it, so the same code is fine); at least one
 * live worker hosts the pipeline; and every one of them runs the failing fingerprint. With no
 * live host, the first worker to start decides, and nothing here can tell what it will run.
 */
export function sameCodeAsFailure(
  job: JobState,
  hosts: readonly PipelineHost[],
  failingRecord: FailingRecordAction,
): SameCode | undefined {
  const fingerprint = failedCode(job);
  if (fingerprint === null || !retriesFailedCode(job, failingRecord) || hosts.length === 0)
    return undefined;
  if (!hosts.every((h) => h.fingerprint === fingerprint)) return undefined;
  return { jobName: job.name, pipeline: job.pipeline, fingerprint, workers: [...hosts] };
}

/**
 * `SLUICE_RESUME_SAME_CODE`: `Job.resume` and `sluice resume` refuse, before sending anything,
 * a resume that {@link sameCodeAsFailure} finds would run the failing code again. `force`
 * (`--force`) overrides it, and the job log records who forced it.
 */
export class ResumeSameCodeError extends SluiceError {
  constructor(readonly sameCode: SameCode) {
    super('SLUICE_RESUME_SAME_CODE', sameCodeMessage(sameCode), {
      details: {
        job: sameCode.jobName,
        pipeline: sameCode.pipeline,
        fingerprint: sameCode.fingerprint,
        workers: sameCode.workers.map((w) => ({ ...w })),
      },
    });
    this.name = 'ResumeSameCodeError';
  }
}

/**
 * Names the job, the pipeline, the fingerprint and the workers, and what to do, e.g. `Job
 * "totals" failed in pipeline "order-totals" running code a1b2c3d4e5f6, and every live worker
 * hosting that pipeline still runs it: old-1. Resuming would retry the failing record in the
 * same code. …`
 */
export function sameCodeMessage(s: SameCode): string {
  const workers = s.workers.map((w) => w.workerId).join(', ');
  return (
    `Job "${s.jobName}" failed in pipeline "${s.pipeline}" running code ${s.fingerprint}, and every live worker hosting that pipeline still runs it: ${workers}. ` +
    `Resuming would retry the failing record in the same code. Deploy the fix and stop ${s.workers.length === 1 ? 'that worker' : 'those workers'} ` +
    `(a stopped worker stops counting at once, one that crashed ${PRESENCE_LIVE_MS / 1000} s after it was last seen), ` +
    `move past the record with --skip-failing-record or --dead-letter, or resume with --force if the cause was outside the code.`
  );
}
