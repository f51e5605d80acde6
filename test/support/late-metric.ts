import { NO_METRICS, type JobMetrics, type MetricsSink } from '../../src/observability/metrics.js';

/**
 * A metrics sink for a job runner that counts only late values (`recordsLate`): what a window
 * or a stream join dropped or sent to its late topic, counted once committed.
 */
export function lateCounter(): { sink: MetricsSink; late: () => number } {
  let late = 0;
  const metrics: JobMetrics = {
    ...NO_METRICS.job('', ''),
    recordsLate: (n) => (late += n),
    hop: () => metrics,
  };
  return { sink: { job: () => metrics }, late: () => late };
}
