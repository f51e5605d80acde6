/**
 * Test harness for the domain layer: runs commands the way the coordinator does (its
 * `decideRecord`, then fold) so tests read as scenarios.
 */
import type { FailureReport, RecordRef } from '../../src/domain/cause.js';
import { emptyCluster, fold, stamp, type Cluster } from '../../src/domain/cluster.js';
import type {
  Command,
  CommandEnvelope,
  CommandOf,
  CommandPayloads,
  CommandType,
} from '../../src/domain/commands.js';
import { compileJobConfig, type JobConfig, type JobConfigInput } from '../../src/domain/config.js';
import { decideRecord } from '../../src/domain/control.js';
import type { Decision } from '../../src/domain/decide.js';
import type { JobEvent } from '../../src/domain/events.js';
import type { SnapshotCopy } from '../../src/domain/snapshot-copy.js';
import type { JobState } from '../../src/domain/state.js';
import type { JobStatus } from '../../src/domain/status.js';

/** A fixed epoch so every run (and every golden file) has the same timestamps. */
export const T0 = 1_700_000_000_000;

/** One command's effect: the decision and the events written for it (none for a duplicate). */
export interface Step {
  decision: Decision;
  events: JobEvent[];
}

/**
 * Decides a command, stamps the events (or the rejection) and folds them into `cluster`, which
 * it mutates. A duplicate writes nothing, as the coordinator does.
 */
export function execute(cluster: Cluster, command: Command): Step {
  const { decision, events } = decideRecord(cluster, command, null, command.at);
  // The harness's commands have valid envelopes: every one is decided.
  if (!decision) throw new Error(`invalid envelope: ${JSON.stringify(events[0])}`);
  for (const event of events) fold(cluster, event);
  return { decision, events };
}

/** Builds a command of one type; the envelope's fields come from `envelope`. */
export function command<K extends CommandType>(
  type: K,
  envelope: CommandEnvelope,
  payload: CommandPayloads[K],
): CommandOf<K> {
  return { ...envelope, type, ...payload } as unknown as CommandOf<K>;
}

/** A compiled config with the given name and overrides. */
export function config(name: string, overrides: Partial<JobConfigInput> = {}): JobConfig {
  return compileJobConfig({ ...overrides, name });
}

/** Where a failing record sits. */
export function recordRef(overrides: Partial<RecordRef> = {}): RecordRef {
  return {
    topic: 'orders',
    partition: 3,
    offset: '9007199254740993',
    key: 'order-17',
    valuePreview: '{"amount":"NaN"}',
    ...overrides,
  };
}

/** A failure as a worker reports it, with a failing record unless `record` is null. */
export function failureReport(overrides: Partial<FailureReport> = {}): FailureReport {
  return {
    description: 'Stage "parse" threw on a record.',
    error: { name: 'SyntaxError', message: 'Unexpected token N', stack: null },
    stage: 'parse',
    worker: 'worker-1',
    record: recordRef(),
    fingerprint: '5be1c0de0a17',
    ...overrides,
  };
}

const WORKER_COMMANDS: readonly CommandType[] = [
  'ReportStarted',
  'ReportSnapshot',
  'ReportFailure',
  'ReportCompleting',
  'ReportCompleted',
];

/**
 * A cluster plus the log that built it. Each `send` gets the next command id (`cmd-1`, ...) and
 * a clock one second later, so a scenario's events are the same on every run.
 */
export class Sim {
  readonly cluster: Cluster;
  readonly log: JobEvent[] = [];
  private count = 0;

  /** `keepEnded`: how many ended jobs' command ids the cluster remembers (see emptyCluster). */
  constructor(keepEnded?: number) {
    this.cluster = emptyCluster(keepEnded);
  }

  /** Runs a command built from its type, job id and payload. */
  send<K extends CommandType>(
    type: K,
    jobId: string,
    payload: CommandPayloads[K],
    envelope: Partial<CommandEnvelope> = {},
  ): Step {
    return this.run(command(type, this.envelope(type, jobId, envelope), payload));
  }

  /** Runs a ready-made command. */
  run(cmd: Command): Step {
    const step = execute(this.cluster, cmd);
    this.log.push(...step.events);
    return step;
  }

  /** The envelope `send` would use for the next command. */
  envelope(
    type: CommandType,
    jobId: string,
    overrides: Partial<CommandEnvelope> = {},
  ): CommandEnvelope {
    this.count += 1;
    return {
      commandId: `cmd-${this.count}`,
      jobId,
      issuedBy: WORKER_COMMANDS.includes(type) ? 'worker-1' : 'alice',
      at: T0 + this.count * 1000,
      ...overrides,
    };
  }

  /** The job's state; fails the test if there is none. */
  job(jobId: string): JobState {
    const job = this.cluster.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    return job;
  }

