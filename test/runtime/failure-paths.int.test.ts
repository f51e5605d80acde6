import { afterAll, describe, expect, it } from 'vitest';
import { JobFailedError } from '../../src/domain/job-errors.js';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { latest, produceNumbers, readAll, readUntil, sums } from '../support/records.js';
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
) {
  const job = await client.submit('strict-sum', {
    name,
    suspendOnFailure: true,
    processingGuarantee: guarantee,
    args: { input: `${ns}.${input}`, output: `${ns}.${output}` },
  });
  await job.join().catch(() => undefined);
  expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
  return job;
}

describe('resuming past a failing record', () => {
  it('--skip-failing-record leaves the record out and continues', async () => {
    await produceNumbers(`${ns}.in-skip`, 600);
    const job = await suspendedJob('skip', 'in-skip', 'out-skip');
    await job.resume({ failingRecord: 'SKIP' });
    const all = await readUntil(`${ns}.out-skip`, (a) => a.length >= 599);
    expect(latest(all)).toEqual(sums(600, POISON));
    expect(job.history().find((e) => e.type === 'JobResumed')).toMatchObject({
      failingRecord: 'SKIP',
      record: { offset: String(POISON - 1) },
    });
  });

  it('--dead-letter writes the record to the topic with the cause in its headers', async () => {
    await produceNumbers(`${ns}.in-dlq`, 600);
    const job = await suspendedJob('dlq', 'in-dlq', 'out-dlq');
    await job.resume({ failingRecord: 'DEAD_LETTER', deadLetterTopic: `${ns}.dlq` });
    const out = await readUntil(`${ns}.out-dlq`, (a) => a.length >= 599);
    expect(latest(out)).toEqual(sums(600, POISON));
    const [dead] = await readUntil(`${ns}.dlq`, (a) => a.length >= 1);
    expect(JSON.parse(dead?.value?.toString() ?? '{}')).toEqual({
      n: POISON,
      k: `k${(POISON - 1) % 5}`,
    });
    expect(dead?.headers?.['sluice-source']?.toString()).toBe(`${ns}.in-dlq/0@${POISON - 1}`);
    expect(JSON.parse(dead?.headers?.['sluice-cause']?.toString() ?? 'null')).toMatchObject({
      stage: 'check',
      error: { name: 'RangeError' },
    });
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
    const all = await readUntil(`${ns}.out-hop2`, (a) => a.length >= 599);
    expect(latest(all)).toEqual(sums(600, POISON));
    // Exactly once: one update per record but the skipped one.
    expect(await readAll(`${ns}.out-hop2`)).toHaveLength(599);
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
    await produceNumbers(`${ns}.in-none`, 600);
    const job = await suspendedJob('none', 'in-none', 'out-none', 'NONE');
    await job.resume({ failingRecord: 'SKIP' });
    // NONE promises no exactness (offsets are committed automatically, so a restart may repeat
    // records), but the resumed job goes on past the failing record to the end of the input.
    const expected = sums(600, POISON);
    const out = await readUntil(`${ns}.out-none`, (a) =>
      [...expected].every(([k, v]) => (latest(a).get(k) ?? 0) >= v),
    );
    for (const [k, v] of expected) expect(latest(out).get(k)).toBeGreaterThanOrEqual(v);
    expect(job.status()).toBe('RUNNING');
  });
});
