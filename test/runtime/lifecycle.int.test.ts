import { afterAll, describe, expect, it } from 'vitest';
import { JobCancelledError, JobSuspendedError } from '../../src/domain/job-errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Worker, type PipelineFactory } from '../../src/node/worker.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { jobHops, noTasks, outputsWhenThrough } from '../support/job-groups.js';
import {
  keyed,
  latest,
  produceNumbers,
  readAll,
  readUntil,
  runningSums,
  sums,
  valuesByKey,
} from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// Suspend and resume mid-run, cancel, batch suspension, and starting a changed pipeline from an
// exported snapshot, on a real broker with in-process workers.

const ns = testNamespace('life');
const topic = (t: string): string => `${ns}.${t}`;
const admin = await useTopics(
  ns,
  [
    'in-multi',
    'out-multi',
    'in-mid',
    'out-mid',
    'in-cancel',
    'out-cancel',
    'in-batch',
    'out-batch',
    'in-up',
    'out-up',
  ].map((t) => ({ topic: topic(t), numPartitions: 3 })),
);
const client = await connectClient(ns);
const POISON = 300;

type Rec = { n: number; k: string };

/** A keyed sum over `{ n, k }`; `poison` makes user code throw on that n. */
function sum(stage = 'sum', poison?: number, times = 1): PipelineFactory {
  return (args) =>
    Pipeline.create()
      .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '', bounded: args.bounded === 'true' }))
      .map(
        (r) => {
          if (r.n === poison) throw new RangeError(`n=${r.n} is not allowed`);
          return r;
        },
        { name: 'check' },
      )
      .groupingKey((r) => r.k)
      .aggregate({ name: stage, init: () => 0, add: (s, r) => s + r.n * times })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}

/** A keyed running count: every record emits its key's new count. */
const count: PipelineFactory = (args) =>
  Pipeline.create()
    .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
    .groupingKey((r) => r.k)
    .aggregate({ name: 'count', init: () => 0, add: (c) => c + 1 })
    .writeTo(Sinks.kafka({ topic: args.output ?? '' }));

const started: Worker[] = [];
afterAll(() => Promise.all(started.map((w) => w.stop())));

async function worker(id: string, pipelines: Record<string, PipelineFactory>): Promise<Worker> {
  const { brokers, registryUrl } = endpoints();
  const w = new Worker({ brokers, registryUrl, namespace: ns, logger: testLogger, workerId: id });
  for (const [name, factory] of Object.entries(pipelines)) w.register(name, factory);
  await w.start();
  started.push(w);
  return w;
}

