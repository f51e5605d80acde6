import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/codec/registry.js';
import type { JobEvent } from '../../src/domain/events.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { jobGroup } from '../../src/domain/resources.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runChunk, type ChunkSpec } from '../../src/runtime/chunk.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';
import type { Task } from '../../src/runtime/task.js';
import {
  eventsOf,
  jobConfig,
  participant,
  sendResume,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  untilStatus,
} from '../support/memory-sluice.js';
import {
  committedOffset,
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// A branch stage on the in-memory Kafka: each item to the first branch whose predicate holds,
// the default branch for the rest, every sink written in the task's one transaction; a throwing
// predicate suspends the job naming the branch stage and the record, and a resume skips it.

const NS = 'sl';
const JOB = 'j1';
const RECORDS = 60;

interface Order {
  id: number;
  amount: number;
}

/** Amounts -10..49 (id - 10). */
function orders(): { value: string; partition: number }[] {
  return Array.from({ length: RECORDS }, (_, id) => ({
    value: JSON.stringify({ id, amount: id - 10 }),
    partition: id % 2,
  }));
}

function ordersPipeline(o: { poison?: number } = {}): () => PipelineDef {
  return () =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: 'in' }))
      .map((r) => ({ ...r, cents: r.amount * 100 }), { name: 'cents' })
      .branch(
        {
          refunds: (r) => {
            if (r.id === o.poison) throw new RangeError(`order ${r.id}`);
            return r.amount < 0;
          },
          // Async on purpose: the slow path must route exactly as the synchronous one.
          big: (r) => Promise.resolve(r.amount >= 40),
        },
        {
          refunds: (s) => s.map((r) => ({ id: r.id, refund: -r.cents })).writeTo(sink('refunds')),
          big: (s) => s.writeTo(sink('big')),
        },
        {
          name: 'route',
          otherwise: (s) => s.filter((r) => r.amount % 2 === 0).writeTo(sink('rest')),
        },
      );
}

const sink = (topic: string) => Sinks.kafka<{ id: number }>({ topic, key: (r) => String(r.id) });

