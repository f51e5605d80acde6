import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { CommandPayloads, CommandType } from '../domain/commands.js';
import { withRetry, type RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { CommandSender } from './commands.js';

/**
 * Sends a worker's report to the coordinator, retrying a transient failure (a broker down, no
 * coordinator answering yet) within the retry budget. One command id for every attempt: the
 * coordinator applies a command once, so a report that did arrive is not applied twice. A lost
 * failure report would leave a frozen job looking RUNNING. The backoff waits on `clock`, the
 * worker's (virtual in the simulation, where a wall-clock wait would fire at a random point).
 */
export async function sendReport<K extends CommandType>(
  sender: CommandSender,
  jobId: string,
  type: K,
  payload: CommandPayloads[K],
  retry: RetryPolicy,
  log: Logger,
  clock?: Clock,
): Promise<void> {
  const commandId = randomUUID();
  await withRetry(
    () => sender.send(jobId, type, payload, commandId),
    retry,
    (err, attempt, delayMs) =>
      log.warn({ err, jobId, report: type, attempt, delayMs }, 'report not delivered; retrying'),
    clock,
  );
}
