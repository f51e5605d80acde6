import type { Logger } from '../observability/logger.js';
import type { JobMetrics } from './api-types.js';

/** How many samples per job the console keeps for its charts: 10 minutes at the default interval. */
export const METRICS_KEPT = 120;

/** Default time between scrapes of the workers' endpoints. */
export const DEFAULT_METRICS_INTERVAL_MS = 5_000;

/** One sample line of Prometheus text: `name{k="v",...} value`. */
const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** What the console reads per job from one scrape: sums over the job's partitions. */
type Totals = Omit<JobMetrics, 'at'>;

/**
 * Per job id, the totals of one worker's `/metrics` text: records in and out (counters of what
 * the worker committed) and the consumer lag of the partitions it owns. Lines of other metrics
 * and lines it cannot read are passed over: a newer worker may expose more.
 */
export function jobTotals(text: string): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    const field =
      m?.[1] === 'sluice_job_records_in_total'
        ? 'recordsIn'
        : m?.[1] === 'sluice_job_records_out_total'
          ? 'recordsOut'
          : m?.[1] === 'sluice_job_consumer_lag'
            ? 'lag'
            : undefined;
    const value = Number(m?.[3]);
    if (!field || !Number.isFinite(value)) continue;
    const jobId = [...(m?.[2] ?? '').matchAll(LABEL)].find((l) => l[1] === 'job_id')?.[2];
    if (jobId === undefined) continue;
    const t = out.get(jobId) ?? { recordsIn: 0, recordsOut: 0, lag: 0 };
    t[field] += value;
    out.set(jobId, t);
  }
  return out;
}

/** Adds one worker's totals into the sum over workers. */
function addInto(sum: Map<string, Totals>, one: Map<string, Totals>): void {
  for (const [jobId, t] of one) {
    const s = sum.get(jobId) ?? { recordsIn: 0, recordsOut: 0, lag: 0 };
    sum.set(jobId, {
      recordsIn: s.recordsIn + t.recordsIn,
      recordsOut: s.recordsOut + t.recordsOut,
      lag: s.lag + t.lag,
    });
  }
}

/** Where the workers' metrics are, and how to read them. */
export interface ScraperOptions {
  /** The workers' `/metrics` URLs, asked again at each scrape (workers come and go). */
  targets: () => readonly string[];
  intervalMs?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Scrapes the workers' Prometheus endpoints (the console is one more Prometheus reader) and
 * keeps, per job, the latest totals summed over workers and the last {@link METRICS_KEPT}
 * samples for the job page's charts. A worker that does not answer is left out of that scrape.
 */
export class MetricsScraper {
  private readonly samples = new Map<string, JobMetrics[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(jobIds: string[]) => void>();
  private readonly now: () => number;

  constructor(private readonly o: ScraperOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Scrapes now, then every interval until {@link stop}. */
  start(): void {
    const tick = (): void => {
      void this.scrape().finally(() => {
        if (this.timer)
          this.timer = setTimeout(tick, this.o.intervalMs ?? DEFAULT_METRICS_INTERVAL_MS);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Calls `listener` with the jobs each scrape reported. */
  onScrape(listener: (jobIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One scrape of every target. */
  async scrape(): Promise<void> {
    const sum = new Map<string, Totals>();
    const targets = this.o.targets();
    const texts = await Promise.all(targets.map((url) => this.read(url)));
    for (const text of texts) if (text !== undefined) addInto(sum, jobTotals(text));
    const at = this.now();
    for (const [jobId, t] of sum) {
      const kept = this.samples.get(jobId) ?? [];
      kept.push({ ...t, at });
      this.samples.set(jobId, kept.slice(-METRICS_KEPT));
    }
    for (const l of this.listeners) l([...sum.keys()]);
  }

  latest(jobId: string): JobMetrics | null {
    return this.samples.get(jobId)?.at(-1) ?? null;
  }

  history(jobId: string): JobMetrics[] {
    return [...(this.samples.get(jobId) ?? [])];
  }

  private async read(url: string): Promise<string | undefined> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return await res.text();
      this.o.logger.debug({ url, status: res.status }, 'metrics endpoint answered with an error');
    } catch (err) {
      this.o.logger.debug({ err, url }, 'metrics endpoint did not answer');
    }
    return undefined;
  }
}
