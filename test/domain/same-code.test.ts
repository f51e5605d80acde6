import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import type { PipelineHost } from '../../src/domain/presence.js';
import { failedCode, ResumeSameCodeError, sameCodeAsFailure } from '../../src/domain/same-code.js';
import type { JobState } from '../../src/domain/state.js';
import { JOB_STATUSES } from '../../src/domain/status.js';
import { reach, running, Sim, T0 } from './harness.js';

// The same-code check of a resume (issue 17): refused only when the job failed in code with a
// known fingerprint, the resume retries the record, and every live host runs that code.

const FAILED = 'a1b2c3d4e5f6';
const FIXED = 'f1f2f3f4f5f6';

function host(workerId: string, fingerprint: string): PipelineHost {
  return { workerId, fingerprint, seenAt: T0 };
}

/** Job j1 ("orders", pipeline as the harness submits it) suspended in code `fingerprint`. */
function failedIn(fingerprint: string | null): JobState {
  const sim = new Sim();
  running(sim);
  sim.fail('j1', { fingerprint });
  return sim.job('j1');
}

describe('sameCodeAsFailure', () => {
  it('refuses a retry while every live host runs the code that failed, naming them', () => {
    const job = failedIn(FAILED);
    const hosts = [host('old-1', FAILED), host('old-2', FAILED)];
    expect(sameCodeAsFailure(job, hosts, 'RETRY')).toEqual({
      jobName: 'orders',
      pipeline: job.pipeline,
      fingerprint: FAILED,
      workers: hosts,
    });
  });

  it('lets it through once one live host runs other code, or when no live worker hosts the pipeline', () => {
    const job = failedIn(FAILED);
    expect(
      sameCodeAsFailure(job, [host('old-1', FAILED), host('new-1', FIXED)], 'RETRY'),
    ).toBeUndefined();
    expect(sameCodeAsFailure(job, [host('new-1', FIXED)], 'RETRY')).toBeUndefined();
    expect(sameCodeAsFailure(job, [], 'RETRY')).toBeUndefined();
  });

  it('lets through a resume that moves past the failing record', () => {
    const job = failedIn(FAILED);
    for (const action of ['SKIP', 'DEAD_LETTER'] as const)
      expect(sameCodeAsFailure(job, [host('old-1', FAILED)], action)).toBeUndefined();
  });

  it('lets through a failure of unknown code: none on the cause, or a cause older than fingerprints', () => {
    expect(sameCodeAsFailure(failedIn(null), [host('old-1', FAILED)], 'RETRY')).toBeUndefined();
    const old = failedIn(FAILED);
    if (old.status !== 'SUSPENDED_DUE_TO_ERROR') throw new Error('not suspended');
    const before: Partial<typeof old.suspensionCause> = { ...old.suspensionCause };
    delete before.fingerprint;
    const folded = { ...old, suspensionCause: before } as unknown as JobState;
    expect(failedCode(folded)).toBeNull();
    expect(sameCodeAsFailure(folded, [host('old-1', FAILED)], 'RETRY')).toBeUndefined();
  });

  it.each(JOB_STATUSES.filter((s) => s !== 'SUSPENDED_DUE_TO_ERROR'))(
    'lets through a job that is %s (the coordinator decides whether it can resume)',
    (status) => {
      const job = reach(new Sim(), status);
      expect(failedCode(job)).toBeNull();
      expect(sameCodeAsFailure(job, [host('old-1', FAILED)], 'RETRY')).toBeUndefined();
    },
  );
});

describe('ResumeSameCodeError', () => {
  it('names the job, pipeline, fingerprint and workers, says what to do, and lists them in details', () => {
    const job = failedIn(FAILED);
    const err = new ResumeSameCodeError(
      sameCodeAsFailure(job, [host('old-1', FAILED), host('old-2', FAILED)], 'RETRY')!,
    );
    expect(isSluiceError(err, 'SLUICE_RESUME_SAME_CODE')).toBe(true);
    expect(err.message).toBe(
      `Job "orders" failed in pipeline "${job.pipeline}" running code ${FAILED}, and every live worker hosting that pipeline still runs it: old-1, old-2. ` +
        'Resuming would retry the failing record in the same code. Deploy the fix and stop those workers ' +
        '(a stopped worker stops counting at once, one that crashed 30 s after it was last seen), ' +
        'move past the record with --skip-failing-record or --dead-letter, or resume with --force if the cause was outside the code.',
    );
    expect(err.toJSON().details).toEqual({
      job: 'orders',
      pipeline: job.pipeline,
      fingerprint: FAILED,
      workers: [
        { workerId: 'old-1', fingerprint: FAILED, seenAt: T0 },
        { workerId: 'old-2', fingerprint: FAILED, seenAt: T0 },
      ],
    });
  });
});
