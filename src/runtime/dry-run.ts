import type { DryRunAnswer } from '../domain/dry-run-answer.js';
import { SluiceError } from '../domain/errors.js';
import type { EventOf } from '../domain/events.js';
import { DRY_RUN_SANDBOX_TIMEOUT_MS } from '../domain/settings.js';
import type { JobState } from '../domain/state.js';
import { sendDryRunAnswer } from '../log/report.js';
import type { PipelineDef } from '../pipeline/pipeline.js';
import { errorInfo } from './failure.js';
import type { RunnerDeps } from './job-runner.js';
import { runInSandbox, type SandboxResult } from './sandbox.js';

/** What answering a dry run needs: the worker's parts, and its code for the job's pipeline. */
export interface DryRunOptions extends RunnerDeps {
  job: JobState;
  request: EventOf<'DryRunRequested'>;
  /** Builds the pipeline from the job's args with this worker's code. */
  build: () => PipelineDef;
  /** The fingerprint of that code, or null when the pipeline has none. */
  fingerprint: string | null;
}

/**
 * Answers a dry run of a resume: runs the job's failing record through this worker's code in a
 * sandbox (src/runtime/sandbox.ts), which writes and commits nothing, and sends what happened
 * as `ReportDryRun`. A sandbox that takes longer than {@link DRY_RUN_SANDBOX_TIMEOUT_MS} is
 * answered as timed out, so a worker stopping never waits on it for longer.
 */
export async function answerDryRun(o: DryRunOptions): Promise<void> {
  const { job, request } = o;
  const log = o.logger.child({ jobId: job.jobId, requestId: request.requestId, worker: o.worker });
  log.info({ record: request.record }, 'dry run of a resume: running the failing record');
  const result = await withTimeout(o, sandbox(o));
  const answer: DryRunAnswer = {
    requestId: request.requestId,
    worker: o.worker,
    fingerprint: o.fingerprint,
    ...result,
  };
  log.info(
    { error: result.error?.name ?? null, stage: result.stage, outputs: result.outputCount },
    result.error ? 'dry run: the record fails' : 'dry run: the record goes through',
  );
  await sendDryRunAnswer(o.reports, job.jobId, answer, o.retry, log, o.clock);
}

async function sandbox(o: DryRunOptions): Promise<SandboxResult> {
  let pipeline: PipelineDef;
  try {
    pipeline = o.build();
  } catch (err) {
    return { outputs: [], outputCount: 0, error: errorInfo(err), stage: null };
  }
  return runInSandbox({
    kafka: o.kafka,
    registry: o.registry,
    namespace: o.namespace,
    job: o.job,
    pipeline,
    record: o.request.record,
    retry: o.retry,
    logger: o.logger,
  });
}

function withTimeout(o: DryRunOptions, work: Promise<SandboxResult>): Promise<SandboxResult> {
  return new Promise((resolve) => {
    const cancel = o.clock.after(DRY_RUN_SANDBOX_TIMEOUT_MS, () => {
      const err = new SluiceError(
        'SLUICE_COMMAND_TIMEOUT',
        `The dry run did not finish within ${DRY_RUN_SANDBOX_TIMEOUT_MS / 1000} s (reading the record and the state, or the code itself, took longer).`,
      );
      resolve({ outputs: [], outputCount: 0, error: errorInfo(err), stage: null });
    });
    void work.then(
      (result) => {
        cancel();
        resolve(result);
      },
      (err: unknown) => {
        cancel();
        resolve({ outputs: [], outputCount: 0, error: errorInfo(err), stage: null });
      },
    );
  });
}
