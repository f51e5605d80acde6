import { describe, expect, it } from 'vitest';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { outputsWhenThrough } from '../support/job-groups.js';
import { kafkaClient } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';
import {
  ORDER_COUNT,
  paymentsOf,
  produceOrders,
  withinWindow,
  paidOrdersWorld,
} from '../support/paid-orders.js';

// Issue 19, a stream–stream join on a real broker, with workers that are the real CLI: 8,000
// orders and their payments (none for every fourth order, two for every tenth), on topics
// partitioned differently, joined within ±10 s of their Kafka timestamps, under EXACTLY_ONCE,
// one of two workers SIGKILLed midway. The output is exactly the pairs the input says: each
// payment within the window of its order, once; none outside it. The grace (an hour of record
// time, more than the input spans) keeps every record buffered, so the pairs do not depend on
// how the two sides interleave on the join's topic.

const { ns, topics, client, workers } = await paidOrdersWorld('join-stream');
const ORDERS = topics.orders;
const PAYMENTS = topics.payments;
const OUT = topics.output;
const TOPICS = { orders: ORDERS, payments: PAYMENTS };

interface Paid {
  id: string;
  n: number;
  payment: number;
}

/** From the input alone: each payment within the window of its order's time. */
function expected(): Paid[] {
  const out: Paid[] = [];
  for (let i = 0; i < ORDER_COUNT; i++)
    for (const p of paymentsOf(i))
      if (withinWindow(i, p)) out.push({ id: `o${i}`, n: i, payment: p.pid });
  return out;
}

const order = (a: Paid, b: Paid): number => a.n - b.n || a.payment - b.payment;

/**
 * SLUICE_TEST_DEBUG: every missing pair, and how many of them the sink holds when read again to
 * its read_committed end (a read that waits for any transaction open below the end): late (a
 * transaction whose markers were written after the groups read as through) or lost. The one
 * failure seen (356 pairs, in about 16 runs) left no such record: its input was stamped in 2023
 * then, and the broker's retention deleted records the job had not read yet, which kafkajs
 * skipped (see test/support/record-time.ts; a job is now suspended instead). Asserts nothing.
 */
async function reportMissing(missing: Paid[]): Promise<void> {
  process.stderr.write(`missing ${missing.length}: ${JSON.stringify(missing)}\n`);
  if (missing.length === 0) return;
  const again = new Set((await readAll(OUT)).map((r) => String(r.key)));
  const late = missing.filter((p) => again.has(`${p.id}/${p.payment}`)).length;
  process.stderr.write(`of the missing pairs, in the sink read again: ${late}\n`);
}

describe('a stream–stream join under EXACTLY_ONCE, with a worker killed midway', () => {
  it('joins exactly the pairs within the window, once each', async () => {
    const want = expected();
    const job = await client.submit('paid-orders', {
      name: 'paid',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      snapshotIntervalMs: 500,
      args: { orders: ORDERS, payments: PAYMENTS, output: OUT },
    });
    const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // Half the input first: the kill must fall midway however fast the job runs (a third of
      // the pairs lie in the first half), and the second half comes after it.
      await produceOrders(producer, TOPICS, 0, ORDER_COUNT / 2);
      // Killed once a third of the pairs are out: its open transactions abort, and its
      // partitions (of all three hops) move to the other worker, which restores the buffers.
      const atKill = await readUntil(OUT, (got) => got.length >= want.length / 3, 120_000);
      workers[0]?.kill('SIGKILL');
      expect(atKill.length).toBeLessThan(want.length);
      await produceOrders(producer, TOPICS, ORDER_COUNT / 2, ORDER_COUNT);
    } finally {
      await producer.disconnect();
    }

    const admin = kafkaClient().admin();
    await admin.connect();
    let out: ConsumedRecord[];
    try {
      // Both sides through their sources, then the join through its topic: the sink is final.
      out = await outputsWhenThrough(
        admin,
        [
          { group: jobGroup(ns, job.id), topic: ORDERS },
          { group: `${stageGroup(ns, job.id, 'paid')}~other`, topic: PAYMENTS },
          { group: stageGroup(ns, job.id, 'paid'), topic: repartitionTopic(ns, job.id, 'paid') },
        ],
        OUT,
        180_000,
      );
    } finally {
      await admin.disconnect();
    }
    expect(job.status()).toBe('RUNNING');
    const got = new Set(out.map((r) => String(r.key)));
    const missing = want.filter((p) => !got.has(`${p.id}/${p.payment}`));
    if (process.env.SLUICE_TEST_DEBUG) await reportMissing(missing);
    expect(out).toHaveLength(want.length);
    expect(out.map((r) => JSON.parse(String(r.value)) as Paid).sort(order)).toEqual(want);
    // The input has pairs on both sides of the window's edges.
    expect(want.length).toBeLessThan(
      Array.from({ length: ORDER_COUNT }, (_, i) => paymentsOf(i).length).reduce((a, b) => a + b),
    );
  }, 300_000);
});
