import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import type { JobState } from '../../src/domain/state.js';
import { LineReader, runSluice, startCli, type CliError, type CliRun } from '../support/cli.js';
import { endpoints, sluiceEnv } from '../support/kafka.js';
import { childEnv } from '../support/spawn.js';
import { connectClient, freshNamespace, startCoordinator } from '../support/sluice.js';

// Every command `sluice --help` lists, through the built CLI against a real broker, registry and
// coordinator: its --json output parses to the documented shape, and a rejection or a mistake
// exits with the documented code (0 ok, 1 failed or rejected, 2 usage, 3 unknown job) and the
// one --json error shape. Workers are played by the test through the internal report commands.

const ns = await freshNamespace('clicmd');
await startCoordinator(ns);
const workerSim = await connectClient(ns, 'worker-sim');
const env = sluiceEnv(ns, { SLUICE_ISSUED_BY: 'cli-test' });

const children: LineReader[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
});
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sluice(...args: string[]): Promise<CliRun> {
  return runSluice(args, env);
}

/** Runs a command with --json and expects it to succeed with a JSON answer. */
async function ok<T>(...args: string[]): Promise<T> {
  const run = await sluice(...args, '--json');
  expect(run.code, `sluice ${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
  expect(run.json, run.stdout).toBeDefined();
  return run.json as T;
}

/** Runs a command with --json and expects it to fail with `exitCode` and the error `code`. */
async function fails(exitCode: number, code: string, ...args: string[]): Promise<CliError> {
  const run = await sluice(...args, '--json');
  expect(run.code, `sluice ${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(exitCode);
  const body = run.json as CliError;
  expect(body).toEqual({
    error: { code, message: expect.any(String) as string, details: expect.any(Object) as object },
  });
  return body;
}

interface Summary {
  jobId: string;
  name: string;
  status: string;
}

async function report(jobId: string): Promise<void> {
  await workerSim.send(jobId, 'ReportStarted', { worker: 'w1' });
  await workerSim.send(jobId, 'ReportSnapshot', {
    worker: 'w1',
    snapshotId: `snap-${jobId.slice(0, 4)}`,
    sourceOffsets: [{ topic: 'orders', partition: 0, offset: '7' }],
    stateOffsets: [],
  });
}

describe('sluice job commands', () => {
  let jobId = '';

  it('submit answers with the new job, and refuses a name in use (1) or a bad flag (2)', async () => {
    const job = await ok<Summary>(
      'submit',
      'orders-pipe',
      '--name',
      'cmd-job',
      '--suspend-on-failure',
    );
    expect(job).toEqual({
      jobId: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
      name: 'cmd-job',
      status: 'NOT_RUNNING',
    });
    jobId = job.jobId;

    const taken = await fails(
      1,
      'SLUICE_COMMAND_REJECTED',
      'submit',
      'orders-pipe',
      '--name',
      'cmd-job',
    );
    expect(taken.error.details).toMatchObject({
      rejectionCode: 'NAME_IN_USE',
      commandType: 'SubmitJob',
    });
    const usage = await fails(2, 'SLUICE_USAGE', 'submit', 'p', '--snapshot-interval', '2s');
    expect(usage.error.message).toContain('--snapshot-interval "2s"');
    await fails(2, 'SLUICE_USAGE', 'submit', 'p', '--no-such-flag');
    await fails(2, 'SLUICE_USAGE', 'submit');
  });

  it('status of a job no worker started says it waits for a worker hosting its pipeline', async () => {
    const state = await ok<JobState & { description: string }>('status', 'cmd-job');
    expect(state).toMatchObject({
      jobId,
      name: 'cmd-job',
      status: 'NOT_RUNNING',
      pipeline: 'orders-pipe',
    });
    expect(state.description).toMatch(
      /^Waiting for a worker that hosts pipeline "orders-pipe": no worker has started it yet\./,
    );
    expect(state.description).toContain('`sluice worker <module>`');

    const human = await sluice('status', 'cmd-job');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^status +NOT_RUNNING$/m);
    expect(human.stdout).toContain(state.description);

    const unknown = await fails(3, 'SLUICE_JOB_NOT_FOUND', 'status', 'no-such-job');
    expect(unknown.error.details).toEqual({ job: 'no-such-job', namespace: ns });
    const humanUnknown = await sluice('status', 'no-such-job');
    expect(humanUnknown.code).toBe(3);
    expect(humanUnknown.stderr).toContain('error SLUICE_JOB_NOT_FOUND');
  });

  it('jobs lists the job as JSON and as a table with its age, and refuses a bad flag (2)', async () => {
    const jobs = await ok<JobState[]>('jobs');
    expect(jobs).toEqual([
      expect.objectContaining({ jobId, name: 'cmd-job', status: 'NOT_RUNNING' }),
    ]);
    const table = await sluice('jobs');
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME +ID +STATUS +GUARANTEE +AGE +PIPELINE$/);
    expect(row).toMatch(new RegExp(`^cmd-job +${jobId} +NOT_RUNNING +none +\\d+s +orders-pipe$`));
    await fails(2, 'SLUICE_USAGE', 'jobs', '--bogus');
  });

  it('suspend answers SUSPENDED, and refuses to suspend it again (1) or an unknown job (3)', async () => {
    await report(jobId);
    expect(await ok<Summary>('suspend', 'cmd-job')).toEqual({
      jobId,
      name: 'cmd-job',
      status: 'SUSPENDED',
    });
    const again = await fails(1, 'SLUICE_COMMAND_REJECTED', 'suspend', 'cmd-job');
    expect(again.error.details).toMatchObject({ rejectionCode: 'ILLEGAL_TRANSITION' });
    await fails(3, 'SLUICE_JOB_NOT_FOUND', 'suspend', 'no-such-job');
  });

  it('update-config answers with the new config, and wants a change (2)', async () => {
    const updated = await ok<Summary & { config: { snapshotIntervalMs: number } }>(
      'update-config',
      'cmd-job',
      '--snapshot-interval',
      '2500',
    );
    expect(updated).toMatchObject({
      jobId,
      status: 'SUSPENDED',
      config: { snapshotIntervalMs: 2500 },
    });
    await fails(2, 'SLUICE_USAGE', 'update-config', 'cmd-job');
    await fails(2, 'SLUICE_USAGE', 'update-config', 'cmd-job', '--suspend-on-failure', 'yes');
  });

  it('export-snapshot waits for the export and answers with its id, and refuses a name in use (1)', async () => {
    const exported = await ok<Summary & { snapshot: string; snapshotId: string }>(
      'export-snapshot',
      'cmd-job',
      'cmd-export',
    );
    expect(exported).toEqual({
      jobId,
      name: 'cmd-job',
      status: 'SUSPENDED',
      snapshot: 'cmd-export',
      snapshotId: `snap-${jobId.slice(0, 4)}`,
    });
    const taken = await fails(
      1,
      'SLUICE_COMMAND_REJECTED',
      'export-snapshot',
      'cmd-job',
      'cmd-export',
    );
    expect(taken.error.details).toMatchObject({ rejectionCode: 'SNAPSHOT_NAME_IN_USE' });

    // Not at a terminal: the result on stdout, and no progress bar anywhere.
    const human = await sluice('export-snapshot', 'cmd-job', 'cmd-export-2');
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(
      `Exported snapshot snap-${jobId.slice(0, 4)} of cmd-job as "cmd-export-2"\n`,
    );
    expect(human.stderr).not.toMatch(/\r|\[#*·*\]/);
  });

  it('resume answers STARTING, and refuses a job that is not suspended (1) or two choices (2)', async () => {
    await fails(
      2,
      'SLUICE_USAGE',
      'resume',
      'cmd-job',
      '--skip-failing-record',
      '--dead-letter',
      'dlq',
    );
    expect(await ok<Summary>('resume', 'cmd-job')).toEqual({
      jobId,
      name: 'cmd-job',
      status: 'STARTING',
    });
    const rejected = await fails(1, 'SLUICE_COMMAND_REJECTED', 'resume', 'cmd-job');
    expect(rejected.error.details).toMatchObject({
      rejectionCode: 'ILLEGAL_TRANSITION',
      commandType: 'ResumeJob',
    });
    expect(rejected.error.message).toContain('STARTING');
  });

  it('restart answers STARTING, and refuses a suspended job (1)', async () => {
    await workerSim.send(jobId, 'ReportStarted', { worker: 'w1' });
    expect(await ok<Summary>('restart', jobId)).toEqual({
      jobId,
      name: 'cmd-job',
      status: 'STARTING',
    });
    await ok<Summary>('suspend', jobId);
    await fails(1, 'SLUICE_COMMAND_REJECTED', 'restart', jobId);
  });

  it('cancel answers CANCELLED, and refuses to cancel it again (1)', async () => {
    expect(await ok<Summary>('cancel', 'cmd-job')).toEqual({
      jobId,
      name: 'cmd-job',
      status: 'CANCELLED',
    });
    await fails(1, 'SLUICE_COMMAND_REJECTED', 'cancel', 'cmd-job');
  });

  it('history answers with every event in order, rejections included, and a timeline for people', async () => {
    const events = await ok<JobEvent[]>('history', 'cmd-job');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(
      events.every(
        (e) => e.jobId === jobId && typeof e.eventId === 'string' && typeof e.at === 'number',
      ),
    ).toBe(true);
    expect(events.map((e) => e.type)).toContain('CommandRejected');
    expect(events.at(-1)?.type).toBe('CommandRejected'); // the second cancel
    const timeline = await sluice('history', 'cmd-job');
    expect(timeline.code).toBe(0);
    const lines = timeline.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME +EVENT +STATUS +WHO +DETAIL$/);
    expect(lines).toHaveLength(events.length + 1);
    expect(timeline.stdout).toMatch(/JobSuspended +→ SUSPENDED +cli-test +Suspended by cli-test\./);
    await fails(3, 'SLUICE_JOB_NOT_FOUND', 'history', 'no-such-job');
  });
});

describe('sluice history --follow', () => {
  it('prints the past events, then each new one as it arrives, one JSON object per line, until Ctrl-C', async () => {
    const { jobId } = await ok<Summary>('submit', 'orders-pipe', '--name', 'follow-job');
    await workerSim.send(jobId, 'ReportStarted', { worker: 'w1' });

    const follow = new LineReader(startCli(['history', 'follow-job', '--follow', '--json'], env));
    children.push(follow);
    await follow.waitFor((l) => l.includes('"JobStarted"'), 30_000);
    expect(follow.lines.map((l) => (JSON.parse(l) as JobEvent).type)).toEqual([
      'JobSubmitted',
      'JobStarted',
    ]);

    // A command from elsewhere: its event reaches the follower without a new invocation.
    await ok<Summary>('suspend', 'follow-job');
    const line = await follow.waitFor((l) => l.includes('"JobSuspended"'), 30_000);
    expect(JSON.parse(line)).toMatchObject({
      jobId,
      seq: 2,
      type: 'JobSuspended',
      issuedBy: 'cli-test',
    });
    await ok<Summary>('resume', 'follow-job');
    await follow.waitFor((l) => l.includes('"JobResumed"'), 30_000);
    expect(follow.lines.every((l) => (JSON.parse(l) as JobEvent).jobId === jobId)).toBe(true);

    expect(await follow.stop('SIGINT'), follow.stderr).toBe(0);
    expect(follow.lines.map((l) => (JSON.parse(l) as JobEvent).seq)).toEqual([0, 1, 2, 3]);
  });

  it('refuses an unknown job at once (3)', async () => {
    await fails(3, 'SLUICE_JOB_NOT_FOUND', 'history', 'no-such-job', '--follow');
  });
});

describe('sluice infra', () => {
  it('status and up report the given servers as JSON', async () => {
    const { brokers, registryUrl } = endpoints();
    expect(await ok('infra', 'status')).toEqual({
      running: true,
      brokers,
      registryUrl,
      source: 'given',
      security: {},
    });
    expect(await ok('infra', 'up')).toEqual({ brokers, registryUrl, source: 'given' });
  });

  it('status and down with nothing running: exit 1 with running false, and stopped false', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-infra-'));
    dirs.push(dir);
    // A private state folder and no endpoints: these never see, or stop, the shared servers.
    const empty = childEnv({ SLUICE_STATE_DIR: dir });
    const status = await runSluice(['infra', 'status', '--json'], empty);
    expect(status.code).toBe(1);
    expect(status.json).toEqual({ running: false, brokers: [], registryUrl: null });
    const down = await runSluice(['infra', 'down', '--json'], empty);
    expect(down.code).toBe(0);
    expect(down.json).toEqual({ stopped: false });
    const bad = await runSluice(
      ['infra', 'up', '--json', '--brokers', 'PLAINTEXT://x:9092', '--registry', 'http://r'],
      empty,
    );
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ error: { code: 'SLUICE_INFRA_BAD_ENDPOINT' } });
  });
});

