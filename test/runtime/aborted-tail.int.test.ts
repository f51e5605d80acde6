import { afterAll, describe, expect, it } from 'vitest';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import { jobGroup } from '../../src/domain/resources.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// A topic whose last transaction was aborted ends in records no read_committed reader sees.
// kafkajs moves its own position past them without calling the application, so the consumer
// group's offset stayed before them, and a bounded job, which is done when its groups reach the
// end offsets, never completed. The same tail appears inside a job on a repartition topic when
// a task moves or a worker dies mid-commit. Here the source itself ends that way, written by a
// transactional producer as a user's application would, and the job has a repartition too.

const ns = testNamespace('abt');
const GUARANTEES: ProcessingGuarantee[] = ['NONE', 'AT_LEAST_ONCE', 'EXACTLY_ONCE'];
const COMMITTED = 300;
await useTopics(
  ns,
  [...GUARANTEES, 'late'].flatMap((g) => [
    { topic: `${ns}.in-${g}`, numPartitions: 2 },
    { topic: `${ns}.out-${g}`, numPartitions: 2 },
  ]),
);
const client = await connectClient(ns);

const count = (bounded: boolean) => (args: Record<string, string>) =>
  Pipeline.create()
    .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '', bounded }))
    .groupingKey((r) => r.k)
    .aggregate({ name: 'count', init: () => 0, add: (c) => c + 1 })
    .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
const worker = new Worker({ ...endpoints(), namespace: ns, logger: testLogger, workerId: 'w' })
  .register('count', count(true))
  .register('count-unbounded', count(false));
await worker.start();
afterAll(() => worker.stop());

const message = (n: number, partition?: number) => ({
  key: `k${n % 4}`,
  value: JSON.stringify({ n, k: `k${n % 4}` }),
  partition,
});

/** COMMITTED records in committed transactions, then a transaction on both partitions aborted. */
async function writeWithAbortedTail(topic: string): Promise<void> {
  const producer = kafkaClient().producer({
    transactionalId: `${topic}-writer`,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  await producer.connect();
  try {
    for (let first = 1; first <= COMMITTED; first += 100) {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        messages: Array.from({ length: 100 }, (_, i) => message(first + i)),
      });
      await tx.commit();
    }
    const tx = await producer.transaction();
    await tx.send({
      topic,
      messages: Array.from({ length: 20 }, (_, i) => message(COMMITTED + 1 + i, i % 2)),
    });
    await tx.abort();
  } finally {
    await producer.disconnect();
  }
}

describe('a source that ends in aborted records', () => {
  // Aborted after the job has read everything before it, the records come in a fetch of their
  // own, which kafkajs never hands to the application at all. The group's offset must still
  // pass them, or tools that read it (lag monitors, a bounded job's completion check on a
  // repartition topic, a failure's wait for later hops) see the job stuck behind them.
  it('moves the group past an aborted transaction that comes after the job caught up', async () => {
    const input = `${ns}.in-late`;
    const output = `${ns}.out-late`;
    const job = await client.submit('count-unbounded', {
      name: 'tail-late',
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, output },
    });
    const producer = kafkaClient().producer({
      transactionalId: `${input}-writer`,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic: input, messages: [0, 1].map((p) => message(p + 1, p)) });
      await committed.commit();
      await readUntil(output, (all) => all.length === 2);
      const aborted = await producer.transaction();
      await aborted.send({ topic: input, messages: [0, 1].map((p) => message(p + 3, p)) });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      // Each partition holds a committed record, its marker, an aborted record and its marker.
      // The end is known rather than read: a read here can come before the coordinator has
      // written the abort markers, and then names the last stable offset, 2, not the end.
      const ends = '4,4';
      const offsets = async () =>
        (
          await admin.fetchOffsets({ groupId: jobGroup(ns, job.id), topics: [input] })
        )[0]?.partitions
          .sort((x, y) => x.partition - y.partition)
          .map((p) => p.offset)
          .join();
      for (const deadline = Date.now() + 20_000; (await offsets()) !== ends;) {
        if (Date.now() > deadline) expect(await offsets()).toBe(ends);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await admin.disconnect();
    }
    expect(await readAll(output)).toHaveLength(2);
    await job.cancel();
  }, 60_000);

  for (const guarantee of GUARANTEES) {
    it(`lets a bounded job complete under ${guarantee}, having counted only the committed records`, async () => {
      const input = `${ns}.in-${guarantee}`;
      const output = `${ns}.out-${guarantee}`;
      await writeWithAbortedTail(input);
      const job = await client.submit('count', {
        name: `tail-${guarantee}`,
        processingGuarantee: guarantee,
        args: { input, output },
      });
      await job.join(); // rejects if the job fails; the test times out if it never completes
      expect(job.status()).toBe('COMPLETED');
      const outputs = await readAll(output);
      expect(outputs).toHaveLength(COMMITTED);
      const finals = new Map<string, number>();
      for (const m of outputs) {
        const { key, value } = JSON.parse(m.value?.toString() ?? '{}') as {
          key: string;
          value: number;
        };
        finals.set(key, Math.max(finals.get(key) ?? 0, value));
      }
      expect(finals).toEqual(new Map(['k0', 'k1', 'k2', 'k3'].map((k) => [k, COMMITTED / 4])));
    }, 60_000);
  }
});
