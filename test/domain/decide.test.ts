import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { describe, expect, it } from 'vitest';
import { emptyCluster } from '../../src/domain/cluster.js';
import { decide, type Decision } from '../../src/domain/decide.js';
import { REPORT_TYPES, type ReportType } from '../../src/domain/commands.js';
import type { EventDraft, RejectionCode } from '../../src/domain/events.js';
import type { JobState } from '../../src/domain/state.js';
import { JOB_STATUSES, SUSPENDED_STATUSES, type JobStatus } from '../../src/domain/status.js';
import {
  command,
  config,
  failureReport,
  reach,
  recordRef,
  running,
  Sim,
  T0,
  type Step,
} from './harness.js';

function expectAccepted(step: Step): EventDraft[] {
  if (step.decision.kind !== 'accepted') {
    throw new Error(`expected accepted, got ${JSON.stringify(step.decision)}`);
  }
  return step.decision.events;
}

function expectRejected(step: Step, code: RejectionCode): string {
  const d: Decision = step.decision;
  if (d.kind !== 'rejected') throw new Error(`expected rejected, got ${JSON.stringify(d)}`);
  expect(d.code).toBe(code);
  expect(d.reason.length).toBeGreaterThan(0);
  // The refusal is on the log too, for the audit trail and for idempotence.
  expect(step.events).toHaveLength(1);
  expect(step.events[0]).toMatchObject({ type: 'CommandRejected', code, reason: d.reason });
  return d.reason;
}

function statusOf(sim: Sim, jobId: string): JobStatus {
  return sim.job(jobId).status;
}

/** Drives a new job into `status` (see {@link reach}). */
function jobIn(sim: Sim, status: JobStatus, jobId = 'j1', name = 'orders'): void {
  reach(sim, status, jobId, name);
  expect(statusOf(sim, jobId)).toBe(status);
}

/**
 * The whole transition table, written out: which commands each status accepts. ALLOWED_FROM is
 * the implementation; this is the spec, so a change to either shows up here.
 */
