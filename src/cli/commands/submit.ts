import type { Command } from 'commander';
import { withClient } from '../connect.js';
import { documented, SUMMARY_JSON } from '../help.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { compileJobConfig, type JobConfig } from '../../domain/config.js';
import { collect, guarantee, integer, jsonValue, keyValues } from '../parse.js';
import { jobSummary } from '../render.js';

interface SubmitFlags {
  json?: boolean;
  name?: string;
  suspendOnFailure?: boolean;
  guarantee: string;
  snapshotInterval: string;
  arg: string[];
  initialSnapshot?: string;
  errorPolicy?: string;
}

/** `sluice submit <pipeline>`. */
export function registerSubmit(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('submit <pipeline>')
    .description('submit a job running the named pipeline (workers host pipeline code by name)')
    .option(
      '--name <name>',
      'job name, unique among jobs that have not ended (default: the pipeline name)',
    )
    .option('--suspend-on-failure', 'suspend instead of failing when the job hits an error')
    .option('--guarantee <g>', 'none | at-least-once | exactly-once', 'none')
    .option('--snapshot-interval <ms>', 'milliseconds between snapshots', '10000')
    .option('--arg <k=v>', 'an argument for the pipeline factory (repeatable)', collect, [])
    .option('--initial-snapshot <name>', 'start from this exported snapshot')
    .option(
      '--error-policy <json|@file>',
      'retries, actions by error and an error budget, as JSON (docs/failure-handling.md)',
    );
  documented(cmd, SUMMARY_JSON, [
    [
      'sluice submit order-totals --name totals --suspend-on-failure --guarantee exactly-once --arg input=orders --arg output=totals',
      'run pipeline "order-totals" as job "totals"; an error suspends it instead of failing it',
    ],
    [
      'sluice submit order-totals --name totals-v2 --initial-snapshot totals-before-upgrade',
      'start a new job from the state of an exported snapshot',
    ],
    [
      `sluice submit order-totals --guarantee exactly-once --error-policy '{"actions":[{"on":["ValidationError"],"action":"DEAD_LETTER","deadLetterTopic":"orders.dlt"}],"budget":{"maxRecords":100,"windowMs":60000}}'`,
      'dead-letter records that fail validation; suspend once more than 100 a minute do',
    ],
    [
      'sluice submit order-totals --json | jq -r .jobId',
      'submit and keep the new job id for a script',
    ],
  ]).action(async (pipeline: string, o: SubmitFlags) => {
    // Every flag is checked before connecting, so a typo costs no round trip.
    const config = compileJobConfig({
      name: o.name ?? pipeline,
      suspendOnFailure: o.suspendOnFailure ?? false,
      processingGuarantee: guarantee(o.guarantee),
      snapshotIntervalMs: integer('--snapshot-interval', o.snapshotInterval),
      args: keyValues(o.arg),
      initialSnapshotName: o.initialSnapshot ?? null,
      ...(o.errorPolicy === undefined
        ? {}
        : { errorPolicy: jsonValue('--error-policy', o.errorPolicy) as JobConfig['errorPolicy'] }),
    });
    await withClient(globals(), async (client) => {
      const job = await client.submit(pipeline, config);
      emit(o, jobSummary(job), () => `Submitted job ${job.name} (${job.id}): ${job.status()}`);
    });
  });
}
