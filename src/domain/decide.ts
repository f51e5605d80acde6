import { assertNever } from './assert.js';
import type { SuspensionCause } from './cause.js';
import { isReport, type Command } from './commands.js';
import { applyConfigDelta, compileConfigDelta, compileJobConfig, isValidName } from './config.js';
import { isSluiceError, type ErrorCode } from './errors.js';
import { exportedSnapshot, liveJobNamed, type Cluster } from './cluster.js';
import type { JobState } from './state.js';
import { allowed, ALLOWED_FROM } from './transitions.js';
import { decideExport } from './decide-export.js';
import { decideDryRunReport, decideDryRunRequest } from './dry-run.js';
import { decidePurge, purgedIdTaken, unknownJob } from './decide-purge.js';
import { illegal, ok, reject, staleReport, transition, type Decision } from './decision.js';

export type { Decision } from './decision.js';

/**
 * Failures that suspend the job even when `suspendOnFailure` is false: state the code cannot
 * use (incompatible, or unreadable), committed offsets that point at deleted records, or a
 * resume whose dead-letter topic does not exist. A job that failed would have its state topics
 * and offsets deleted, and with them the choice to fix and resume (or to resume accepting the
 * loss, or with a topic that exists). A new job whose snapshot is gone or altered is suspended
 * too, like a job on incompatible state: it has processed nothing, and the user sees why.
 */
const ALWAYS_SUSPENDS: readonly string[] = [
  'SLUICE_STATE_INCOMPATIBLE',
  'SLUICE_STATE_UNREADABLE',
  'SLUICE_SOURCE_DATA_LOST',
  'SLUICE_DEAD_LETTER_TOPIC_MISSING',
  'SLUICE_SNAPSHOT_UNAVAILABLE',
] satisfies ErrorCode[];

/**
 * Checks a command against the current state and returns the events it causes, or why not.
 * Pure: the caller appends the events (and folds them) or records the rejection.
 */
export function decide(cluster: Cluster, command: Command): Decision {
  const seen = cluster.outcomes.get(command.commandId);
  if (seen) return { kind: 'duplicate', outcome: seen };

  if (command.type === 'SubmitJob') return decideSubmit(cluster, command);
  const job = cluster.jobs.get(command.jobId);
  if (!job) return unknownJob(cluster, command.jobId);
  // Before anything else: a report of a replaced run would move the new run (a late failure
  // report would suspend a job just resumed). A report without a run predates runs.
  if (isReport(command) && command.run !== undefined && command.run !== job.run)
    return staleReport(job, command.type, command.run);
  const jobId = job.jobId;
  const at = command.at;

  switch (command.type) {
    case 'ReportStarted':
      return transition(job, 'JobStarted', () => [
        { type: 'JobStarted', jobId, worker: command.worker },
      ]);
    case 'ReportSnapshot':
      return transition(job, 'SnapshotCommitted', () => [
        {
          type: 'SnapshotCommitted',
          jobId,
          snapshotId: command.snapshotId,
          worker: command.worker,
          sourceOffsets: command.sourceOffsets,
          stateOffsets: command.stateOffsets,
          errorCounts: command.errorCounts ?? [],
        },
      ]);
    case 'SuspendJob':
      return transition(job, 'JobSuspended', () => [
        {
          type: 'JobSuspended',
          jobId,
          cause: userCause(job, `Suspended by ${command.issuedBy}.`, at),
        },
      ]);
    case 'ReportFailure': {
      const f = command.failure;
      const cause: SuspensionCause = {
        requestedByUser: false,
        dueToError: true,
        description: f.description,
        error: f.error,
        stage: f.stage,
        worker: f.worker,
        record: f.record,
        snapshotId: job.lastSnapshot?.snapshotId ?? null,
        at,
        fingerprint: f.fingerprint,
      };
      // A job that has processed nothing over state or offsets it cannot use: see ALWAYS_SUSPENDS.
      const suspends =
        f.action === 'SUSPEND' || (f.action !== 'FAIL' && job.config.suspendOnFailure);
      return suspends || ALWAYS_SUSPENDS.includes(f.error.name)
        ? transition(job, 'JobSuspendedDueToError', () => [
            { type: 'JobSuspendedDueToError', jobId, cause },
          ])
        : transition(job, 'JobFailed', () => [{ type: 'JobFailed', jobId, cause }]);
    }
    case 'ResumeJob': {
      if (!allowed(job.status, 'JobResumed'))
        return illegal(job, 'resume', ALLOWED_FROM.JobResumed);
      const record = job.status === 'SUSPENDED_DUE_TO_ERROR' ? job.suspensionCause.record : null;
      if (command.failingRecord !== 'RETRY' && record === null) {
        return reject(
          'INVALID_ARGUMENT',
          `Resume with ${command.failingRecord} needs a job suspended due to an error on a record; job "${job.name}" is ${job.status}${job.status === 'SUSPENDED_DUE_TO_ERROR' ? ' with no failing record' : ''}.`,
        );
      }
      if (command.failingRecord === 'DEAD_LETTER' && !command.deadLetterTopic) {
        return reject('INVALID_ARGUMENT', 'Resume with DEAD_LETTER needs a dead-letter topic.');
      }
      if (command.failingRecord !== 'DEAD_LETTER' && command.deadLetterTopic) {
        return reject(
          'INVALID_ARGUMENT',
          `A dead-letter topic goes only with DEAD_LETTER, not ${command.failingRecord}.`,
        );
      }
      return ok([
        {
          type: 'JobResumed',
          jobId,
          failingRecord: command.failingRecord,
          // An empty topic name from a JSON command means "none", like null.
          deadLetterTopic: command.deadLetterTopic || null,
          record,
          acceptDataLoss: command.acceptDataLoss,
          force: command.force,
        },
      ]);
    }
    case 'RestartJob':
      return transition(job, 'JobRestarted', () => [{ type: 'JobRestarted', jobId }]);
    case 'CancelJob':
      return transition(job, 'JobCancelled', () => [{ type: 'JobCancelled', jobId }]);
    case 'ReportCompleting':
      return transition(job, 'JobCompleting', () => [
        { type: 'JobCompleting', jobId, worker: command.worker },
      ]);
    case 'ReportCompleted':
      return transition(job, 'JobCompleted', () => [{ type: 'JobCompleted', jobId }]);
    case 'ExportSnapshot':
      return decideExport(cluster, job, command.name, command.copy);
    case 'DeleteSnapshot':
      if (job.exportedSnapshots[command.name] === undefined)
        return reject(
          'UNKNOWN_SNAPSHOT',
          `Job "${job.name}" has no exported snapshot named "${command.name}"; list them with \`sluice snapshots\`.`,
        );
      return ok([{ type: 'SnapshotDeleted', jobId, name: command.name }]);
    case 'RequestDryRun':
      return decideDryRunRequest(cluster, job, command);
    case 'ReportDryRun':
      return decideDryRunReport(cluster, job, command);
    case 'PurgeJob':
      return decidePurge(job);
    case 'UpdateConfig': {
      let delta;
      try {
        delta = compileConfigDelta(command.delta);
      } catch (err) {
        return reject('INVALID_ARGUMENT', isSluiceError(err) ? err.message : String(err));
      }
      return transition(job, 'ConfigUpdated', () => [
        { type: 'ConfigUpdated', jobId, delta, config: applyConfigDelta(job.config, delta) },
      ]);
    }
    default:
      return assertNever(command);
  }
}