const ACCEPTS: Record<JobStatus, readonly string[]> = {
  NOT_RUNNING: ['ReportStarted', 'ReportSnapshot', 'SuspendJob', 'ReportFailure', 'CancelJob'],
  STARTING: [
    'ReportStarted',
    'ReportSnapshot',
    'SuspendJob',
    'ReportFailure',
    'RestartJob',
    'CancelJob',
  ],
  RUNNING: [
    'ReportStarted',
    'ReportSnapshot',
    'SuspendJob',
    'ReportFailure',
    'RestartJob',
    'CancelJob',
    'ReportCompleting',
    'ReportCompleted',
  ],
  SUSPENDED: ['ReportSnapshot', 'ResumeJob', 'CancelJob', 'ExportSnapshot', 'UpdateConfig'],
  SUSPENDED_DUE_TO_ERROR: [
    'ReportSnapshot',
    'ResumeJob',
    'CancelJob',
    'ExportSnapshot',
    'UpdateConfig',
  ],
  SUSPENDED_EXPORTING_SNAPSHOT: ['ReportSnapshot', 'CancelJob'],
  // A user may suspend a job that is completing, as an error may.
  COMPLETING: ['ReportSnapshot', 'SuspendJob', 'ReportFailure', 'CancelJob', 'ReportCompleted'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** One command of each non-submit type, valid apart from the job's status. */
const EVERY_COMMAND: Record<string, (sim: Sim) => Step> = {
  ReportStarted: (sim) => sim.started('j1', 'worker-2'),
  ReportSnapshot: (sim) => sim.snapshot('j1', 'snap-2'),
  SuspendJob: (sim) => sim.suspend('j1'),
  ReportFailure: (sim) => sim.fail('j1'),
  ResumeJob: (sim) => sim.resume('j1'),
  RestartJob: (sim) => sim.restart('j1'),
  CancelJob: (sim) => sim.cancel('j1'),
  ReportCompleting: (sim) => sim.completing('j1'),
  ReportCompleted: (sim) => sim.completed('j1'),
  ExportSnapshot: (sim) => sim.exportSnapshot('j1', 'table'),
  UpdateConfig: (sim) => sim.updateConfig('j1', { snapshotIntervalMs: 2500 }),
};

describe('the transition table', () => {
  it.each(Object.keys(ACCEPTS) as JobStatus[])('%s accepts exactly its commands', (status) => {
    const accepted: string[] = [];
    for (const [type, send] of Object.entries(EVERY_COMMAND)) {
      const sim = new Sim();
      reach(sim, status);
      const step = send(sim);
      if (step.decision.kind === 'accepted') accepted.push(type);
      else expectRejected(step, 'ILLEGAL_TRANSITION');
    }
    expect(accepted).toEqual(ACCEPTS[status]);
  });
});

describe('job lifecycle', () => {
  it('submits a job as NOT_RUNNING with its compiled config', () => {
    const sim = new Sim();
    const step = sim.submit('j1', 'orders');
    expect(expectAccepted(step)).toEqual([
      { type: 'JobSubmitted', jobId: 'j1', pipeline: 'word-count', config: config('orders') },
    ]);
    expect(step.events[0]).toMatchObject({
      eventId: 'j1/0',
      seq: 0,
      commandId: 'cmd-1',
      issuedBy: 'alice',
      at: T0 + 1000,
    });
    expect(sim.job('j1')).toEqual({
      status: 'NOT_RUNNING',
      jobId: 'j1',
      name: 'orders',
      pipeline: 'word-count',
      config: config('orders'),
      submittedAt: T0 + 1000,
      submittedBy: 'alice',
      lastSnapshot: null,
      plan: NO_PLAN,
      errorCounts: [],
      exportedSnapshots: {},
      snapshotCopies: {},
      workers: [],
      run: 1,
      version: 1,
      updatedAt: T0 + 1000,
    });
  });

  it('compiles the submitted config: defaults are filled, a bad config is refused', () => {
    const sim = new Sim();
    const raw = { name: 'orders' } as unknown as ReturnType<typeof config>;
    expectAccepted(sim.send('SubmitJob', 'j1', { pipeline: 'p', config: raw }));
    expect(sim.job('j1').config).toEqual(config('orders'));

    const bad = { name: 'other', snapshotIntervalMs: 5 } as unknown as ReturnType<typeof config>;
    const reason = expectRejected(
      sim.send('SubmitJob', 'j2', { pipeline: 'p', config: bad }),
      'INVALID_ARGUMENT',
    );
    expect(reason).toContain('snapshotIntervalMs');
    expect(sim.cluster.jobs.has('j2')).toBe(false);
  });

  it('refuses a pipeline name outside the safe alphabet', () => {
    const sim = new Sim();
    const reason = expectRejected(
      sim.send('SubmitJob', 'j1', { pipeline: 'bad pipeline', config: config('orders') }),
      'INVALID_ARGUMENT',
    );
    expect(reason).toContain('bad pipeline');
  });

  it('refuses a second submit with the same job id', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    expectRejected(sim.submit('j1', 'other'), 'JOB_EXISTS');
    expect(sim.job('j1').name).toBe('orders');
  });

  it('goes RUNNING when a worker reports started, and records the workers', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    sim.started('j1', 'w1');
    sim.started('j1', 'w2');
    sim.started('j1', 'w1');
    expect(sim.job('j1')).toMatchObject({ status: 'RUNNING', workers: ['w1', 'w2'], version: 4 });
  });

  it('records committed snapshots', () => {
    const sim = new Sim();
    running(sim);
    sim.snapshot('j1', 'snap-2');
    expect(sim.job('j1').lastSnapshot).toEqual({
      snapshotId: 'snap-2',
      sourceOffsets: [{ topic: 'orders', partition: 3, offset: '120' }],
      stateOffsets: [{ topic: 'sluice-state-counts', partition: 0, offset: '40' }],
      at: T0 + 4000,
    });
  });

  it('suspends on a user request with a requestedByUser cause', () => {
    const sim = new Sim();
    running(sim);
    sim.suspend('j1');
    const job = sim.job('j1');
    expect(job.status).toBe('SUSPENDED');
    expect(job.workers).toEqual([]);
    expect('suspensionCause' in job && job.suspensionCause).toEqual({
      requestedByUser: true,
      dueToError: false,
      description: 'Suspended by alice.',
      error: null,
      stage: null,
      worker: null,
      record: null,
      snapshotId: 'snap-1',
      at: T0 + 4000,
      fingerprint: null,
    });
  });

  it('suspends on a failure when suspendOnFailure is true, keeping the whole cause', () => {
    const sim = new Sim();
    running(sim);
    const failure = failureReport({
      record: recordRef({ topic: 'payments', partition: 7, offset: '18446744073709551615' }),
    });
    const step = sim.send('ReportFailure', 'j1', { failure });
    expect(expectAccepted(step).map((e) => e.type)).toEqual(['JobSuspendedDueToError']);
    const job = sim.job('j1');
    expect(job.status).toBe('SUSPENDED_DUE_TO_ERROR');
    expect('failureCause' in job).toBe(false);
    expect('suspensionCause' in job && job.suspensionCause).toEqual({
      requestedByUser: false,
      dueToError: true,
      description: failure.description,
      error: failure.error,
      stage: 'parse',
      worker: 'worker-1',
      record: {
        topic: 'payments',
        partition: 7,
        offset: '18446744073709551615',
        key: 'order-17',
        valuePreview: '{"amount":"NaN"}',
      },
      snapshotId: 'snap-1',
      at: T0 + 4000,
      fingerprint: '5be1c0de0a17',
    });
  });

  it('carries a null snapshot id when the job failed before its first snapshot', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders', { suspendOnFailure: true });
    sim.started('j1');
    sim.fail('j1');
    const job = sim.job('j1');
    expect(job.status === 'SUSPENDED_DUE_TO_ERROR' && job.suspensionCause.snapshotId).toBeNull();
  });

  it('refuses a job id that could not name topics and consumer groups', () => {
    const sim = new Sim();
    expect(expectRejected(sim.submit('a/b', 'orders'), 'INVALID_ARGUMENT')).toContain(
      'names the job',
    );
    expect(expectRejected(sim.submit('x'.repeat(101), 'orders'), 'INVALID_ARGUMENT')).toContain(
      '1 to 100',
    );
    expectAccepted(sim.submit('job-1.ok_2', 'orders'));
  });

  it('suspends, whatever the flag, when the code does not match the saved state', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders', false);
    const failure = {
      error: { name: 'SLUICE_STATE_INCOMPATIBLE', message: 'no stage "totals"', stack: null },
      record: null,
    };
    expect(expectAccepted(sim.fail('j1', failure)).map((e) => e.type)).toEqual([
      'JobSuspendedDueToError',
    ]);
    expect(sim.job('j1').status).toBe('SUSPENDED_DUE_TO_ERROR');
  });

  it('suspends, whatever the flag, when records past the committed offsets were deleted', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders', false);
    sim.suspend('j1');
    sim.resume('j1');
    const failure = {
      description: 'Worker w1 could not start the job',
      error: {
        name: 'SLUICE_SOURCE_DATA_LOST',
        message: 'Records of orders-2 at offsets 120..499 were deleted',
        stack: null,
      },
      stage: null,
      record: null,
    };
    expect(expectAccepted(sim.fail('j1', failure)).map((e) => e.type)).toEqual([
      'JobSuspendedDueToError',
    ]);
    const job = sim.job('j1');
    expect(job.status === 'SUSPENDED_DUE_TO_ERROR' && job.suspensionCause.error?.name).toBe(
      'SLUICE_SOURCE_DATA_LOST',
    );
    // The consumer groups and state stay, so the user can still choose to accept the loss.
    expect(expectAccepted(sim.resume('j1', 'RETRY', null, true))).toEqual([
      expect.objectContaining({ type: 'JobResumed', acceptDataLoss: true, record: null }),
    ]);
  });

  it('suspends, whatever the flag, when a resume named a dead-letter topic that does not exist, keeping the record', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders', false);
    const record = { topic: 'orders', partition: 3, offset: '7', key: null, valuePreview: '{}' };
    const failure = {
      description: 'Worker w1 could not start the job',
      error: { name: 'SLUICE_DEAD_LETTER_TOPIC_MISSING', message: 'no "dlq"', stack: null },
      stage: null,
      record,
    };
    expect(expectAccepted(sim.fail('j1', failure)).map((e) => e.type)).toEqual([
      'JobSuspendedDueToError',
    ]);
    // The state and offsets stay, and the record is still there to dead-letter once the topic is.
    expect(expectAccepted(sim.resume('j1', 'DEAD_LETTER', 'dlq'))).toEqual([
      expect.objectContaining({ type: 'JobResumed', deadLetterTopic: 'dlq', record }),
    ]);
  });

  it('records on the JobResumed event whether the resume accepts data loss, and who sent it', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    expectAccepted(sim.resume('j1', 'RETRY', null, true));
    const resumed = sim.log.at(-1);
    expect(resumed).toMatchObject({ type: 'JobResumed', acceptDataLoss: true, issuedBy: 'alice' });
    sim.suspend('j1');
    expect(expectAccepted(sim.resume('j1'))).toEqual([
      expect.objectContaining({ type: 'JobResumed', acceptDataLoss: false }),
    ]);
  });

  it('records on the JobResumed event whether the resume was forced past the same-code check, and who sent it', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    expectAccepted(sim.resume('j1', 'RETRY', null, false, true));
    expect(sim.log.at(-1)).toMatchObject({ type: 'JobResumed', force: true, issuedBy: 'alice' });
    sim.started('j1');
    sim.fail('j1');
    expect(expectAccepted(sim.resume('j1'))).toEqual([
      expect.objectContaining({ type: 'JobResumed', force: false }),
    ]);
  });

  it("keeps a failure's fingerprint on the cause, and none (null) when the report has none", () => {
    const sim = new Sim();
    running(sim);
    sim.fail('j1', { fingerprint: '0ddba11c0ffe' });
    const job = sim.job('j1');
    expect('suspensionCause' in job && job.suspensionCause.fingerprint).toBe('0ddba11c0ffe');
    sim.resume('j1');
    sim.started('j1');
    sim.fail('j1', { fingerprint: null });
    const again = sim.job('j1');
    expect('suspensionCause' in again && again.suspensionCause.fingerprint).toBeNull();
  });

  it('fails on a failure when suspendOnFailure is false', () => {
    const sim = new Sim();
    running(sim, 'j1', 'orders', false);
    expect(expectAccepted(sim.fail('j1')).map((e) => e.type)).toEqual(['JobFailed']);
    const job = sim.job('j1');
    expect(job.status).toBe('FAILED');
    expect('suspensionCause' in job).toBe(false);
    expect(job.status === 'FAILED' && job.failureCause).toMatchObject({
      dueToError: true,
      requestedByUser: false,
      record: recordRef(),
      snapshotId: 'snap-1',
    });
    expect(job.workers).toEqual([]);
  });

  it("follows the error policy's action on the report over suspendOnFailure, but never fails over state it must keep", () => {
    const sim = new Sim();
    running(sim, 'j1', 'a', true);
    expect(expectAccepted(sim.fail('j1', { action: 'FAIL' })).map((e) => e.type)).toEqual([
      'JobFailed',
    ]);
    running(sim, 'j2', 'b', false);
    sim.fail('j2', { action: 'SUSPEND' });
    expect(statusOf(sim, 'j2')).toBe('SUSPENDED_DUE_TO_ERROR');
    running(sim, 'j3', 'c', false);
    sim.fail('j3', {
      action: 'FAIL',
      error: { name: 'SLUICE_STATE_INCOMPATIBLE', message: 'm', stack: null },
    });
    expect(statusOf(sim, 'j3')).toBe('SUSPENDED_DUE_TO_ERROR');
  });

  it('suspends (or fails) on a failure while COMPLETING', () => {
    const sim = new Sim();
    running(sim, 'j1', 'a', true);
    sim.completing('j1');
    sim.fail('j1');
    expect(statusOf(sim, 'j1')).toBe('SUSPENDED_DUE_TO_ERROR');
    running(sim, 'j2', 'b', false);
    sim.completing('j2');
    sim.fail('j2');
    expect(statusOf(sim, 'j2')).toBe('FAILED');
  });

  it.each([
    // A user suspension has no failing record; an error's record goes on the event, RETRY too.
    ['SUSPENDED', null],
    ['SUSPENDED_DUE_TO_ERROR', recordRef()],
  ] as const)('resumes from %s to STARTING and drops the cause', (status, record) => {
    const sim = new Sim();
    jobIn(sim, status);
    const events = expectAccepted(sim.resume('j1'));
    expect(events).toEqual([
      {
        type: 'JobResumed',
        jobId: 'j1',
        failingRecord: 'RETRY',
        deadLetterTopic: null,
        record,
        acceptDataLoss: false,
        force: false,
      },
    ]);
    const job = sim.job('j1');
    expect(job.status).toBe('STARTING');
    expect('suspensionCause' in job).toBe(false);
    sim.started('j1');
    expect(statusOf(sim, 'j1')).toBe('RUNNING');
  });

  it('restarts a RUNNING or STARTING job', () => {
    const sim = new Sim();
    running(sim);
    sim.restart('j1');
    expect(sim.job('j1')).toMatchObject({ status: 'STARTING', workers: [] });
    expectAccepted(sim.restart('j1'));
    expect(statusOf(sim, 'j1')).toBe('STARTING');
    expectRejected(sim.restart('j2'), 'UNKNOWN_JOB');
  });

  it('completes directly from RUNNING or through COMPLETING', () => {
    const sim = new Sim();
    running(sim, 'j1', 'a');
    sim.completed('j1');
    expect(statusOf(sim, 'j1')).toBe('COMPLETED');
    running(sim, 'j2', 'b');
    sim.completing('j2');
    expect(statusOf(sim, 'j2')).toBe('COMPLETING');
    expectRejected(sim.completing('j2'), 'ILLEGAL_TRANSITION');
    sim.completed('j2');
    expect(statusOf(sim, 'j2')).toBe('COMPLETED');
  });

  it('suspends a COMPLETING job on a user request, and resumes it', () => {
    const sim = new Sim();
    jobIn(sim, 'COMPLETING');
    expect(expectAccepted(sim.suspend('j1')).map((e) => e.type)).toEqual(['JobSuspended']);
    const job = sim.job('j1');
    expect(job).toMatchObject({
      status: 'SUSPENDED',
      workers: [],
      suspensionCause: { requestedByUser: true, dueToError: false, record: null },
    });
    expectAccepted(sim.resume('j1'));
    expect(statusOf(sim, 'j1')).toBe('STARTING');
  });

  it('refuses to suspend a job that is already suspended', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    const reason = expectRejected(sim.suspend('j1'), 'ILLEGAL_TRANSITION');
    expect(reason).toContain('SUSPENDED_DUE_TO_ERROR');
    // The error's cause is kept, not replaced by a user cause.
    const job = sim.job('j1');
    expect('suspensionCause' in job && job.suspensionCause.dueToError).toBe(true);
  });
});

