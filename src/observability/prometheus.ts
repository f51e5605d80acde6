import { Counter, Gauge, Registry } from 'prom-client';
import type { JobState } from '../domain/state.js';
import { JOB_STATUSES, isTerminal, type JobStatus } from '../domain/status.js';
import { hopView, type JobMetrics, type MetricsSink } from './metrics.js';

/** How long an ended job's series stay, so a scrape or two sees how it ended. */
const RETAIN_ENDED_MS = 5 * 60_000;

const JOB_LABELS = ['job_id', 'pipeline'] as const;
type JobLabels = Record<(typeof JOB_LABELS)[number], string>;

/** What this worker knows of one job: counters live in prom-client, the rest here. */
interface JobSeries {
  labels: JobLabels;
  /** The job's state as of the last event this worker read; undefined until then. */
  state: JobState | undefined;
  /** Epoch ms at which this worker saw the job end. */
  endedAt: number | undefined;
  lags: Map<string, { topic: string; partition: number; lag: number }>;
  restores: Map<number, { done: number; total: number }>;
  lastSnapshotMs: number | undefined;
}

/** The status gauge's series for a job: one per status, 1 for the current one and 0 otherwise. */
export function statusSeries(status: JobStatus): { status: JobStatus; value: 0 | 1 }[] {
  return JOB_STATUSES.map((s) => ({ status: s, value: s === status ? 1 : 0 }));
}

/**
 * Since when the job is suspended, in unix seconds, or undefined when it is not. An export of
 * a suspended job's snapshot keeps it suspended, so it keeps its suspension time.
 */
export function suspendedSinceSeconds(state: JobState): number | undefined {
  return 'suspensionCause' in state ? state.suspensionCause.at / 1000 : undefined;
}

/**
 * Prometheus metrics of the jobs one worker follows, in a registry of its own: tests and
 * embedders run several workers in one process, and the global registry would mix them up.
 * Counters keep their last values while a job is suspended; the status, suspension and
 * snapshot-age gauges come from the job log, as the worker reads it, and are computed at
 * scrape time.
 */
