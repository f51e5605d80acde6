/**
 * Named points where a test kills a coordinator or worker process, to prove that a crash there loses
 * nothing and applies nothing twice. Enabled only by the environment variable
 * SLUICE_FAILPOINTS (a comma-separated list of names), which tests set on the processes they
 * start; unset, a failpoint costs one lookup in an empty set.
 *
 * A failpoint sends SIGKILL to its own process: no handler runs, no buffer is flushed, no
 * transaction is aborted. That is a crash, as a pulled plug or the OOM killer would cause.
 */
export type FailpointName =
  /** The batch's events are sent in the transaction; its commit has not been asked for. */
  | 'coordinator.after-events-sent'
  /** Some of a stopping job's task ids are fenced, not all. */
  | 'coordinator.during-fencing'
  /** The rebuild has read 1,000 events of the job log (and the log has more, in the tests). */
  | 'coordinator.during-rebuild'
  /** A record failed; the hops before it are frozen, the later ones not yet drained. */
  | 'worker.during-drain';

const ARMED: ReadonlySet<string> = new Set(
  (process.env.SLUICE_FAILPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

/** Crashes the process here if `name` is armed (and `when` holds). */
export function failpoint(name: FailpointName, when = true): void {
  if (!when || !ARMED.has(name)) return;
  process.stderr.write(`failpoint ${name}: killing process ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