describe('SUSPENDED_DUE_TO_ERROR behaves like SUSPENDED', () => {
  describe.each(SUSPENDED_STATUSES)('from %s', (status) => {
    it('cancels', () => {
      const sim = new Sim();
      jobIn(sim, status);
      expect(expectAccepted(sim.cancel('j1'))).toEqual([{ type: 'JobCancelled', jobId: 'j1' }]);
      const job = sim.job('j1');
      expect(job.status).toBe('CANCELLED');
      expect('suspensionCause' in job).toBe(false);
    });

    it('exports a snapshot, passing through SUSPENDED_EXPORTING_SNAPSHOT and back', () => {
      const sim = new Sim();
      jobIn(sim, status);
      const causeBefore = (sim.job('j1') as { suspensionCause: unknown }).suspensionCause;
      const step = sim.exportSnapshot('j1', 'golden');
      expect(expectAccepted(step)).toEqual([
        { type: 'SnapshotExportStarted', jobId: 'j1', name: 'golden', snapshotId: 'snap-1' },
        {
          type: 'SnapshotExported',
          jobId: 'j1',
          name: 'golden',
          snapshotId: 'snap-1',
          copy: { run: 1, snapshotId: 'snap-1', sourceOffsets: [], stages: [] },
        },
      ]);
      // Both events answer the one command, in order.
      expect(step.events.map((e) => [e.seq, e.commandId])).toEqual([
        [step.events[0]!.seq, step.events[0]!.commandId],
        [step.events[0]!.seq + 1, step.events[0]!.commandId],
      ]);
      const job = sim.job('j1');
      expect(job.status).toBe(status);
      expect(job.exportedSnapshots).toEqual({ golden: 'snap-1' });
      // What it copied is in the state: a worker seeds from it without reading the history.
      expect(job.snapshotCopies).toEqual({
        golden: { run: 1, snapshotId: 'snap-1', sourceOffsets: [], stages: [] },
      });
      expect('suspensionCause' in job && job.suspensionCause).toEqual(causeBefore);
      expect('returnTo' in job).toBe(false);
      expect('exportingAs' in job).toBe(false);
    });

    it('updates its config', () => {
      const sim = new Sim();
      jobIn(sim, status);
      const before = sim.job('j1');
      const step = sim.updateConfig('j1', { snapshotIntervalMs: 2500, args: { retry: 'no' } });
      expect(expectAccepted(step)).toEqual([
        {
          type: 'ConfigUpdated',
          jobId: 'j1',
          delta: { snapshotIntervalMs: 2500, args: { retry: 'no' } },
          config: { ...before.config, snapshotIntervalMs: 2500, args: { retry: 'no' } },
        },
      ]);
      const job = sim.job('j1');
      expect(job.status).toBe(status);
      expect(job.config).toEqual({
        ...before.config,
        snapshotIntervalMs: 2500,
        args: { retry: 'no' },
      });
      expect('suspensionCause' in job && job.suspensionCause).toEqual(
        'suspensionCause' in before && before.suspensionCause,
      );
    });

    it('resumes with RETRY', () => {
      const sim = new Sim();
      jobIn(sim, status);
      expectAccepted(sim.resume('j1', 'RETRY'));
      expect(statusOf(sim, 'j1')).toBe('STARTING');
    });
  });

  it('the new config takes effect: after suspendOnFailure is turned off, the next failure fails', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.updateConfig('j1', { suspendOnFailure: false });
    sim.resume('j1');
    sim.started('j1');
    sim.fail('j1');
    expect(statusOf(sim, 'j1')).toBe('FAILED');
  });

  it('a delta with fields set to undefined leaves those fields as they were', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    expectAccepted(
      sim.updateConfig('j1', { suspendOnFailure: undefined, snapshotIntervalMs: 700 }),
    );
    expect(sim.job('j1').config).toStrictEqual(
      config('orders', { suspendOnFailure: true, snapshotIntervalMs: 700 }),
    );
  });

  it.each(['RUNNING', 'NOT_RUNNING', 'STARTING', 'COMPLETING'] as const)(
    'refuses a config update while %s',
    (status) => {
      const sim = new Sim();
      jobIn(sim, status);
      const reason = expectRejected(
        sim.updateConfig('j1', { snapshotIntervalMs: 2500 }),
        'ILLEGAL_TRANSITION',
      );
      expect(reason).toContain('only a suspended job');
      expect(sim.job('j1').config.snapshotIntervalMs).toBe(10_000);
    },
  );

  it('refuses an invalid or empty config change', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    expectRejected(sim.updateConfig('j1', {}), 'INVALID_ARGUMENT');
    expectRejected(sim.updateConfig('j1', { snapshotIntervalMs: 1 }), 'INVALID_ARGUMENT');
    const rename = { name: 'renamed' } as unknown as { suspendOnFailure: boolean };
    expect(expectRejected(sim.updateConfig('j1', rename), 'INVALID_ARGUMENT')).toContain('name');
    expect(sim.job('j1').name).toBe('orders');
    expect(sim.job('j1').config.name).toBe('orders');
  });
});

