import { describe, expect, it } from 'vitest';
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
  committedValues,
  drive,
  memoryWorld,
  produce,
} from '../support/memory-world.js';

// The stream join of test/runtime/join-stream.int.test.ts (orders and their payments, on topics
// partitioned differently, EXACTLY_ONCE, two workers, one of them SIGKILLed), on the in-memory
// Kafka: two job runners, one crashed or stalled past its session timeout at a point of the
// run, its tasks of all three hops moving to the other. That test lost pairs in one run of
// about sixteen; these schedules, which replay exactly, cover the join's buffers through the
// restore from the changelog and every handover of a task the model can make.

const NS = 'sl';
const JOB = 'j1';
const ORDERS = 400;

interface Order {
  id: string;
  n: number;
}
interface Payment {
  pid: number;
  orderId: string;
}
interface Paid {
  id: string;
  payment: number;
}

// Record times are the virtual clock's, all within a few milliseconds: every payment is
// within the window of its order, and the grace keeps every record buffered.
const pipeline = () =>
  Pipeline.create()
    .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
    .groupingKey((o) => o.id)
    .joinStream({
      name: 'paid',
      other: Sources.kafka({ topic: 'payments' }),
      otherKey: (p: Payment) => p.orderId,
      windowMs: 60_000,
      graceMs: 3_600_000,
      join: (o: Order, p: Payment) => ({ id: o.id, payment: p.pid }),
    })
    .writeTo(Sinks.kafka({ topic: 'out' }));

/** As in the real test: none for every fourth order, two for every tenth. */
function paymentsOf(i: number): Payment[] {
  if (i % 4 === 0) return [];
  const first = { pid: 2 * i, orderId: `o${i}` };
  return i % 10 === 1 ? [first, { pid: 2 * i + 1, orderId: `o${i}` }] : [first];
}

/** Every pair of the input, as the sink keys them. */
const want = Array.from({ length: ORDERS }, (_, i) => paymentsOf(i))
  .flat()
  .map((p) => `${p.orderId}/${p.pid}`)
  .sort();

/**
 * Runs the job on two runners, w1 and w2, and crashes or stalls `victim` `atMs` of virtual
 * time after the input is written; the pairs the sink holds once every pair could be out.
 */
async function pairsAfter(fault: 'crash' | 'stall', victim: string, atMs: number) {
  // Request latency and small fetches spread the run over a few hundred virtual milliseconds,
  // so the fault lands mid-stream rather than before or after it.
  const w = memoryWorld({ requestLatencyMs: 2, maxBatchRecords: 100 });
  w.cluster.createTopic('orders', 4);
  w.cluster.createTopic('payments', 3);
  w.cluster.createTopic('out', 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const p1 = await participant(w, NS, 'w1');
  const job = await submit(w, p1, JOB, jobConfig('paid'));
  const p2 = await participant(w, NS, 'w2');
  for (const p of [p1, p2])
    background(
      new JobRunner({ ...runnerDeps(w, NS, p), job, pipeline: pipeline(), plan: NO_PLAN }).start(),
    );
  const source = w.cluster.client('source');
  for (let i = 0; i < ORDERS; i += 100) {
    const ids = Array.from({ length: 100 }, (_, j) => i + j);
    const orders = ids.map((n) => ({ key: `o${n}`, value: JSON.stringify({ id: `o${n}`, n }) }));
    const payments = ids
      .flatMap(paymentsOf)
      .map((p) => ({ key: String(p.pid), value: JSON.stringify(p) }));
    await drive(w.clock, produce(source, 'orders', orders));
    await drive(w.clock, produce(source, 'payments', payments));
  }
  await w.clock.advance(atMs);
  if (fault === 'crash') w.cluster.crash(victim);
  else {
    // Past the 10 s session timeout: its tasks move, and it wakes up a zombie.
    w.cluster.stall(victim);
    await w.clock.advance(12_000);
    w.cluster.resume(victim);
  }
  const pairs = () => committedValues<Paid>(w.cluster, 'out').map((r) => `${r.id}/${r.payment}`);
  await w.clock.runUntil(() => pairs().length >= want.length, 120_000);
  // Anything more (a pair twice) would come now.
  await w.clock.advance(5_000);
  const survivor = victim === 'w1' ? p2 : p1;
  return { status: survivor.log.state(JOB)?.status, pairs: pairs().sort() };
}

describe('a stream join under EXACTLY_ONCE, a worker crashed or stalled midway (in-memory Kafka)', () => {
  // The input's hops run in the first ~90 virtual ms, the join's outputs come at ~95-160 ms:
  // faults before, during and late in each.
  for (const fault of ['crash', 'stall'] as const)
    for (const victim of ['w1', 'w2'])
      for (const atMs of [30, 60, 100, 120, 150])
        it(`joins every pair once: ${victim} ${fault}ed at +${atMs} ms`, async () => {
          expect(await pairsAfter(fault, victim, atMs)).toEqual({ status: 'RUNNING', pairs: want });
        });
});
