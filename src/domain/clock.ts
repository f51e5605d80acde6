/**
 * Time, injected. Every wait, timeout and timestamp of the runtime and the coordinator goes
 * through a clock, so a test can run them on virtual time (the in-memory Kafka's
 * `VirtualClock`), where one seed replays one schedule exactly.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms`, unless cancelled. A timer never keeps the process alive. */
  after(ms: number, fn: () => void): Cancel;
  /** Calls `fn` every `ms` until cancelled. A timer never keeps the process alive. */
  every(ms: number, fn: () => void): Cancel;
}

/** Stops a timer; calling it again does nothing. */
export type Cancel = () => void;

/** The wall clock and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
