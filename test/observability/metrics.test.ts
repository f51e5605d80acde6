import { describe, expect, it } from 'vitest';
import {
  NO_METRICS,
  withRestoreListener,
  type JobMetrics,
  type MetricsSink,
  type RestoreProgress,
} from '../../src/observability/metrics.js';

describe('withRestoreListener', () => {
  it('passes restore progress on, summed over the hops, and still feeds the metrics', () => {
    const seen: RestoreProgress[] = [];
    const inner: string[] = [];
    const recording = (hop: number): JobMetrics => ({
      ...NO_METRICS.job('j', 'p'),
      restore: (done, total) => void inner.push(`hop${hop} ${done}/${total}`),
      recordsIn: (n) => void inner.push(`in ${n}`),
      hop: (index) => recording(index),
    });
    const sink: MetricsSink = { job: () => recording(0) };
    const job = withRestoreListener(sink, (p) => seen.push(p)).job('j1', 'orders');
    const hop0 = job.hop(0, { source: true, sink: false });
    const hop1 = job.hop(1, { source: false, sink: true });
    hop0.restore(0, 100);
    hop1.restore(0, 50);
    hop0.restore(100, 100);
    hop1.restore(50, 50);
    hop0.recordsIn(3);
    expect(seen.map((p) => `${p.jobId} ${p.pipeline} ${p.done}/${p.total}`)).toEqual([
      'j1 orders 0/100',
      'j1 orders 0/150',
      'j1 orders 100/150',
      'j1 orders 150/150',
    ]);
    expect(inner).toEqual(['hop0 0/100', 'hop1 0/50', 'hop0 100/100', 'hop1 50/50', 'in 3']);
  });
});
