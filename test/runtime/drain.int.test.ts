import type { ConsumedRecord } from '../../src/kafka/port.js';
import { afterAll, describe, expect, it } from 'vitest';
import { JobSuspendedError } from '../../src/domain/job-errors.js';
import { isJobGroup } from '../../src/domain/resources.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// docs/failure-handling.md: on a failure, each later hop "may first finish the records already
// handed to it, so that outputs of the records before the failing one are complete". A later
// hop's partitions may belong to another worker, or not be assigned yet; the failing worker
// must wait for those too, not only for its own tasks. Here two workers share both hops, one
// partition each, and the later hop is slow (a few ms per record). A worker that waited only
// for its own partition suspended the job while the other still held outputs of records before
// the failing one, and the fence at the suspension aborted them.

const ns = testNamespace('drn');
const PARTITIONS = 2;
const WARM_UP = 200; // records without the poison, to see both workers take their share
const RECORDS = 1200;
const POISON = 1000; // in partition 0, at offset 499
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: PARTITIONS },
  { topic: `${ns}.out`, numPartitions: PARTITIONS },
]);

const workers: Worker[] = [];
afterAll(async () => {
  for (const w of workers) await w.stop();
});

interface Rec {
  n: number;
  k: string;
}

async function startWorker(id: string): Promise<void> {
  const worker = new Worker({
    ...endpoints(),
    namespace: ns,
    logger: testLogger,
    workerId: id,
  }).register('slow-tail', (args) =>
    Pipeline.create()
      .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (r.n === POISON) throw new RangeError(`record ${r.n} is poison`);
          return r;
        },
        { name: 'check' },
      )
      .groupingKey((r) => r.k)
      // The latest n per key: each output names the record it came from.
      .aggregate({ name: 'last', init: () => 0, add: (_last: number, r: Rec) => r.n })
      .map(
        async (o) => {
          await new Promise((r) => setTimeout(r, 4));
          return o;
        },
        { name: 'slow' },
      )
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
  await worker.start();
  workers.push(worker);
}

/** Records first..last; n goes to partition n % 2, keyed k(n % 7) so any worker may hold its key. */
async function produce(first: number, last: number): Promise<void> {
  const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: `${ns}.in`,
    messages: Array.from({ length: last - first + 1 }, (_, i) => ({
      partition: (first + i) % PARTITIONS,
      value: JSON.stringify({ n: first + i, k: `k${(first + i) % 7}` }),
    })),
  });
  await producer.disconnect();
}

/** Waits until both of the job's consumer groups give each worker one partition. */
async function spreadOverBoth(jobId: string): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    for (const deadline = Date.now() + 60_000; ;) {
      const ids = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => isJobGroup(ns, jobId, g));
      const { groups } = await admin.describeGroups(ids);
      if (ids.length === 2 && groups.every((g) => g.state === 'Stable' && g.members.length === 2))
        return;
      if (Date.now() > deadline) throw new Error(`groups not spread: ${JSON.stringify(groups)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

const valuesOf = (all: ConsumedRecord[]): Set<number> =>
  new Set(all.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { value: number }).value));

describe('a failure with a later hop on two workers', () => {
  it('suspends only once every output of the records before the failing one is committed', async () => {
    const client = await connectClient(ns);
    await startWorker('w1');
    await startWorker('w2');
    const job = await client.submit('slow-tail', {
      name: 'slow-tail',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: `${ns}.in`, output: `${ns}.out` },
    });
    await produce(1, WARM_UP);
    await readUntil(`${ns}.out`, (all) => valuesOf(all).size === WARM_UP);
    await spreadOverBoth(job.id);
    await produce(WARM_UP + 1, RECORDS);
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    const { record } = (err as JobSuspendedError).suspensionCause;
    expect(record).toMatchObject({ topic: `${ns}.in`, partition: 0, offset: '499' });

    const seen = valuesOf(await readAll(`${ns}.out`));
    const before = Array.from({ length: POISON / 2 - 1 }, (_, i) => 2 * (i + 1)); // 2, 4 … 998
    const missing = before.filter((n) => !seen.has(n));
    expect(missing).toEqual([]);
    expect(seen.has(POISON)).toBe(false);
    await job.cancel();
  }, 120_000);
});
