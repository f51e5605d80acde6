import { randomUUID } from 'node:crypto';
import type { RecordRef } from '../domain/cause.js';
import type { Clock } from '../domain/clock.js';
import type { Outcome } from '../domain/cluster.js';
import type { CommandPayloads } from '../domain/commands.js';
import {
  DryRunNotPossibleError,
  dryRunRecord,
  NoLiveWorkerError,
  type DryRunAnswer,
} from '../domain/dry-run.js';
import { SluiceError } from '../domain/errors.js';
import type { EventOf, JobEvent } from '../domain/events.js';
import { CommandRejectedError } from '../domain/job-errors.js';
import { hostsOf, type WorkerPresence } from '../domain/presence.js';
import type { JobState } from '../domain/state.js';

/** Options for {@link Job.tryResume}. */
export interface TryResumeOptions {
  /** How long to wait for the live hosts' answers, in ms; default 30 s. */
  timeoutMs?: number;
}

/** One worker's answer: what the record did in its code. */
export type DryRunWorkerAnswer = Omit<DryRunAnswer, 'requestId'>;

/** What a dry run of a resume found. */
export interface DryRunResult {
  requestId: string;
  /** The record the job is suspended on, which every worker ran. */
  record: RecordRef;
  /** The answers that came in time, by worker id. */
  answers: DryRunWorkerAnswer[];
  /** Live hosts of the pipeline (by `<ns>.workers` when asked) that did not answer in time. */
  missing: string[];
  /** True when every answer has no error: the record goes through each answering worker's code. */
  wouldSucceed: boolean;
}

/** What a dry run needs from the client. */
export interface DryRunHost {
  state(jobId: string): JobState;
  history(jobId: string): JobEvent[];
  liveWorkers(): Promise<WorkerPresence[]>;
  send(
    jobId: string,
    type: 'RequestDryRun',
    payload: CommandPayloads['RequestDryRun'],
  ): Promise<Outcome>;
  /** Every event read from the log from now on; returns the unsubscribe function. */
  onEvent(listener: (event: JobEvent) => void): () => void;
  clock: Clock;
}

type Answer = EventOf<'DryRunCompleted'>;

/**
 * Asks every live worker hosting the job's pipeline to run the record the job is suspended on
 * through its code, changing nothing, and waits for their `DryRunCompleted` answers: from every
 * live host, or until `timeoutMs` from the call, whichever comes first. Refuses at once, sending
 * nothing, a job with no failing record ({@link DryRunNotPossibleError}) or no live host
 * ({@link NoLiveWorkerError}); a refusal by the coordinator (the job moved meanwhile) is a
 * {@link DryRunNotPossibleError} too. No answer at all in time is `SLUICE_COMMAND_TIMEOUT`.
 */
export async function dryRunResume(
  host: DryRunHost,
  jobId: string,
  timeoutMs: number,
): Promise<DryRunResult> {
  const deadline = host.clock.now() + timeoutMs;
  const job = host.state(jobId);
  const record = dryRunRecord(job);
  if (typeof record === 'string') throw new DryRunNotPossibleError(job.name, record);
  const expected = hostsOf(await host.liveWorkers(), job.pipeline).map((h) => h.workerId);
  if (expected.length === 0) throw new NoLiveWorkerError(job.name, job.pipeline);

  const requestId = randomUUID();
  const answers = new Map<string, Answer>();
  let heard: () => void = () => undefined;
  const take = (e: JobEvent): void => {
    if (e.type !== 'DryRunCompleted' || e.jobId !== jobId || e.requestId !== requestId) return;
    answers.set(e.worker, e);
    heard();
  };
  // Listening before sending: an answer can be read in the same batch as the request's outcome.
  const off = host.onEvent(take);
  try {
    try {
      await host.send(jobId, 'RequestDryRun', { requestId });
    } catch (err) {
      if (err instanceof CommandRejectedError)
        throw new DryRunNotPossibleError(job.name, err.reason);
      throw err;
    }
    host.history(jobId).forEach(take);
    const all = (): boolean => expected.every((w) => answers.has(w));
    await new Promise<void>((resolve) => {
      if (all()) return resolve();
      const cancel = host.clock.after(Math.max(0, deadline - host.clock.now()), resolve);
      heard = () => {
        if (!all()) return;
        cancel();
        resolve();
      };
    });
  } finally {
    off();
  }
  if (answers.size === 0)
    throw new SluiceError(
      'SLUICE_COMMAND_TIMEOUT',
      `No worker answered the dry run of job "${job.name}" within ${Math.round(timeoutMs / 1000)} s (live hosts of pipeline "${job.pipeline}": ${expected.join(', ')}). A worker reads the failing record and its stages' state first; give more time with --timeout-ms, or check the workers' logs.`,
      { retryable: true, details: { job: job.name, requestId, workers: expected } },
    );
  const list = [...answers.values()]
    .sort((a, b) => a.worker.localeCompare(b.worker))
    .map(({ worker, fingerprint, outputs, outputCount, error, stage }) => ({
      worker,
      fingerprint,
      outputs,
      outputCount,
      error,
      stage,
    }));
  return {
    requestId,
    record,
    answers: list,
    missing: expected.filter((w) => !answers.has(w)),
    wouldSucceed: list.every((a) => a.error === null),
  };
}
