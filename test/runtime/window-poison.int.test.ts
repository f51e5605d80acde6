import { afterAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/node/worker.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Windows } from '../../src/pipeline/windowed.js';
import { jobHops, outputsWhenThrough, until } from '../support/job-groups.js';
import { testNamespace, useTopics } from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { connectClient, inProcessWorker, startCoordinator } from '../support/sluice.js';
import { flushRecords, produceTimed, windowedInput } from '../support/windowed-input.js';
import { byWindow, windowCounts, type WindowCount } from '../support/windows-model.js';

// Issue 19, item 4, for windows, on a real broker: a record whose window's add throws suspends
// the job, naming the window stage and the record; the failure snapshot holds exactly the
// windows the records before it closed. Fixed and resumed, every window's count is exact; a
// second job resumed with the record dead-lettered counts every window without it.

const ns = testNamespace('winpoison');
const admin = await useTopics(ns, [
  { topic: `${ns}.a`, numPartitions: 1 },
  { topic: `${ns}.b`, numPartitions: 1 },
  { topic: `${ns}.a-out`, numPartitions: 1 },
  { topic: `${ns}.b-out`, numPartitions: 1 },
  { topic: `${ns}.dlq`, numPartitions: 1 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');

/** The position (and offset: one partition) of the record the broken code throws on. */
const POISON = 250;
const GRACE = 2_000;
const LAG = 1_000;
const input = windowedInput(600, 5, 1);
const flush = flushRecords(1);

/** in → per key, a count in tumbling windows of 1 s (the broken add throws on the poison). */
function counts(fixed: boolean) {
  return (args: Record<string, string>): PipelineDef =>
    Pipeline.create()
      .readFrom<{ k: string; ts: number; i: number }>(Sources.kafka({ topic: args.input ?? '' }))
      .groupingKey((r) => r.k)
      .window(Windows.tumbling({ sizeMs: 1_000, graceMs: GRACE }), { outOfOrderMs: LAG })
      .aggregate({
        name: 'sums',
        init: () => 0,
        add: (n: number, r) => {
          if (!fixed && r.i === POISON) throw new RangeError(`record ${r.i} is poison`);
          return n + 1;
        },
      })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}

function worker(workerId: string, fixed: boolean, version: string): Worker {
  return inProcessWorker(ns, workerId).register('counts', counts(fixed), { version });
}

const broken = worker('broken-1', false, 'v1');
await broken.start();
let brokenStopped = false;
afterAll(() => (brokenStopped ? undefined : broken.stop()));

const windows = (all: { value: Buffer | null }[]): WindowCount[] =>
  all.map((r) => JSON.parse(String(r.value)) as WindowCount).sort(byWindow);
const model = (records: typeof input): WindowCount[] =>
  windowCounts(records, { kind: 'tumbling', size: 1_000 }, GRACE, LAG).closed.sort(byWindow);

const submit = (name: string) =>
  client.submit('counts', {
    name,
    processingGuarantee: 'EXACTLY_ONCE',
    suspendOnFailure: true,
    args: { input: `${ns}.${name}`, output: `${ns}.${name}-out` },
  });
const jobA = await submit('a');
const jobB = await submit('b');
for (const topic of [`${ns}.a`, `${ns}.b`]) await produceTimed(topic, [...input, ...flush]);

describe('a poison record inside a window', () => {
  it('suspends the job in the window stage; the failure snapshot holds the windows before it', async () => {
    for (const job of [jobA, jobB]) {
      await until(() => job.status() === 'SUSPENDED_DUE_TO_ERROR', `job ${job.name} suspended`);
      expect(job.suspensionCause()).toMatchObject({
        stage: 'sums',
        error: { name: 'RangeError', message: `record ${POISON} is poison` },
        record: { topic: `${ns}.${job.name}`, partition: 0, offset: String(POISON) },
      });
      // Committed up to the record before the poison: the windows those records closed, exactly.
      const before = model(input.slice(0, POISON));
      expect(before.length).toBeGreaterThan(10);
      expect(windows(await readAll(`${ns}.${job.name}-out`))).toEqual(before);
    }
  });

  it('resumed with the record dead-lettered, counts every window without it, exactly', async () => {
    await jobB.resume({ failingRecord: 'DEAD_LETTER', deadLetterTopic: `${ns}.dlq` });
    const got = await outputsWhenThrough(
      admin,
      jobHops(ns, jobB.id, `${ns}.b`, ['sums']),
      `${ns}.b-out`,
      120_000,
    );
    const kept = input.filter((r) => r.i !== POISON);
    expect(windows(got)).toEqual(model([...kept, ...flush]));
    expect(got).toHaveLength(model([...kept, ...flush]).length);
    const dlq = await readAll(`${ns}.dlq`);
    expect(dlq.map((r) => (JSON.parse(String(r.value)) as { i: number }).i)).toEqual([POISON]);
  }, 180_000);

  it('fixed and resumed, counts every window exactly, the poison record included', async () => {
    const fixed = worker('fixed-1', true, 'v2');
    await fixed.start();
    afterAll(() => fixed.stop());
    await broken.stop();
    brokenStopped = true;
    await jobA.resume();
    const got = await outputsWhenThrough(
      admin,
      jobHops(ns, jobA.id, `${ns}.a`, ['sums']),
      `${ns}.a-out`,
      120_000,
    );
    expect(jobA.status()).toBe('RUNNING');
    const all = model([...input, ...flush]);
    // Once each: the windows committed before the failure are not emitted again.
    expect(got).toHaveLength(all.length);
    expect(windows(got)).toEqual(all);
  }, 180_000);
});
