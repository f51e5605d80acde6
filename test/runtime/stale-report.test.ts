import { sendResume, untilStatus } from '../support/memory-sluice.js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandCodec } from '../../src/codec/log-codec.js';
import type { CommandOf, ReportType } from '../../src/domain/commands.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { JobEvent } from '../../src/domain/events.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import { topicNames } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import type { JobState } from '../../src/domain/state.js';
import { startWorkerParts, stopWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { JobRunner } from '../../src/runtime/job-runner.js';
import {
  COMMAND_TIMEOUT_MS,
  eventsOf,
  jobConfig,
  participant,
  runnerDeps,
  startCoordinator,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import {
  background,
  committedValues,
  drive,
  memoryWorld,
  produce,
  TEST_RETRY,
  type MemoryWorld,
} from '../support/memory-world.js';

// Reports of a replaced run (issue 14, item 4), on the in-memory Kafka with a real coordinator
// and a worker's real parts: a failure report of run 1 that arrives after a resume must not
// suspend run 2, and a runner names the run it was started for, not the log's current one.

const NS = 'sl';
const JOB = 'j1';

/** in → out, each record's value doubled. */
function doubling(): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .map((r) => ({ n: r.n * 2 }), { name: 'double' })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

interface Setting {
  w: MemoryWorld;
  /** The user's client. */
  user: Participant;
  /** Every line the processes logged, parsed. */
  lines: Record<string, unknown>[];
}

/** A world whose log lines are kept, with a coordinator, the user's client and topics `in`, `out`. */
async function setUp(): Promise<Setting> {
  const lines: Record<string, unknown>[] = [];
  const w = memoryWorld();
  w.logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  w.cluster.createTopic('in', 2);
  w.cluster.createTopic('out', 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  return { w, user, lines };
}

/** A worker hosting pipeline `p` (the one `submit` names): it follows the log and runs the job. */
async function startWorker(w: MemoryWorld, name: string): Promise<WorkerParts> {
  return drive(
    w.clock,
    startWorkerParts({
      kafka: w.cluster.client(name),
      registry: w.registry,
      namespace: NS,
      logger: w.logger,
      clock: w.clock,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      workerId: name,
      retry: TEST_RETRY,
      factories: new Map([['p', doubling]]),
    }),
  );
}

async function write(w: MemoryWorld, from: number, to: number): Promise<void> {
  const records = Array.from({ length: to - from }, (_, i) => ({
    key: `r${from + i}`,
    value: JSON.stringify({ n: from + i }),
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

/** Drives the clock until the job is `status` on `run` in the user's log; false after 60 s. */
const until = (w: MemoryWorld, user: Participant, status: string, run: number): Promise<boolean> =>
  untilStatus(w, user, JOB, status, run);

/** Drives a command's sending, and returns how the coordinator answered: accepted, or the error. */
async function answer(w: MemoryWorld, work: Promise<unknown>): Promise<unknown> {
  try {
    await drive(w.clock, work);
    return 'accepted';
  } catch (err) {
    return err;
  }
}

/** The reports of one type on the control topic, decoded, in order. */
async function reportsOf<K extends ReportType>(w: MemoryWorld, type: K): Promise<CommandOf<K>[]> {
  const codec = new CommandCodec(w.registry, topicNames(NS).reports);
  await codec.ready();
  const out: CommandOf<K>[] = [];
  for (const r of w.cluster.read(topicNames(NS).reports)) {
    const c = await codec.decode(r.value, { commandId: 'x', issuedBy: 'x', at: 0 });
    if (!('malformed' in c) && c.type === type) out.push(c as CommandOf<K>);
  }
  return out;
}

function rejections(events: JobEvent[]): Extract<JobEvent, { type: 'CommandRejected' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'CommandRejected' }> => e.type === 'CommandRejected',
  );
}

const failure = {
  description: 'Stage "double" threw on a record.',
  error: { name: 'RangeError', message: 'late news', stack: null },
  stage: 'double',
  worker: 'w1',
  record: { topic: 'in', partition: 0, offset: '3', key: 'r3', valuePreview: '{"n":3}' },
  fingerprint: null,
};

describe('a failure report of the run before a resume, arriving late', () => {
  it('is refused as STALE_REPORT: the resumed job stays RUNNING and goes on processing', async () => {
    const { w, user, lines } = await setUp();
    const worker = await startWorker(w, 'w1');
    await submit(w, user, JOB, jobConfig('doubles'));
    expect(await until(w, user, 'RUNNING', 1)).toBe(true);
    await write(w, 0, 10);
    expect(
      await w.clock.runUntil(() => committedValues(w.cluster, 'out').length === 10, 30_000),
    ).toBe(true);
    await w.clock.advance(12_000); // past the snapshot interval: the coordinator records one

    await drive(w.clock, user.sender.send(JOB, 'SuspendJob', {}));
    await sendResume(w, user, JOB);
    // The worker restarted the job's tasks for run 2, and they reported started.
    expect(await until(w, user, 'RUNNING', 2)).toBe(true);

    // Run 1's failure report, sent late on purpose through the worker's own sender.
    const late = await answer(
      w,
      worker.sender.send(JOB, 'ReportFailure', { failure, run: 1 }, 'late-failure'),
    );
    expect(late).toBeInstanceOf(CommandRejectedError);
    expect(isSluiceError(late, 'SLUICE_COMMAND_REJECTED')).toBe(true);
    const reason =
      'ReportFailure from run 1 of job "doubles" ignored: the job is on run 2 (resumed or restarted since).';
    expect(late).toMatchObject({ rejectionCode: 'STALE_REPORT', reason });

    // The job stays RUNNING on run 2, in every reader's log, and its tasks keep working.
    await w.clock.advance(5_000);
    expect(user.log.state(JOB)).toMatchObject({ status: 'RUNNING', run: 2 });
    expect(worker.log.state(JOB)).toMatchObject({ status: 'RUNNING', run: 2 });
    await write(w, 10, 20);
    expect(
      await w.clock.runUntil(() => committedValues(w.cluster, 'out').length === 20, 30_000),
    ).toBe(true);

    // The refusal is in the job log with its code and reason, and in the coordinator's log line.
    const events = await eventsOf(w, NS, JOB);
    expect(events.some((e) => e.type === 'JobSuspendedDueToError')).toBe(false);
    expect(rejections(events)).toEqual([
      expect.objectContaining({
        commandId: 'late-failure',
        commandType: 'ReportFailure',
        code: 'STALE_REPORT',
        reason,
      }),
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        component: 'coordinator',
        msg: 'command rejected',
        jobId: JOB,
        commandId: 'late-failure',
        code: 'STALE_REPORT',
        reason,
      }),
    );

    // The worker's own reports named the run they were sent for.
    expect((await reportsOf(w, 'ReportStarted')).map((c) => c.run)).toEqual([1, 2]);
    // And so did the coordinator's snapshots, one run 1's, one run 2's at least.
    await w.clock.advance(12_000);
    const snapshotRuns = (await reportsOf(w, 'ReportSnapshot')).map((c) => c.run);
    expect(new Set(snapshotRuns)).toEqual(new Set([1, 2]));
    expect(snapshotRuns).toEqual([...snapshotRuns].sort());
    expect(rejections(await eventsOf(w, NS, JOB))).toHaveLength(1);
    await drive(w.clock, stopWorkerParts(worker));
  });

  it('without a run (a worker older than runs) still suspends the resumed job, as before', async () => {
    const { w, user } = await setUp();
    const worker = await startWorker(w, 'w1');
    await submit(w, user, JOB, jobConfig('doubles'));
    expect(await until(w, user, 'RUNNING', 1)).toBe(true);
    await drive(w.clock, user.sender.send(JOB, 'SuspendJob', {}));
    await sendResume(w, user, JOB);
    expect(await until(w, user, 'RUNNING', 2)).toBe(true);
    expect(await answer(w, worker.sender.send(JOB, 'ReportFailure', { failure }))).toBe('accepted');
    expect(user.log.state(JOB)).toMatchObject({ status: 'SUSPENDED_DUE_TO_ERROR', run: 2 });
    await drive(w.clock, stopWorkerParts(worker));
  });
});

describe('a job runner', () => {
  it('names the run it was started for on its reports, even once the log has moved on', async () => {
    const { w, user } = await setUp();
    const worker = await participant(w, NS, 'w1');
    const run1: JobState = await submit(w, user, JOB, jobConfig('doubles'));
    expect(run1.run).toBe(1);
    await drive(w.clock, user.sender.send(JOB, 'SuspendJob', {}));
    await sendResume(w, user, JOB);
    expect(await until(w, user, 'STARTING', 2)).toBe(true);

    // A runner of run 1 that starts only now (a slow worker): it reports started as run 1,
    // which the coordinator refuses; a runner reading the run at send time would claim run 2.
    const stale = new JobRunner({
      ...runnerDeps(w, NS, worker),
      job: run1,
      pipeline: doubling(),
      plan: NO_PLAN,
    });
    background(stale.start());
    expect(
      await w.clock.runUntil(
        () => worker.log.history(JOB).some((e) => e.type === 'CommandRejected'),
        60_000,
      ),
    ).toBe(true);
    expect(rejections(worker.log.history(JOB))).toEqual([
      expect.objectContaining({ commandType: 'ReportStarted', code: 'STALE_REPORT' }),
    ]);
    expect(user.log.state(JOB)).toMatchObject({ status: 'STARTING', run: 2, workers: [] });
    await drive(w.clock, stale.stop());

    // Run 2's runner is heard.
    const current = new JobRunner({
      ...runnerDeps(w, NS, worker),
      job: worker.log.state(JOB)!,
      pipeline: doubling(),
      plan: NO_PLAN,
    });
    background(current.start());
    expect(await until(w, user, 'RUNNING', 2)).toBe(true);
    expect((await reportsOf(w, 'ReportStarted')).map((c) => c.run)).toEqual([1, 2]);
    await drive(w.clock, current.stop());
  });
});
