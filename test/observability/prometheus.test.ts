import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { describe, expect, it } from 'vitest';
import type { SuspensionCause } from '../../src/domain/cause.js';
import { compileJobConfig } from '../../src/domain/config.js';
import type { JobBase, JobState } from '../../src/domain/state.js';
import { JOB_STATUSES } from '../../src/domain/status.js';
import {
  WorkerMetrics,
  statusSeries,
  suspendedSinceSeconds,
} from '../../src/observability/prometheus.js';
import { parseProm, sample } from '../support/prom.js';

const T0 = 1_700_000_000_000;

const base: JobBase = {
  jobId: 'j1',
  name: 'orders',
  pipeline: 'totals',
  config: compileJobConfig({ name: 'orders' }),
  submittedAt: T0,
  submittedBy: 'test',
  lastSnapshot: null,
  errorCounts: [],
  plan: NO_PLAN,
  exportedSnapshots: {},
  snapshotCopies: {},
  workers: [],
  run: 1,
  version: 1,
  updatedAt: T0,
};

const cause = (at: number): SuspensionCause => ({
  requestedByUser: false,
  dueToError: true,
  description: 'boom',
  error: null,
  stage: 'price',
  worker: 'w1',
  record: null,
  snapshotId: null,
  at,
  fingerprint: null,
});

const job = { job_id: 'j1', pipeline: 'totals' };

function clock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function scrape(m: WorkerMetrics): Promise<ReturnType<typeof parseProm>> {
  return parseProm((await m.scrape()).body);
}

describe('statusSeries', () => {
  it('has one series per status, 1 only for the current one', () => {
    const series = statusSeries('SUSPENDED_DUE_TO_ERROR');
    expect(series.map((s) => s.status)).toEqual([...JOB_STATUSES]);
    expect(series.filter((s) => s.value === 1)).toEqual([
      { status: 'SUSPENDED_DUE_TO_ERROR', value: 1 },
    ]);
  });
});

describe('suspendedSinceSeconds', () => {
  it('is the suspension time in unix seconds while suspended, including during an export', () => {
    expect(
      suspendedSinceSeconds({ ...base, status: 'SUSPENDED', suspensionCause: cause(T0 + 1500) }),
    ).toBe((T0 + 1500) / 1000);
    expect(
      suspendedSinceSeconds({
        ...base,
        status: 'SUSPENDED_EXPORTING_SNAPSHOT',
        suspensionCause: cause(T0),
        returnTo: 'SUSPENDED_DUE_TO_ERROR',
        exportingAs: 'x',
      }),
    ).toBe(T0 / 1000);
  });

  it('is undefined when the job is not suspended, failed included', () => {
    expect(suspendedSinceSeconds({ ...base, status: 'RUNNING' })).toBeUndefined();
    expect(
      suspendedSinceSeconds({ ...base, status: 'FAILED', failureCause: cause(T0) }),
    ).toBeUndefined();
  });
});