describe('resuming with SKIP or DEAD_LETTER', () => {
  it('skips the failing record of a job suspended due to an error, naming it on the event', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    expect(expectAccepted(sim.resume('j1', 'SKIP'))).toEqual([
      {
        type: 'JobResumed',
        jobId: 'j1',
        failingRecord: 'SKIP',
        deadLetterTopic: null,
        record: recordRef(),
        acceptDataLoss: false,
        force: false,
      },
    ]);
    expect(statusOf(sim, 'j1')).toBe('STARTING');
  });

  it('dead-letters the failing record to the given topic, naming it on the event', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    expect(expectAccepted(sim.resume('j1', 'DEAD_LETTER', 'orders.dlq'))).toEqual([
      {
        type: 'JobResumed',
        jobId: 'j1',
        failingRecord: 'DEAD_LETTER',
        deadLetterTopic: 'orders.dlq',
        record: recordRef(),
        acceptDataLoss: false,
        force: false,
      },
    ]);
  });

  it.each(['RETRY', 'SKIP', 'DEAD_LETTER'] as const)(
    'names on the event the record of the last failure, not an earlier one (%s)',
    (action) => {
      const sim = new Sim();
      running(sim);
      sim.fail('j1', { record: recordRef({ offset: '1' }) });
      sim.resume('j1');
      sim.started('j1');
      sim.fail('j1', { record: recordRef({ partition: 0, offset: '2' }) });
      const topic = action === 'DEAD_LETTER' ? 'orders.dlq' : null;
      expect(expectAccepted(sim.resume('j1', action, topic))).toEqual([
        expect.objectContaining({ record: recordRef({ partition: 0, offset: '2' }) }),
      ]);
    },
  );

  it('resumes with RETRY and a null record when the error named no record', () => {
    const sim = new Sim();
    running(sim);
    sim.fail('j1', { record: null });
    expect(expectAccepted(sim.resume('j1', 'RETRY'))).toEqual([
      {
        type: 'JobResumed',
        jobId: 'j1',
        failingRecord: 'RETRY',
        deadLetterTopic: null,
        record: null,
        acceptDataLoss: false,
        force: false,
      },
    ]);
  });

  it.each([null, ''])('refuses DEAD_LETTER with no topic (%j)', (topic) => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_DUE_TO_ERROR');
    expect(expectRejected(sim.resume('j1', 'DEAD_LETTER', topic), 'INVALID_ARGUMENT')).toContain(
      'dead-letter topic',
    );
    expect(statusOf(sim, 'j1')).toBe('SUSPENDED_DUE_TO_ERROR');
  });

  describe.each(SUSPENDED_STATUSES)('from %s', (status) => {
    it.each(['RETRY', 'SKIP'] as const)('refuses a dead-letter topic given with %s', (action) => {
      const sim = new Sim();
      jobIn(sim, status);
      const step = sim.resume('j1', action, 'orders.dlq');
      if (action === 'SKIP' && status === 'SUSPENDED') {
        // SKIP needs a failing record, which is checked first.
        expect(expectRejected(step, 'INVALID_ARGUMENT')).toContain('needs a job suspended');
      } else {
        const reason = expectRejected(step, 'INVALID_ARGUMENT');
        expect(reason).toContain('dead-letter topic');
        expect(reason).toContain(action);
      }
      expect(statusOf(sim, 'j1')).toBe(status);
      expect(sim.log.some((e) => e.type === 'JobResumed')).toBe(false);
    });
  });

  it.each([
    ['SKIP', null],
    ['DEAD_LETTER', 'dlq'],
    // Both the record and the topic are missing: the record is named first.
    ['DEAD_LETTER', null],
  ] as const)('refuses %s (topic %j) for a job a user suspended', (action, topic) => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    const reason = expectRejected(sim.resume('j1', action, topic), 'INVALID_ARGUMENT');
    expect(reason).toContain(`Resume with ${action} needs a job suspended due to an error`);
    expect(reason).toContain('SUSPENDED');
    expect(statusOf(sim, 'j1')).toBe('SUSPENDED');
  });

  it.each(['SKIP', 'DEAD_LETTER'] as const)(
    'refuses %s when the error named no record',
    (action) => {
      const sim = new Sim();
      running(sim);
      sim.fail('j1', { record: null });
      expect(statusOf(sim, 'j1')).toBe('SUSPENDED_DUE_TO_ERROR');
      const topic = action === 'DEAD_LETTER' ? 'dlq' : null;
      const reason = expectRejected(sim.resume('j1', action, topic), 'INVALID_ARGUMENT');
      expect(reason).toContain('no failing record');
      expectAccepted(sim.resume('j1', 'RETRY'));
    },
  );

  describe.each(JOB_STATUSES.filter((s) => s !== 'SUSPENDED' && s !== 'SUSPENDED_DUE_TO_ERROR'))(
    'a job that is %s',
    (status) => {
      it.each([
        ['RETRY', null],
        ['RETRY', 'dlq'],
        ['SKIP', null],
        ['SKIP', 'dlq'],
        ['DEAD_LETTER', null],
        ['DEAD_LETTER', 'dlq'],
      ] as const)(
        'refuses a resume with %s (topic %j) as ILLEGAL_TRANSITION, before its arguments',
        (action, topic) => {
          const sim = new Sim();
          jobIn(sim, status);
          const reason = expectRejected(sim.resume('j1', action, topic), 'ILLEGAL_TRANSITION');
          expect(reason).toContain(`is ${status}`);
          expect(reason).toContain('SUSPENDED, SUSPENDED_DUE_TO_ERROR');
          expect(statusOf(sim, 'j1')).toBe(status);
        },
      );
    },
  );
});

