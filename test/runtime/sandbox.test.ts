import { describe, expect, it } from 'vitest';
import type { RecordRef } from '../../src/domain/cause.js';
import {
  changelogTopic,
  jobGroup,
  repartitionTopic,
  stageGroup,
} from '../../src/domain/resources.js';
import type { JobState } from '../../src/domain/state.js';
import { stopWorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { runInSandbox, type SandboxResult } from '../../src/runtime/sandbox.js';
import {
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  untilStatus,
} from '../support/memory-sluice.js';
import {
  drive,
  memoryWorld,
  produce,
  TEST_RETRY,
  type MemoryWorld,
} from '../support/memory-world.js';

// The sandbox of a dry run (issue 17, item 2), on the in-memory Kafka: a job suspended on a
// poison record before a repartitioned aggregate. The record runs through the broken code
// (the error, with its stage) and the fixed code (the output, from the key's state read from
// the changelog), and running it changes no topic, no committed offset, and not the state.

const NS = 'sl';
const JOB = 'j1';
const POISON = 7;

/** in → price (the broken code throws on n = POISON) → sum per k (after a repartition) → out. */
function sums(fixed: boolean): PipelineDef {
  return Pipeline.create()
    .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: 'in' }))
    .map(
      (r) => {
        if (!fixed && r.n === POISON) throw new RangeError(`n=${r.n} has no price`);
        return r;
      },
      { name: 'price' },
    )
    .groupingKey((r) => r.k)
    .aggregate({ name: 'totals', init: () => 0, add: (s: number, r) => s + r.n })
    .writeTo(Sinks.kafka({ topic: 'out' }));
}

/** Records n = 1..10 on one partition, keyed and grouped `a` (odd n) or `b` (even n). */
async function suspendedJob(): Promise<{ w: MemoryWorld; job: JobState; record: RecordRef }> {
  const w = memoryWorld();
  w.cluster.createTopic('in', 1);
  w.cluster.createTopic('out', 1);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  const worker = await startWorker(w, NS, 'w1', () => sums(false));
  await submit(w, user, JOB, jobConfig('sums'));
  const records = Array.from({ length: 10 }, (_, i) => {
    const n = i + 1;
    const k = n % 2 === 1 ? 'a' : 'b';
    return { key: k, value: JSON.stringify({ n, k }) };
  });
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  expect(await untilStatus(w, user, JOB, 'SUSPENDED_DUE_TO_ERROR')).toBe(true);
  await drive(w.clock, stopWorkerParts(worker));
  const job = user.log.state(JOB)!;
  if (job.status !== 'SUSPENDED_DUE_TO_ERROR' || !job.suspensionCause.record)
    throw new Error('the job is not suspended on a record');
  return { w, job, record: job.suspensionCause.record };
}

function sandbox(w: MemoryWorld, job: JobState, record: RecordRef, fixed: boolean) {
  return drive(
    w.clock,
    runInSandbox({
      kafka: w.cluster.client('dry'),
      registry: w.registry,
      namespace: NS,
      job,
      pipeline: sums(fixed),
      record,
      retry: TEST_RETRY,
      logger: w.logger,
    }),
  );
}

/** What a dry run must leave as it was: every topic's records, and the job's groups' offsets. */
function footprint(w: MemoryWorld) {
  const topics = [
    'in',
    'out',
    changelogTopic(NS, JOB, 'totals'),
    repartitionTopic(NS, JOB, 'totals'),
  ];
  return {
    records: topics.map((t) => [t, w.cluster.watermarks(t)]),
    committed: [jobGroup(NS, JOB), stageGroup(NS, JOB, 'totals')].map((g) =>
      w.cluster.committed(g),
    ),
  };
}

describe('a dry run in the sandbox', () => {
  it("reports the broken code's error with its stage, and the fixed code's output from the key's saved state, changing nothing", async () => {
    const { w, job, record } = await suspendedJob();
    expect(record).toMatchObject({ topic: 'in', partition: 0, offset: String(POISON - 1) });
    // The state the failure snapshot kept for key a: 1 + 3 + 5, the sum last written to `out`.
    const out = w.cluster.read('out').map((r) => JSON.parse(r.value!.toString()) as object);
    expect(out.at(-1)).toEqual({ key: 'b', value: 2 + 4 + 6 });
    expect(out).toContainEqual({ key: 'a', value: 9 });
    const before = footprint(w);
    expect(before.committed[0]).toEqual([
      { topic: 'in', partition: 0, offset: String(POISON - 1) },
    ]);

    const broken = await sandbox(w, job, record, false);
    expect(broken).toEqual<SandboxResult>({
      outputs: [],
      outputCount: 0,
      error: {
        name: 'RangeError',
        message: `n=${POISON} has no price`,
        stack: expect.any(String) as string,
      },
      stage: 'price',
    });

    const fixed = await sandbox(w, job, record, true);
    expect(fixed).toEqual<SandboxResult>({
      outputs: [{ key: 'a', valuePreview: JSON.stringify({ key: 'a', value: 9 + POISON }) }],
      outputCount: 1,
      error: null,
      stage: null,
    });
    // The state the first run wrote was discarded: a second run starts from the saved state too.
    expect(await sandbox(w, job, record, true)).toEqual(fixed);
    expect(footprint(w)).toEqual(before);
  });

  it('answers a record that can no longer be read with SLUICE_SOURCE_DATA_LOST, naming it', async () => {
    const { w, job, record } = await suspendedJob();
    w.cluster.deleteRecords('in', 0, POISON);
    const result = await sandbox(w, job, record, true);
    expect(result).toMatchObject({ outputs: [], outputCount: 0, stage: null });
    expect(result.error?.name).toBe('SLUICE_SOURCE_DATA_LOST');
    expect(result.error?.message).toContain(`in/0@${POISON - 1}`);
  });
});
