import kafkajs from './loader.js';

/**
 * Wraps an `eachBatch` handler so that whatever it throws makes kafkajs retry the batch and, if
 * that keeps failing, restart the consumer.
 *
 * kafkajs restarts a crashed consumer only when it deems the error retriable, judged by the
 * root of its `cause` chain. An error it deems otherwise stops the consumer for good, while the
 * process runs on with nothing in its logs but one "Crash" line. Such errors include kafkajs's
 * own "Failed to find group coordinator" while a broker restarts, a fenced producer, and a
 * plain TypeError. Seen in the broker-restart test: the coordinator's transaction failed with
 * that error, its consumer stopped, and it never became active again.
 *
 * Sluice's handlers deal with the errors they expect (a failed commit, a failing record).
 * Whatever escapes one is a reason to try again, not to stop consuming.
 */
export function restartOnError<P>(
  handler: (payload: P) => Promise<void>,
): (payload: P) => Promise<void> {
  return async (payload) => {
    try {
      await handler(payload);
    } catch (err) {
      throw retriable(err);
    }
  };
}

/**
 * Errors kafkajs's runner answers itself, recognised by their `type`: it rejoins the group.
 * Wrapped, they lost the type, and a member that should rejoin retried its fetch instead; a
 * second worker then waited for the rebalance until the job had ended without it.
 */
const REJOIN_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/**
 * `err` as an error kafkajs retries. The original is kept as `originalError` (which Sluice's
 * isTransient follows), never as `cause`: kafkajs would judge the wrapper by it. Errors that
 * kafkajs already retries, or answers by rejoining, are returned as they are.
 */
export function retriable(err: unknown): Error {
  const type = (err as { type?: unknown } | null | undefined)?.type;
  if (rootOf(err).retriable === true || (typeof type === 'string' && REJOIN_TYPES.has(type)))
    return err as Error;
  const wrapped = new kafkajs.KafkaJSError(err instanceof Error ? err.message : String(err), {
    retriable: true,
  }) as Error & { originalError?: unknown };
  wrapped.originalError = err;
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}

/** The error kafkajs's consumer judges a crash by: the end of the `cause` chain. */
function rootOf(err: unknown): { retriable?: unknown } {
  let e = err as { cause?: unknown; retriable?: unknown } | null | undefined;
  for (let depth = 0; depth < 10 && e?.cause; depth++) e = e.cause;
  return e ?? {};
}