  // Shorthands for the common commands.
  submit(jobId: string, name: string, overrides: Partial<JobConfigInput> = {}): Step {
    return this.send('SubmitJob', jobId, {
      pipeline: 'word-count',
      config: config(name, overrides),
    });
  }
  // A report names its run only when `run` is given, as from a writer older than runs.
  started(jobId: string, worker = 'worker-1', run?: number): Step {
    return this.send('ReportStarted', jobId, { worker, ...ofRun(run) });
  }
  snapshot(jobId: string, snapshotId: string, run?: number): Step {
    return this.send('ReportSnapshot', jobId, {
      worker: 'worker-1',
      snapshotId,
      sourceOffsets: [{ topic: 'orders', partition: 3, offset: '120' }],
      stateOffsets: [{ topic: 'sluice-state-counts', partition: 0, offset: '40' }],
      ...ofRun(run),
    });
  }
  fail(jobId: string, overrides: Partial<FailureReport> = {}, run?: number): Step {
    return this.send('ReportFailure', jobId, { failure: failureReport(overrides), ...ofRun(run) });
  }
  suspend(jobId: string): Step {
    return this.send('SuspendJob', jobId, {});
  }
  resume(
    jobId: string,
    failingRecord: 'RETRY' | 'SKIP' | 'DEAD_LETTER' = 'RETRY',
    deadLetterTopic: string | null = null,
    acceptDataLoss = false,
    force = false,
  ): Step {
    return this.send('ResumeJob', jobId, { failingRecord, deadLetterTopic, acceptDataLoss, force });
  }
  cancel(jobId: string): Step {
    return this.send('CancelJob', jobId, {});
  }
  restart(jobId: string): Step {
    return this.send('RestartJob', jobId, {});
  }
  /** An export whose copy matches the job as it is now (what job.exportSnapshot() sends), unless given. */
  exportSnapshot(jobId: string, name: string, copy?: SnapshotCopy | null): Step {
    const job = this.cluster.jobs.get(jobId);
    const made: SnapshotCopy = {
      run: job?.run ?? 1,
      snapshotId: job?.lastSnapshot?.snapshotId ?? 'none',
      sourceOffsets: [],
      stages: [],
    };
    return this.send('ExportSnapshot', jobId, { name, copy: copy === undefined ? made : copy });
  }
  deleteSnapshot(jobId: string, name: string): Step {
    return this.send('DeleteSnapshot', jobId, { name });
  }
  updateConfig(jobId: string, delta: CommandPayloads['UpdateConfig']['delta']): Step {
    return this.send('UpdateConfig', jobId, { delta });
  }
  completing(jobId: string, run?: number): Step {
    return this.send('ReportCompleting', jobId, { worker: 'worker-1', ...ofRun(run) });
  }
  completed(jobId: string, run?: number): Step {
    return this.send('ReportCompleted', jobId, { worker: 'worker-1', ...ofRun(run) });
  }
}

/** A report's run field: none when `run` is undefined. */
function ofRun(run: number | undefined): { run?: number } {
  return run === undefined ? {} : { run };
}

function mustAccept(step: Step): void {
  if (step.decision.kind !== 'accepted') {
    throw new Error(`expected the command to be accepted: ${JSON.stringify(step.decision)}`);
  }
}

/** Submits a job, reports it started and commits snapshot `snap-1`: a RUNNING job. */
export function running(sim: Sim, jobId = 'j1', name = 'orders', suspendOnFailure = true): void {
  mustAccept(sim.submit(jobId, name, { suspendOnFailure }));
  mustAccept(sim.started(jobId));
  mustAccept(sim.snapshot(jobId, 'snap-1'));
}

/**
 * Drives a new job into `status` through ordinary commands. Every job reached this way has
 * committed snapshot `snap-1` except a NOT_RUNNING one, and suspendOnFailure is true except for
 * a FAILED one.
 */
export function reach(sim: Sim, status: JobStatus, jobId = 'j1', name = 'orders'): JobState {
  switch (status) {
    case 'NOT_RUNNING':
      mustAccept(sim.submit(jobId, name, { suspendOnFailure: true }));
      break;
    case 'STARTING':
      reach(sim, 'SUSPENDED', jobId, name);
      mustAccept(sim.resume(jobId));
      break;
    case 'RUNNING':
      running(sim, jobId, name);
      break;
    case 'SUSPENDED':
      running(sim, jobId, name);
      mustAccept(sim.suspend(jobId));
      break;
    case 'SUSPENDED_DUE_TO_ERROR':
      running(sim, jobId, name);
      mustAccept(sim.fail(jobId));
      break;
    case 'SUSPENDED_EXPORTING_SNAPSHOT': {
      // A decision never leaves a job here (an export completes in the same append), so fold
      // the first half of an export by hand.
      reach(sim, 'SUSPENDED', jobId, name);
      const events = stamp(
        sim.cluster,
        [{ type: 'SnapshotExportStarted', jobId, name: 'half-done', snapshotId: 'snap-1' }],
        { commandId: `half-${jobId}`, issuedBy: 'alice', at: T0 },
      );
      for (const event of events) fold(sim.cluster, event);
      sim.log.push(...events);
      break;
    }
    case 'COMPLETING':
      running(sim, jobId, name);
      mustAccept(sim.completing(jobId));
      break;
    case 'COMPLETED':
      running(sim, jobId, name);
      mustAccept(sim.completed(jobId));
      break;
    case 'FAILED':
      running(sim, jobId, name, false);
      mustAccept(sim.fail(jobId));
      break;
    case 'CANCELLED':
      running(sim, jobId, name);
      mustAccept(sim.cancel(jobId));
      break;
  }
  const job = sim.job(jobId);
  if (job.status !== status) throw new Error(`reached ${job.status}, not ${status}`);
  return job;
}
