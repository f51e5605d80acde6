/**
 * The dry run of a resume (issue 17, item 2): every live worker hosting a job's pipeline runs
 * the record the job failed on through its current code in a sandbox, and answers with the
 * outputs it would write or the error it throws now. The request and each answer are events
 * in the job's history that change nothing else: see docs/failure-handling.md, "Dry run".
 */
import type { RecordRef } from './cause.js';
import type { Cluster } from './cluster.js';
import type { CommandOf } from './commands.js';
import { reject, ok, type Decision } from './decision.js';
import { MAX_DRY_RUN_OUTPUTS } from './dry-run-answer.js';
import { SluiceError } from './errors.js';
import type { JobState } from './state.js';

export {
  DRY_RUN_PREVIEW_CHARS,
  MAX_DRY_RUN_OUTPUTS,
  type DryRunAnswer,
  type DryRunOutput,
} from './dry-run-answer.js';

/** The failing record a dry run of this job would run, or why there is none. */
export function dryRunRecord(job: JobState): RecordRef | string {
  if (job.status !== 'SUSPENDED_DUE_TO_ERROR')
    return `job "${job.name}" is ${job.status}; a dry run needs a job suspended due to an error on a record (SUSPENDED_DUE_TO_ERROR)`;
  const record = job.suspensionCause.record;
  if (record === null)
    return `job "${job.name}" is suspended due to an error that names no record (${job.suspensionCause.description}); there is nothing to run`;
  return record;
}

/** A RequestDryRun: accepted only for a job suspended on a record, with a request id not used before. */
export function decideDryRunRequest(
  cluster: Cluster,
  job: JobState,
  command: CommandOf<'RequestDryRun'>,
): Decision {
  const record = dryRunRecord(job);
  if (typeof record === 'string')
    return reject(
      job.status === 'SUSPENDED_DUE_TO_ERROR' ? 'INVALID_ARGUMENT' : 'ILLEGAL_TRANSITION',
      `Cannot dry-run a resume: ${record}.`,
    );
  if (command.requestId.length === 0 || cluster.dryRuns.has(command.requestId))
    return reject(
      'INVALID_ARGUMENT',
      `Dry run request id "${command.requestId}" is empty or already used; give a new one.`,
    );
  return ok([{ type: 'DryRunRequested', jobId: job.jobId, requestId: command.requestId, record }]);
}

/**
 * A ReportDryRun: accepted once per worker for a request of this job, whatever became of the
 * job since (the answer is still what the asker waits for). A report for a request the log does
 * not hold, or a second one from the same worker, is refused: it would be an answer to nothing.
 */
export function decideDryRunReport(
  cluster: Cluster,
  job: JobState,
  command: CommandOf<'ReportDryRun'>,
): Decision {
  const request = cluster.dryRuns.get(command.requestId);
  if (request?.jobId !== job.jobId)
    return reject(
      'INVALID_ARGUMENT',
      `Job "${job.name}" has no dry run request "${command.requestId}"; the answer is ignored.`,
    );
  if (request.answered.has(command.worker))
    return reject(
      'INVALID_ARGUMENT',
      `Worker ${command.worker} already answered dry run "${command.requestId}"; the second answer is ignored.`,
    );
  const { requestId, worker, fingerprint, outputs, outputCount, error, stage } = command;
  return ok([
    {
      type: 'DryRunCompleted',
      jobId: job.jobId,
      requestId,
      worker,
      fingerprint,
      outputs: outputs.slice(0, MAX_DRY_RUN_OUTPUTS),
      outputCount,
      error,
      stage,
    },
  ]);
}

/** `SLUICE_DRY_RUN_NOT_POSSIBLE`: the job has no failing record to run, or the coordinator refused. */
export class DryRunNotPossibleError extends SluiceError {
  constructor(
    readonly jobName: string,
    readonly reason: string,
  ) {
    super(
      'SLUICE_DRY_RUN_NOT_POSSIBLE',
      `Cannot dry-run a resume of job "${jobName}": ${reason}. A dry run runs the record a job was suspended on through the live workers' code; see \`sluice status ${jobName}\`.`,
      { details: { job: jobName, reason } },
    );
    this.name = 'DryRunNotPossibleError';
  }
}

/** `SLUICE_NO_LIVE_WORKER`: no live worker hosts the pipeline, so nobody could answer a dry run. */
export class NoLiveWorkerError extends SluiceError {
  constructor(
    readonly jobName: string,
    readonly pipeline: string,
  ) {
    super(
      'SLUICE_NO_LIVE_WORKER',
      `No live worker hosts pipeline "${pipeline}" of job "${jobName}" (as <ns>.workers says now), so none can dry-run the failing record. Start a worker with the fixed code (\`sluice worker\`), then try again.`,
      { details: { job: jobName, pipeline } },
    );
    this.name = 'NoLiveWorkerError';
  }
}
