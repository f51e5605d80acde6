import { describe, expect, it } from 'vitest';
import { SluiceClient } from '../../src/client/client.js';
import { isSluiceError } from '../../src/domain/errors.js';
import type { EventOf, JobEvent } from '../../src/domain/events.js';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import { changelogTopic, snapshotTopic } from '../../src/domain/resources.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  jobConfig,
  memoryClient,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import {
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// Exported snapshots hold the state as it was at export, in topics of their own: a job started
// from one gets that state whatever became of the job it came from (docs/operations.md,
// "Exporting a snapshot"). On the in-memory Kafka, with a real coordinator, worker and client.

const NS = 'sl';
const A = 'job-a';
const KEYS = 3;

interface Out {
  key: string;
  value: number;
}

/** Records from..to-1 as `{ n }`, keyed `k<n % KEYS>`. */
async function write(w: MemoryWorld, from: number, to: number): Promise<void> {
  const records = Array.from({ length: to - from }, (_, i) => ({
    key: `k${(from + i) % KEYS}`,
    value: JSON.stringify({ n: from + i }),
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

/** The sum per key of n over from..to-1. */
function sums(from: number, to: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = from; n < to; n++) m.set(`k${n % KEYS}`, (m.get(`k${n % KEYS}`) ?? 0) + n);
  return m;
}

/** The last value per key written to a topic. */
function latest(w: MemoryWorld, topic: string): Map<string, number> {
  return new Map(committedValues<Out>(w.cluster, topic).map((o) => [o.key, o.value]));
}

function sameSums(a: Map<string, number>, b: Map<string, number>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/**
 * Job A sums 30 records per key (writing to `out`), is suspended and exported as "snap" by a
 * client named alice. Every job the worker starts writes to the `output` of the moment.
 */
async function exportedJob() {
  const w = memoryWorld();
  w.cluster.createTopic('in', 2);
  for (const t of ['out', 'out-b']) w.cluster.createTopic(t, 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const { client, participant: alice } = await memoryClient(w, NS, 'alice');
  const io = { output: 'out', joinStream: false };
  const pipeline = () => {
    const output = io.output;
    if (io.joinStream)
      return Pipeline.create()
        .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
        .groupingKey((r) => `k${r.n % KEYS}`)
        .joinStream({
          name: 'paid',
          other: Sources.kafka({ topic: 'in' }),
          otherKey: (r: { n: number }) => `k${r.n % KEYS}`,
          windowMs: 1_000,
          join: (a: { n: number }, b: { n: number }) => a.n + b.n,
        })
        .writeTo(Sinks.kafka({ topic: output }));
    return Pipeline.create()
      .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
      .groupingKey((r) => `k${r.n % KEYS}`)
      .aggregate({ name: 'sum', init: () => 0, add: (t: number, r: { n: number }) => t + r.n })
      .writeTo(Sinks.kafka({ topic: output }));
  };
  const worker = await startWorker(w, NS, 'w1', pipeline);
  await submit(w, alice, A, jobConfig('a', { snapshotIntervalMs: 1_000 }));
  const status = (id: string) => alice.log.state(id)?.status;
  expect(await w.clock.runUntil(() => status(A) === 'RUNNING', 30_000)).toBe(true);
  await write(w, 0, 30);
  expect(await w.clock.runUntil(() => sameSums(latest(w, 'out'), sums(0, 30)), 60_000)).toBe(true);
  const job = client.getJob(A);
  await drive(w.clock, job.suspend());
  expect(
    await w.clock.runUntil(
      () => status(A) === 'SUSPENDED' && alice.log.state(A)?.lastSnapshot !== null,
      60_000,
    ),
  ).toBe(true);
  return { w, client, alice, io, worker, status, job };
}

type World = Awaited<ReturnType<typeof exportedJob>>;

/** Starts job B from "snap", writing to out-b, and waits until it is RUNNING. */
async function startFromSnapshot(t: World, id = 'job-b'): Promise<void> {
  t.io.output = 'out-b';
  await submit(t.w, t.alice, id, jobConfig('b', { initialSnapshotName: 'snap' }));
  expect(await t.w.clock.runUntil(() => t.status(id) === 'RUNNING', 60_000)).toBe(true);
}

function exportedEvent(events: JobEvent[]): EventOf<'SnapshotExported'> | undefined {
  return events.find((e): e is EventOf<'SnapshotExported'> => e.type === 'SnapshotExported');
}

async function rejection(work: Promise<unknown>, t: World): Promise<unknown> {
  return drive(t.w.clock, work).then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('an exported snapshot', () => {
  it('stays put: a job started from it after the source job resumed and wrote more state gets the state as exported', async () => {
    const t = await exportedJob();
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    const copy = exportedEvent(t.client.history(A))?.copy;
    expect(copy?.stages.map((s) => s.topic)).toEqual([snapshotTopic(NS, 'snap', 'sum')]);
    const copied = t.w.cluster.read(snapshotTopic(NS, 'snap', 'sum')).length;
    expect(copied).toBeGreaterThan(0);

    // The source job moves on: 30 more records, its state far past the export.
    await drive(t.w.clock, t.job.resume());
    await write(t.w, 30, 60);
    expect(await t.w.clock.runUntil(() => sameSums(latest(t.w, 'out'), sums(0, 60)), 60_000)).toBe(
      true,
    );
    expect(t.w.cluster.read(snapshotTopic(NS, 'snap', 'sum')).length).toBe(copied);

    // Started while the source job runs on: from the exported state and positions, so it
    // counts records 30..59 on top of the sums of 0..29, each once.
    await startFromSnapshot(t);
    expect(
      await t.w.clock.runUntil(() => sameSums(latest(t.w, 'out-b'), sums(0, 60)), 60_000),
    ).toBe(true);
    expect(committedValues(t.w.cluster, 'out-b')).toHaveLength(30);
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it('seeds a job started after the source job was cancelled and its topics deleted with the exported state exactly', async () => {
    const t = await exportedJob();
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    await drive(t.w.clock, t.job.resume());
    await write(t.w, 30, 45);
    expect(await t.w.clock.runUntil(() => sameSums(latest(t.w, 'out'), sums(0, 45)), 60_000)).toBe(
      true,
    );
    await drive(t.w.clock, t.job.cancel());
    const gone = async () =>
      !(await t.client.topicExists(changelogTopic(NS, A, 'sum'))) && t.status(A) === 'CANCELLED';
    let cleaned = false;
    for (let i = 0; i < 30 && !cleaned; i++) {
      cleaned = await drive(t.w.clock, gone());
      if (!cleaned) await t.w.clock.runUntil(() => false, 1_000);
    }
    expect(cleaned).toBe(true);

    await write(t.w, 45, 60);
    await startFromSnapshot(t);
    expect(
      await t.w.clock.runUntil(() => sameSums(latest(t.w, 'out-b'), sums(0, 60)), 60_000),
    ).toBe(true);
    // Exactly the records after the export, each once, on the exported sums.
    const out = committedValues<Out>(t.w.cluster, 'out-b');
    expect(out).toHaveLength(30);
    const first = new Map<string, number>();
    for (const o of out) if (!first.has(o.key)) first.set(o.key, o.value);
    for (const [k, v] of first) {
      const n = [...Array(30).keys()].map((i) => i + 30).find((x) => `k${x % KEYS}` === k)!;
      expect(v).toBe((sums(0, 30).get(k) ?? 0) + n);
    }
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it('is not usable when the export crashes midway: no event, and no job can start from it', async () => {
    const t = await exportedJob();
    // The copy's first send is written, then the exporter "dies" (its call fails).
    t.w.cluster.failNext({
      op: 'send',
      client: 'alice',
      topic: snapshotTopic(NS, 'snap', 'sum'),
      error: new Error('exporter killed'),
      when: 'after',
    });
    const err = await rejection(t.job.exportSnapshot('snap'), t);
    expect(err).toBeInstanceOf(Error);
    expect(exportedEvent(t.client.history(A))).toBeUndefined();
    expect(t.client.snapshots()).toEqual([]);
    expect(t.status(A)).toBe('SUSPENDED');
    const refused = await rejection(
      t.alice.sender.send('job-b', 'SubmitJob', {
        pipeline: 'p',
        config: jobConfig('b', { initialSnapshotName: 'snap' }),
      }),
      t,
    );
    expect(refused).toBeInstanceOf(CommandRejectedError);
    expect((refused as CommandRejectedError).rejectionCode).toBe('UNKNOWN_SNAPSHOT');

    // Exporting again replaces the half-written copy with a whole one.
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    const copy = exportedEvent(t.client.history(A))?.copy;
    const stage = copy?.stages[0];
    expect(t.w.cluster.watermarks(snapshotTopic(NS, 'snap', 'sum')).map((p) => p.high)).toEqual(
      stage?.records,
    );
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it('is not recorded when its copy does not hold exactly what was read (a send written twice)', async () => {
    const t = await exportedJob();
    // A send that was written but whose answer was lost, retried by a client: written twice.
    const inner = t.w.cluster.client('alice');
    const twice: typeof inner = Object.create(inner) as typeof inner;
    twice.producer = () => {
      const p = inner.producer();
      return {
        connect: () => p.connect(),
        disconnect: () => p.disconnect(),
        send: async (records) => {
          await p.send(records);
          return p.send(records);
        },
      };
    };
    const { log, sender } = t.alice;
    const client = new SluiceClient({ log, sender, kafka: twice, logger: t.client.logger });
    const err = await rejection(client.getJob(A).exportSnapshot('snap'), t);
    expect(isSluiceError(err) && err.code).toBe('SLUICE_SNAPSHOT_COPY_FAILED');
    expect(exportedEvent(t.client.history(A))).toBeUndefined();
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it('is listed, and once deleted its topics are gone and no job can start from it', async () => {
    const t = await exportedJob();
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    const [listed] = t.client.snapshots();
    expect(listed).toMatchObject({
      name: 'snap',
      jobId: A,
      jobName: 'a',
      copied: true,
      exportedBy: 'alice',
      topics: [snapshotTopic(NS, 'snap', 'sum'), `${NS}.snapshot-input.snap.sum`],
    });
    expect(listed?.stages.map((s) => s.stage)).toEqual(['sum']);
    expect(listed?.stages[0]?.records).toBe(
      t.w.cluster.read(snapshotTopic(NS, 'snap', 'sum')).length,
    );

    await drive(t.w.clock, t.client.deleteSnapshot('snap'));
    expect(t.client.history(A).map((e) => e.type)).toContain('SnapshotDeleted');
    expect(t.client.snapshots()).toEqual([]);
    for (const topic of listed?.topics ?? [])
      expect(await drive(t.w.clock, t.client.topicExists(topic))).toBe(false);
    const refused = await rejection(
      t.client.submit('p', { name: 'b', initialSnapshotName: 'snap' }),
      t,
    );
    expect(refused).toBeInstanceOf(CommandRejectedError);
    expect((refused as CommandRejectedError).rejectionCode).toBe('UNKNOWN_SNAPSHOT');
    expect((refused as CommandRejectedError).reason).toContain('"snap"');
    const again = await rejection(t.client.deleteSnapshot('snap'), t);
    expect(isSluiceError(again) && again.code).toBe('SLUICE_SNAPSHOT_UNAVAILABLE');
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it('once deleted, leaves a job already started from it running on: a resume needs no snapshot', async () => {
    const t = await exportedJob();
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    await drive(t.w.clock, t.job.cancel());
    await startFromSnapshot(t);
    await drive(t.w.clock, t.client.deleteSnapshot('snap'));
    const b = t.client.getJob('job-b');
    await drive(t.w.clock, b.suspend());
    expect(await t.w.clock.runUntil(() => t.status('job-b') === 'SUSPENDED', 60_000)).toBe(true);
    await drive(t.w.clock, b.resume());
    expect(await t.w.clock.runUntil(() => t.status('job-b') === 'RUNNING', 60_000)).toBe(true);
    await write(t.w, 30, 36);
    expect(
      await t.w.clock.runUntil(() => sameSums(latest(t.w, 'out-b'), sums(0, 36)), 60_000),
    ).toBe(true);
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });

  it("does not seed a job with a stream join, whose other stream's position it does not hold: suspended, naming the stage", async () => {
    const t = await exportedJob();
    await drive(t.w.clock, t.job.exportSnapshot('snap'));
    // Job b's pipeline is not a's: the refusal comes before its stages are compared.
    t.io.joinStream = true;
    t.io.output = 'out-b';
    await submit(t.w, t.alice, 'job-b', jobConfig('b', { initialSnapshotName: 'snap' }));
    expect(
      await t.w.clock.runUntil(() => t.status('job-b') === 'SUSPENDED_DUE_TO_ERROR', 60_000),
    ).toBe(true);
    const b = t.alice.log.state('job-b');
    const cause = b?.status === 'SUSPENDED_DUE_TO_ERROR' ? b.suspensionCause : undefined;
    expect(cause?.error?.name).toBe('SLUICE_SNAPSHOT_UNAVAILABLE');
    expect(cause?.error?.message).toContain(
      'Snapshot "snap" cannot seed this job: stage "paid" is a stream join',
    );
    expect(committedValues(t.w.cluster, 'out-b')).toEqual([]);
    await drive(t.w.clock, stopWorkerParts(t.worker));
  });
});
