import type { Command } from 'commander';
import { hostsOf } from '../../domain/presence.js';
import { isTerminal } from '../../domain/status.js';
import { withClient } from '../connect.js';
import { documented } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { jobsTable } from '../render.js';
import { hostViews, statusView } from '../render-status.js';
import { describeStatus } from '../status-description.js';

interface JsonFlag {
  json?: boolean;
}

/** The fields of a job state in `--json` output. */
const JOB_STATE_JSON =
  '{ "jobId", "name", "pipeline", "status", "config", "submittedAt", "submittedBy",\n  "lastSnapshot", "exportedSnapshots", "workers", "run", "version", "updatedAt",\n  "suspensionCause" (while suspended), "failureCause" (when failed) }; times are epoch ms';

/** `jobs`, `status`. */
export function registerJobViews(program: Command, globals: () => GlobalOptions): void {
  const jobs = program
    .command('jobs')
    .description('list jobs, newest first: name, id, status, guarantee, age')
    .option('--active', 'only jobs that have not ended');
  documented(jobs, `[ job, ... ], newest first; each job is\n${JOB_STATE_JSON}`, [
    ['sluice jobs', 'every job of the namespace, newest first'],
    ['sluice jobs --active', 'only jobs that have not completed, failed or been cancelled'],
    [
      'sluice jobs --json | jq -r \'.[] | select(.status == "SUSPENDED_DUE_TO_ERROR") | .name\'',
      'the names of jobs an error suspended',
    ],
  ]).action(async (o: JsonFlag & { active?: boolean }) => {
    // States only: from the checkpoint, so the answer costs the same however long the log is.
    await withClient(
      globals(),
      (client) => {
        const states = client
          .listJobs()
          .map((j) => j.snapshot())
          .filter((s) => !o.active || !isTerminal(s.status));
        emit(o, states, () => jobsTable(states, Date.now()));
        return Promise.resolve();
      },
      'checkpoint',
    );
  });

  const status = program
    .command('status <job>')
    .description(
      "show a job's status and what to do next, its config and snapshots and, when suspended or failed, the cause and the failing record",
    );
  documented(
    status,
    `${JOB_STATE_JSON},\nplus "description": string (where the job stands and what to do next)\nand "hosts": [ { "workerId", "fingerprint", "seenAt", "runsFailingCode": boolean | null } ]\n(the live workers hosting its pipeline, the code each runs, and whether it is the code the job failed in)`,
    [
      ['sluice status totals', 'by name: the live job of that name, else the latest ended one'],
      ['sluice status 3f2a9c0d1e4b5a67', 'by id'],
      [
        'sluice status totals --json | jq .suspensionCause.record',
        'the record a suspended job failed on: topic, partition, offset, key, value preview',
      ],
      [
        "sluice status totals --json | jq '.hosts[] | select(.runsFailingCode)'",
        'the live workers still running the code the job failed in',
      ],
    ],
  ).action(async (ref: string, o: JsonFlag) => {
    await withClient(
      globals(),
      async (client) => {
        const job = client.getJob(ref);
        const live = await client.liveWorkers();
        const state = job.snapshot();
        const hosts = hostViews(state, hostsOf(live, state.pipeline));
        emit(o, { ...state, description: describeStatus(state), hosts }, () =>
          statusView(state, Date.now(), hosts),
        );
      },
      'checkpoint',
    );
  });
}
