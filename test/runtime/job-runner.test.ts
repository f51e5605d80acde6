import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import type { JobState } from '../../src/domain/state.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { JobRunner } from '../../src/runtime/job-runner.js';
import {
  jobConfig,
  participant,
  runnerDeps,
  startCoordinator,
  submit,
  untilActive,
  eventsOf,
  type Participant,
} from '../support/memory-sluice.js';
import {
  background,
  committedOffset,
  committedValues,
  drive,
  duplicates,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// Unit tests of a job runner (src/runtime/job-runner.ts) on the in-memory Kafka, with a real
// coordinator answering its reports: a two-hop job (a check, then a keyed aggregate whose hop
// is slow) on one worker, its failures and its stop, on one virtual clock.

const NS = 'sl';
const JOB = 'j1';
const REPARTITION = repartitionTopic(NS, JOB, 'last');
const GROUP0 = jobGroup(NS, JOB);
const GROUP1 = stageGroup(NS, JOB, 'last');

/** A source record: its number. Record n is written to partition n % partitions, key `r<n>`. */
interface In {
  n: number;
}

/** What the sink gets: the grouping key and the latest record number of that key. */
interface Out {
  key: string;
  value: number;
}

interface JobShape {
  /** Hop 0's check throws on this record. */
  poisonHop0?: number;
  /** Hop 1's aggregate throws on this record. */
  poisonHop1?: number;
  /** Virtual milliseconds hop 1 takes per record after the aggregate. */
  msHop1?: number;
}

/**
 * in → check → groupingKey → aggregate `last` (the latest n per key) → slow → out: two hops,
 * the second fed by the repartition topic and emitting one output per record.
 */
function pipeline(w: MemoryWorld, shape: JobShape): PipelineDef {
  const ms = shape.msHop1 ?? 0;
  return Pipeline.create()
    .readFrom<In>(Sources.kafka({ topic: 'in' }))
    .map(
      (r) => {
        if (r.n === shape.poisonHop0) throw new RangeError(`record ${r.n} is poison`);
        return r;
      },
      { name: 'check' },
    )
    .groupingKey((r) => `k${r.n % 5}`)
    .aggregate({
      name: 'last',
      init: () => -1,
      add: (_last: number, r: In) => {
        if (r.n === shape.poisonHop1) throw new RangeError(`record ${r.n} is poison`);
        return r.n;
      },
    })
    .map(async (o) => (ms > 0 ? w.clock.sleep(ms).then(() => o) : o), { name: 'slow' })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** A world with a coordinator, a worker, and the job submitted; `in` and `out` created. */
async function setUp(partitions: number): Promise<{
  w: MemoryWorld;
  worker: Participant;
  job: JobState;
}> {
  const w = memoryWorld();
  w.cluster.createTopic('in', partitions);
  w.cluster.createTopic('out', partitions);
  const coordinator = startCoordinator(w, NS, 'coord');
  await untilActive(w, coordinator);
  const worker = await participant(w, NS, 'w1');
  const job = await submit(w, worker, JOB, jobConfig('two-hops'));
  return { w, worker, job };
}

/** Starts the job's runner on the worker, in the background. */
function run(w: MemoryWorld, worker: Participant, job: JobState, shape: JobShape): JobRunner {
  const runner = new JobRunner({
    ...runnerDeps(w, NS, worker),
    job,
    pipeline: pipeline(w, shape),
    plan: NO_PLAN,
    fingerprint: 'c0dec0dec0de',
  });
  background(runner.start());
  return runner;
}

/** Writes records first..last-1 to `in`. */
async function write(
  w: MemoryWorld,
  partitions: number,
  first: number,
  last: number,
): Promise<void> {
  const records = Array.from({ length: last - first }, (_, i) => {
    const n = first + i;
    return { key: `r${n}`, value: JSON.stringify({ n }), partition: n % partitions };
  });
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

/** The record numbers a read_committed reader sees on the repartition topic, sorted. */
function handedToHop1(w: MemoryWorld): number[] {
  return committedValues<In>(w.cluster, REPARTITION)
    .map((r) => r.n)
    .sort((a, b) => a - b);
}

/** The record numbers in the sink's read_committed outputs, sorted. */
function sinkNumbers(w: MemoryWorld): number[] {
  return committedValues<Out>(w.cluster, 'out')
    .map((o) => o.value)
    .sort((a, b) => a - b);
}

/** Both hops have read and committed their topics to the end, and no transaction is open. */
function settled(w: MemoryWorld): boolean {
  const atEnd = (group: string, topic: string) =>
    w.cluster
      .watermarks(topic)
      .every(
        (p) =>
          p.lastStable === p.high &&
          committedOffset(w.cluster, group, topic, p.partition) === p.high,
      );
  return (
    w.cluster.openTransactions().length === 0 && atEnd(GROUP0, 'in') && atEnd(GROUP1, REPARTITION)
  );
}

/** Whole numbers from..to-1 that `keep` accepts. */
function range(from: number, to: number, keep: (n: number) => boolean = () => true): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i).filter(keep);
}

/** The job's status in the worker's log, once the clock has been driven until `status` or 60 s. */
async function untilStatus(w: MemoryWorld, worker: Participant, status: string): Promise<boolean> {
  return w.clock.runUntil(() => worker.log.state(JOB)?.status === status, 60_000);
}

/** The job's events of one type. */
function ofType<T extends JobEvent['type']>(
  events: JobEvent[],
  type: T,
): Extract<JobEvent, { type: T }>[] {
  return events.filter((e): e is Extract<JobEvent, { type: T }> => e.type === type);
}

describe('a job runner', () => {
  it('runs a two-hop job, every record once, and reports the job started', async () => {
    const { w, worker, job } = await setUp(2);
    run(w, worker, job, { msHop1: 2 });
    await write(w, 2, 0, 100);
    expect(await untilStatus(w, worker, 'RUNNING')).toBe(true);
    expect(await w.clock.runUntil(() => sinkNumbers(w).length === 100, 30_000)).toBe(true);
    // Nothing more can follow: both hops committed through their topics' ends, none open.
    expect(await w.clock.runUntil(() => settled(w), 30_000)).toBe(true);

    expect(sinkNumbers(w)).toEqual(range(0, 100));
    expect(duplicates(committedValues(w.cluster, 'out'))).toEqual([]);
    const started = ofType(await eventsOf(w, NS, JOB), 'JobStarted');
    expect(started.map((e) => e.worker)).toEqual(['w1']);
  });
});

describe('the drain after a failure', () => {
  it('in the first hop: freezes it, lets the later hop finish what it was handed, then reports the record', async () => {
    const { w, worker, job } = await setUp(2);
    // Record 150 sits in partition 0 at offset 75; hop 1 takes 5 ms a record, so it still has
    // most of hop 0's outputs to do when hop 0 fails.
    run(w, worker, job, { poisonHop0: 150, msHop1: 5 });
    await write(w, 2, 0, 200);
    expect(await untilStatus(w, worker, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const atSuspension = sinkNumbers(w);

    // Hop 0 committed everything before the failing record, nothing from it on in its
    // partition; hop 1 processed all of that before the job was reported failed.
    const handed = handedToHop1(w);
    expect(handed.filter((n) => n % 2 === 0)).toEqual(range(0, 150, (n) => n % 2 === 0));
    expect(committedOffset(w.cluster, GROUP0, 'in', 0)).toBe(75);
    expect(atSuspension).toEqual(handed);
    expect(duplicates(committedValues(w.cluster, 'out'))).toEqual([]);

    const events = await eventsOf(w, NS, JOB);
    const suspended = ofType(events, 'JobSuspendedDueToError');
    expect(suspended).toHaveLength(1);
    expect(suspended[0]?.cause).toMatchObject({
      dueToError: true,
      stage: 'check',
      worker: 'w1',
      error: { name: 'RangeError', message: 'record 150 is poison' },
      record: { topic: 'in', partition: 0, offset: '75', key: 'r150' },
      // The code that failed, as the worker fingerprinted it.
      fingerprint: 'c0dec0dec0de',
    });
    // Nothing more is committed afterwards, whatever arrives.
    await write(w, 2, 200, 220);
    await w.clock.advance(20_000);
    expect(sinkNumbers(w)).toEqual(atSuspension);
    expect(handedToHop1(w)).toEqual(handed);
  });

  it('in the later hop: freezes both hops at once and reports the source record it came from', async () => {
    const { w, worker, job } = await setUp(1);
    run(w, worker, job, { poisonHop1: 60, msHop1: 5 });
    await write(w, 1, 0, 100);
    expect(await untilStatus(w, worker, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    const atSuspension = sinkNumbers(w);
    const handed = handedToHop1(w);

    // One partition all along: hop 1 committed the outputs of every record before 60, and
    // its offset stops at 60's repartition record.
    expect(atSuspension).toEqual(range(0, 60));
    expect(committedOffset(w.cluster, GROUP1, REPARTITION, 0)).toBe(60);
    const suspended = ofType(await eventsOf(w, NS, JOB), 'JobSuspendedDueToError');
    expect(suspended).toHaveLength(1);
    expect(suspended[0]?.cause).toMatchObject({
      stage: 'last',
      worker: 'w1',
      error: { name: 'RangeError', message: 'record 60 is poison' },
      record: { topic: 'in', partition: 0, offset: '60', key: 'r60' },
    });
    // Hop 0 is frozen too: new input is not read, nothing more reaches the sink.
    await write(w, 1, 100, 120);
    await w.clock.advance(20_000);
    expect(handedToHop1(w)).toEqual(handed);
    expect(sinkNumbers(w)).toEqual(atSuspension);
    expect(committedOffset(w.cluster, GROUP0, 'in', 0)).toBeLessThanOrEqual(100);
  });
});

describe('a stopped job runner', () => {
  it('commits no further output after stop(), while input keeps arriving', async () => {
    const { w, worker, job } = await setUp(2);
    const runner = run(w, worker, job, { msHop1: 5 });
    await write(w, 2, 0, 400);
    // Stop in the middle of hop 1's work: it has committed some outputs and runs a chunk.
    await w.clock.runUntil(() => sinkNumbers(w).length >= 100, 30_000);
    const sinkBefore = committedValues(w.cluster, 'out');
    const offsetsBefore = [w.cluster.committed(GROUP0), w.cluster.committed(GROUP1)];
    expect(sinkBefore.length).toBeGreaterThanOrEqual(100);
    expect(sinkBefore.length).toBeLessThan(400);
    await drive(w.clock, runner.stop());
    await write(w, 2, 400, 500);
    await w.clock.advance(30_000);

    expect(committedValues(w.cluster, 'out')).toEqual(sinkBefore);
    expect([w.cluster.committed(GROUP0), w.cluster.committed(GROUP1)]).toEqual(offsetsBefore);
    expect(w.cluster.group(GROUP0)?.members).toEqual([]);
    expect(w.cluster.group(GROUP1)?.members).toEqual([]);
    expect(w.cluster.openTransactions()).toEqual([]);
  });
});

describe('a failure drained while another worker runs the job', () => {
  it('keeps the failing partition with the worker that drains it, so the record is reported once', async () => {
    const { w, worker, job } = await setUp(2);
    const other = await participant(w, NS, 'w2');
    // Hop 1 takes 300 ms a record on each of two workers: once hop 0 fails on record 150, the
    // drain waits about 25 s, well past the tasks' 10 s session timeout. A worker that did not
    // heartbeat meanwhile lost its partition of `in` to the other, which read record 150 again,
    // failed on it too and reported it a second time (found by the seeded schedule test).
    run(w, worker, job, { poisonHop0: 150, msHop1: 300 });
    run(w, other, job, { poisonHop0: 150, msHop1: 300 });
    await write(w, 2, 0, 200);
    expect(await untilStatus(w, worker, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
    await w.clock.advance(40_000); // a second report, if one were coming, would be in by now

    const events = await eventsOf(w, NS, JOB);
    expect(ofType(events, 'JobSuspendedDueToError')).toHaveLength(1);
    const refused = ofType(events, 'CommandRejected').filter(
      (e) => e.commandType === 'ReportFailure',
    );
    expect(refused).toEqual([]);
  });
});
