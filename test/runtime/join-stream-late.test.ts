import { describe, expect, it } from 'vitest';
import { repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
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
} from '../support/memory-sluice.js';
import {
  background,
  committedOffset,
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';
import { lateCounter } from '../support/late-metric.js';

// A stream join run by a job runner on the in-memory Kafka under EXACTLY_ONCE (the default of
// jobConfig), its times taken from the values: records that arrive after the stream time has
// passed their window and grace join nothing; they are counted as late and written to the
// stage's late topic, in the same transactions as the outputs, as a window's late values are.

const NS = 'sl';
const JOB = 'j1';
const WINDOW_MS = 1_000;
const GRACE_MS = 500;

interface Order {
  id: string;
  t: number;
}
interface Payment {
  orderId: string;
  t: number;
}

async function send(w: MemoryWorld, topic: string, values: (Order | Payment)[]): Promise<void> {
  const records = values.map((v) => ({ key: null, value: JSON.stringify(v), partition: 0 }));
  await drive(w.clock, produce(w.cluster.client('source'), topic, records));
}

describe('a stream join with a late topic', () => {
  it('joins the pairs in time, and counts and writes the late records to the late topic', async () => {
    const w = memoryWorld();
    for (const t of ['orders', 'payments', 'out', 'late']) w.cluster.createTopic(t, 1);
    await untilActive(w, startCoordinator(w, NS, 'coord'));
    const worker = await participant(w, NS, 'w1');
    const job = await submit(w, worker, JOB, jobConfig('paid'));
    const { sink, late } = lateCounter();
    // Each side's time from its value (timestamp, otherTimestamp): the in-memory Kafka stamps
    // records with its clock, which a test cannot send back in time.
    const pipeline = Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
      .groupingKey((o) => o.id)
      .joinStream({
        name: 'paid',
        other: Sources.kafka({ topic: 'payments' }),
        otherKey: (p: Payment) => p.orderId,
        timestamp: (o) => o.t,
        otherTimestamp: (p: Payment) => p.t,
        windowMs: WINDOW_MS,
        graceMs: GRACE_MS,
        join: (o: Order, p: Payment) => ({ id: o.id, paidAt: p.t }),
        lateTopic: 'late',
      })
      .writeTo(Sinks.kafka({ topic: 'out' }));
    background(
      new JobRunner({
        ...runnerDeps(w, NS, worker),
        metrics: sink,
        job,
        pipeline,
        plan: NO_PLAN,
      }).start(),
    );
    const joinTopic = repartitionTopic(NS, JOB, 'paid');
    const through = () =>
      w.cluster.openTransactions().length === 0 &&
      w.cluster.watermarks(joinTopic)[0]?.high ===
        committedOffset(w.cluster, stageGroup(NS, JOB, 'paid'), joinTopic, 0);

    // Ten orders, each paid 50 ms later: ten pairs.
    const ids = [...Array(10).keys()];
    await send(
      w,
      'orders',
      ids.map((i) => ({ id: `o${i}`, t: i * 100 })),
    );
    await send(
      w,
      'payments',
      ids.map((i) => ({ orderId: `o${i}`, t: i * 100 + 50 })),
    );
    expect(
      await w.clock.runUntil(() => committedValues(w.cluster, 'out').length === 10, 60_000),
    ).toBe(true);
    // An order far later moves the stream time past every window and grace so far.
    await send(w, 'orders', [{ id: 'later', t: 100_000 }]);
    expect(await w.clock.runUntil(through, 60_000)).toBe(true);
    expect(late()).toBe(0);
    // Then a payment of o3 and an order at times long passed: late, both.
    await send(w, 'payments', [{ orderId: 'o3', t: 320 }]);
    await send(w, 'orders', [{ id: 'o3', t: 310 }]);
    expect(await w.clock.runUntil(() => late() === 2 && through(), 60_000)).toBe(true);
    expect(committedValues(w.cluster, 'late')).toEqual(
      expect.arrayContaining([
        { orderId: 'o3', t: 320 },
        { id: 'o3', t: 310 },
      ]),
    );
    expect(committedValues(w.cluster, 'late')).toHaveLength(2);
    // They joined nothing: the ten pairs, each once.
    expect(
      committedValues<{ id: string; paidAt: number }>(w.cluster, 'out').sort(
        (a, b) => a.paidAt - b.paidAt,
      ),
    ).toEqual(ids.map((i) => ({ id: `o${i}`, paidAt: i * 100 + 50 })));
  });
});
