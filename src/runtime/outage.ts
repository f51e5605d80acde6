import type { Cancel, Clock } from '../domain/clock.js';

/**
 * How long a hop has been failing against Kafka, by whatever part meets the failure: a commit,
 * an opening of tasks, the consumer itself. The first failure starts the clock and arms a
 * timer for the retry budget; any success stops it. If the timer fires, the hop has not
 * succeeded at anything for the whole budget: `spent` is called once, with the last error.
 *
 * Each part also keeps its own budget, but those are checked only when that part fails again,
 * and during an outage nothing may fail again in time: a commit fails once, the consumer then
 * crashes only after the Kafka client's own retries (about 10 s), and if the broker is back by
 * then the job carried on as if the outage had been shorter than the budget (seen in the
 * long-outage fault scenario: 15 s down under a 5 s budget, the job stayed RUNNING).
 */
export class OutageWatch {
  private since: number | undefined;
  private attempts = 0;
  private last: unknown;
  private timer: Cancel | undefined;

  constructor(
    private readonly budgetMs: number,
    private readonly clock: Clock,
    private readonly spent: (err: unknown, attempts: number, elapsedMs: number) => void,
  ) {}

  /** A part failed with a transient error. */
  failed(err: unknown): void {
    this.last = err;
    this.attempts++;
    if (this.since !== undefined) return;
    this.since = this.clock.now();
    this.timer = this.clock.after(this.budgetMs, () => {
      if (this.since === undefined) return;
      const elapsed = this.clock.now() - this.since;
      const { attempts, last } = this;
      this.stop();
      this.spent(last, attempts, elapsed);
    });
  }

  /** A part succeeded: whatever failed before is over. */
  succeeded(): void {
    if (this.since === undefined) return;
    this.stop();
  }

  /** Disarms the timer (the hop stops). */
  stop(): void {
    this.timer?.();
    this.timer = undefined;
    this.since = undefined;
    this.attempts = 0;
  }
}
