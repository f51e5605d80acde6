import { afterAll, describe, expect, it } from 'vitest';
import { JobFailedError } from '../../src/domain/job-errors.js';
import { jobGroup } from '../../src/domain/resources.js';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, noTasks, outputsWhenThrough, until } from '../support/job-groups.js';
import {
  latest,
  produceNumbers,
  readAll,
  readUntil,
  runningSums,
  valuesByKey,
} from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// Resume choices, the fail path, batch jobs and the weaker guarantees, on a real broker.

const ns = testNamespace('rtf');
const topics = [
  'in-skip',
  'out-skip',
  'in-dlq',
  'out-dlq',
  'dlq',
  'in-fail',
  'out-fail',
  'in-batch',
  'out-batch',
  'in-alo',
  'out-alo',
  'in-none',
  'out-none',
  'in-hop2',
  'out-hop2',
];
const admin = await useTopics(
  ns,
  topics.map((t) => ({
    topic: `${ns}.${t}`,
    numPartitions: t.startsWith('in-batch') || t.startsWith('out-batch') ? 3 : 1,
  })),
);
const client = await connectClient(ns);

const { brokers, registryUrl } = endpoints();
const POISON = 300;
const worker = new Worker({
  brokers,
  registryUrl,
  namespace: ns,
  logger: testLogger,
  workerId: 'w',
})
  // Fails on every record whose n is POISON: only skipping or dead-lettering gets past it.
  .register('strict-sum', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(
        Sources.kafka({ topic: args.input ?? '', bounded: args.bounded === 'true' }),
      )
      .map(
        (r) => {
          if (r.n === POISON) throw new RangeError(`n=${r.n} is not allowed`);
          return r;
        },
        { name: 'check' },
      )
      .groupingKey((r) => r.k)
      .aggregate({ name: 'sum', init: () => 0, add: (s, r) => s + r.n })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  )
  // Fails in its second hop, after the repartition: the report must still name the source record.
  .register('strict-add', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .groupingKey((r) => r.k)
      .aggregate({
        name: 'sum',
        init: () => 0,
        add: (s, r) => {
          if (r.n === POISON) throw new RangeError(`n=${r.n} is not allowed`);
          return s + r.n;
        },
      })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  )
  // strict-sum without its aggregate: one hop, and each output names the record it came from.
  .register('strict-relay', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (r.n === POISON) throw new RangeError(`n=${r.n} is not allowed`);
          return r;
        },
        { name: 'check' },
      )
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  )
  .register('count', (args) =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(
        Sources.kafka({ topic: args.input ?? '', bounded: args.bounded === 'true' }),
      )
      .groupingKey((r) => r.k)
      .aggregate({ name: 'count', init: () => 0, add: (c) => c + 1 })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  );
await worker.start();
afterAll(() => worker.stop());

async function suspendedJob(
  name: string,
  input: string,
  output: string,
  guarantee: ProcessingGuarantee = 'EXACTLY_ONCE',
  pipeline = 'strict-sum',
) {
  const job = await client.submit(pipeline, {
    name,
    suspendOnFailure: true,
    processingGuarantee: guarantee,
    args: { input: `${ns}.${input}`, output: `${ns}.${output}` },
  });
  await job.join().catch(() => undefined);
  expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
  return job;
}

/**
 * Everything the job will ever write to `output` for its input: read once both of strict-sum's
 * hops committed through their topics' ends, not at the first moment the sums looked right (a
 * duplicate committed later would be missed).
 */
function outputsOf(jobId: string, input: string, output: string): Promise<ConsumedRecord[]> {
  return outputsWhenThrough(
    admin,
    jobHops(ns, jobId, `${ns}.${input}`, ['sum']),
    `${ns}.${output}`,
  );
}

