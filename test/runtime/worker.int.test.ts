import { afterAll, describe, expect, it } from 'vitest';
import type { SluiceClient } from '../../src/node/client.js';
import { JobSuspendedError } from '../../src/domain/job-errors.js';
import { jobGroup } from '../../src/domain/resources.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, noTasks, outputsWhenThrough, until } from '../support/job-groups.js';
import { latest, readAll } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// A worker runs real pipelines over real topics; jobs are controlled through the client.

const ns = testNamespace('rt');
const admin = await useTopics(ns, [
  { topic: `${ns}.orders`, numPartitions: 1 },
  { topic: `${ns}.totals`, numPartitions: 1 },
  { topic: `${ns}.poison`, numPartitions: 1 },
  { topic: `${ns}.poison-out`, numPartitions: 1 },
]);

interface Order {
  n: number;
  customer: string;
  amount: number;
}

const workers: Worker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
});

async function startWorker(id: string, breakAt?: number): Promise<Worker> {
  const { brokers, registryUrl } = endpoints();
  const worker = new Worker({
    brokers,
    registryUrl,
    namespace: ns,
    logger: testLogger,
    workerId: id,
  }).register('totals', (args) =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: args.input ?? '', format: 'json' }))
      .filter((o) => o.amount !== 0)
      .map(
        (o) => {
          if (o.n === breakAt) throw new TypeError(`cannot price order ${o.n}`);
          return o;
        },
        { name: 'price' },
      )
      .groupingKey((o) => o.customer)
      .aggregate({ name: 'sums', init: () => 0, add: (sum, o) => sum + o.amount })
      .writeTo(Sinks.kafka({ topic: args.output ?? '', format: 'json' })),
  );
  await worker.start();
  workers.push(worker);
  return worker;
}

async function produce(topic: string, count: number): Promise<Map<string, number>> {
  const producer = kafkaClient().producer();
  await producer.connect();
  const expected = new Map<string, number>();
  const messages = Array.from({ length: count }, (_, i) => {
    const o: Order = { n: i + 1, customer: `c${i % 7}`, amount: (i % 5) + 1 };
    expected.set(o.customer, (expected.get(o.customer) ?? 0) + o.amount);
    return { key: o.customer, value: JSON.stringify(o) };
  });
  for (let i = 0; i < messages.length; i += 500)
    await producer.send({ topic, messages: messages.slice(i, i + 500) });
  await producer.disconnect();
  return expected;
}

describe('worker', () => {
  let client: SluiceClient;

  it('runs a keyed aggregation exactly once and reports the job RUNNING', async () => {
    client = await connectClient(ns);
    await startWorker('w1');
    const expected = await produce(`${ns}.orders`, 2000);
    const job = await client.submit('totals', {
      name: 'sums',
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 500,
      args: { input: `${ns}.orders`, output: `${ns}.totals` },
    });
    // Read once both hops committed through their topics' ends, not when the totals first
    // looked right: an update duplicated after that moment would not have been read.
    const hops = jobHops(ns, job.id, `${ns}.orders`, ['sums']);
    const all = await outputsWhenThrough(admin, hops, `${ns}.totals`);
    expect(latest(all)).toEqual(expected);
    expect(all).toHaveLength(2000); // one update per record, none duplicated
    expect(job.status()).toBe('RUNNING');
    expect(job.snapshot().workers).toEqual(['w1']);
  });

  it('suspends on a poison record with the whole cause, and a fixed worker resumes exactly', async () => {
    for (const w of workers.splice(0)) await w.stop();
    await startWorker('w-broken', 500);
    const expected = await produce(`${ns}.poison`, 1000);
    const job = await client.submit('totals', {
      name: 'poison',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: `${ns}.poison`, output: `${ns}.poison-out` },
    });
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    const cause = (err as JobSuspendedError).suspensionCause;
    expect(cause).toMatchObject({
      dueToError: true,
      stage: 'price',
      error: { name: 'TypeError', message: 'cannot price order 500' },
      record: { topic: `${ns}.poison`, partition: 0, offset: '499', key: 'c2' },
    });
    expect(cause.record?.valuePreview).toContain('"n":500');

    // Everything before the poison record was committed: 499 outputs, and none after it. Once
    // no task of the job runs (the worker left the job's groups on reading the event), nothing
    // more can be written, so the sink's read_committed end is all the frozen job wrote.
    const hops = jobHops(ns, job.id, `${ns}.poison`, ['sums']);
    await until(() => noTasks(admin, hops), "the job's tasks to stop");
    // The source position stands on the poison record: neither short of it nor past it.
    const [position] = await admin.fetchOffsets({
      groupId: jobGroup(ns, job.id),
      topics: [`${ns}.poison`],
    });
    expect(position?.partitions).toMatchObject([{ partition: 0, offset: '499' }]);
    expect(await readAll(`${ns}.poison-out`)).toHaveLength(499);

    // Deploy the fix: stop the broken workers, start fixed ones, resume.
    for (const w of workers.splice(0)) await w.stop();
    await startWorker('w-fixed');
    await job.resume();
    const after = await outputsWhenThrough(admin, hops, `${ns}.poison-out`);
    expect(latest(after)).toEqual(expected);
    expect(after).toHaveLength(1000);
  }, 120_000);
});
