import type { Cancel, Clock } from '../../domain/clock.js';
import { TimerQueue, type Timer } from './timers.js';

/** Options of a {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Where virtual time starts, in milliseconds since the epoch. Default 1_700_000_000_000. */
  start?: number;
  /**
   * The most flush rounds (each lets every queued microtask and immediate run) one settling
   * takes before time moves on. Default 1,000: work that keeps scheduling for that long is a
   * livelock, not something to wait for.
   */
  maxFlushRounds?: number;
  /** The most timers fired at one instant by one drive call before it fails. Default 100,000. */
  maxFiringsPerInstant?: number;
}

/** The default start of virtual time: 2023-11-14T22:13:20Z. */
export const VIRTUAL_EPOCH = 1_700_000_000_000;

/**
 * A {@link Clock} on virtual time, for tests and the seeded simulation: nothing happens until
 * the test drives it, and then timers fire in time order (ties in scheduling order), each one
 * followed by a settling of the promise work it set off. No real timer is ever used; the same
 * calls replay the same schedule exactly.
 *
 * Settling lets queued microtasks and immediates run, round after round, until a round in which
 * nothing touched the clock (no timer scheduled or cancelled, no `now()`): promise chains that
 * stay inside the process are done by then, and whatever still waits, waits on a timer. One
 * drive (`advance`, `runUntil`, `settle`) runs at a time; starting another meanwhile throws.
 *
 * @example
 *   const clock = new VirtualClock();
 *   const slept = clock.sleep(1_000).then(() => clock.now());
 *   await clock.advance(1_000); // fires the sleep's timer and lets its continuation run
 */
export class VirtualClock implements Clock {
  private current: number;
  private readonly timers = new TimerQueue();
  /** Bumped by every use of the clock: how settling tells that work is still going on. */
  private activity = 0;
  private readonly maxFlushRounds: number;
  private readonly maxFirings: number;
  private driving = false;

  constructor(options: VirtualClockOptions = {}) {
    this.current = options.start ?? VIRTUAL_EPOCH;
    this.maxFlushRounds = options.maxFlushRounds ?? 1_000;
    this.maxFirings = options.maxFiringsPerInstant ?? 100_000;
  }

  /** Virtual milliseconds since the epoch. */
  now(): number {
    this.activity++;
    return this.current;
  }

  /** Resolves once the clock has been driven `ms` past now (at once for 0, on the next settle). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.after(ms, resolve);
    });
  }

  /** Calls `fn` once the clock reaches now + `ms` (negative counts as 0). */
  after(ms: number, fn: () => void): Cancel {
    return this.schedule(this.current + Math.max(0, ms), fn, 0);
  }

  /** Calls `fn` every `ms` (at least 1: a zero period would fire forever at one instant). */
  every(ms: number, fn: () => void): Cancel {
    if (!(ms >= 1)) throw new RangeError(`every() needs a period of at least 1 ms, got ${ms}`);
    return this.schedule(this.current + ms, fn, ms);
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.live;
  }

  /** When the next timer is due, if any. */
  get nextTimerAt(): number | undefined {
    return this.timers.peek()?.at;
  }

  /**
   * Moves time `ms` ahead: fires every timer due by then in order, settling after each, and
   * leaves the clock at now + `ms`. A callback that throws rejects this call.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance() needs a duration >= 0, got ${ms}`);
    const target = this.current + ms;
    this.drive();
    try {
      await this.runTo(() => false, target);
    } finally {
      this.driving = false;
    }
  }

  /** Lets pending work settle, firing timers already due, without moving time. */
  settle(): Promise<void> {
    return this.advance(0);
  }

  /**
   * Fires timers one after another, settling after each, until `predicate` holds or `maxMs` of
   * virtual time have passed (then the clock stands at that deadline). Whether it held.
   */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    this.drive();
    try {
      return await this.runTo(predicate, this.current + maxMs);
    } finally {
      this.driving = false;
    }
  }

  /** One driver at a time: two interleaved drives would fire timers out of order. */
  private drive(): void {
    if (this.driving)
      throw new Error('VirtualClock is already being driven (advance/runUntil/settle in flight)');
    this.driving = true;
  }

  /** Fires timers due by `deadline` in order, settling after each, until `predicate` holds. */
  private async runTo(predicate: () => boolean, deadline: number): Promise<boolean> {
    await this.flush();
    let fired = 0;
    let instant = this.current;
    while (!predicate()) {
      const timer = this.timers.peek();
      if (timer === undefined || timer.at > deadline) {
        if (deadline > this.current) this.current = deadline;
        return predicate();
      }
      fired = timer.at === instant ? fired + 1 : 0;
      instant = timer.at;
      this.checkLivelock(fired);
      this.fire(timer);
      await this.flush();
    }
    return true;
  }

  private schedule(at: number, fn: () => void, every: number): Cancel {
    this.activity++;
    const timer: Timer = this.timers.add(at, fn, every);
    return () => {
      this.activity++;
      this.timers.cancel(timer);
    };
  }

  private fire(timer: Timer): void {
    this.timers.pop();
    if (timer.at > this.current) this.current = timer.at;
    if (timer.every > 0) this.timers.repeat(timer);
    timer.fn();
  }

  private checkLivelock(fired: number): void {
    if (fired >= this.maxFirings)
      throw new Error(
        `VirtualClock: ${fired} timers fired at ${this.current} without time moving: a livelock`,
      );
  }

  /** Lets queued microtasks and immediates run until a round passes without clock activity. */
  private async flush(): Promise<void> {
    for (let round = 0; round < this.maxFlushRounds; round++) {
      const before = this.activity;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.activity === before) return;
    }
  }
}