describe('resuming past a failing record', () => {
  it('--skip-failing-record leaves the record out and continues', async () => {
    await produceNumbers(`${ns}.in-skip`, 600);
    const job = await suspendedJob('skip', 'in-skip', 'out-skip');
    await job.resume({ failingRecord: 'SKIP' });
    // One running sum per record, every record but the skipped one, each once.
    const all = await outputsOf(job.id, 'in-skip', 'out-skip');
    expect(valuesByKey(all)).toEqual(runningSums(600, POISON));
    expect(job.history().find((e) => e.type === 'JobResumed')).toMatchObject({
      failingRecord: 'SKIP',
      record: { offset: String(POISON - 1) },
    });
  });

  it('--dead-letter writes the record to the topic with the cause in its headers', async () => {
    await produceNumbers(`${ns}.in-dlq`, 600);
    const job = await suspendedJob('dlq', 'in-dlq', 'out-dlq');
    await job.resume({ failingRecord: 'DEAD_LETTER', deadLetterTopic: `${ns}.dlq` });
    const out = await outputsOf(job.id, 'in-dlq', 'out-dlq');
    expect(valuesByKey(out)).toEqual(runningSums(600, POISON));
    // The dead letter is written in the same transaction as the commit past it, so the read to
    // the topic's end after the job went through its input holds every dead letter there is:
    // exactly the failing record, byte for byte, with its headers.
    const dead = await readAll(`${ns}.dlq`);
    expect(dead).toHaveLength(1);
    const key = `k${(POISON - 1) % 5}`;
    expect(dead[0]?.key?.toString()).toBe(key);
    expect(dead[0]?.value?.toString()).toBe(JSON.stringify({ n: POISON, k: key }));
    const headers = dead[0]?.headers ?? {};
    expect(Object.keys(headers).sort()).toEqual([
      '__streams.errors.exception',
      '__streams.errors.message',
      '__streams.errors.offset',
      '__streams.errors.partition',
      '__streams.errors.stacktrace',
      '__streams.errors.topic',
      'sluice-cause',
      'sluice-job-id',
      'sluice-source',
      'sluice-stage',
    ]);
    expect(headers['sluice-job-id']?.toString()).toBe(job.id);
    expect(headers['sluice-stage']?.toString()).toBe('check');
    expect(headers['__streams.errors.exception']?.toString()).toBe('RangeError');
    expect(headers['__streams.errors.offset']?.toString()).toBe(String(POISON - 1));
    expect(headers['sluice-source']?.toString()).toBe(`${ns}.in-dlq/0@${POISON - 1}`);
    const suspended = job.history().find((e) => e.type === 'JobSuspendedDueToError');
    const cause = suspended?.type === 'JobSuspendedDueToError' ? suspended.cause : undefined;
    expect(cause).toMatchObject({ stage: 'check', error: { name: 'RangeError' } });
    expect(JSON.parse(headers['sluice-cause']?.toString() ?? 'null')).toEqual(cause);
  });
});

describe('a failure after a repartition', () => {
  it('names the source record, and a skip leaves out exactly that record', async () => {
    await produceNumbers(`${ns}.in-hop2`, 600);
    const job = await client.submit('strict-add', {
      name: 'hop2',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: `${ns}.in-hop2`, output: `${ns}.out-hop2` },
    });
    await job.join().catch(() => undefined);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    // The value reached the failing stage from the repartition topic; its origin header says
    // where it was read first.
    expect(job.suspensionCause()).toMatchObject({
      stage: 'sum',
      record: {
        topic: `${ns}.in-hop2`,
        partition: 0,
        offset: String(POISON - 1),
        key: `k${(POISON - 1) % 5}`,
      },
    });
    await job.resume({ failingRecord: 'SKIP' });
    // Exactly once: one running sum per record but the skipped one.
    const all = await outputsOf(job.id, 'in-hop2', 'out-hop2');
    expect(valuesByKey(all)).toEqual(runningSums(600, POISON));
  });
});