describe('names', () => {
  it('refuses a second live job with the same name, whatever its status', () => {
    for (const status of [
      'NOT_RUNNING',
      'RUNNING',
      'SUSPENDED',
      'SUSPENDED_DUE_TO_ERROR',
      'COMPLETING',
    ] as const) {
      const sim = new Sim();
      jobIn(sim, status, 'j1', 'orders');
      const reason = expectRejected(sim.submit('j2', 'orders'), 'NAME_IN_USE');
      expect(reason).toContain('j1');
      expect(sim.cluster.jobs.has('j2')).toBe(false);
    }
  });

  it.each(['CANCELLED', 'COMPLETED', 'FAILED'] as const)(
    'lets a new job reuse the name of a %s job',
    (status) => {
      const sim = new Sim();
      jobIn(sim, status, 'j1', 'orders');
      expectAccepted(sim.submit('j2', 'orders'));
      expect(sim.job('j2')).toMatchObject({ status: 'NOT_RUNNING', name: 'orders' });
      expect(expectRejected(sim.submit('j3', 'orders'), 'NAME_IN_USE')).toContain('j2');
    },
  );
});

describe('idempotence', () => {
  it('returns the first outcome for a repeated accepted command and writes nothing', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    const first = sim.started('j1');
    const again = command(
      'ReportStarted',
      { ...envelopeOf(first), at: T0 + 99_000 },
      {
        worker: 'worker-9',
      },
    );
    const before = structuredClone(sim.job('j1'));
    const dup = sim.run(again);
    expect(dup.events).toEqual([]);
    expect(dup.decision).toEqual({
      kind: 'duplicate',
      outcome: {
        commandId: first.events[0]!.commandId,
        jobId: 'j1',
        accepted: true,
        eventIds: ['j1/1'],
        rejection: null,
      },
    });
    expect(sim.job('j1')).toEqual(before);
  });

  it('returns the first outcome for a repeated rejected command, even if it would now succeed', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    const first = sim.suspend('j1');
    expect(first.decision.kind).toBe('accepted');
    const firstResume = sim.resume('j1', 'SKIP');
    const reason = expectRejected(firstResume, 'INVALID_ARGUMENT');
    // Same command id, now a plain RETRY that would be accepted on its own.
    const retry = command('ResumeJob', envelopeOf(firstResume), {
      failingRecord: 'RETRY',
      deadLetterTopic: null,
      acceptDataLoss: false,
      force: false,
    });
    const dup = sim.run(retry);
    expect(dup.decision).toEqual({
      kind: 'duplicate',
      outcome: {
        commandId: firstResume.events[0]!.commandId,
        jobId: 'j1',
        accepted: false,
        eventIds: [firstResume.events[0]!.eventId],
        rejection: { code: 'INVALID_ARGUMENT', reason },
      },
    });
    expect(statusOf(sim, 'j1')).toBe('SUSPENDED');
  });

  it('collects every event of a multi-event command in one outcome', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    const step = sim.exportSnapshot('j1', 'golden');
    const outcome = sim.cluster.outcomes.get(step.events[0]!.commandId);
    expect(outcome).toEqual({
      commandId: step.events[0]!.commandId,
      jobId: 'j1',
      accepted: true,
      eventIds: step.events.map((e) => e.eventId),
      rejection: null,
    });
    expect(outcome!.eventIds).toHaveLength(2);
  });

  it('decides a command that is not yet folded as new (the outcome comes from the log)', () => {
    const cluster = emptyCluster();
    const submit = command(
      'SubmitJob',
      { commandId: 'c1', jobId: 'j1', issuedBy: 'alice', at: T0 },
      { pipeline: 'p', config: config('orders') },
    );
    expect(decide(cluster, submit).kind).toBe('accepted');
    // Not folded: deciding again is not a duplicate yet.
    expect(decide(cluster, submit).kind).toBe('accepted');
  });
});

