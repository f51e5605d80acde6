import { describe, expect, it } from 'vitest';
import { EventCodec } from '../../src/codec/log-codec.js';
import type { JobEvent } from '../../src/domain/events.js';
import {
  jobGroup,
  repartitionTopic,
  stageGroup,
  taskTransactionalId,
  topicNames,
} from '../../src/domain/resources.js';
import type { MemoryKafka } from '../../src/kafka/memory/index.js';
import type { Kafka } from '../../src/kafka/port.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// The coordinator fences an exactly-once job's tasks before it appends an event that stops
// them (src/control/fence.ts), on the in-memory Kafka with a worker's real parts: each of the
// three stopping events comes after the coordinator took over every task's transactional id,
// the source partitions' and the repartition topic's.

const NS = 'sl';
const JOB = 'j1';
const POISON = 21;
const JOBS = topicNames(NS).jobs;

/** in → check (throws on POISON when `poison`) → grouped → sums → out: two hops. */
function twoHops(poison: boolean): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
    .map(
      (r) => {
        if (poison && r.n === POISON) throw new RangeError(`record ${r.n} is poison`);
        return r;
      },
      { name: 'check' },
    )
    .groupingKey((r) => `k${r.n % 5}`)
    .aggregate({ name: 'sums', init: () => 0, add: (s: number, r: { n: number }) => s + r.n })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** Every transactional id the job's tasks use: two source partitions, two repartition ones. */
const TASK_IDS = [0, 1].flatMap((p) => [
  taskTransactionalId(jobGroup(NS, JOB), 'in', p),
  taskTransactionalId(stageGroup(NS, JOB, 'sums'), repartitionTopic(NS, JOB, 'sums'), p),
]);

/**
 * A transactional id the coordinator took over, and how long the cluster's trace was when it
 * called `init()` and when that returned: the takeover's line lies between.
 */
interface Takeover {
  id: string;
  before: number;
  after: number;
}

/** Wraps the coordinator's client to note each `init()` of a transactional producer it opens. */
function notingTakeovers(w: MemoryWorld, takeovers: Takeover[]): (k: MemoryKafka) => Kafka {
  return (inner) => ({
    admin: () => inner.admin(),
    producer: () => inner.producer(),
    consumer: (options) => inner.consumer(options),
    readRanges: (ranges, onRecords) => inner.readRanges(ranges, onRecords),
    transactionalProducer: (options) => {
      const producer = inner.transactionalProducer(options);
      return {
        init: async () => {
          const before = w.cluster.trace.length;
          await producer.init();
          takeovers.push({ id: options.transactionalId, before, after: w.cluster.trace.length });
        },
        begin: () => producer.begin(),
        disconnect: () => producer.disconnect(),
      };
    },
  });
}

/** Where the event of `type` is in the job log. */
async function whereIs(
  w: MemoryWorld,
  type: JobEvent['type'],
): Promise<{ partition: number; offset: number }> {
  const codec = new EventCodec(w.registry, JOBS);
  await codec.ready();
  for (const r of w.cluster.read(JOBS)) {
    if (r.value && (await codec.decode(r.value)).type === type)
      return { partition: r.partition, offset: Number(r.offset) };
  }
  throw new Error(`no ${type} in the log`);
}

/** Trace indexes of the coordinator's sends to the job log, with the offsets each wrote there. */
function appends(w: MemoryWorld): { index: number; writes: [number, number, number][] }[] {
  return w.cluster.trace.flatMap((line, index) => {
    const sent = / coord txn \S+ send (.*)$/.exec(line)?.[1];
    if (sent === undefined) return [];
    const writes = sent.split(' ').flatMap((w): [number, number, number][] => {
      const m = /^(.+)\/(\d+)@(\d+)\+(\d+)$/.exec(w);
      return m?.[1] === JOBS ? [[Number(m[2]), Number(m[3]), Number(m[4])]] : [];
    });
    return writes.length > 0 ? [{ index, writes }] : [];
  });
}

/**
 * The task ids the coordinator took over while it handled the command that `type` answers:
 * after its previous append to the job log, before the append that holds the event.
 */
async function fencedBefore(
  w: MemoryWorld,
  takeovers: Takeover[],
  type: JobEvent['type'],
): Promise<string[]> {
  const { partition, offset } = await whereIs(w, type);
  const all = appends(w);
  const i = all.findIndex((a) =>
    a.writes.some(([p, base, n]) => p === partition && offset >= base && offset < base + n),
  );
  const to = all[i]?.index ?? -1;
  const from = all[i - 1]?.index ?? -1;
  return [
    ...new Set(takeovers.filter((t) => t.before > from && t.after <= to).map((t) => t.id)),
  ].sort();
}

/** A running exactly-once job over `in` (two partitions) whose records 0..39 are written. */
async function runningJob(poison: boolean, suspendOnFailure: boolean) {
  const w = memoryWorld();
  w.cluster.createTopic('in', 2);
  w.cluster.createTopic('out', 2);
  const takeovers: Takeover[] = [];
  await untilActive(w, startCoordinator(w, NS, 'coord', notingTakeovers(w, takeovers)));
  const user = await participant(w, NS, 'alice');
  const worker = await startWorker(w, NS, 'w1', () => twoHops(poison));
  await submit(w, user, JOB, jobConfig('sums', { suspendOnFailure }));
  const status = () => user.log.state(JOB)?.status;
  expect(await w.clock.runUntil(() => status() === 'RUNNING', 30_000)).toBe(true);
  const records = Array.from({ length: 40 }, (_, n) => ({
    value: JSON.stringify({ n }),
    partition: n % 2,
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  return { w, user, worker, takeovers, status };
}

describe('before an event that stops an exactly-once job, the coordinator', () => {
  it('fences every task of the job before JobFailed', async () => {
    const { w, worker, takeovers, status } = await runningJob(true, false);
    expect(await w.clock.runUntil(() => status() === 'FAILED', 60_000)).toBe(true);
    expect(await fencedBefore(w, takeovers, 'JobFailed')).toEqual([...TASK_IDS].sort());
    await drive(w.clock, stopWorkerParts(worker));
  });

  it('fences every task of the job before JobSuspendedDueToError', async () => {
    const { w, worker, takeovers, status } = await runningJob(true, true);
    expect(await w.clock.runUntil(() => status() === 'SUSPENDED_DUE_TO_ERROR', 60_000)).toBe(true);
    expect(await fencedBefore(w, takeovers, 'JobSuspendedDueToError')).toEqual(
      [...TASK_IDS].sort(),
    );
    await drive(w.clock, stopWorkerParts(worker));
  });

  it("fences every task of the job before a user's JobSuspended", async () => {
    const { w, user, worker, takeovers, status } = await runningJob(false, true);
    // Both hops have run: the later hop's group has committed on the repartition topic.
    expect(
      await w.clock.runUntil(() => committedValues(w.cluster, 'out').length === 40, 30_000),
    ).toBe(true);
    await drive(w.clock, user.sender.send(JOB, 'SuspendJob', {}));
    expect(status()).toBe('SUSPENDED');
    expect(await fencedBefore(w, takeovers, 'JobSuspended')).toEqual([...TASK_IDS].sort());
    await drive(w.clock, stopWorkerParts(worker));
  });
});
