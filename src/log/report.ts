import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { CommandPayloads, ReportType } from '../domain/commands.js';
import type { DryRunAnswer } from '../domain/dry-run-answer.js';
import { withRetry, type RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { CommandSender } from './commands.js';

/** The run of a job a report is about. */
export interface ReportedRun {
  jobId: string;
  /**
   * The run the sender's tasks were started under (`JobState.run` then), never the log's run
   * at send time: a report of a replaced run must be told apart, and refused, not relabelled.
   */
  run: number;
}

/**
 * Sends a worker's report on one run of a job to the coordinator, retrying a transient failure
 * (a broker down, no coordinator answering yet) within the retry budget. One command id for
 * every attempt: the coordinator applies a command once, so a report that did arrive is not
 * applied twice. A lost failure report would leave a frozen job looking RUNNING. The backoff
 * waits on `clock`, the worker's (virtual in the simulation, where a wall-clock wait would
 * fire at a random point).
 */
export async function sendReport<K extends ReportType>(
  sender: CommandSender,
  { jobId, run }: ReportedRun,
  type: K,
  payload: Omit<CommandPayloads[K], 'run'>,
  retry: RetryPolicy,
  log: Logger,
  clock?: Clock,
  /**
   * For a report that must arrive (a failure): retry past the budget for as long as this
   * says so, typically while the run it reports on has not been stopped. A broker outage
   * longer than the budget must end in a suspension once the broker is back, not leave a
   * frozen job looking RUNNING. Safe to deliver late: a report of a replaced run is refused
   * (STALE_REPORT).
   */
  keepTrying?: () => boolean,
): Promise<void> {
  const commandId = randomUUID();
  const withRun = { ...payload, run } as CommandPayloads[K];
  await withRetry(
    () => {
      if (keepTrying && !keepTrying())
        throw new Error(`${type} of run ${run} of job ${jobId} no longer sent: the run stopped`);
      return sender.send(jobId, type, withRun, commandId);
    },
    keepTrying ? { ...retry, budgetMs: Number.MAX_SAFE_INTEGER } : retry,
    (err, attempt, delayMs) =>
      log.warn(
        { err, jobId, run, report: type, attempt, delayMs },
        'report not delivered; retrying',
      ),
    clock,
  );
}

/**
 * Sends a worker's answer to a dry run (`ReportDryRun`), retrying a transient failure within
 * the retry budget under one command id, like a report. It names no run: the job is suspended,
 * and an answer that arrives after a resume is still what the asker waits for.
 */
export async function sendDryRunAnswer(
  sender: CommandSender,
  jobId: string,
  answer: DryRunAnswer,
  retry: RetryPolicy,
  log: Logger,
  clock?: Clock,
): Promise<void> {
  const commandId = randomUUID();
  await withRetry(
    () => sender.send(jobId, 'ReportDryRun', answer, commandId),
    retry,
    (err, attempt, delayMs) =>
      log.warn(
        { err, jobId, requestId: answer.requestId, attempt, delayMs },
        'dry run answer not delivered; retrying',
      ),
    clock,
  );
}
