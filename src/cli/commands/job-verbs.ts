import type { Command } from 'commander';
import type { Job } from '../../client/job.js';
import type { JobConfigDelta } from '../../domain/config.js';
import { SluiceError } from '../../domain/errors.js';
import { PROCESSING_GUARANTEES, type ProcessingGuarantee } from '../../domain/status.js';
import { withClient } from '../connect.js';
import type { GlobalOptions } from '../options.js';
import { emit } from '../output.js';
import { jobSummary } from '../render.js';

interface JsonFlag {
  json?: boolean;
}

/** `submit`, `suspend`, `resume`, `cancel`, `restart`, `export-snapshot`, `update-config`. */
export function registerJobVerbs(program: Command, globals: () => GlobalOptions): void {
  program
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
    .option('--json', 'print machine-readable JSON')
    .action(
      async (
        pipeline: string,
        o: JsonFlag & {
          name?: string;
          suspendOnFailure?: boolean;
          guarantee: string;
          snapshotInterval: string;
          arg: string[];
          initialSnapshot?: string;
        },
      ) => {
        const config = {
          name: o.name ?? pipeline,
          suspendOnFailure: o.suspendOnFailure ?? false,
          processingGuarantee: guarantee(o.guarantee),
          snapshotIntervalMs: integer('--snapshot-interval', o.snapshotInterval),
          args: keyValues(o.arg),
          initialSnapshotName: o.initialSnapshot ?? null,
        };
        await withClient(globals(), async (client) => {
          const job = await client.submit(pipeline, config);
          emit(o, jobSummary(job), () => `Submitted job ${job.name} (${job.id}): ${job.status()}`);
        });
      },
    );

  const simple: [string, string, (job: Job) => Promise<void>][] = [
    ['suspend', 'suspend a running job, keeping its snapshot', (j) => j.suspend()],
    ['cancel', 'cancel a job; it ends for good', (j) => j.cancel()],
    ['restart', 'restart a running job from its last snapshot', (j) => j.restart()],
  ];
  for (const [verb, description, act] of simple) {
    program
      .command(`${verb} <job>`)
      .description(description)
      .option('--json', 'print machine-readable JSON')
      .action(async (ref: string, o: JsonFlag) => {
        await withClient(globals(), async (client) => {
          const job = client.getJob(ref);
          await act(job);
          emit(o, jobSummary(job), () => `Job ${job.name} (${job.id}) is now ${job.status()}`);
        });
      });
  }

  program
    .command('resume <job>')
    .description('resume a suspended job from its last snapshot')
    .option('--skip-failing-record', 'move past the record the job failed on')
    .option(
      '--dead-letter <topic>',
      'write the record the job failed on to this topic, then move past it',
    )
    .option('--json', 'print machine-readable JSON')
    .action(
      async (ref: string, o: JsonFlag & { skipFailingRecord?: boolean; deadLetter?: string }) => {
        if (o.skipFailingRecord && o.deadLetter) {
          throw new SluiceError(
            'SLUICE_USAGE',
            'Give --skip-failing-record or --dead-letter, not both.',
          );
        }
        const failingRecord = o.skipFailingRecord ? 'SKIP' : o.deadLetter ? 'DEAD_LETTER' : 'RETRY';
        await withClient(globals(), async (client) => {
          const job = client.getJob(ref);
          await job.resume({ failingRecord, deadLetterTopic: o.deadLetter });
          emit(o, jobSummary(job), () => `Job ${job.name} (${job.id}) is now ${job.status()}`);
        });
      },
    );

  program
    .command('export-snapshot <job> <name>')
    .description("save the job's last snapshot under a name; new jobs can start from it")
    .option('--json', 'print machine-readable JSON')
    .action(async (ref: string, name: string, o: JsonFlag) => {
      await withClient(globals(), async (client) => {
        const job = client.getJob(ref);
        await job.exportSnapshot(name);
        const snapshotId = job.snapshot().exportedSnapshots[name] ?? null;
        emit(
          o,
          { ...jobSummary(job), snapshot: name, snapshotId },
          () => `Exported snapshot ${snapshotId ?? '?'} of ${job.name} as "${name}"`,
        );
      });
    });

  program
    .command('update-config <job>')
    .description("change a suspended job's config before resuming it")
    .option('--snapshot-interval <ms>', 'milliseconds between snapshots')
    .option('--suspend-on-failure <bool>', 'true or false')
    .option('--arg <k=v>', 'replace the pipeline arguments (repeatable)', collect, [])
    .option('--json', 'print machine-readable JSON')
    .action(
      async (
        ref: string,
        o: JsonFlag & { snapshotInterval?: string; suspendOnFailure?: string; arg: string[] },
      ) => {
        const delta: JobConfigDelta = {};
        if (o.snapshotInterval !== undefined)
          delta.snapshotIntervalMs = integer('--snapshot-interval', o.snapshotInterval);
        if (o.suspendOnFailure !== undefined)
          delta.suspendOnFailure = bool('--suspend-on-failure', o.suspendOnFailure);
        if (o.arg.length > 0) delta.args = keyValues(o.arg);
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function keyValues(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new SluiceError('SLUICE_USAGE', `--arg "${p}" is not key=value.`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

function guarantee(raw: string): ProcessingGuarantee {
  const g = raw.toUpperCase().replace(/-/g, '_');
  if ((PROCESSING_GUARANTEES as readonly string[]).includes(g)) return g as ProcessingGuarantee;
  throw new SluiceError(
    'SLUICE_USAGE',
    `--guarantee "${raw}" is not one of none, at-least-once, exactly-once.`,
  );
}

function integer(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${flag} "${raw}" is not a whole number of milliseconds.`,
    );
  return Number(raw);
}

function bool(flag: string, raw: string): boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new SluiceError('SLUICE_USAGE', `${flag} "${raw}" is not true or false.`);
}
