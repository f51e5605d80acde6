import type { Clock } from '../../domain/clock.js';

/**
 * What a consumer's fetch waits on: new readable data, a seek, a rebalance, a stop or a crash
 * wakes it at once; otherwise the wait ends after its timeout on the clock. A wake while
 * nothing waits is kept for the next wait, so none is lost between a fetch and its wait.
 */
export class Wakeup {
  private waiter: (() => void) | undefined;
  private pending = false;

  constructor(private readonly clock: Clock) {}

  wake(): void {
    if (this.waiter !== undefined) this.waiter();
    else this.pending = true;
  }

  /** Forgets wakes so far: the fetch about to run sees everything they announced. */
  reset(): void {
    this.pending = false;
  }

  /** Resolves on the next wake, or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let cancel = (): void => undefined;
      const done = (): void => {
        this.waiter = undefined;
        cancel();
        resolve();
      };
      cancel = this.clock.after(ms, done);
      this.waiter = done;
    });
  }
}