describe('without suspendOnFailure', () => {
  it('fails the job, rejects join() with JobFailedError, and deletes its state topics', async () => {
    await produceNumbers(`${ns}.in-fail`, 400);
    const job = await client.submit('strict-sum', {
      name: 'fails',
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: `${ns}.in-fail`, output: `${ns}.out-fail` },
    });
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).failureCause).toMatchObject({
      stage: 'check',
      record: { offset: String(POISON - 1) },
    });
    const stateTopic = `${ns}.state.${job.id}.sum`;
    for (let i = 0; i < 50 && (await admin.listTopics()).includes(stateTopic); i++)
      await new Promise((r) => setTimeout(r, 200));
    expect(await admin.listTopics()).not.toContain(stateTopic);
  });
});

describe('a bounded (batch) job', () => {
  it('reads to the end offsets taken at start and reaches COMPLETED with the right output', async () => {
    await produceNumbers(`${ns}.in-batch`, 900, 9);
    const job = await client.submit('count', {
      name: 'batch',
      processingGuarantee: 'AT_LEAST_ONCE',
      args: { input: `${ns}.in-batch`, output: `${ns}.out-batch`, bounded: 'true' },
    });
    await job.join();
    expect(job.status()).toBe('COMPLETED');
    const out = await readUntil(`${ns}.out-batch`, (a) => a.length >= 900);
    expect([...latest(out).values()].reduce((a, b) => a + b, 0)).toBe(900);
    expect(latest(out).size).toBe(9);
  });
});

describe('weaker guarantees', () => {
  it('AT_LEAST_ONCE loses nothing', async () => {
    await produceNumbers(`${ns}.in-alo`, 1000);
    await client.submit('count', {
      name: 'alo',
      processingGuarantee: 'AT_LEAST_ONCE',
      args: { input: `${ns}.in-alo`, output: `${ns}.out-alo` },
    });
    const out = await readUntil(
      `${ns}.out-alo`,
      (a) => [...latest(a).values()].reduce((x, y) => x + y, 0) >= 1000,
    );
    expect([...latest(out).values()].reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('NONE suspends on a failure and resumes from the last committed position', async () => {
    const input = `${ns}.in-none`;
    await produceNumbers(input, 600); // n = offset + 1: one partition
    const job = await suspendedJob('none', 'in-none', 'out-none', 'NONE', 'strict-relay');
    // The position the resume starts from, read once no task of the job runs, so no automatic
    // commit can move it any more.
    const hops = jobHops(ns, job.id, input);
    await until(() => noTasks(admin, hops), "the job's tasks to stop");
    const [position] = await admin.fetchOffsets({ groupId: jobGroup(ns, job.id), topics: [input] });
    const committed = Number(position?.partitions[0]?.offset);
    // Some records were committed before the failing one (or a resume from the beginning could
    // not be told from one from here), and the position is not past it.
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThanOrEqual(POISON - 1);

    await job.resume({ failingRecord: 'SKIP' });
    const out = await outputsWhenThrough(admin, hops, `${ns}.out-none`);
    const times = new Map<number, number>();
    for (const m of out) {
      const { n } = JSON.parse(m.value?.toString() ?? '{}') as { n: number };
      times.set(n, (times.get(n) ?? 0) + 1);
    }
    const range = (from: number, to: number): number[] =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    // NONE promises no exactness: offsets are committed automatically, after each batch, so the
    // records from the committed offset to the failing one, output but perhaps not committed
    // when the job froze, may come again. The records before the committed offset may not: a
    // record's offset is resolved only once its outputs were acknowledged, and the resume starts
    // at the group's committed offset. So the bound is that offset itself, not a margin, and a
    // resume that read from the beginning outputs every one of them twice.
    expect(range(1, committed).filter((n) => times.get(n) !== 1)).toEqual([]);
    // The rest up to the failing record at least once, the skipped one never, and the resumed
    // job goes on past it to the end of the input.
    expect(range(committed + 1, POISON - 1).filter((n) => !times.has(n))).toEqual([]);
    expect(times.has(POISON)).toBe(false);
    expect(range(POISON + 1, 600).filter((n) => !times.has(n))).toEqual([]);
    expect(job.status()).toBe('RUNNING');
  });
});