describe('snapshots', () => {
  it("refuses an export from RUNNING: only a suspended job's changelogs stand still for the copy", () => {
    const sim = new Sim();
    jobIn(sim, 'RUNNING');
    const reason = expectRejected(sim.exportSnapshot('j1', 'nightly'), 'ILLEGAL_TRANSITION');
    expect(reason).toContain('allowed only from SUSPENDED, SUSPENDED_DUE_TO_ERROR');
    expect(sim.job('j1')).toMatchObject({ status: 'RUNNING', exportedSnapshots: {} });
  });

  it('refuses an export without its copy, naming the way to export', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    const reason = expectRejected(sim.exportSnapshot('j1', 'nightly', null), 'INVALID_ARGUMENT');
    expect(reason).toContain('sluice export-snapshot');
    expect(sim.job('j1').exportedSnapshots).toEqual({});
  });

  it('refuses a copy made in another run or at another snapshot: the job moved during the copy', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    const copy = { run: 1, snapshotId: 'snap-1', sourceOffsets: [], stages: [] };
    sim.resume('j1');
    sim.started('j1');
    sim.suspend('j1');
    expect(sim.job('j1').run).toBe(2);
    const reason = expectRejected(sim.exportSnapshot('j1', 'nightly', copy), 'INVALID_ARGUMENT');
    expect(reason).toContain('moved during the copy');
    expectRejected(
      sim.exportSnapshot('j1', 'nightly', { ...copy, run: 2, snapshotId: 'old' }),
      'INVALID_ARGUMENT',
    );
    expectAccepted(sim.exportSnapshot('j1', 'nightly', { ...copy, run: 2 }));
  });

  it('deletes an exported snapshot: its name is free again, and no job can start from it', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED', 'j1', 'a');
    expectAccepted(sim.exportSnapshot('j1', 'nightly'));
    sim.cancel('j1');
    expect(expectAccepted(sim.deleteSnapshot('j1', 'nightly'))).toEqual([
      { type: 'SnapshotDeleted', jobId: 'j1', name: 'nightly' },
    ]);
    expect(sim.job('j1')).toMatchObject({
      status: 'CANCELLED',
      exportedSnapshots: {},
      snapshotCopies: {},
    });
    const reason = expectRejected(
      sim.submit('j2', 'b', { initialSnapshotName: 'nightly' }),
      'UNKNOWN_SNAPSHOT',
    );
    expect(reason).toContain('"nightly"');
    expect(reason).toContain('deleted');
    expectRejected(sim.deleteSnapshot('j1', 'nightly'), 'UNKNOWN_SNAPSHOT');
  });

  it('refuses an export when there is no committed snapshot', () => {
    const sim = new Sim();
    sim.submit('j1', 'orders');
    sim.started('j1');
    sim.suspend('j1');
    expect(expectRejected(sim.exportSnapshot('j1', 'nightly'), 'NO_SNAPSHOT')).toContain('orders');
    expect(sim.job('j1').exportedSnapshots).toEqual({});
  });

  it('refuses a snapshot name already used, by this job or another', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED', 'j1', 'a');
    jobIn(sim, 'SUSPENDED', 'j2', 'b');
    expectAccepted(sim.exportSnapshot('j1', 'nightly'));
    expectRejected(sim.exportSnapshot('j1', 'nightly'), 'SNAPSHOT_NAME_IN_USE');
    expectRejected(sim.exportSnapshot('j2', 'nightly'), 'SNAPSHOT_NAME_IN_USE');
    expect(sim.job('j2').exportedSnapshots).toEqual({});
    expect(statusOf(sim, 'j2')).toBe('SUSPENDED');
  });

  it('refuses a snapshot name outside the safe alphabet', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED');
    expectRejected(sim.exportSnapshot('j1', 'night ly'), 'INVALID_ARGUMENT');
  });

  it.each(['NOT_RUNNING', 'STARTING', 'COMPLETING'] as const)(
    'refuses an export while %s',
    (status) => {
      const sim = new Sim();
      jobIn(sim, status);
      expectRejected(sim.exportSnapshot('j1', 'nightly'), 'ILLEGAL_TRANSITION');
    },
  );

  it('refuses a second export while one is in progress', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED_EXPORTING_SNAPSHOT');
    expectRejected(sim.exportSnapshot('j1', 'another'), 'ILLEGAL_TRANSITION');
  });

  it('starts a new job from an exported snapshot, and only from one that exists', () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED', 'j1', 'a');
    const reason = expectRejected(
      sim.submit('j2', 'b', { initialSnapshotName: 'nightly' }),
      'UNKNOWN_SNAPSHOT',
    );
    expect(reason).toContain('nightly');
    expect(sim.cluster.jobs.has('j2')).toBe(false);
    sim.exportSnapshot('j1', 'nightly');
    expectAccepted(sim.submit('j3', 'b', { initialSnapshotName: 'nightly' }));
    expect(sim.job('j3').config.initialSnapshotName).toBe('nightly');
  });

  it("keeps a cancelled job's exported snapshots usable, and their names taken", () => {
    const sim = new Sim();
    jobIn(sim, 'SUSPENDED', 'j1', 'a');
    sim.exportSnapshot('j1', 'nightly');
    sim.cancel('j1');
    expectAccepted(sim.submit('j2', 'a', { initialSnapshotName: 'nightly' }));
    expectAccepted(sim.started('j2'));
    expectAccepted(sim.snapshot('j2', 'snap-2'));
    sim.suspend('j2');
    expectRejected(sim.exportSnapshot('j2', 'nightly'), 'SNAPSHOT_NAME_IN_USE');
    expect(sim.job('j2').exportedSnapshots).toEqual({});
  });

  describe.each(JOB_STATUSES.filter((s) => !['SUSPENDED', 'SUSPENDED_DUE_TO_ERROR'].includes(s)))(
    'a job that is %s',
    (status) => {
      it.each([
        ['a valid, free name', 'fresh'],
        ['a name outside the safe alphabet', 'night ly'],
        ['a name already taken', 'taken'],
      ])('refuses an export to %s as ILLEGAL_TRANSITION, before the name', (_, name) => {
        const sim = new Sim();
        jobIn(sim, 'SUSPENDED', 'j2', 'other');
        expectAccepted(sim.exportSnapshot('j2', 'taken'));
        jobIn(sim, status);
        const before = structuredClone(sim.job('j1'));
        const reason = expectRejected(sim.exportSnapshot('j1', name), 'ILLEGAL_TRANSITION');
        expect(reason).toContain(`is ${status}`);
        expect(sim.job('j1')).toEqual({ ...before, version: before.version + 1 });
      });
    },
  );
});

