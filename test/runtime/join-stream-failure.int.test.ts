import { afterAll, describe, expect, it } from 'vitest';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import { Worker } from '../../src/node/worker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { outputsWhenThrough } from '../support/job-groups.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { connectClient, testLogger } from '../support/sluice.js';
import { RECENT_T0 } from '../support/record-time.js';

// Issue 19, a failure inside a stream join on a real broker: a join function that throws on one
// pair suspends the job in the join stage, naming the record (the order or the payment, the
// later of the two to reach the join: it carries its source coordinates through the join's
// topic); a resume with skip leaves that pair out and joins every other one, exactly once.

const ns = testNamespace('join-stream-fail');
const [ORDERS, PAYMENTS, OUT] = [`${ns}.orders`, `${ns}.payments`, `${ns}.out`];
const admin = await useTopics(
  ns,
  [ORDERS, PAYMENTS, OUT].map((topic) => ({ topic, numPartitions: 1 })),
);
const client = await connectClient(ns);

interface Order {
  id: string;
  n: number;
}
interface Payment {
  orderId: string;
  amount: number;
}

const POISON = 50;
const COUNT = 100;
const T0 = RECENT_T0;
const { brokers, registryUrl } = endpoints();
const worker = new Worker({
  brokers,
  registryUrl,
  namespace: ns,
  logger: testLogger,
  workerId: 'w',
})
  // Typed end to end: the join sees an Order and a Payment, the sink's key a Paid.
  .register('paid', (args) =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: args.orders ?? '' }))
      .groupingKey((o) => o.id)
      .joinStream({
        name: 'paid',
        other: Sources.kafka({ topic: args.payments ?? '' }),
        otherKey: (p: Payment) => p.orderId,
        windowMs: 2_000,
        graceMs: 3_600_000,
        join: (o, p) => {
          if (o.n === POISON) throw new RangeError(`order ${o.n} cannot be paid`);
          return { n: o.n, amount: p.amount };
        },
      })
      .writeTo(Sinks.kafka<{ n: number }>({ topic: args.output ?? '', key: (r) => String(r.n) })),
  );
await worker.start();
afterAll(() => worker.stop());

describe('a stream join whose function throws', () => {
  it('suspends in the stage, and a skip leaves that pair out, every other pair once', async () => {
    const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const ns_ = Array.from({ length: COUNT }, (_, n) => n);
    await producer.send({
      topic: ORDERS,
      messages: ns_.map((n) => ({
        key: `o${n}`,
        value: JSON.stringify({ id: `o${n}`, n }),
        timestamp: String(T0 + n * 10_000),
      })),
    });
    await producer.send({
      topic: PAYMENTS,
      messages: ns_.map((n) => ({
        key: `o${n}`,
        value: JSON.stringify({ orderId: `o${n}`, amount: n * 2 }),
        timestamp: String(T0 + n * 10_000 + 500),
      })),
    });
    await producer.disconnect();
    const job = await client.submit('paid', {
      name: 'paid',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { orders: ORDERS, payments: PAYMENTS, output: OUT },
    });
    await job.join().catch(() => undefined);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    const cause = job.suspensionCause();
    expect(cause).toMatchObject({
      stage: 'paid',
      error: { name: 'RangeError', message: `order ${POISON} cannot be paid` },
      record: { offset: String(POISON), key: `o${POISON}` },
    });
    expect([ORDERS, PAYMENTS]).toContain(cause?.record?.topic);

    await job.resume({ failingRecord: 'SKIP' });
    const out = await outputsWhenThrough(
      admin,
      [
        { group: jobGroup(ns, job.id), topic: ORDERS },
        { group: `${stageGroup(ns, job.id, 'paid')}~other`, topic: PAYMENTS },
        { group: stageGroup(ns, job.id, 'paid'), topic: repartitionTopic(ns, job.id, 'paid') },
      ],
      OUT,
    );
    const rows = out
      .map((r) => JSON.parse(String(r.value)) as { n: number; amount: number })
      .sort((a, b) => a.n - b.n);
    expect(rows).toEqual(ns_.filter((n) => n !== POISON).map((n) => ({ n, amount: n * 2 })));
  }, 120_000);
});
