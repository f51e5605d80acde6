import { describe, expect, it } from 'vitest';
import { replay } from '../../src/domain/apply.js';
import type { CommandPayloads } from '../../src/domain/commands.js';
import { MAX_DRY_RUN_OUTPUTS } from '../../src/domain/dry-run.js';
import { JOB_STATUSES } from '../../src/domain/status.js';
import { failureReport, reach, recordRef, Sim } from './harness.js';

// The decisions of a dry run (issue 17, item 2): a request is accepted only for a job suspended
// on a record; each live host's answer once; and neither changes anything in the job's state
// but its version, so a resume afterwards finds the job exactly as before.

function answer(
  overrides: Partial<CommandPayloads['ReportDryRun']> = {},
): CommandPayloads['ReportDryRun'] {
  return {
    requestId: 'dry-1',
    worker: 'w-new',
    fingerprint: '0ddba11c0ffe',
    outputs: [{ key: 'c1', valuePreview: '{"n":40}' }],
    outputCount: 1,
    error: null,
    stage: null,
    ...overrides,
  };
}

describe('RequestDryRun', () => {
  it('is accepted for a job suspended on a record, naming that record, and changes nothing but the version', () => {
    const sim = new Sim();
    const before = reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    const step = sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    expect(step.decision.kind).toBe('accepted');
    expect(step.events).toMatchObject([
      { type: 'DryRunRequested', jobId: 'j1', requestId: 'dry-1', record: recordRef() },
    ]);
    const report = sim.send('ReportDryRun', 'j1', answer(), { issuedBy: 'worker:w-new' });
    expect(report.events).toMatchObject([{ type: 'DryRunCompleted', ...answer() }]);
    const after = sim.job('j1');
    expect(after).toEqual({ ...before, version: before.version + 2 });
    expect(replay(sim.log)).toEqual(after);
    // The resume that follows finds the same record to retry.
    const resumed = sim.resume('j1');
    expect(resumed.events).toMatchObject([{ type: 'JobResumed', record: recordRef() }]);
  });

  it.each(JOB_STATUSES.filter((s) => s !== 'SUSPENDED_DUE_TO_ERROR'))(
    'is refused for a job in %s as an illegal transition, naming the status',
    (status) => {
      const sim = new Sim();
      reach(sim, status);
      const step = sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
      expect(step.decision).toMatchObject({ kind: 'rejected', code: 'ILLEGAL_TRANSITION' });
      if (step.decision.kind === 'rejected') expect(step.decision.reason).toContain(status);
    },
  );

  it('is refused for a job suspended on an error that names no record (a failed start)', () => {
    const sim = new Sim();
    reach(sim, 'RUNNING');
    sim.fail('j1', failureReport({ record: null, stage: null }));
    const step = sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    expect(step.decision).toMatchObject({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
    if (step.decision.kind === 'rejected')
      expect(step.decision.reason).toContain('names no record');
  });

  it('is refused with a request id already used, or an empty one', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    for (const requestId of ['dry-1', '']) {
      const step = sim.send('RequestDryRun', 'j1', { requestId });
      expect(step.decision).toMatchObject({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
    }
  });
});

describe('ReportDryRun', () => {
  it('is refused for a request the log does not hold, or one of another job', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    reach(sim, 'SUSPENDED_DUE_TO_ERROR', 'j2', 'other');
    sim.send('RequestDryRun', 'j2', { requestId: 'dry-2' });
    for (const requestId of ['dry-1', 'dry-2']) {
      const step = sim.send('ReportDryRun', 'j1', answer({ requestId }));
      expect(step.decision).toMatchObject({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
      if (step.decision.kind === 'rejected')
        expect(step.decision.reason).toContain('has no dry run request');
    }
  });

  it('is recorded once per worker: a second answer of the same worker is refused, another worker is heard', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    expect(sim.send('ReportDryRun', 'j1', answer()).decision.kind).toBe('accepted');
    const again = sim.send('ReportDryRun', 'j1', answer());
    expect(again.decision).toMatchObject({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
    const error = { name: 'RangeError', message: 'n=40 has no price', stack: null };
    const old = sim.send(
      'ReportDryRun',
      'j1',
      answer({ worker: 'w-old', outputs: [], outputCount: 0, error, stage: 'price' }),
    );
    expect(old.events).toMatchObject([
      { type: 'DryRunCompleted', worker: 'w-old', error, stage: 'price', outputs: [] },
    ]);
  });

  it('is still heard after the job was resumed (the asker waits for it), and keeps at most the cap of outputs', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    sim.resume('j1');
    const many = Array.from({ length: MAX_DRY_RUN_OUTPUTS + 5 }, (_, i) => ({
      key: `k${i}`,
      valuePreview: `${i}`,
    }));
    const step = sim.send(
      'ReportDryRun',
      'j1',
      answer({ outputs: many, outputCount: many.length }),
    );
    expect(step.decision.kind).toBe('accepted');
    const event = step.events[0] as { outputs: unknown[]; outputCount: number };
    expect(event.outputs).toHaveLength(MAX_DRY_RUN_OUTPUTS);
    expect(event.outputCount).toBe(MAX_DRY_RUN_OUTPUTS + 5);
    expect(sim.job('j1').status).toBe('STARTING');
  });

  it('is refused once the job has ended: its requests are forgotten', () => {
    const sim = new Sim();
    reach(sim, 'SUSPENDED_DUE_TO_ERROR');
    sim.send('RequestDryRun', 'j1', { requestId: 'dry-1' });
    sim.cancel('j1');
    expect(sim.cluster.dryRuns.size).toBe(0);
    const step = sim.send('ReportDryRun', 'j1', answer());
    expect(step.decision).toMatchObject({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
  });
});
