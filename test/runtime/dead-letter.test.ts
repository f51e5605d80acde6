import { sendResume, untilStatus } from '../support/memory-sluice.js';
import { describe, expect, it } from 'vitest';
import type { FailingRecordAction } from '../../src/domain/cause.js';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup, taskTransactionalId } from '../../src/domain/resources.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';
import { stopWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  eventsOf,
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import {
  committedOffset,
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// Dead letters (docs/failure-handling.md, "Dead letters") on the in-memory Kafka, with a real
// coordinator and a worker's real parts: the commit they go out in, a topic that does not exist,
// and a failure in a later hop, where one source record may have become several.

const NS = 'sl';
const JOB = 'j1';
const POISON = 5;
const RECORDS = 20;
const GROUP = jobGroup(NS, JOB);
/** The transactional id of the job's only source task. */
const TASK = taskTransactionalId(GROUP, 'in', 0);

/** in → check (throws on n = POISON) → out: one hop. */
function oneHop(): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .map(
      (r) => {
        if (r.n === POISON) throw new RangeError(`record ${r.n} is poison`);
        return r;
      },
      { name: 'check' },
    )
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** A value the later hop's stage is handed: the i-th of three made from source record n. */
interface Piece {
  n: number;
  i: number;
}

/**
 * in → split (three pieces per record) → grouped by n → count (throws on piece 1 of
 * n = POISON) → out. A record's pieces share a key, so they follow each other in one partition
 * of the repartition topic.
 */
function splitThenCount(): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .flatMap((r) => [0, 1, 2].map((i): Piece => ({ n: r.n, i })), { name: 'split' })
    .groupingKey((p) => `k${p.n}`)
    .aggregate({
      name: 'count',
      init: () => 0,
      add: (c: number, p: Piece) => {
        if (p.n === POISON && p.i === 1) throw new RangeError(`piece ${p.n}.${p.i} is poison`);
        return c + 1;
      },
    })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

interface Setting {
  w: MemoryWorld;
  user: Participant;
  worker: WorkerParts;
}

/** The job on `pipeline`, suspended due to an error on source record POISON (in-0@5). */
async function suspendedOn(pipeline: () => PipelineDef): Promise<Setting> {
  const w = memoryWorld();
  w.cluster.createTopic('in', 1);
  w.cluster.createTopic('out', 1);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  const worker = await startWorker(w, NS, 'w1', pipeline);
  await submit(w, user, JOB, jobConfig('letters'));
  expect(await until(w, user, 'RUNNING')).toBe(true);
  const records = Array.from({ length: RECORDS }, (_, n) => ({
    key: `r${n}`,
    value: JSON.stringify({ n }),
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
  return { w, user, worker };
}

/** Drives the clock until the job is `status` in the user's log; false after 60 s. */
const until = (w: MemoryWorld, user: Participant, status: string, run?: number): Promise<boolean> =>
  untilStatus(w, user, JOB, status, run);

/** A ResumeJob as any Kafka tool could send it: no check by the client first. */
const resume = (
  s: Setting,
  failingRecord: FailingRecordAction,
  deadLetterTopic: string | null,
): Promise<void> => sendResume(s.w, s.user, JOB, { failingRecord, deadLetterTopic });

/** True once the job's source group committed all of `in` and no transaction is open. */
function sourceDone(w: MemoryWorld): boolean {
  return (
    w.cluster.openTransactions().length === 0 &&
    committedOffset(w.cluster, GROUP, 'in', 0) === RECORDS
  );
}

/** The n of each output of the one-hop job, in order. */
function numbersOut(w: MemoryWorld): number[] {
  return committedValues<{ n: number }>(w.cluster, 'out').map((o) => o.n);
}

function upTo(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function suspensions(events: JobEvent[]): Extract<JobEvent, { type: 'JobSuspendedDueToError' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
      e.type === 'JobSuspendedDueToError',
  );
}

/** The trace's transaction ends of the source task from line `from` on: `<state> [<partitions>]`. */
function taskEnds(w: MemoryWorld, from: number): string[] {
  return w.cluster.trace
    .slice(from)
    .filter((l) => l.includes(`txn ${TASK} `) && / (committed|aborted) \(/.test(l))
    .map((l) => l.replace(/^.* txn \S+ /, ''));
}

describe('a dead letter under EXACTLY_ONCE', () => {
  it('is written in the transaction of the records after it: invisible while that commit fails, exactly once after the retry', async () => {
    const s = await suspendedOn(oneHop);
    const { w } = s;
    expect(numbersOut(w)).toEqual(upTo(0, POISON));
    w.cluster.createTopic('dlq', 1);
    // The resumed task's first commit (the dead letter and records 6..19) fails as a broker
    // that timed out would answer: a transient error, retried.
    w.cluster.failNext({
      op: 'commit',
      transactionalId: TASK,
      error: new KafkaProtocolError('REQUEST_TIMED_OUT', 'injected commit timeout', true),
    });
    const from = w.cluster.trace.length;
    await resume(s, 'DEAD_LETTER', 'dlq');

    expect(await w.clock.runUntil(() => w.cluster.pendingFaults === 0, 30_000)).toBe(true);
    // The commit failed: a read_committed reader sees neither the dead letter nor the outputs.
    expect(w.cluster.read('dlq')).toEqual([]);
    expect(numbersOut(w)).toEqual(upTo(0, POISON));

    expect(await w.clock.runUntil(() => sourceDone(w), 30_000)).toBe(true);
    const letters = w.cluster.read('dlq');
    expect(letters).toHaveLength(1);
    expect(letters[0]?.key?.toString()).toBe(`r${POISON}`);
    expect(letters[0]?.value?.toString()).toBe(JSON.stringify({ n: POISON }));
    expect(letters[0]?.headers['sluice-source']?.toString()).toBe(`in/0@${POISON}`);
    expect(numbersOut(w)).toEqual([...upTo(0, POISON), ...upTo(POISON + 1, RECORDS)]);
    // The aborted attempt is in the log too, uncommitted: one dead letter aborted, one committed.
    const all = w.cluster.read('dlq', { isolation: 'read_uncommitted' });
    expect(all.map((r) => r.status)).toEqual(['aborted', 'committed']);
    // One transaction each time, holding the dead letter and the outputs after it. (The task
    // also sweeps its output partitions in a transaction of its own when it reopens: open.ts.)
    expect(taskEnds(w, from).filter((e) => e.includes('dlq/0'))).toEqual([
      expect.stringMatching(/^aborted \(abort\) \[(?=.*\bdlq\/0\b)(?=.*\bout\/0\b)/),
      expect.stringMatching(/^committed \(commit\) \[(?=.*\bdlq\/0\b)(?=.*\bout\/0\b)/),
    ]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});

describe('a resume that dead-letters to a topic that does not exist', () => {
  it('is refused by the worker before it reads anything: suspended (whatever suspendOnFailure says) with SLUICE_DEAD_LETTER_TOPIC_MISSING, keeping the failing record', async () => {
    const s = await suspendedOn(oneHop);
    const { w, user } = s;
    await drive(
      w.clock,
      user.sender.send(JOB, 'UpdateConfig', { delta: { suspendOnFailure: false } }),
    );
    const sentAt = w.clock.now();
    await resume(s, 'DEAD_LETTER', 'nowhere');
    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR', 2)).toBe(true);
    // At once, not after the retry budget of a commit that cannot succeed.
    expect(w.clock.now() - sentAt).toBeLessThan(1_000);
    const cause = suspensions(await eventsOf(w, NS, JOB))[1]?.cause;
    expect(cause).toMatchObject({
      description: 'Worker w1 could not start the job',
      error: {
        name: 'SLUICE_DEAD_LETTER_TOPIC_MISSING',
        message:
          'Dead-letter topic "nowhere" does not exist, so job "letters" cannot write its failing record there; Sluice does not create it. ' +
          'Create the topic, then resume with --dead-letter nowhere again, or give another topic.',
      },
      record: { topic: 'in', partition: 0, offset: String(POISON) },
    });
    // Nothing read, written or committed, and no topic made.
    expect(numbersOut(w)).toEqual(upTo(0, POISON));
    expect(committedOffset(w.cluster, GROUP, 'in', 0)).toBe(POISON);
    expect(() => w.cluster.watermarks('nowhere')).toThrow(/nowhere/);

    // The record is still the one the job is stuck on: once the topic exists, the same resume works.
    w.cluster.createTopic('nowhere', 1);
    await resume(s, 'DEAD_LETTER', 'nowhere');
    expect(await until(w, user, 'RUNNING', 3)).toBe(true);
    expect(await w.clock.runUntil(() => sourceDone(w), 30_000)).toBe(true);
    expect(w.cluster.read('nowhere').map((r) => r.value?.toString())).toEqual([
      JSON.stringify({ n: POISON }),
    ]);
    expect(numbersOut(w)).toEqual([...upTo(0, POISON), ...upTo(POISON + 1, RECORDS)]);
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});

describe('a dead letter of a stateful stage (a later hop)', () => {
  it('is the repartition record: the grouping key and the value handed to the stage, as JSON; every piece of the source record not yet committed goes', async () => {
    const s = await suspendedOn(splitThenCount);
    const { w, user } = s;
    const cause = suspensions(await eventsOf(w, NS, JOB))[0]?.cause;
    expect(cause?.stage).toBe('count');
    expect(cause?.record).toMatchObject({ topic: 'in', partition: 0, offset: String(POISON) });
    w.cluster.createTopic('dlq', 1);
    await resume(s, 'DEAD_LETTER', 'dlq');
    expect(await until(w, user, 'RUNNING', 2)).toBe(true);
    const counts = (): Map<string, number> =>
      new Map(
        committedValues<{ key: string; value: number }>(w.cluster, 'out').map((o) => [
          o.key,
          o.value,
        ]),
      );
    expect(await w.clock.runUntil(() => counts().get(`k${RECORDS - 1}`) === 3, 30_000)).toBe(true);

    // Piece 0 was committed before the failure; pieces 1 (the failing one) and 2 (after it,
    // never processed) carry the same source coordinates, so both are dead-lettered.
    const letters = w.cluster.read('dlq');
    expect(letters.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([
      [`k${POISON}`, JSON.stringify({ n: POISON, i: 1 })],
      [`k${POISON}`, JSON.stringify({ n: POISON, i: 2 })],
    ]);
    for (const r of letters) {
      expect(r.headers['sluice-source']?.toString()).toBe(`in/0@${POISON}`);
      expect(r.headers['sluice-job-id']?.toString()).toBe(JOB);
    }
    const expected = new Map(upTo(0, RECORDS).map((n) => [`k${n}`, n === POISON ? 1 : 3]));
    expect(counts()).toEqual(expected);
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});
