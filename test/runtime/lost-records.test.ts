import { sendResume, untilStatus } from '../support/memory-sluice.js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobConfig } from '../../src/domain/config.js';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { startWorkerParts, stopWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  COMMAND_TIMEOUT_MS,
  eventsOf,
  jobConfig,
  participant,
  startCoordinator,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import {
  committedOffset,
  committedValues,
  drive,
  duplicates,
  memoryWorld,
  produce,
  TEST_RETRY,
  type MemoryWorld,
} from '../support/memory-world.js';

// Issue 14, item 6: records deleted (retention, deleteRecords) past a job's committed offsets
// while it was suspended. On the in-memory Kafka with a real coordinator and a worker's real
// parts: the run a resume starts must refuse to skip them without a word (the job is suspended
// with SLUICE_SOURCE_DATA_LOST, nothing is written), and a resume that accepts the loss goes on
// from the earliest offset.

const NS = 'sl';
const JOB = 'j1';
const PARTITIONS = 3;
const GROUP = jobGroup(NS, JOB);
const REPARTITION = repartitionTopic(NS, JOB, 'last');

/** in → out, each record's n as it is: the sink shows which source records were processed. */
function copy(): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .map((r) => r, { name: 'copy' })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** in → groupingKey → aggregate `last` → slow → out: a second hop that lags behind the first. */
function twoHops(w: MemoryWorld): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .groupingKey((r) => `k${r.n % 5}`)
    .aggregate({ name: 'last', init: () => -1, add: (_l: number, r: { n: number }) => r.n })
    .map((o) => w.clock.sleep(200).then(() => o), { name: 'slow' })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

interface Setting {
  w: MemoryWorld;
  user: Participant;
  worker: WorkerParts;
  /** Every line the processes logged, parsed. */
  lines: Record<string, unknown>[];
}

/** A coordinator, the user's client, a worker hosting pipeline `p`, and the job submitted. */
async function setUp(
  pipeline: (w: MemoryWorld) => PipelineDef = copy,
  config: Partial<JobConfig> = {},
): Promise<Setting> {
  const lines: Record<string, unknown>[] = [];
  const w = memoryWorld();
  w.logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  w.cluster.createTopic('in', PARTITIONS);
  w.cluster.createTopic('out', PARTITIONS);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  const worker = await drive(
    w.clock,
    startWorkerParts({
      kafka: w.cluster.client('w1'),
      registry: w.registry,
      namespace: NS,
      logger: w.logger,
      clock: w.clock,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      workerId: 'w1',
      retry: TEST_RETRY,
      factories: new Map([['p', () => pipeline(w)]]),
    }),
  );
  // suspendOnFailure false: a data loss suspends the job anyway.
  await submit(w, user, JOB, jobConfig('copies', { suspendOnFailure: false, ...config }));
  expect(await until(w, user, 'RUNNING')).toBe(true);
  return { w, user, worker, lines };
}

