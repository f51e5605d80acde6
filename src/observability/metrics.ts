/**
 * What the runtime reports about the jobs it runs, as a small interface: the hot path calls a
 * handful of in-memory counters, and knows nothing of Prometheus. A worker without a metrics
 * port gets {@link NO_METRICS}, whose calls do nothing.
 */

/** What one job reports on this worker. Every call is cheap: memory only, no I/O. */
export interface JobMetrics {
  /** `n` records of the job's sources were processed and committed. */
  recordsIn(n: number): void;
  /** `n` records were written to the job's sink and committed. */
  recordsOut(n: number): void;
  /**
   * `n` items reached a `branch` stage that none of its branches took (no predicate held and it
   * has no default branch), so they were dropped; counted once committed.
   */
  recordsUnrouted(n: number): void;
  /**
   * `n` values reached a window stage after every window of theirs had closed (watermark past
   * end plus grace), or a stream join more than its window plus grace behind its stream time:
   * dropped, or sent to the stage's late topic; counted once committed.
   */
  recordsLate(n: number): void;
  /** A record failed (user code threw, or it could not be decoded). */
  error(): void;
  /** A record could not be read for a reason outside it (the schema registry out of reach) and is read again. */
  readRetried(): void;
  /**
   * The error policy (or a resume) let a failing record of `stage` past, once committed
   * (`skipped`, `dead_lettered`), or retried it (`retried`).
   */
  errorHandled(stage: string, outcome: ErrorOutcome): void;
  /** One of this worker’s tasks committed its outputs, state and offsets (its part of a snapshot), taking `durationMs`. */
  snapshot(durationMs: number): void;
  /** A state restore has read `done` of `total` changelog offsets. */
  restore(done: number, total: number): void;
  /** An owned input partition is `lag` records behind its high watermark, as of its last batch. */
  lag(topic: string, partition: number, lag: number): void;
  /**
   * The input partitions of `topics` this worker owns after a rebalance, as `topic:partition`;
   * the lag of the others is dropped, since their new owner reports it.
   */
  assigned(topics: readonly string[], owned: ReadonlySet<string>): void;
  /**
   * The view one hop reports through. Only the first hop reads the sources and only the last
   * writes the sink; counting the internal repartition hops too would count a record twice.
   */
  hop(index: number, role: HopRole): JobMetrics;
}

export type ErrorOutcome = 'skipped' | 'dead_lettered' | 'retried';

/** Where a hop sits in its job. */
export interface HopRole {
  /** The hop reads the job's source topics. */
  source: boolean;
  /** The hop writes the job's sink topic. */
  sink: boolean;
}

/** Hands out each job's {@link JobMetrics}; what a worker passes to its job runners. */
export interface MetricsSink {
  job(jobId: string, pipeline: string): JobMetrics;
}

const noop = (): void => undefined;

const NO_JOB_METRICS: JobMetrics = {
  recordsIn: noop,
  recordsOut: noop,
  recordsUnrouted: noop,
  recordsLate: noop,
  error: noop,
  readRetried: noop,
  errorHandled: noop,
  snapshot: noop,
  restore: noop,
  lag: noop,
  assigned: noop,
  hop: () => NO_JOB_METRICS,
};

/** Metrics that go nowhere: the default where no metrics are wanted. */
export const NO_METRICS: MetricsSink = { job: () => NO_JOB_METRICS };

/**
 * A hop's view of its job's metrics: source and sink counts pass only where the hop touches
 * the source or the sink, and restore progress is kept per hop (several hops can restore at
 * once after a rebalance), through `restoreOf`.
 */
export function hopView(
  job: JobMetrics,
  index: number,
  role: HopRole,
  restoreOf: (hop: number, done: number, total: number) => void,
): JobMetrics {
  const view: JobMetrics = {
    recordsIn: (n) => {
      if (role.source) job.recordsIn(n);
    },
    recordsOut: (n) => {
      if (role.sink) job.recordsOut(n);
    },
    recordsUnrouted: (n) => job.recordsUnrouted(n),
    recordsLate: (n) => job.recordsLate(n),
    error: () => job.error(),
    readRetried: () => job.readRetried(),
    errorHandled: (stage, outcome) => job.errorHandled(stage, outcome),
    snapshot: (ms) => job.snapshot(ms),
    restore: (done, total) => restoreOf(index, done, total),
    lag: (topic, partition, lag) => job.lag(topic, partition, lag),
    assigned: (topics, owned) => job.assigned(topics, owned),
    hop: () => view,
  };
  return view;
}

/** A job's state restore on this worker, summed over its hops. */
export interface RestoreProgress {
  jobId: string;
  pipeline: string;
  /** Changelog offsets read so far, over every hop restoring. */
  done: number;
  /** Changelog offsets to read, over every hop restoring. */
  total: number;
}

/**
 * The same sink, but every restore report is also passed to `listener`, summed over the job's
 * hops (they restore at the same time). This is how a worker at a terminal draws a progress bar
 * without the runtime knowing of terminals; the metrics still get every report.
 */
export function withRestoreListener(
  sink: MetricsSink,
  listener: (p: RestoreProgress) => void,
): MetricsSink {
  return {
    job(jobId, pipeline) {
      const hops = new Map<number, { done: number; total: number }>();
      const report = (hop: number, done: number, total: number): void => {
        hops.set(hop, { done, total });
        let sumDone = 0;
        let sumTotal = 0;
        for (const h of hops.values()) {
          sumDone += h.done;
          sumTotal += h.total;
        }
        listener({ jobId, pipeline, done: sumDone, total: sumTotal });
      };
      // Forwarded call by call rather than spread: a sink may be a class whose methods live on
      // its prototype.
      const wrap = (m: JobMetrics, hop: number): JobMetrics => ({
        recordsIn: (n) => m.recordsIn(n),
        recordsOut: (n) => m.recordsOut(n),
        recordsUnrouted: (n) => m.recordsUnrouted(n),
        recordsLate: (n) => m.recordsLate(n),
        error: () => m.error(),
        readRetried: () => m.readRetried(),
        errorHandled: (stage, outcome) => m.errorHandled(stage, outcome),
        snapshot: (ms) => m.snapshot(ms),
        restore: (done, total) => {
          m.restore(done, total);
          report(hop, done, total);
        },
        lag: (topic, partition, lag) => m.lag(topic, partition, lag),
        assigned: (topics, owned) => m.assigned(topics, owned),
        hop: (index, role) => wrap(m.hop(index, role), index),
      });
      return wrap(sink.job(jobId, pipeline), 0);
    },
  };
}