async function stop(w: Worker): Promise<void> {
  await w.stop();
  started.splice(started.indexOf(w), 1);
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

await worker('main', {
  count,
  'strict-sum': sum('sum', POISON),
});

describe('suspend and resume in the middle of a run', () => {
  it('continues state and offsets exactly under EXACTLY_ONCE: no gap, no double count', async () => {
    const RECORDS = 30_000;
    const KEYS = 10;
    await produceNumbers(topic('in-mid'), RECORDS, KEYS);
    const job = await client.submit('count', {
      name: 'mid',
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 500,
      args: { input: topic('in-mid'), output: topic('out-mid') },
    });
    await readUntil(topic('out-mid'), (a) => a.length >= 3000);
    await job.suspend();
    await until(() => job.status() === 'SUSPENDED', 'SUSPENDED');
    // A commit already on the wire when the worker read the event may still land; nothing after.
    // So the sink is read once nothing can follow, not after a wait: once the job's hops have
    // left their groups no task of it runs (the worker leaves them when it stops the job's tasks
    // on the event, after the batch in hand), and the read to the sink's read_committed end
    // waits out a transaction still open.
    const hops = jobHops(ns, job.id, topic('in-mid'), ['count']);
    await until(() => noTasks(admin, hops), "the job's tasks to stop");
    const frozenAt = (await readAll(topic('out-mid'))).length;
    expect(frozenAt).toBeLessThan(RECORDS); // suspended mid-run, not after the end
    // Once its workers have left, the coordinator records the position the resume starts from.
    const suspendedAt = job.history().findIndex((e) => e.type === 'JobSuspended');
    await until(
      () => job.history().some((e, i) => i > suspendedAt && e.type === 'SnapshotCommitted'),
      'the snapshot after the suspension',
    );
    const final = job.snapshot().lastSnapshot;
    const consumed = (final?.sourceOffsets ?? []).reduce((n, o) => n + Number(o.offset), 0);
    expect(consumed).toBeGreaterThan(0);
    expect(consumed).toBeLessThanOrEqual(RECORDS);
    expect(final?.stateOffsets.some((o) => o.topic === `${ns}.state.${job.id}.count`)).toBe(true);
    // Still nothing more while suspended: no task came back, and the sink did not move.
    expect(await noTasks(admin, hops)).toBe(true);
    expect((await readAll(topic('out-mid'))).length).toBe(frozenAt);

    await job.resume();
    // Read to the end once both hops committed through their inputs' ends, not a while after
    // the last count appeared: a double count committed later would be missed.
    const outputs = keyed(await outputsWhenThrough(admin, hops, topic('out-mid'), 90_000));
    // Each key's counts must be exactly 1..RECORDS/KEYS once each.
    const perKey = new Map<string, number[]>();
    for (const o of outputs) perKey.set(o.key, [...(perKey.get(o.key) ?? []), o.value]);
    expect(perKey.size).toBe(KEYS);
    for (const values of perKey.values())
      expect([...values].sort((a, b) => a - b)).toEqual(
        Array.from({ length: RECORDS / KEYS }, (_, i) => i + 1),
      );
    expect(job.history().map((e) => e.type)).toContain('JobResumed');
    // One snapshot per job per interval, recorded by the coordinator, never one per worker.
    const snapshots = job.history().filter((e) => e.type === 'SnapshotCommitted');
    expect(snapshots.length).toBeGreaterThan(0);
    for (const e of snapshots)
      expect(e.type === 'SnapshotCommitted' && e.worker).toMatch(/^coordinator:/);
    const ats = snapshots.map((e) => e.at);
    for (let i = 1; i < ats.length; i++)
      expect((ats[i] ?? 0) - (ats[i - 1] ?? 0)).toBeGreaterThanOrEqual(400);
  }, 120_000);
});

describe('cancelling a job suspended due to an error', () => {
  it('moves it to CANCELLED and rejects join() with JobCancelledError', async () => {
    await produceNumbers(topic('in-cancel'), 600);
    const job = await client.submit('strict-sum', {
      name: 'cancel-me',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: topic('in-cancel'), output: topic('out-cancel') },
    });
    await expect(job.join()).rejects.toBeInstanceOf(JobSuspendedError);
    await job.cancel();
    const err = await job.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobCancelledError);
    expect(job.status()).toBe('CANCELLED');
    const stateTopic = `${ns}.state.${job.id}.sum`;
    await until(async () => !(await admin.listTopics()).includes(stateTopic), 'state topic gone');
  });
});

describe('a bounded (batch) job', () => {
  it('suspends on a poison record, resumes past it, and reaches COMPLETED', async () => {
    await produceNumbers(topic('in-batch'), 900);
    const job = await client.submit('strict-sum', {
      name: 'batch-suspends',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: topic('in-batch'), output: topic('out-batch'), bounded: 'true' },
    });
    await expect(job.join()).rejects.toBeInstanceOf(JobSuspendedError);
    await job.resume({ failingRecord: 'SKIP' });
    await job.join();
    expect(job.status()).toBe('COMPLETED');
    // Read once no task of the job runs any more (the worker stops them on the event; its
    // groups go a few seconds later with its other topics): the sink holds all it ever will.
    // One running sum per record but the skipped one, each once.
    await until(
      () => noTasks(admin, jobHops(ns, job.id, topic('in-batch'), ['sum'])),
      "the job's tasks to stop",
    );
    expect(valuesByKey(await readAll(topic('out-batch')))).toEqual(runningSums(900, POISON));
  });
});

