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