export class WorkerMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly jobs = new Map<string, JobSeries>();
  private readonly recordsIn: Counter<(typeof JOB_LABELS)[number]>;
  private readonly recordsOut: Counter<(typeof JOB_LABELS)[number]>;
  private readonly unrouted: Counter<(typeof JOB_LABELS)[number]>;
  private readonly late: Counter<(typeof JOB_LABELS)[number]>;
  private readonly errors: Counter<(typeof JOB_LABELS)[number]>;
  private readonly readRetries: Counter<(typeof JOB_LABELS)[number]>;
  private readonly snapshots: Counter<(typeof JOB_LABELS)[number]>;
  private readonly pipelineInfo: Gauge<'pipeline' | 'fingerprint'>;
  private readonly handled: Counter<(typeof JOB_LABELS)[number] | 'stage' | 'outcome'>;

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry];
    const counter = (name: string, help: string): Counter<(typeof JOB_LABELS)[number]> =>
      new Counter({ name, help, labelNames: JOB_LABELS, registers });
    this.recordsIn = counter(
      'sluice_job_records_in_total',
      'Source records this worker processed and committed for the job.',
    );
    this.recordsOut = counter(
      'sluice_job_records_out_total',
      'Records this worker wrote to the job’s sinks (every branch’s) and committed.',
    );
    this.unrouted = counter(
      'sluice_job_records_unrouted_total',
      'Items a branch stage dropped on this worker, committed: no predicate held and the stage has no default branch.',
    );
    this.late = counter(
      'sluice_job_records_late_total',
      'Values a window stage received on this worker after all their windows had closed (watermark past end plus grace), or a stream join more than its window plus grace behind its stream time, committed: dropped, or sent to the late-records topic.',
    );
    this.errors = counter(
      'sluice_job_errors_total',
      'Records that failed on this worker (user code threw, or the record could not be decoded).',
    );
    this.readRetries = counter(
      'sluice_job_read_retries_total',
      'Source records that could not be read for a reason outside them (the schema registry unavailable) and were read again after a backoff.',
    );
    this.snapshots = counter(
      'sluice_job_snapshots_total',
      'Commits of outputs, state and source offsets by this worker’s tasks: their parts of the job’s snapshots.',
    );
    this.handled = new Counter({
      name: 'sluice_job_records_error_handled_total',
      help: 'Failing records the job’s error policy (or a resume) let past on this worker, once committed (outcome skipped or dead_lettered), and retries of failing records (outcome retried); by stage.',
      labelNames: [...JOB_LABELS, 'stage', 'outcome'],
      registers,
    });
    this.pipelineInfo = new Gauge({
      name: 'sluice_worker_pipeline_info',
      help: 'A pipeline this worker hosts, labelled with the fingerprint of its code; always 1.',
      labelNames: ['pipeline', 'fingerprint'],
      registers,
    });
    // Derived gauges: filled from this.jobs at each scrape, so a series goes when its job does.
    this.derived('sluice_job_status', 'The job status: 1 for the current one.', ['status'], (s) =>
      s.state ? statusSeries(s.state.status).map((x) => [{ status: x.status }, x.value]) : [],
    );
    this.derived(
      'sluice_job_suspended_since_seconds',
      'Unix time at which the job was suspended; present only while it is suspended.',
      [],
      (s) => {
        const since = s.state && suspendedSinceSeconds(s.state);
        return since === undefined ? [] : [[{}, since]];
      },
    );
    this.derived(
      'sluice_job_consumer_lag',
      'Records an owned input partition is behind its high watermark, as of its last batch.',
      ['topic', 'partition'],
      (s) => [...s.lags.values()].map((l) => [{ topic: l.topic, partition: l.partition }, l.lag]),
    );
    this.derived(
      'sluice_job_last_snapshot_duration_seconds',
      'Duration of the last commit of outputs, state and source offsets by one of this worker’s tasks: a task’s part of a snapshot.',
      [],
      (s) => (s.lastSnapshotMs === undefined ? [] : [[{}, s.lastSnapshotMs / 1000]]),
    );
    this.derived(
      'sluice_job_last_snapshot_age_seconds',
      'Time since the job last committed a snapshot (any worker), per the job log.',
      [],
      (s) => {
        const at = s.state?.lastSnapshot?.at;
        return at === undefined ? [] : [[{}, Math.max(0, this.now() - at) / 1000]];
      },
    );
    this.derived(
      'sluice_job_restore_progress_ratio',
      'Share of changelog offsets read by the latest state restore on this worker (1 when done).',
      [],
      (s) => {
        if (s.restores.size === 0) return [];
        let done = 0;
        let total = 0;
        for (const r of s.restores.values()) {
          done += r.done;
          total += r.total;
        }
        return [[{}, total === 0 ? 1 : done / total]];
      },
    );
  }

  /**
   * The pipelines this worker hosts and their code fingerprints, one series each: what a
   * dashboard compares across workers to see which code each runs.
   */
  hosting(fingerprints: Readonly<Record<string, string>>): void {
    this.pipelineInfo.reset();
    for (const [pipeline, fingerprint] of Object.entries(fingerprints))
      this.pipelineInfo.set({ pipeline, fingerprint }, 1);
  }

  /** The job's metrics, created (with zeroed counters, so its series exist at once) on first use. */
  job(jobId: string, pipeline: string): JobMetrics {
    const s = this.series(jobId, pipeline);
    const metrics: JobMetrics = {
      recordsIn: (n) => this.recordsIn.inc(s.labels, n),
      recordsOut: (n) => this.recordsOut.inc(s.labels, n),
      recordsUnrouted: (n) => this.unrouted.inc(s.labels, n),
      recordsLate: (n) => this.late.inc(s.labels, n),
      error: () => this.errors.inc(s.labels),
      readRetried: () => this.readRetries.inc(s.labels),
      errorHandled: (stage, outcome) => this.handled.inc({ ...s.labels, stage, outcome }),
      snapshot: (ms) => {
        this.snapshots.inc(s.labels);
        s.lastSnapshotMs = ms;
      },
      restore: (done, total) => s.restores.set(0, { done, total }),
      lag: (topic, partition, lag) =>
        s.lags.set(`${topic}:${partition}`, { topic, partition, lag }),
      assigned: (topics, owned) => {
        for (const [id, l] of s.lags)
          if (topics.includes(l.topic) && !owned.has(id)) s.lags.delete(id);
      },
      hop: (index, role) =>
        hopView(metrics, index, role, (hop, done, total) => s.restores.set(hop, { done, total })),
    };
    return metrics;
  }

  /**
   * Follows a job's state from the log. A job that ended before this worker knew it is ignored:
   * a restarted worker would otherwise export every job the namespace ever ran.
   */
  track(state: JobState): void {
    const ended = isTerminal(state.status);
    if (ended && !this.jobs.has(state.jobId)) return;
    const s = this.series(state.jobId, state.pipeline);
    s.state = state;
    s.endedAt = ended ? (s.endedAt ?? this.now()) : undefined;
  }

  /** Drops every series of a job. */
  forget(jobId: string): void {
    const s = this.jobs.get(jobId);
    if (!s) return;
    for (const c of [
      this.recordsIn,
      this.recordsOut,
      this.unrouted,
      this.late,
      this.errors,
      this.snapshots,
    ])
      c.remove(s.labels);
    this.jobs.delete(jobId);
  }

  /** The exposition text of every metric, with its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const now = this.now();
    for (const [jobId, s] of this.jobs)
      if (s.endedAt !== undefined && now - s.endedAt > RETAIN_ENDED_MS) this.forget(jobId);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private series(jobId: string, pipeline: string): JobSeries {
    let s = this.jobs.get(jobId);
    if (!s) {
      s = {
        labels: { job_id: jobId, pipeline },
        state: undefined,
        endedAt: undefined,
        lags: new Map(),
        restores: new Map(),
        lastSnapshotMs: undefined,
      };
      this.jobs.set(jobId, s);
      for (const c of [this.recordsIn, this.recordsOut, this.errors, this.snapshots])
        c.inc(s.labels, 0);
    }
    return s;
  }

  /** A gauge whose series are computed from each job's {@link JobSeries} at scrape time. */
  private derived(
    name: string,
    help: string,
    extraLabels: string[],
    values: (s: JobSeries) => [Record<string, string | number>, number][],
  ): void {
    const jobs = this.jobs;
    new Gauge({
      name,
      help,
      labelNames: [...JOB_LABELS, ...extraLabels],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of jobs.values())
          for (const [labels, value] of values(s)) this.set({ ...s.labels, ...labels }, value);
      },
    });
  }
}
