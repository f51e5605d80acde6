import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { JobSuspendedError } from '../../src/domain/job-errors.js';
import { jobGroup } from '../../src/domain/resources.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, noTasks, until } from '../support/job-groups.js';
import { readAll } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// Issue 5: "Every worker of the job freezes when it reads that event. No output may appear after
// it." With two workers, the one that did not fail is committing transactions all the time; one
// of them must not complete after JobSuspendedDueToError is in the job log. A transaction's
// outputs appear when the broker writes its commit marker, and the marker carries the time it
// was written, so every commit marker in the sink must be older than the event's record.

const ns = testNamespace('frz');
const PARTITIONS = 8;
const RECORDS = 40_000;
const POISON = 24_001; // mid-stream, when both workers are busy
const admin = await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: PARTITIONS },
  { topic: `${ns}.out`, numPartitions: PARTITIONS },
]);

const workers: Worker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
});

async function startWorker(id: string): Promise<void> {
  const worker = new Worker({
    ...endpoints(),
    namespace: ns,
    logger: testLogger,
    workerId: id,
  }).register('relay', (args) =>
    Pipeline.create()
      .readFrom<{ n: number }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (r.n === POISON) throw new RangeError(`record ${r.n} is poison`);
          return r;
        },
        { name: 'check' },
      )
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
  await worker.start();
  workers.push(worker);
}

/** Record n goes to partition n % PARTITIONS, so every worker has work until the end. */
async function produce(): Promise<void> {
  const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const all = Array.from({ length: RECORDS }, (_, i) => ({
    partition: (i + 1) % PARTITIONS,
    value: JSON.stringify({ n: i + 1 }),
  }));
  for (let i = 0; i < all.length; i += 2000)
    await producer.send({ topic: `${ns}.in`, messages: all.slice(i, i + 2000) });
  await producer.disconnect();
}

interface Marker {
  partition: number;
  commit: boolean;
  timestamp: number;
}

/**
 * Every transaction marker in the topic, with the time the broker wrote it. kafkajs hands
 * eachBatch the records without control records; the batch keeps them in `rawMessages`.
 */
async function markers(topic: string): Promise<Marker[]> {
  const ends = await (async () => {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      return await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
  })();
  const left = new Map(
    ends.filter((e) => e.high !== '0').map((e) => [e.partition, BigInt(e.high)]),
  );
  const found: Marker[] = [];
  if (left.size === 0) return found;
  const consumer = kafkaClient().consumer(
    consumerConfig({ groupId: `${ns}-markers-${Math.random()}` }),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out reading markers')), 60_000);
      void consumer.run({
        eachBatch: ({ batch }) => {
          const raw = (
            batch as unknown as { rawMessages: (KafkaMessage & { isControlRecord?: boolean })[] }
          ).rawMessages;
          for (const m of raw)
            if (m.isControlRecord && m.key)
              found.push({
                partition: batch.partition,
                commit: m.key.readInt16BE(2) === 1,
                timestamp: Number(m.timestamp),
              });
          const end = left.get(batch.partition);
          if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end)
            left.delete(batch.partition);
          if (left.size === 0) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return found;
}

describe('a job suspended by a failure on one of two workers', () => {
  it('commits nothing, on either worker, after JobSuspendedDueToError is appended', async () => {
    const client = await connectClient(ns);
    await startWorker('w1');
    await startWorker('w2');
    const job = await client.submit('relay', {
      name: 'two-workers',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: `${ns}.in`, output: `${ns}.out` },
    });
    // Both workers run the job before any record exists: otherwise this would test nothing.
    const startedOn = () =>
      new Set(job.history().flatMap((e) => (e.type === 'JobStarted' ? [e.worker] : [])));
    const deadline = Date.now() + 30_000;
    while (startedOn().size < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect([...startedOn()].sort()).toEqual(['w1', 'w2']);
    await produce();
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    expect((err as JobSuspendedError).suspensionCause.error?.message).toBe(
      `record ${POISON} is poison`,
    );

    const event = job.history().find((e) => e.type === 'JobSuspendedDueToError');
    const record = (await readAll(`${ns}.jobs`)).find((m) => m.key?.toString() === event?.eventId);
    expect(record).toBeDefined();
    const appendedAt = Number(record?.timestamp);

    // Read once nothing can follow, not after a wait: both workers left the job's group, which
    // each does when it stops the job's tasks on reading the event, so no task of the job runs
    // and nothing more is written to the sink. Reading it to its read_committed end then waits
    // out any transaction still open, so every marker it will ever hold is written.
    const hops = jobHops(ns, job.id, `${ns}.in`);
    await until(() => noTasks(admin, hops), "the job's tasks to stop");
    await readAll(`${ns}.out`);
    const found = await markers(`${ns}.out`);
    const commits = found.filter((m) => m.commit);
    expect(commits.length).toBeGreaterThan(PARTITIONS); // the job did commit, on every partition
    const late = commits.filter((m) => m.timestamp > appendedAt);
    expect(late, `commits after the event (appended at ${appendedAt})`).toEqual([]);
    // The sink holds exactly what was committed before: no output of the poison record or after
    // it on its partition, and nothing twice.
    const outputs = (await readAll(`${ns}.out`)).map(
      (m) => (JSON.parse(m.value?.toString() ?? '{}') as { n: number }).n,
    );
    expect(new Set(outputs).size).toBe(outputs.length);
    expect(outputs).not.toContain(POISON);
    expect(outputs.length).toBeLessThan(RECORDS);
    // The poison record's partition stopped exactly at it: the group's position there is the
    // record's offset, and the partition's outputs are those of every record before it.
    const cause = (err as JobSuspendedError).suspensionCause;
    const [position] = await admin.fetchOffsets({
      groupId: jobGroup(ns, job.id),
      topics: [`${ns}.in`],
    });
    expect(position?.partitions.find((p) => p.partition === POISON % PARTITIONS)?.offset).toBe(
      cause.record?.offset,
    );
    const onPoisonPartition = (n: number) => n % PARTITIONS === POISON % PARTITIONS;
    expect(outputs.filter(onPoisonPartition).sort((a, b) => a - b)).toEqual(
      Array.from({ length: POISON - 1 }, (_, i) => i + 1).filter(onPoisonPartition),
    );
  }, 120_000);
});