function decideSubmit(
  cluster: Cluster,
  command: Extract<Command, { type: 'SubmitJob' }>,
): Decision {
  if (cluster.jobs.has(command.jobId))
    return reject('JOB_EXISTS', `A job with id "${command.jobId}" already exists.`);
  const purged = purgedIdTaken(cluster, command.jobId);
  if (purged) return purged;
  // The id becomes part of topic and group names, which allow only these characters.
  if (!isValidName(command.jobId) || command.jobId.length > 100)
    return reject(
      'INVALID_ARGUMENT',
      `Job id "${command.jobId}" must be 1 to 100 letters, digits, ".", "_" or "-": it names the job's topics and consumer groups.`,
    );
  let config;
  try {
    config = compileJobConfig(command.config);
  } catch (err) {
    return reject('INVALID_ARGUMENT', isSluiceError(err) ? err.message : String(err));
  }
  if (!isValidName(command.pipeline)) {
    return reject(
      'INVALID_ARGUMENT',
      `Pipeline name "${command.pipeline}" must be letters, digits, ".", "_" or "-".`,
    );
  }
  const clash = liveJobNamed(cluster, config.name);
  if (clash) {
    return reject(
      'NAME_IN_USE',
      `Job name "${config.name}" is taken by job ${clash.jobId} (${clash.status}). Names are unique among jobs that have not ended; cancel it or pick another name.`,
    );
  }
  if (
    config.initialSnapshotName !== null &&
    !exportedSnapshot(cluster, config.initialSnapshotName)
  ) {
    return reject(
      'UNKNOWN_SNAPSHOT',
      `No exported snapshot is named "${config.initialSnapshotName}" (never exported, or deleted since: \`sluice snapshots\` lists them). Export one with \`sluice export-snapshot <job> <name>\` first.`,
    );
  }
  return {
    kind: 'accepted',
    events: [{ type: 'JobSubmitted', jobId: command.jobId, pipeline: command.pipeline, config }],
  };
}

function userCause(job: JobState, description: string, at: number): SuspensionCause {
  return {
    requestedByUser: true,
    dueToError: false,
    description,
    error: null,
    stage: null,
    worker: null,
    record: null,
    snapshotId: job.lastSnapshot?.snapshotId ?? null,
    at,
    fingerprint: null,
  };
}
