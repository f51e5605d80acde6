import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/domain/errors.js';
import { CommandRejectedError, JobSuspendedError } from '../../src/domain/job-errors.js';
import { connectClient, freshNamespace, startCoordinator } from '../support/sluice.js';

const ns = await freshNamespace('coord');
await startCoordinator(ns);
const client = await connectClient(ns);

describe('coordinator and client', () => {
  it('runs a job through its lifecycle and records every step in the log', async () => {
    const job = await client.submit('order-totals', {
      name: 'orders',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
    });
    expect(job.status()).toBe('NOT_RUNNING');
    expect(job.config()).toMatchObject({
      name: 'orders',
      suspendOnFailure: true,
      snapshotIntervalMs: 10_000,
    });

    const changes: string[] = [];
    job.onStatusChange((c) =>
      changes.push(`${c.previousStatus}->${c.newStatus}:${c.userRequested}`),
    );

    await client.send(job.id, 'ReportStarted', { worker: 'w1' });
    expect(job.status()).toBe('RUNNING');
    await client.send(job.id, 'ReportSnapshot', {
      worker: 'w1',
      snapshotId: 's1',
      sourceOffsets: [{ topic: 'in', partition: 0, offset: '42' }],
      stateOffsets: [],
    });

    const joined = job.join();
    await client.send(job.id, 'ReportFailure', {
      failure: {
        description: 'user code threw',
        error: {
          name: 'TypeError',
          message: 'amount is undefined',
          stack: 'TypeError: amount is undefined\n    at add',
        },
        stage: 'totals',
        worker: 'w1',
        record: {
          topic: 'in',
          partition: 0,
          offset: '5000',
          key: 'customer-7',
          valuePreview: '{"amount":null}',
        },
        fingerprint: null,
      },
    });
    const err = await joined.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobSuspendedError);
    const cause = (err as JobSuspendedError).suspensionCause;
    expect(cause).toMatchObject({
      dueToError: true,
      stage: 'totals',
      snapshotId: 's1',
      record: { offset: '5000', key: 'customer-7' },
    });
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    expect(job.suspensionCause().error?.message).toBe('amount is undefined');

    await job.updateConfig({ snapshotIntervalMs: 2000 });
    expect(job.config().snapshotIntervalMs).toBe(2000);
    await job.exportSnapshot('before-fix');
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    await job.resume({ failingRecord: 'SKIP' });
    expect(job.status()).toBe('STARTING');
    await job.cancel();
    expect(job.status()).toBe('CANCELLED');

    expect(changes).toEqual([
      'NOT_RUNNING->RUNNING:false',
      'RUNNING->SUSPENDED_DUE_TO_ERROR:false',
      'SUSPENDED_DUE_TO_ERROR->SUSPENDED_EXPORTING_SNAPSHOT:true',
      'SUSPENDED_EXPORTING_SNAPSHOT->SUSPENDED_DUE_TO_ERROR:true',
      'SUSPENDED_DUE_TO_ERROR->STARTING:true',
      'STARTING->CANCELLED:true',
    ]);
    const history = job.history();
    expect(history.map((e) => e.type)).toEqual([
      'JobSubmitted',
      'JobStarted',
      'SnapshotCommitted',
      'JobSuspendedDueToError',
      'ConfigUpdated',
      'SnapshotExportStarted',
      'SnapshotExported',
      'JobResumed',
      'JobCancelled',
    ]);
    expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i));
    expect(new Set(history.map((e) => e.issuedBy))).toEqual(new Set(['test-user']));
  });

  it('rejects an illegal command with the reason, records it, and keeps running', async () => {
    const job = await client.submit('p', { name: 'rejects' });
    const err = await job.resume().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandRejectedError);
    expect((err as CommandRejectedError).rejectionCode).toBe('ILLEGAL_TRANSITION');
    expect((err as CommandRejectedError).reason).toMatch(/is NOT_RUNNING/);
    const last = job.history().at(-1);
    expect(last).toMatchObject({
      type: 'CommandRejected',
      commandType: 'ResumeJob',
      code: 'ILLEGAL_TRANSITION',
    });
    await job.cancel();
  });

  it('keeps job names unique among live jobs', async () => {
    const first = await client.submit('p', { name: 'unique' });
    const dup = await client.submit('p', { name: 'unique' }).catch((e: unknown) => e);
    expect(isSluiceError(dup, 'SLUICE_COMMAND_REJECTED')).toBe(true);
    expect((dup as CommandRejectedError).rejectionCode).toBe('NAME_IN_USE');
    await first.cancel();
    const second = await client.submit('p', { name: 'unique' });
    expect(client.getJob('unique').id).toBe(second.id);
  });

  it('applies a repeated command once and answers the repeat with the first outcome', async () => {
    const job = await client.submit('p', { name: 'idempotent' });
    await client.send(job.id, 'ReportStarted', { worker: 'w' });
    const first = await client.send(job.id, 'SuspendJob', {}, 'fixed-command-id');
    const again = await client.send(job.id, 'SuspendJob', {}, 'fixed-command-id');
    expect(again).toEqual(first);
    expect(job.history().filter((e) => e.type === 'JobSuspended')).toHaveLength(1);
  });
});
