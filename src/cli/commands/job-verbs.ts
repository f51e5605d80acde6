import type { Command } from 'commander';
import type { Job, ResumeOptions } from '../../client/job.js';
import type { JobConfig, JobConfigDeltaInput } from '../../domain/config.js';
import { SluiceError } from '../../domain/errors.js';
import { withClient } from '../connect.js';
import { documented, SUMMARY_JSON, type Example } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { EXIT_CODES } from '../exit-codes.js';
import { bool, collect, integer, jsonValue, keyValues } from '../parse.js';
import { renderDryRun } from '../render-dry-run.js';
import { jobSummary } from '../render.js';

interface JsonFlag {
  json?: boolean;
}

/** The flags of `sluice resume`. */
export interface ResumeFlags {
  skipFailingRecord?: boolean;
  deadLetter?: string;
  acceptDataLoss?: boolean;
  force?: boolean;
  dryRun?: boolean;
  timeoutMs?: string;
}

/**
 * What `sluice resume`'s flags ask of `Job.resume`, checked before anything connects. The
 * client then refuses, before sending it, a resume that would skip deleted records with
 * `SLUICE_SOURCE_DATA_LOST` (exit code 4) unless `--accept-data-loss`, and one that would retry
 * the failing record in the very code that failed on it with `SLUICE_RESUME_SAME_CODE` (exit
 * code 5) unless `--force`.
 */
export function resumeOptions(o: ResumeFlags): ResumeOptions {
  if (o.timeoutMs !== undefined && !o.dryRun)
    throw new SluiceError('SLUICE_USAGE', '--timeout-ms goes only with --dry-run.');
  if (o.dryRun && (o.skipFailingRecord || o.deadLetter || o.acceptDataLoss || o.force))
    throw new SluiceError(
      'SLUICE_USAGE',
      '--dry-run tries the failing record again and changes nothing: give it without --skip-failing-record, --dead-letter, --accept-data-loss or --force.',
    );
  if (o.skipFailingRecord && o.deadLetter) {
    throw new SluiceError('SLUICE_USAGE', 'Give --skip-failing-record or --dead-letter, not both.');
  }
  return {
    failingRecord: o.skipFailingRecord ? 'SKIP' : o.deadLetter ? 'DEAD_LETTER' : 'RETRY',
    ...(o.deadLetter !== undefined && { deadLetterTopic: o.deadLetter }),
    acceptDataLoss: o.acceptDataLoss === true,
    force: o.force === true,
  };
}