describe('a bounded job spread over two workers', () => {
  it('reaches COMPLETED once every partition is read to its end, whichever worker read it', async () => {
    // Slow user code (async, 5 ms a record) keeps the job running until both workers joined.
    const slow: PipelineFactory = (args) =>
      Pipeline.create()
        .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '', bounded: true }))
        .map(async (r) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return r;
        })
        .groupingKey((r) => r.k)
        .aggregate({ name: 'sum', init: () => 0, add: (s, r) => s + r.n })
        .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
    await worker('multi-a', { 'multi-sum': slow });
    await worker('multi-b', { 'multi-sum': slow });
    await produceNumbers(topic('in-multi'), 1500);
    const job = await client.submit('multi-sum', {
      name: 'multi',
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input: topic('in-multi'), output: topic('out-multi'), bounded: 'true' },
    });
    await job.join();
    expect(job.status()).toBe('COMPLETED');
    expect(latest(await readAll(topic('out-multi')))).toEqual(sums(1500));
    // Both workers took part (each reports its start once it has joined the job's groups).
    const started = job.history().filter((e) => e.type === 'JobStarted');
    expect(new Set(started.map((e) => e.type === 'JobStarted' && e.worker)).size).toBe(2);
  });
});

describe('upgrading a job through an exported snapshot', () => {
  it('starts a changed pipeline with the old state, and refuses code that renamed a stateful stage', async () => {
    const v1 = await worker('v1', { 'up-v1': sum('sum') });
    await produceNumbers(topic('in-up'), 1000);
    const old = await client.submit('up-v1', {
      name: 'up-old',
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 200,
      args: { input: topic('in-up'), output: topic('out-up') },
    });
    await readUntil(topic('out-up'), (a) =>
      [...sums(1000)].every(([k, v]) => latest(a).get(k) === v),
    );
    await until(() => old.snapshot().lastSnapshot !== null, 'a snapshot');
    await old.suspend();
    await until(() => old.status() === 'SUSPENDED', 'SUSPENDED');
    await old.exportSnapshot('up-snap');
    await until(() => old.snapshot().exportedSnapshots['up-snap'] !== undefined, 'the export');
    await old.cancel();
    await stop(v1);

    // Version 2 renamed its stateful stage: it must not start on the snapshot's state.
    const renamed = await worker('v2-renamed', { 'up-v2': sum('total', undefined, 10) });
    const refused = await client.submit('up-v2', {
      name: 'up-refused',
      processingGuarantee: 'EXACTLY_ONCE',
      initialSnapshotName: 'up-snap',
      args: { input: topic('in-up'), output: topic('out-up-refused') },
    });
    const err = await refused.join().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobSuspendedError);
    const cause = (err as JobSuspendedError).suspensionCause;
    expect(cause.error?.name).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(cause.error?.message).toContain('"sum"');
    expect(cause.error?.message).toContain('"total"');
    await refused.cancel();
    await stop(renamed);

    // Version 2 keeps the stage name and counts each new record ten times.
    await worker('v2', { 'up-v2': sum('sum', undefined, 10) });
    await produceNumbers(topic('in-up'), 500, 5, 1001);
    const upgraded = await client.submit('up-v2', {
      name: 'up-new',
      processingGuarantee: 'EXACTLY_ONCE',
      initialSnapshotName: 'up-snap',
      args: { input: topic('in-up'), output: topic('out-up') },
    });
    const expected = sums(1000);
    for (let n = 1001; n <= 1500; n++) {
      const k = `k${(n - 1) % 5}`;
      expected.set(k, (expected.get(k) ?? 0) + n * 10);
    }
    // Read once the new job's hops committed through their topics' ends, not when the sums first
    // looked right: a record processed twice after that moment would not have been read.
    const out = await outputsWhenThrough(
      admin,
      jobHops(ns, upgraded.id, topic('in-up'), ['sum']),
      topic('out-up'),
    );
    expect(latest(out)).toEqual(expected);
    // Nothing from the first 1000 records was processed again by the new job.
    expect(out.length).toBe(1000 + 500);
    // The status follows the job log, which can trail the outputs: the worker's start report
    // waits for an active coordinator, and the role moves between workers as they join and
    // leave the election (three did above).
    await until(() => upgraded.status() === 'RUNNING', 'RUNNING');
  }, 120_000);
});
