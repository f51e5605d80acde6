import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { connectClient, testLogger } from '../support/sluice.js';

// The source is NOT partitioned by the grouping key (records carry no key, so they land on
// partitions round-robin), and two workers share the job: the totals are still exact because
// each key's state lives behind the repartition topic in exactly one task.

const ns = testNamespace('rep');
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 4 },
  { topic: `${ns}.out`, numPartitions: 2 },
]);
const client = await connectClient(ns);
const { brokers, registryUrl } = endpoints();
const workers = ['a', 'b'].map((id) =>
  new Worker({
    brokers,
    registryUrl,
    namespace: ns,
    logger: testLogger,
    workerId: id,
    coordinator: id === 'a',
  }).register('by-customer', () =>
    Pipeline.create()
      .readFrom<{ customer: string; amount: number }>(Sources.kafka({ topic: `${ns}.in` }))
      .map((o) => ({ ...o, amount: o.amount * 10 }), { name: 'scale' })
      .groupingKey((o) => o.customer)
      .aggregate({ name: 'total', init: () => 0, add: (s, o) => s + o.amount })
      .map((kv) => ({ customer: kv.key, total: kv.value }), { name: 'shape' })
      .writeTo(Sinks.kafka<{ customer: string }>({ topic: `${ns}.out`, key: (r) => r.customer })),
  ),
);
for (const w of workers) await w.start();
afterAll(async () => {
  for (const w of workers) await w.stop();
});

describe('a grouping key that differs from the source partitioning', () => {
  it('gives exact per-key totals across partitions and workers', async () => {
    const expected = new Map<string, number>();
    const producer = kafkaClient().producer();
    await producer.connect();
    const messages = Array.from({ length: 3000 }, (_, i) => {
      const o = { customer: `c${(i * 7) % 11}`, amount: (i % 4) + 1 };
      expected.set(o.customer, (expected.get(o.customer) ?? 0) + o.amount * 10);
      return { value: JSON.stringify(o), partition: i % 4 }; // spread every customer over all partitions
    });
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic: `${ns}.in`, messages: messages.slice(i, i + 500) });
    await producer.disconnect();

    const job = await client.submit('by-customer', {
      name: 'rep',
      processingGuarantee: 'EXACTLY_ONCE',
    });
    const consumer = kafkaClient().consumer(consumerConfig({ groupId: `${ns}.reader` }));
    const latest = new Map<string, number>();
    const all: KafkaMessage[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: `${ns}.out`, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${JSON.stringify([...latest])}`)),
        90_000,
      );
      void consumer.run({
        eachMessage: ({ message }) => {
          all.push(message);
          const r = JSON.parse(message.value?.toString() ?? '{}') as {
            customer: string;
            total: number;
          };
          latest.set(r.customer, r.total);
          if ([...expected].every(([k, v]) => latest.get(k) === v)) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(latest).toEqual(expected);
    expect(all).toHaveLength(3000); // one update per order, none repeated
    expect(
      all.every(
        (m) =>
          m.key?.toString() ===
          (JSON.parse(m.value?.toString() ?? '{}') as { customer: string }).customer,
      ),
    ).toBe(true);
    expect(job.status()).toBe('RUNNING');
    await job.cancel();
  });
});