describe('long-running commands', () => {
  it('worker: help exits 0, a missing module is a usage error (2), --json prints one start line', async () => {
    const help = await sluice('worker', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('JSON output (--json):');

    const missing = await fails(
      2,
      'SLUICE_USAGE',
      'worker',
      'test/fixtures/pipelines/no-such-module.mjs',
    );
    expect(missing.error.details).toEqual({ module: 'test/fixtures/pipelines/no-such-module.mjs' });
    await fails(2, 'SLUICE_USAGE', 'worker');
    await fails(
      2,
      'SLUICE_USAGE',
      'worker',
      'test/fixtures/pipelines/metered.mjs',
      '--metrics-port',
      'x',
    );

    const worker = new LineReader(
      startCli(
        [
          'worker',
          'test/fixtures/pipelines/metered.mjs',
          '--no-coordinator',
          '--worker-id',
          'w-json',
          '--json',
        ],
        env,
      ),
    );
    children.push(worker);
    const started = JSON.parse(await worker.waitFor(() => true, 30_000)) as unknown;
    expect(started).toEqual({
      workerId: 'w-json',
      namespace: ns,
      pipelines: ['metered'],
      // The hash of the module file's content, name and version (src/node/fingerprint.ts).
      fingerprints: { metered: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown },
      metricsPort: null,
    });
    expect(await worker.stop('SIGINT'), worker.stderr).toBe(0);
    expect(worker.lines).toHaveLength(1);
  });

  it('coordinator: help exits 0, a bad flag value is a usage error (2), --json prints one start line', async () => {
    const help = await sluice('coordinator', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    await fails(2, 'SLUICE_USAGE', 'coordinator', '--session-timeout', 'soon');

    const coordinator = new LineReader(startCli(['coordinator', '--json'], env));
    children.push(coordinator);
    const started = JSON.parse(await coordinator.waitFor(() => true, 30_000)) as unknown;
    expect(started).toEqual({ namespace: ns, brokers: endpoints().brokers });
    // Signalled as soon as the line is read: the listener must already be there.
    expect(await coordinator.stop('SIGINT'), coordinator.stderr).toBe(0);
  });

  it('every command has help with examples and the --json shape', async () => {
    const root = await sluice('--help');
    expect(root.code).toBe(0);
    expect(root.stdout).toContain('Exit codes:');
    const listed = root.stdout.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
    const commands = [...listed.matchAll(/^ {2}([a-z][a-z-]*) /gm)]
      .map((m) => m[1] ?? '')
      .filter((c) => c !== 'help');
    expect(commands).toEqual(
      expect.arrayContaining(['submit', 'jobs', 'status', 'history', 'worker', 'coordinator']),
    );
    // Commands with subcommands: each subcommand is a leaf with its own help.
    const groups: Record<string, string[]> = {
      infra: ['infra up', 'infra status', 'infra down'],
      acl: ['acl print', 'acl apply'],
    };
    const leaves = commands.flatMap((c) => groups[c] ?? [c]);
    for (const c of leaves) {
      const help = await sluice(...c.split(' '), '--help');
      expect(help.code, c).toBe(0);
      expect(help.stdout, c).toContain('--json');
      expect(help.stdout, c).toContain('JSON output (--json):');
      expect(help.stdout, c).toContain('Examples:');
    }
  });
});