/** `suspend`, `resume`, `cancel`, `restart`, `update-config`. */
export function registerJobVerbs(program: Command, globals: () => GlobalOptions): void {
  const simple: [string, string, (job: Job) => Promise<void>, Example[]][] = [
    [
      'suspend',
      'suspend a running job, keeping its snapshot',
      (j) => j.suspend(),
      [
        ['sluice suspend totals', 'stop job "totals" for now; `sluice resume totals` goes on'],
        ['sluice suspend 3f2a9c0d1e4b5a67 --json', 'by id, answering with JSON'],
      ],
    ],
    [
      'cancel',
      'cancel a job; it ends for good',
      (j) => j.cancel(),
      [['sluice cancel totals', 'end job "totals"; it cannot be resumed']],
    ],
    [
      'restart',
      'restart a running job from its last snapshot',
      (j) => j.restart(),
      [
        [
          'sluice restart totals',
          'stop the tasks of "totals" and start them from the last snapshot',
        ],
      ],
    ],
  ];
  for (const [verb, description, act, examples] of simple) {
    const cmd = program.command(`${verb} <job>`).description(description);
    documented(cmd, SUMMARY_JSON, examples).action(async (ref: string, o: JsonFlag) => {
      await withClient(globals(), async (client) => {
        const job = client.getJob(ref);
        await act(job);
        emit(o, jobSummary(job), () => `Job ${job.name} (${job.id}) is now ${job.status()}`);
      });
    });
  }

  const resume = program
    .command('resume <job>')
    .description('resume a suspended job from its last snapshot')
    .option('--skip-failing-record', 'move past the record the job failed on')
    .option(
      '--dead-letter <topic>',
      'write the record the job failed on to this topic, then move past it',
    )
    .option(
      '--accept-data-loss',
      'go on from the earliest offset where records past the committed offsets were deleted while the job was stopped (refused with exit code 4 otherwise)',
    )
    .option(
      '--force',
      'resume although every live worker hosting the pipeline runs the code the job failed in (same fingerprint; refused with exit code 5 otherwise); the job log records who forced it',
    )
    .option(
      '--dry-run',
      'resume nothing: every live worker hosting the pipeline runs the failing record through its code, changing nothing, and says what it would write or how it fails (exit code 6 when it still fails)',
    )
    .option(
      '--timeout-ms <ms>',
      'with --dry-run: how long to wait for the answers (default 30000)',
    );
  documented(resume, SUMMARY_JSON, [
    ['sluice resume totals', 'resume from the last snapshot, retrying the record it failed on'],
    ['sluice resume totals --skip-failing-record', 'resume, moving past the failing record'],
    [
      'sluice resume totals --dead-letter totals-dlq',
      'write the failing record to topic totals-dlq, then move past it',
    ],
    [
      'sluice resume totals --accept-data-loss',
      'resume although retention deleted records it had not read while suspended; they are skipped',
    ],
    [
      'sluice resume totals --force',
      'retry the failing record although the live workers still run the code that failed (the cause was outside the code)',
    ],
    [
      'sluice resume totals --dry-run',
      "see what the failing record does in the live workers' code now, without resuming; exit code 6 if it still fails",
    ],
  ]).action(async (ref: string, o: JsonFlag & ResumeFlags) => {
    const options = resumeOptions(o);
    if (o.dryRun) {
      const timeoutMs =
        o.timeoutMs === undefined ? undefined : integer('--timeout-ms', o.timeoutMs);
      await withClient(globals(), async (client) => {
        const job = client.getJob(ref);
        const result = await job.tryResume(timeoutMs === undefined ? {} : { timeoutMs });
        emit(o, { ...jobSummary(job), dryRun: result }, () => renderDryRun(job.name, result));
        if (!result.wouldSucceed) process.exitCode = EXIT_CODES.DRY_RUN_FAILS;
      });
      return;
    }
    await withClient(globals(), async (client) => {
      const job = client.getJob(ref);
      await job.resume(options);
      emit(o, jobSummary(job), () => `Job ${job.name} (${job.id}) is now ${job.status()}`);
    });
  });

  const update = program
    .command('update-config <job>')
    .description("change a suspended job's config before resuming it")
    .option('--snapshot-interval <ms>', 'milliseconds between snapshots')
    .option('--suspend-on-failure <bool>', 'true or false')
    .option('--arg <k=v>', 'replace the pipeline arguments (repeatable)', collect, [])
    .option('--error-policy <json|@file>', 'replace the error policy (JSON; {} for none)');
  documented(
    update,
    '{ "jobId", "name", "status", "config": { name, processingGuarantee, suspendOnFailure, snapshotIntervalMs, args, initialSnapshotName } } (the config after the update)',
    [
      [
        'sluice update-config totals --snapshot-interval 2000',
        'snapshot every 2 s from the resume on',
      ],
      [
        'sluice update-config totals --arg input=orders-v2 --arg output=totals',
        'replace every pipeline argument (arguments not given are dropped)',
      ],
      [
        'sluice update-config totals --error-policy @policy.json',
        'replace the error policy before resuming',
      ],
    ],
  ).action(
    async (
      ref: string,
      o: JsonFlag & {
        snapshotInterval?: string;
        suspendOnFailure?: string;
        arg: string[];
        errorPolicy?: string;
      },
    ) => {
      const delta: JobConfigDeltaInput = {};
      if (o.snapshotInterval !== undefined)
        delta.snapshotIntervalMs = integer('--snapshot-interval', o.snapshotInterval);
      if (o.suspendOnFailure !== undefined)
        delta.suspendOnFailure = bool('--suspend-on-failure', o.suspendOnFailure);
      if (o.arg.length > 0) delta.args = keyValues(o.arg);
      if (o.errorPolicy !== undefined)
        delta.errorPolicy = jsonValue('--error-policy', o.errorPolicy) as JobConfig['errorPolicy'];
      if (Object.keys(delta).length === 0)
        throw new SluiceError(
          'SLUICE_USAGE',
          'Nothing to change: give at least one of --snapshot-interval, --suspend-on-failure, --arg, --error-policy.',
        );
      await withClient(globals(), async (client) => {
        const job = client.getJob(ref);
        await job.updateConfig(delta);
        emit(
          o,
          { ...jobSummary(job), config: job.config() },
          () => `Updated the config of ${job.name}: ${JSON.stringify(delta)}`,
        );
      });
    },
  );
}