describe('unknown jobs and terminal statuses', () => {
  it('refuses every non-submit command for an unknown job with UNKNOWN_JOB', () => {
    const sim = new Sim();
    const steps = [
      sim.started('nope'),
      sim.snapshot('nope', 's'),
      sim.fail('nope'),
      sim.suspend('nope'),
      sim.resume('nope'),
      sim.cancel('nope'),
      sim.restart('nope'),
      sim.exportSnapshot('nope', 'x'),
      sim.updateConfig('nope', { suspendOnFailure: true }),
      sim.completing('nope'),
      sim.completed('nope'),
    ];
    for (const step of steps) expect(expectRejected(step, 'UNKNOWN_JOB')).toContain('"nope"');
    expect(sim.cluster.jobs.size).toBe(0);
  });

  it('numbers a job from its own history, refusals before its submit included', () => {
    const sim = new Sim();
    sim.cancel('j1');
    const submitted = sim.submit('j1', 'orders');
    expect(submitted.events[0]).toMatchObject({ seq: 1, eventId: 'j1/1' });
    // version is the next event's seq.
    expect(sim.job('j1').version).toBe(2);
    expect(sim.started('j1').events[0]!.seq).toBe(sim.job('j1').version - 1);
  });

  describe.each(['COMPLETED', 'FAILED', 'CANCELLED'] as const)('a %s job', (status) => {
    it('refuses every command and never changes', () => {
      const sim = new Sim();
      jobIn(sim, status);
      const before = structuredClone(sim.job('j1'));
      const steps: [Step, RejectionCode][] = [
        [sim.submit('j1', 'orders'), 'JOB_EXISTS'],
        [sim.started('j1'), 'ILLEGAL_TRANSITION'],
        [sim.snapshot('j1', 'snap-9'), 'ILLEGAL_TRANSITION'],
        [sim.fail('j1'), 'ILLEGAL_TRANSITION'],
        [sim.suspend('j1'), 'ILLEGAL_TRANSITION'],
        [sim.resume('j1'), 'ILLEGAL_TRANSITION'],
        // The status is checked before the resume's arguments and the export's name.
        [sim.resume('j1', 'SKIP'), 'ILLEGAL_TRANSITION'],
        [sim.resume('j1', 'DEAD_LETTER', null), 'ILLEGAL_TRANSITION'],
        [sim.resume('j1', 'RETRY', 'dlq'), 'ILLEGAL_TRANSITION'],
        [sim.cancel('j1'), 'ILLEGAL_TRANSITION'],
        [sim.restart('j1'), 'ILLEGAL_TRANSITION'],
        [sim.exportSnapshot('j1', 'late'), 'ILLEGAL_TRANSITION'],
        [sim.exportSnapshot('j1', 'bad name'), 'ILLEGAL_TRANSITION'],
        [sim.updateConfig('j1', { suspendOnFailure: true }), 'ILLEGAL_TRANSITION'],
        [sim.completing('j1'), 'ILLEGAL_TRANSITION'],
        [sim.completed('j1'), 'ILLEGAL_TRANSITION'],
      ];
      for (const [step, code] of steps) expectRejected(step, code);
      const after: JobState = sim.job('j1');
      expect(after).toEqual({ ...before, version: before.version + steps.length });
    });
  });
});

