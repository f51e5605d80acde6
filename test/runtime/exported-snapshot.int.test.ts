import { afterAll, describe, expect, it } from 'vitest';
import { CommandRejectedError } from '../../src/domain/job-errors.js';
import { changelogTopic, snapshotTopic } from '../../src/domain/resources.js';
import { Worker, type PipelineFactory } from '../../src/node/worker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { jobHops, outputsWhenThrough, until } from '../support/job-groups.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';
import { latest, produceNumbers, readUntil, sums } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// An exported snapshot holds the state as it was at export in topics of its own, on a real
// broker: a job started from it after its source job was cancelled (and its topics deleted)
// gets that state exactly; a deleted snapshot starts nothing (docs/operations.md, "Exporting a
// snapshot").

const ns = testNamespace('expsnap');
const topic = (t: string): string => `${ns}.${t}`;
const admin = await useTopics(
  ns,
  ['in', 'out-a', 'out-b'].map((t) => ({ topic: topic(t), numPartitions: 3 })),
);
const client = await connectClient(ns);

type Rec = { n: number; k: string };

/** A keyed sum over `{ n, k }`, read from args.input, written to args.output. */
const sum: PipelineFactory = (args) =>
  Pipeline.create()
    .readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }))
    .groupingKey((r) => r.k)
    .aggregate({ name: 'sum', init: () => 0, add: (s, r) => s + r.n })
    .writeTo(Sinks.kafka({ topic: args.output ?? '' }));

const { brokers, registryUrl } = endpoints();
const worker = new Worker({
  brokers,
  registryUrl,
  namespace: ns,
  logger: testLogger,
  workerId: 'w1',
});
worker.register('snap-sum', sum);
await worker.start();
afterAll(() => worker.stop());

describe('an exported snapshot on a real broker', () => {
  it('seeds a job started after its source job was cancelled and cleaned up with the exported state exactly, until it is deleted', async () => {
    await produceNumbers(topic('in'), 600);
    const a = await client.submit('snap-sum', {
      name: 'snap-a',
      processingGuarantee: 'EXACTLY_ONCE',
      snapshotIntervalMs: 200,
      args: { input: topic('in'), output: topic('out-a') },
    });
    await readUntil(topic('out-a'), (all) =>
      [...sums(600)].every(([k, v]) => latest(all).get(k) === v),
    );
    await until(() => a.snapshot().lastSnapshot !== null, 'a snapshot');
    await a.suspend();
    await until(() => a.status() === 'SUSPENDED', 'SUSPENDED');
    await a.exportSnapshot('snap');
    await until(() => client.snapshots().length === 1, 'the export in the log');
    const [listed] = client.snapshots();
    expect(listed).toMatchObject({ name: 'snap', jobId: a.id, copied: true });
    expect(listed?.stages.map((s) => s.stage)).toEqual(['sum']);
    expect(listed?.stages[0]?.records).toBeGreaterThan(0);

    // The source job goes, and its worker deletes its changelogs a few seconds later.
    await a.cancel();
    await until(
      async () => !(await admin.listTopics()).includes(changelogTopic(ns, a.id, 'sum')),
      "the cancelled job's changelog to be deleted",
    );
    expect(await admin.listTopics()).toContain(snapshotTopic(ns, 'snap', 'sum'));

    await produceNumbers(topic('in'), 300, 5, 601);
    const b = await client.submit('snap-sum', {
      name: 'snap-b',
      processingGuarantee: 'EXACTLY_ONCE',
      initialSnapshotName: 'snap',
      args: { input: topic('in'), output: topic('out-b') },
    });
    const out = await outputsWhenThrough(
      admin,
      jobHops(ns, b.id, topic('in'), ['sum']),
      topic('out-b'),
    );
    // The sums of 1..600 as exported, plus 601..900, each record once.
    expect(latest(out)).toEqual(sums(900));
    expect(out).toHaveLength(300);
    await until(() => b.status() === 'RUNNING', 'RUNNING');
    await b.cancel();

    await client.deleteSnapshot('snap');
    expect(client.snapshots()).toEqual([]);
    expect(await admin.listTopics()).not.toContain(snapshotTopic(ns, 'snap', 'sum'));
    const refused = await client
      .submit('snap-sum', {
        name: 'snap-c',
        initialSnapshotName: 'snap',
        args: { input: topic('in'), output: topic('out-b') },
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CommandRejectedError);
    expect((refused as CommandRejectedError).rejectionCode).toBe('UNKNOWN_SNAPSHOT');
  }, 180_000);
});