describe('WorkerMetrics', () => {
  it('has one sluice_worker_pipeline_info series per hosted pipeline, labelled with its fingerprint', async () => {
    const m = new WorkerMetrics(clock().now);
    m.hosting({ totals: 'a1b2c3d4e5f6', audit: '0ddba11c0ffe' });
    let s = await scrape(m);
    expect(s.filter((x) => x.name === 'sluice_worker_pipeline_info')).toEqual([
      {
        name: 'sluice_worker_pipeline_info',
        labels: { pipeline: 'totals', fingerprint: 'a1b2c3d4e5f6' },
        value: 1,
      },
      {
        name: 'sluice_worker_pipeline_info',
        labels: { pipeline: 'audit', fingerprint: '0ddba11c0ffe' },
        value: 1,
      },
    ]);
    // Told again (a worker started anew), the old fingerprints go.
    m.hosting({ totals: 'f1f2f3f4f5f6' });
    s = await scrape(m);
    expect(s.filter((x) => x.name === 'sluice_worker_pipeline_info').map((x) => x.labels)).toEqual([
      { pipeline: 'totals', fingerprint: 'f1f2f3f4f5f6' },
    ]);
  });

  it('counts only source records in and sink records out across hops', async () => {
    const m = new WorkerMetrics(clock().now);
    const metrics = m.job('j1', 'totals');
    const first = metrics.hop(0, { source: true, sink: false });
    const last = metrics.hop(1, { source: false, sink: true });
    first.recordsIn(10);
    first.recordsOut(10); // into the repartition topic: not the job's output
    last.recordsIn(10); // from the repartition topic: not a source record
    last.recordsOut(7);
    last.error();
    const s = await scrape(m);
    expect(sample(s, 'sluice_job_records_in_total', job)).toBe(10);
    expect(sample(s, 'sluice_job_records_out_total', job)).toBe(7);
    expect(sample(s, 'sluice_job_errors_total', job)).toBe(1);
  });

  it('keeps counters and reports status and suspension from the job state', async () => {
    const c = clock();
    const m = new WorkerMetrics(c.now);
    m.job('j1', 'totals').recordsIn(5);
    m.track({ ...base, status: 'RUNNING', lastSnapshot: snapshotAt(T0 - 4000) });
    let s = await scrape(m);
    expect(sample(s, 'sluice_job_status', { ...job, status: 'RUNNING' })).toBe(1);
    expect(sample(s, 'sluice_job_status', { ...job, status: 'SUSPENDED' })).toBe(0);
    expect(sample(s, 'sluice_job_suspended_since_seconds', job)).toBeUndefined();
    expect(sample(s, 'sluice_job_last_snapshot_age_seconds', job)).toBe(4);

    c.advance(2000);
    m.track({ ...base, status: 'SUSPENDED_DUE_TO_ERROR', suspensionCause: cause(T0 + 1000) });
    s = await scrape(m);
    expect(sample(s, 'sluice_job_records_in_total', job)).toBe(5);
    expect(sample(s, 'sluice_job_status', { ...job, status: 'RUNNING' })).toBe(0);
    expect(sample(s, 'sluice_job_status', { ...job, status: 'SUSPENDED_DUE_TO_ERROR' })).toBe(1);
    expect(sample(s, 'sluice_job_suspended_since_seconds', job)).toBe((T0 + 1000) / 1000);
  });

  it('reports lag per owned partition and drops partitions that moved away', async () => {
    const m = new WorkerMetrics(clock().now);
    const hop = m.job('j1', 'totals').hop(0, { source: true, sink: false });
    hop.lag('in', 0, 12);
    hop.lag('in', 1, 3);
    hop.lag('other', 0, 9);
    hop.assigned(['in'], new Set(['in:1']));
    const s = await scrape(m);
    const lags = s.filter((x) => x.name === 'sluice_job_consumer_lag');
    expect(lags.map((x) => [x.labels.topic, x.labels.partition, x.value])).toEqual([
      ['in', '1', 3],
      ['other', '0', 9],
    ]);
  });

  it('sums restore progress over hops, and reports 1 once every hop is done', async () => {
    const m = new WorkerMetrics(clock().now);
    const metrics = m.job('j1', 'totals');
    expect(sample(await scrape(m), 'sluice_job_restore_progress_ratio', job)).toBeUndefined();
    metrics.hop(1, { source: false, sink: false }).restore(30, 100);
    metrics.hop(2, { source: false, sink: true }).restore(0, 100);
    expect(sample(await scrape(m), 'sluice_job_restore_progress_ratio', job)).toBe(0.15);
    metrics.hop(1, { source: false, sink: false }).restore(100, 100);
    metrics.hop(2, { source: false, sink: true }).restore(100, 100);
    expect(sample(await scrape(m), 'sluice_job_restore_progress_ratio', job)).toBe(1);
  });

  it('records the last snapshot duration and counts snapshots', async () => {
    const m = new WorkerMetrics(clock().now);
    const metrics = m.job('j1', 'totals');
    metrics.snapshot(120);
    metrics.snapshot(80);
    const s = await scrape(m);
    expect(sample(s, 'sluice_job_snapshots_total', job)).toBe(2);
    expect(sample(s, 'sluice_job_last_snapshot_duration_seconds', job)).toBe(0.08);
  });

  it('ignores jobs that ended before it knew them, and drops ended jobs after a while', async () => {
    const c = clock();
    const m = new WorkerMetrics(c.now);
    m.track({ ...base, jobId: 'old', status: 'COMPLETED' });
    m.track({ ...base, status: 'RUNNING' });
    m.job('j1', 'totals').recordsIn(3);
    m.track({ ...base, status: 'CANCELLED' });
    let s = await scrape(m);
    expect(s.some((x) => x.labels.job_id === 'old')).toBe(false);
    expect(sample(s, 'sluice_job_status', { ...job, status: 'CANCELLED' })).toBe(1);
    expect(sample(s, 'sluice_job_records_in_total', job)).toBe(3);
    c.advance(5 * 60_000 + 1);
    s = await scrape(m);
    expect(s.some((x) => x.labels.job_id === 'j1')).toBe(false);
  });

  it('keeps workers apart: each has a registry of its own', async () => {
    const a = new WorkerMetrics();
    const b = new WorkerMetrics();
    a.job('j1', 'totals').recordsIn(1);
    expect(sample(await scrape(a), 'sluice_job_records_in_total', job)).toBe(1);
    expect(sample(await scrape(b), 'sluice_job_records_in_total', job)).toBeUndefined();
  });
});

function snapshotAt(at: number): JobState['lastSnapshot'] {
  return { snapshotId: 's1', sourceOffsets: [], stateOffsets: [], at };
}
