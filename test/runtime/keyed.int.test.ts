import { afterAll, describe, expect, it } from 'vitest';
import { changelogTopic, repartitionTopic } from '../../src/domain/resources.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { Emit } from '../../src/pipeline/stages.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// groupByKey and emit: 'commit' on a real broker, under EXACTLY_ONCE: a bounded job over
// records a producer keyed (and so partitioned) by customer. The job completes once its group
// reaches the source's end, so what the sink holds then is all it will ever hold.

const ns = testNamespace('kyd');
const RECORDS = 3_000;
const KEYS = 50;
const cases: { name: string; emit: Emit }[] = [
  { name: 'update', emit: 'update' },
  { name: 'commit', emit: 'commit' },
];
await useTopics(
  ns,
  cases.flatMap((c) => [
    { topic: `${ns}.in-${c.name}`, numPartitions: 3 },
    { topic: `${ns}.out-${c.name}`, numPartitions: 3 },
  ]),
);
const client = await connectClient(ns);

const worker = new Worker({ ...endpoints(), namespace: ns, logger: testLogger, workerId: 'w' });
for (const c of cases)
  worker.register(`sum-${c.name}`, (args) =>
    Pipeline.create()
      .readFrom<{ n: number }>(Sources.kafka({ topic: args.input ?? '', bounded: true }))
      .groupByKey()
      .aggregate({ name: 'total', init: () => 0, add: (s: number, r) => s + r.n, emit: c.emit })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
await worker.start();
afterAll(() => worker.stop());

const expected = new Map<string, number>();
for (let n = 0; n < RECORDS; n++)
  expected.set(`c${n % KEYS}`, (expected.get(`c${n % KEYS}`) ?? 0) + n);

async function writeInput(topic: string): Promise<void> {
  const producer = kafkaClient().producer();
  await producer.connect();
  try {
    // No partition given: the producer's partitioner puts each key in one partition.
    await producer.send({
      topic,
      messages: Array.from({ length: RECORDS }, (_, n) => ({
        key: `c${n % KEYS}`,
        value: JSON.stringify({ n }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

describe('groupByKey on a real broker, EXACTLY_ONCE', () => {
  for (const c of cases) {
    it(`totals every key exactly with emit: '${c.emit}', through no repartition topic`, async () => {
      const input = `${ns}.in-${c.name}`;
      const output = `${ns}.out-${c.name}`;
      await writeInput(input);
      const job = await client.submit(`sum-${c.name}`, {
        name: `sum-${c.name}`,
        processingGuarantee: 'EXACTLY_ONCE',
        args: { input, output },
      });
      await job.join();
      expect(job.status()).toBe('COMPLETED');

      const outputs = (await readAll(output)).map((m) => ({
        recordKey: m.key?.toString(),
        ...(JSON.parse(m.value?.toString() ?? '{}') as { key: string; value: number }),
      }));
      const latest = new Map<string, number>();
      for (const o of outputs) latest.set(o.key, o.value);
      expect(latest).toEqual(expected);
      // Each output is keyed by its grouping key, the source's record key.
      expect(outputs.filter((o) => o.recordKey !== o.key)).toEqual([]);
      if (c.emit === 'update') expect(outputs).toHaveLength(RECORDS);
      // At most one output per key per commit: with 1,000-record-or-more chunks, far fewer.
      else expect(outputs.length).toBeLessThan(RECORDS / 5);

      const admin = kafkaClient().admin();
      await admin.connect();
      try {
        const topics = await admin.listTopics();
        expect(topics).toContain(changelogTopic(ns, job.id, 'total'));
        expect(topics).not.toContain(repartitionTopic(ns, job.id, 'total'));
      } finally {
        await admin.disconnect();
      }
    }, 60_000);
  }
});
