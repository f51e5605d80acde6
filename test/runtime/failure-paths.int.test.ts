import { afterAll, describe, expect, it } from 'vitest';
import { JobFailedError } from '../../src/domain/job-errors.js';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker } from '../../src/node/worker.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, outputsWhenThrough } from '../support/job-groups.js';
import {
  latest,
  produceNumbers,
  readAll,
  readUntil,
  runningSums,
  sums,
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
    expect(Object.keys(headers).sort()).toEqual(['sluice-cause', 'sluice-job-id', 'sluice-source']);
    expect(headers['sluice-job-id']?.toString()).toBe(job.id);
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