describe('reports of a replaced run', () => {
  type Report = (sim: Sim, run?: number) => Step;
  /** One report of each type; each is accepted from RUNNING when it names no run. */
  const REPORTS: Record<ReportType, Report> = {
    ReportStarted: (sim, run) => sim.started('j1', 'worker-2', run),
    ReportSnapshot: (sim, run) => sim.snapshot('j1', 'snap-2', run),
    ReportFailure: (sim, run) => sim.fail('j1', {}, run),
    ReportCompleting: (sim, run) => sim.completing('j1', run),
    ReportCompleted: (sim, run) => sim.completed('j1', run),
  };
  const TYPES = Object.keys(REPORTS) as ReportType[];

  /** A job RUNNING on run 2, after a resume or a restart of run 1. */
  function onRun2(how: 'resume' | 'restart'): Sim {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    expect(sim.job('j1').run).toBe(1);
    if (how === 'resume') expectAccepted(sim.suspend('j1'));
    expectAccepted(how === 'resume' ? sim.resume('j1') : sim.restart('j1'));
    expectAccepted(sim.started('j1', 'worker-1', 2));
    expect(sim.job('j1')).toMatchObject({ status: 'RUNNING', run: 2 });
    return sim;
  }

  it('lists every report type', () => {
    expect(TYPES.sort()).toEqual([...REPORT_TYPES].sort());
  });

  describe.each(['resume', 'restart'] as const)('after a %s', (how) => {
    it.each(TYPES)('refuses a %s of the run before as STALE_REPORT, naming both runs', (type) => {
      const sim = onRun2(how);
      const before = structuredClone(sim.job('j1'));
      const reason = expectRejected(REPORTS[type](sim, 1), 'STALE_REPORT');
      expect(reason).toBe(
        `${type} from run 1 of job "orders" ignored: the job is on run 2 (resumed or restarted since).`,
      );
      expect(sim.job('j1')).toEqual({ ...before, version: before.version + 1 });
    });

    it.each(TYPES)('accepts a %s of the current run', (type) => {
      const sim = onRun2(how);
      expectAccepted(REPORTS[type](sim, 2));
      expect(sim.job('j1').run).toBe(2);
    });

    it.each(TYPES)('accepts a %s that names no run, as before runs', (type) => {
      const sim = onRun2(how);
      expectAccepted(REPORTS[type](sim));
    });
  });

  it('keeps a job just resumed STARTING when a failure report of the run before arrives late', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    expectAccepted(sim.resume('j1'));
    expectRejected(sim.fail('j1', {}, 1), 'STALE_REPORT');
    expect(sim.job('j1')).toMatchObject({ status: 'STARTING', run: 2 });
    // Without the run, the same report suspends the new run: what runs are there to prevent.
    expectAccepted(sim.fail('j1'));
    expect(sim.job('j1').status).toBe('SUSPENDED_DUE_TO_ERROR');
  });

  it('keeps a job just restarted STARTING when the run before reports started late', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    expectAccepted(sim.restart('j1'));
    expectRejected(sim.started('j1', 'worker-1', 1), 'STALE_REPORT');
    expect(sim.job('j1')).toMatchObject({ status: 'STARTING', run: 2, workers: [] });
    expectAccepted(sim.started('j1', 'worker-1', 2));
    expect(sim.job('j1')).toMatchObject({ status: 'RUNNING', workers: ['worker-1'] });
  });

  it('refuses a report of a run that has not started, before the status is checked', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED');
    const reason = expectRejected(sim.started('j1', 'worker-1', 2), 'STALE_REPORT');
    expect(reason).toBe(
      'ReportStarted from run 2 of job "orders" ignored: the job is on run 1 (that run has not started).',
    );
    // A report of the current run that the status does not allow is refused as before.
    expectRejected(sim.started('j1', 'worker-1', 1), 'ILLEGAL_TRANSITION');
  });

  it('answers a repeated stale report with its first outcome', () => {
    const sim = onRun2('resume');
    const first = sim.fail('j1', {}, 1);
    expectRejected(first, 'STALE_REPORT');
    const again = sim.run(
      command('ReportFailure', envelopeOf(first), { failure: failureReport(), run: 1 }),
    );
    expect(again.decision).toMatchObject({
      kind: 'duplicate',
      outcome: { accepted: false, rejection: { code: 'STALE_REPORT' } },
    });
    expect(again.events).toEqual([]);
  });
});

function envelopeOf(step: Step): {
  commandId: string;
  jobId: string;
  issuedBy: string;
  at: number;
} {
  const e = step.events[0]!;
  return { commandId: e.commandId, jobId: e.jobId, issuedBy: e.issuedBy, at: e.at };
}
