import type { Logger } from '../observability/logger.js';

/**
 * Resolves with the first SIGINT or SIGTERM from the call on. Long-running commands call it
 * before they announce that they are ready: a supervisor (or a test) that signals as soon as it
 * reads the announcement would otherwise catch the process before its listener exists, and the
 * default action would kill it without cleanup. The listeners go once one fires, so a second
 * signal kills at once: the way out of a stop that hangs, or of a start that never ends.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    function stop(signal: NodeJS.Signals): void {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    }
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

/** How long a stopped long-running command may take to exit by itself. */
export const EXIT_AFTER_STOP_MS = 10_000;

/**
 * Called once a long-running command has stopped everything it started: the process should
 * then exit by itself, as its event loop empties. If something still holds it (a socket a
 * Kafka client reopened, a timer), it exits anyway after {@link EXIT_AFTER_STOP_MS}, logging what
 * was left open, so that a supervisor's SIGINT always ends it; the warning names the leak to fix.
 */
export function exitSoonAfterStop(log: Logger, code = 0): void {
  const timer = setTimeout(() => {
    log.warn(
      { open: process.getActiveResourcesInfo(), afterMs: EXIT_AFTER_STOP_MS },
      'still running after stopping; exiting anyway',
    );
    process.exit(code);
  }, EXIT_AFTER_STOP_MS);
  timer.unref();
}