/** Records from..to-1, record n in partition n % 3: partition p holds p, p+3, p+6, ... in order. */
async function write(w: MemoryWorld, from: number, to: number): Promise<void> {
  const records = Array.from({ length: to - from }, (_, i) => ({
    key: `r${from + i}`,
    value: JSON.stringify({ n: from + i }),
    partition: (from + i) % PARTITIONS,
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

/** Drives the clock until the job is `status` in the user's log; false after 60 s. */
const until = (w: MemoryWorld, user: Participant, status: string): Promise<boolean> =>
  untilStatus(w, user, JOB, status);

/**
 * True once the group has committed `topic` through its end on every partition and no
 * transaction is open: under exactly-once, every output of those records is then committed,
 * and no more can come for them.
 */
function settled(w: MemoryWorld, group = GROUP, topic = 'in'): boolean {
  return (
    w.cluster.openTransactions().length === 0 &&
    w.cluster
      .watermarks(topic)
      .every((p) => committedOffset(w.cluster, group, topic, p.partition) === p.high)
  );
}

/** The source record numbers in the sink's committed outputs, sorted. */
function outputs(w: MemoryWorld): number[] {
  return committedValues<{ n: number }>(w.cluster, 'out')
    .map((o) => o.n)
    .sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

async function send(
  w: MemoryWorld,
  user: Participant,
  type: 'SuspendJob' | 'ResumeJob',
  acceptDataLoss = false,
): Promise<void> {
  if (type === 'SuspendJob') await drive(w.clock, user.sender.send(JOB, 'SuspendJob', {}));
  else await sendResume(w, user, JOB, { acceptDataLoss });
}

function ofType<T extends JobEvent['type']>(
  events: JobEvent[],
  type: T,
): Extract<JobEvent, { type: T }>[] {
  return events.filter((e): e is Extract<JobEvent, { type: T }> => e.type === type);
}

/**
 * Runs records 0..29 through the job, suspends it, writes 30..59 (offsets 10..19 of each
 * partition), then lets `remove` delete records while it is suspended.
 */
async function suspendedWithNewRecords(s: Setting): Promise<void> {
  const { w, user } = s;
  await write(w, 0, 30);
  expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
  expect(outputs(w)).toEqual(range(0, 30));
  await send(w, user, 'SuspendJob');
  expect(await until(w, user, 'SUSPENDED')).toBe(true);
  await write(w, 30, 60);
}

/** Partition 1 holds 31, 34, 37, ... at offsets 10, 11, 12, ...: offsets 10..14 are these. */
const LOST_ON_1 = [31, 34, 37, 40, 43];

describe('records deleted past the committed offsets while a job was suspended', () => {
  it('make the resumed run refuse to start: SUSPENDED_DUE_TO_ERROR with SLUICE_SOURCE_DATA_LOST, nothing written', async () => {
    const s = await setUp();
    const { w, user } = s;
    await suspendedWithNewRecords(s);
    expect(w.cluster.deleteRecords('in', 1, 15)).toBe(15); // offsets 0..14: 10..14 unread

    // A raw ResumeJob, as any Kafka tool could send: the worker's check is the safety net.
    await send(w, user, 'ResumeJob');
    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const events = await eventsOf(w, NS, JOB);
    const cause = ofType(events, 'JobSuspendedDueToError')[0]?.cause;
    expect(cause).toMatchObject({
      dueToError: true,
      description: 'Worker w1 could not start the job',
      worker: 'w1',
      record: null,
      error: {
        name: 'SLUICE_SOURCE_DATA_LOST',
        message:
          'Records of in-1 at offsets 10..14 were deleted (retention or deleteRecords) while job "copies" was stopped; resuming would skip them. ' +
          'Resume with --accept-data-loss to go on from offset 15, or restore the data.',
      },
    });
    expect(ofType(events, 'JobFailed')).toEqual([]);

    // Nothing of the records after the suspension was written, and nothing can be: the run
    // never joined the job's group, holds no transaction, and committed no offset.
    expect(outputs(w)).toEqual(range(0, 30));
    expect(w.cluster.group(GROUP)?.members).toEqual([]);
    expect(w.cluster.openTransactions()).toEqual([]);
    expect(range(0, PARTITIONS).map((p) => committedOffset(w.cluster, GROUP, 'in', p))).toEqual([
      10, 10, 10,
    ]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it('resumed accepting the loss: runs from the earliest offset, every record that still exists once, and the log says who accepted', async () => {
    const s = await setUp();
    const { w, user, lines } = s;
    await suspendedWithNewRecords(s);
    w.cluster.deleteRecords('in', 1, 15);
    await send(w, user, 'ResumeJob');
    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);

    await send(w, user, 'ResumeJob', true);
    expect(await until(w, user, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    const expected = range(0, 60).filter((n) => !LOST_ON_1.includes(n));
    expect(outputs(w)).toEqual(expected);
    expect(duplicates(committedValues(w.cluster, 'out'))).toEqual([]);

    const resumes = ofType(await eventsOf(w, NS, JOB), 'JobResumed');
    expect(resumes.map((e) => [e.acceptDataLoss, e.issuedBy])).toEqual([
      [false, 'alice'],
      [true, 'alice'],
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        jobId: JOB,
        msg: 'records deleted while the job was stopped are skipped, as its resume accepted: in-1 at offsets 10..14',
        lost: [{ topic: 'in', partition: 1, committed: '10', earliest: '15' }],
      }),
    );
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it('resumed accepting the loss straight away, also from a SUSPENDED job', async () => {
    const s = await setUp();
    const { w, user } = s;
    await suspendedWithNewRecords(s);
    w.cluster.deleteRecords('in', 1, 15);
    await send(w, user, 'ResumeJob', true);
    expect(await until(w, user, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    expect(outputs(w)).toEqual(range(0, 60).filter((n) => !LOST_ON_1.includes(n)));
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it('deleted only before the committed offsets: no loss, the resume runs every new record', async () => {
    const s = await setUp();
    const { w, user } = s;
    await suspendedWithNewRecords(s);
    expect(w.cluster.deleteRecords('in', 1, 10)).toBe(10); // exactly up to the committed offset
    expect(w.cluster.deleteRecords('in', 0, 4)).toBe(4);
    await send(w, user, 'ResumeJob');
    expect(await until(w, user, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    expect(outputs(w)).toEqual(range(0, 60));
    const events = await eventsOf(w, NS, JOB);
    expect(ofType(events, 'JobSuspendedDueToError')).toEqual([]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it('on a partition left empty: the accepted loss moves the offset, so a later resume finds nothing lost', async () => {
    const s = await setUp();
    const { w, user } = s;
    await suspendedWithNewRecords(s);
    w.cluster.deleteRecords('in', 2, 20); // every record of partition 2
    await send(w, user, 'ResumeJob', true);
    expect(await until(w, user, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    expect(committedOffset(w.cluster, GROUP, 'in', 2)).toBe(20);

    await send(w, user, 'SuspendJob');
    expect(await until(w, user, 'SUSPENDED')).toBe(true);
    await send(w, user, 'ResumeJob');
    expect(await until(w, user, 'RUNNING')).toBe(true);
    const events = await eventsOf(w, NS, JOB);
    expect(ofType(events, 'JobSuspendedDueToError')).toEqual([]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it("in a repartition topic a stateful stage had not read: the loss names the topic's partition", async () => {
    const s = await setUp(twoHops);
    const { w, user } = s;
    await write(w, 0, 60);
    // Suspended once the slow hop 1 has committed part of a partition of its input, not all.
    const stage = stageGroup(NS, JOB, 'last');
    const behind = () =>
      w.cluster
        .watermarks(REPARTITION)
        .map((p) => ({
          partition: p.partition,
          end: p.lastStable,
          committed: committedOffset(w.cluster, stage, REPARTITION, p.partition),
        }))
        .find((p) => p.committed !== undefined && p.committed + 1 < p.end);
    expect(await w.clock.runUntil(() => behind() !== undefined, 30_000)).toBe(true);
    await send(w, user, 'SuspendJob');
    expect(await until(w, user, 'SUSPENDED')).toBe(true);
    const at = behind();
    if (!at) throw new Error('hop 1 read its whole input before the suspension');
    const committed = at.committed as number;
    // Everything hop 1 had not read there.
    w.cluster.deleteRecords(REPARTITION, at.partition, at.end);
    const outputsAtSuspension = committedValues(w.cluster, 'out');

    await send(w, user, 'ResumeJob');
    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const cause = ofType(await eventsOf(w, NS, JOB), 'JobSuspendedDueToError')[0]?.cause;
    expect(cause?.error?.name).toBe('SLUICE_SOURCE_DATA_LOST');
    expect(cause?.error?.message).toContain(
      `Records of ${REPARTITION}-${at.partition} at offsets ${committed}..${at.end - 1} were deleted`,
    );
    expect(committedValues(w.cluster, 'out')).toEqual(outputsAtSuspension);
    expect(w.cluster.openTransactions()).toEqual([]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});

// Deleted while the job runs: a consumer meets them as OFFSET_OUT_OF_RANGE, and Kafka's way is
// to move to the log start and go on. A hop stops instead (ConsumerOptions.deletedRecords), so
// the job is suspended naming what was lost, as when it was stopped. Retention deletes a
// topic's records whose timestamps are older than retention.ms, whatever their age in the
// topic: input replayed with old timestamps meets it (it was how issue 19's stream-join test
// lost pairs, found in session 8).
describe("records deleted past a running job's position", () => {
  /** Partition 0 holds 0, 3, 6, ...: the gate, record 30, is its offset 10. */
  const GATE = 30;

  /** in → copy → out, the copy of record GATE held until `open` is called. */
  function gated(): { pipeline: () => PipelineDef; reached: () => boolean; open: () => void } {
    let reached = false;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const pipeline = (): PipelineDef =>
      Pipeline.create()
        .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
        .map(
          (r) => {
            if (r.n !== GATE) return r;
            reached = true;
            return gate.then(() => r);
          },
          { name: 'copy' },
        )
        .writeTo(Sinks.kafka({ topic: 'out' }));
    return { pipeline, reached: () => reached, open: () => open() };
  }

  /** Partition 0's records 33, 36, 39, 42 (offsets 11..14): written while the gate held, deleted before they were read. */
  const LOST_ON_0 = [33, 36, 39, 42];

  it('suspend the job with SLUICE_SOURCE_DATA_LOST naming them; a resume accepting the loss goes on', async () => {
    const g = gated();
    const s = await setUp(g.pipeline);
    const { w, user } = s;
    await write(w, 0, 30);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    await write(w, 30, 31);
    expect(await w.clock.runUntil(g.reached, 30_000)).toBe(true);
    // Fetched while the gate holds record 30, whose batch it was alone in: not read yet.
    await write(w, 31, 60);
    expect(w.cluster.deleteRecords('in', 0, 15)).toBe(15);
    g.open();

    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const cause = ofType(await eventsOf(w, NS, JOB), 'JobSuspendedDueToError')[0]?.cause;
    expect(cause).toMatchObject({
      dueToError: true,
      record: null,
      error: {
        name: 'SLUICE_SOURCE_DATA_LOST',
        message:
          'Records of in-0 at offsets 11..14 were deleted (retention or deleteRecords) before job "copies" read them; it was suspended rather than skip them. ' +
          'Resume with --accept-data-loss to go on from offset 15, or restore the data.',
      },
    });
    expect(cause?.description).toBe(cause?.error?.message);
    // The gate's record was read before the deletion: its output is committed.
    expect(outputs(w)).toContain(GATE);
    expect(committedOffset(w.cluster, GROUP, 'in', 0)).toBe(11);

    await send(w, user, 'ResumeJob', true);
    expect(await until(w, user, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);
    expect(outputs(w)).toEqual(range(0, 60).filter((n) => !LOST_ON_0.includes(n)));
    expect(duplicates(committedValues(w.cluster, 'out'))).toEqual([]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});