async function world(): Promise<MemoryWorld> {
  const w = memoryWorld();
  for (const t of ['in', 'refunds', 'big', 'rest']) w.cluster.createTopic(t, 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  return w;
}

const ids = (w: MemoryWorld, topic: string): number[] =>
  committedValues<{ id: number }>(w.cluster, topic)
    .map((r) => r.id)
    .sort((a, b) => a - b);

const through = (w: MemoryWorld): boolean =>
  w.cluster.openTransactions().length === 0 &&
  [0, 1].every((p) => committedOffset(w.cluster, jobGroup(NS, JOB), 'in', p) === RECORDS / 2);

/** Which ids each sink must hold, computed from the input alone. */
function expected(skip: number | undefined): Record<string, number[]> {
  const all = Array.from({ length: RECORDS }, (_, id) => id).filter((id) => id !== skip);
  const amount = (id: number) => id - 10;
  return {
    refunds: all.filter((id) => amount(id) < 0),
    big: all.filter((id) => amount(id) >= 40),
    rest: all.filter((id) => amount(id) >= 0 && amount(id) < 40 && amount(id) % 2 === 0),
  };
}

describe('a branch stage on the in-memory Kafka', () => {
  it('writes each record to the first branch that takes it, the default branch to the rest', async () => {
    const w = await world();
    const user = await participant(w, NS, 'alice');
    const worker = await startWorker(w, NS, 'w1', ordersPipeline());
    await submit(w, user, JOB, jobConfig('orders'));
    await drive(w.clock, produce(w.cluster.client('source'), 'in', orders()));
    expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);

    const want = expected(undefined);
    for (const topic of ['refunds', 'big', 'rest']) expect(ids(w, topic)).toEqual(want[topic]);
    // The branch's own stage ran: refunds carry the positive amount in cents.
    expect(committedValues(w.cluster, 'refunds')).toContainEqual({ id: 0, refund: 1000 });
    // The sink's key function, per sink.
    expect(w.cluster.read('big').map((r) => r.key?.toString())).toContain('55');
    await drive(w.clock, stopWorkerParts(worker));
  });

  it.each(['SKIP', 'DEAD_LETTER'] as const)(
    'suspends on a throwing predicate, naming the branch stage and the record; a resume with %s moves past it',
    async (failingRecord) => {
      const w = await world();
      w.cluster.createTopic('dlt', 1);
      const user = await participant(w, NS, 'alice');
      const POISON = 22; // partition 0, offset 11; would go to "rest" (amount 12)
      const worker = await startWorker(w, NS, 'w1', ordersPipeline({ poison: POISON }));
      await submit(w, user, JOB, jobConfig('orders'));
      await drive(w.clock, produce(w.cluster.client('source'), 'in', orders()));
      expect(await untilStatus(w, user, JOB, 'SUSPENDED_DUE_TO_ERROR', 1)).toBe(true);

      const suspended = (await eventsOf(w, NS, JOB)).find(
        (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
          e.type === 'JobSuspendedDueToError',
      );
      expect(suspended?.cause.stage).toBe('route');
      expect(suspended?.cause.record).toMatchObject({ topic: 'in', partition: 0, offset: '11' });
      expect(suspended?.cause.error?.message).toBe(`order ${POISON}`);
      // Nothing at or past the failing record committed on its partition, in any sink.
      expect(committedOffset(w.cluster, jobGroup(NS, JOB), 'in', 0)).toBe(11);
      for (const topic of ['refunds', 'big', 'rest'])
        expect(ids(w, topic).filter((id) => id % 2 === 0 && id >= POISON)).toEqual([]);

      // The code still throws on it: the resume's plan takes the record out before it runs.
      await sendResume(w, user, JOB, {
        failingRecord,
        deadLetterTopic: failingRecord === 'DEAD_LETTER' ? 'dlt' : null,
      });
      expect(await w.clock.runUntil(() => through(w), 30_000)).toBe(true);
      const want = expected(POISON);
      for (const topic of ['refunds', 'big', 'rest']) expect(ids(w, topic)).toEqual(want[topic]);
      expect(ids(w, 'dlt')).toEqual(failingRecord === 'DEAD_LETTER' ? [POISON] : []);
      await drive(w.clock, stopWorkerParts(worker));
    },
  );
});

describe('runChunk with a branch', () => {
  const task = (): Task => ({
    topic: 'in',
    partition: 0,
    state: new StateStore(),
    committed: undefined,
    errorCounts: [],
  });

  function spec(def: PipelineDef): ChunkSpec {
    return {
      deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }),
      stages: def.stages,
      outputs: def.sinks.map((s) => ({
        topic: s.topic,
        key: () => null,
        write: (v) => Buffer.from(JSON.stringify(v)),
        internal: false,
      })),
    };
  }

  const records = (values: number[]): ConsumedRecord[] =>
    values.map((v, i) => ({
      timestamp: '0',
      offset: String(i),
      key: null,
      value: Buffer.from(String(v)),
      headers: {},
    }));

  it('groups outputs per sink topic and counts the items no branch took', async () => {
    const def = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .branch(
        { neg: (n) => n < 0, even: (n) => n % 2 === 0 },
        {
          neg: (s) => s.writeTo(Sinks.kafka({ topic: 'neg' })),
          even: (s) => s.flatMap((n) => [n, n]).writeTo(Sinks.kafka({ topic: 'even' })),
        },
      );
    const result = await runChunk({
      spec: spec(def),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records([-1, 2, 3, -4, 5, 6]),
      stopped: () => false,
    });
    const byTopic = Object.fromEntries(
      result.outputs.map((t) => [t.topic, t.messages.map((m) => String(m.value))]),
    );
    expect(byTopic).toEqual({ neg: ['-1', '-4'], even: ['2', '2', '6', '6'] });
    expect(result.unrouted).toBe(2); // 3 and 5
    expect(result.last).toBe('5');
  });

  it("names the failing stage inside a branch, not the branch, and drops that record's outputs", async () => {
    const def = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .branch(
        { all: () => true },
        {
          all: (s) =>
            s
              .map((n) => {
                if (n === 3) throw new TypeError('three');
                return n;
              })
              .writeTo(Sinks.kafka({ topic: 'out' })),
        },
      );
    const result = await runChunk({
      spec: spec(def),
      plan: NO_PLAN,
      jobId: 'j',
      task: task(),
      messages: records([1, 2, 3, 4]),
      stopped: () => false,
    });
    expect(result.failed?.offset).toBe('2');
    expect(result.failure).toMatchObject({ name: 'StageFailure', stage: 'all.map-1' });
    expect(result.outputs.flatMap((t) => t.messages.map((m) => String(m.value)))).toEqual([
      '1',
      '2',
    ]);
  });
});
