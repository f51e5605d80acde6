import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { changelogTopic, repartitionTopic } from '../../src/domain/resources.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { JobRunner } from '../../src/runtime/job-runner.js';
import {
  eventsOf,
  jobConfig,
  participant,
  runnerDeps,
  startCoordinator,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import {
  background,
  committedValues,
  drive,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// groupByKey (state on the source's own partitions, no repartition topic) and an aggregate that
// emits per commit, run by a job runner on the in-memory Kafka under EXACTLY_ONCE.

const NS = 'sl';
const JOB = 'j1';
const KEYS = 7;

interface In {
  n: number;
}
interface Out {
  key: string;
  value: number;
}

/** Records 0..count-1, keyed `k<n % KEYS>`, each in the partition of its key (as a producer that partitions by key would). */
async function write(w: MemoryWorld, count: number, partitions: number, keyless?: number) {
  const records = Array.from({ length: count }, (_, n) => ({
    key: n === keyless ? null : `k${n % KEYS}`,
    value: JSON.stringify({ n }),
    partition: (n % KEYS) % partitions,
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
}

async function startRunner(pipeline: PipelineDef | ((w: MemoryWorld) => PipelineDef)) {
  const w = memoryWorld();
  w.cluster.createTopic('in', 3);
  w.cluster.createTopic('out', 3);
  const coordinator = startCoordinator(w, NS, 'coord');
  await untilActive(w, coordinator);
  const worker = await participant(w, NS, 'w1');
  const job = await submit(w, worker, JOB, jobConfig('keyed'));
  const runner = new JobRunner({
    ...runnerDeps(w, NS, worker),
    job,
    pipeline: typeof pipeline === 'function' ? pipeline(w) : pipeline,
    plan: NO_PLAN,
  });
  background(runner.start());
  return { w, worker, runner };
}

/** A new runner of the job, as after a resume on fixed code: the job as the worker's log has it now. */
function rerun(w: MemoryWorld, worker: Participant, pipeline: PipelineDef): JobRunner {
  const job = worker.log.state(JOB);
  if (!job) throw new Error(`job ${JOB} is not in the log`);
  return new JobRunner({ ...runnerDeps(w, NS, worker), job, pipeline, plan: NO_PLAN });
}

/** The job's suspension event, once the clock has been driven until the job is suspended. */
async function suspension(w: MemoryWorld, worker: Participant) {
  expect(
    await w.clock.runUntil(
      () => worker.log.state(JOB)?.status === 'SUSPENDED_DUE_TO_ERROR',
      60_000,
    ),
  ).toBe(true);
  return (await eventsOf(w, NS, JOB)).find(
    (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
      e.type === 'JobSuspendedDueToError',
  );
}

/** The expected running total of each key over records 0..count-1 (the sum of their n). */
function totals(count: number): Map<string, number> {
  const t = new Map<string, number>();
  for (let n = 0; n < count; n++) t.set(`k${n % KEYS}`, (t.get(`k${n % KEYS}`) ?? 0) + n);
  return t;
}

/** Each key's latest value in the sink's committed output. */
function latest(w: MemoryWorld): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of committedValues<Out>(w.cluster, 'out')) m.set(o.key, o.value);
  return m;
}

const sum = (emit?: 'update' | 'commit', byKey = true, after?: (o: Out) => Out) => {
  const source = Pipeline.create().readFrom<In>(Sources.kafka({ topic: 'in' }));
  const keyed = byKey ? source.groupByKey() : source.groupingKey((r) => `k${r.n % KEYS}`);
  const summed = keyed.aggregate({
    name: 'sum',
    init: () => 0,
    add: (s: number, r: In) => s + r.n,
    ...(emit && { emit }),
  });
  return (after ? summed.map(after, { name: 'after' }) : summed).writeTo(
    Sinks.kafka({ topic: 'out' }),
  );
};

async function topics(w: MemoryWorld): Promise<string[]> {
  const admin = w.cluster.client('look').admin();
  await drive(w.clock, admin.connect());
  return drive(w.clock, admin.listTopics());
}

describe('groupByKey', () => {
  it('keeps state on the source partitions: exact totals, a changelog, and no repartition topic', async () => {
    const { w } = await startRunner(sum());
    await write(w, 300, 3);
    const expected = totals(300);
    expect(await w.clock.runUntil(() => latest(w).size === KEYS, 30_000)).toBe(true);
    expect(
      await w.clock.runUntil(() => [...expected].every(([k, v]) => latest(w).get(k) === v), 30_000),
    ).toBe(true);
    expect(committedValues(w.cluster, 'out')).toHaveLength(300); // one output per update
    const all = await topics(w);
    expect(all).toContain(changelogTopic(NS, JOB, 'sum'));
    expect(all).not.toContain(repartitionTopic(NS, JOB, 'sum'));
  });

  it('suspends the job on a record without a key, naming the record and what to do', async () => {
    const { w, worker } = await startRunner(sum());
    await write(w, 50, 3, 10);
    const suspended = await suspension(w, worker);
    expect(suspended?.cause.record).toMatchObject({ topic: 'in', partition: (10 % KEYS) % 3 });
    expect(suspended?.cause.error?.message).toMatch(/groupByKey\(\): the source record has no key/);
  });
});

describe("an aggregate with emit: 'commit'", () => {
  it('emits each key once per commit, its latest value, and ends exact', async () => {
    const { w } = await startRunner(sum('commit'));
    await write(w, 600, 3);
    const expected = totals(600);
    expect(
      await w.clock.runUntil(() => [...expected].every(([k, v]) => latest(w).get(k) === v), 30_000),
    ).toBe(true);
    const outputs = committedValues<Out>(w.cluster, 'out');
    // Far fewer writes than records: at most one per key per commit.
    expect(outputs.length).toBeLessThan(600 / 4);
    expect(outputs.length).toBeGreaterThanOrEqual(KEYS);
    // A key's values only grow (every n is ≥ 0): no stale value is emitted after a newer one.
    const seen = new Map<string, number>();
    for (const o of outputs) {
      expect(o.value).toBeGreaterThanOrEqual(seen.get(o.key) ?? 0);
      seen.set(o.key, o.value);
    }
  });

  it('reports the exact record when a later stage fails on a latest value', async () => {
    // The stage after the aggregate throws once k3's running total passes 1000, as it would on
    // that update if every update were emitted.
    const failAt = (o: Out): Out => {
      if (o.key === 'k3' && o.value > 1000) throw new RangeError(`k3 passed 1000: ${o.value}`);
      return o;
    };
    const { w, worker } = await startRunner(sum('commit', true, failAt));
    await write(w, 300, 3);
    const suspended = await suspension(w, worker);
    let total = 0;
    let culprit = 3;
    for (; total + culprit <= 1000; culprit += KEYS) total += culprit;
    // Partition 0 holds k0, k3 and k6, in record order.
    const partition0 = Array.from({ length: 300 }, (_, n) => n).filter((n) => (n % KEYS) % 3 === 0);
    expect(suspended?.cause.record).toMatchObject({
      topic: 'in',
      partition: 0,
      offset: String(partition0.indexOf(culprit)),
    });
    expect(suspended?.cause.stage).toBe('after');
    expect(suspended?.cause.error?.message).toMatch(/k3 passed 1000/);
    // Everything before the failing record committed, its latest totals included.
    expect(latest(w).get('k3')).toBe(total);
  });
});

describe('switching a stage from groupingKey to groupByKey on resume', () => {
  /** Records from..to-1 keyed `k<n % KEYS>`, partitioned by murmur2 of the key, as Kafka's producers do. */
  async function writeKeyed(w: MemoryWorld, from: number, to: number) {
    const records = Array.from({ length: to - from }, (_, i) => ({
      key: `k${(from + i) % KEYS}`,
      value: JSON.stringify({ n: from + i }),
    }));
    await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  }

  const exact = (w: MemoryWorld, count: number) =>
    w.clock.runUntil(() => [...totals(count)].every(([k, v]) => latest(w).get(k) === v), 30_000);

  it('keeps the state: a key has the same partition in the repartition topic and the source', async () => {
    const { w, worker, runner } = await startRunner(sum('update', false));
    await writeKeyed(w, 0, 200);
    expect(await exact(w, 200)).toBe(true);
    await drive(w.clock, runner.stop());

    const again = rerun(w, worker, sum());
    background(again.start());
    await writeKeyed(w, 200, 400);
    expect(await exact(w, 400)).toBe(true);
  });

  it('refuses while the repartition topic still holds records the stage has not read', async () => {
    const slow = (w: MemoryWorld) =>
      Pipeline.create()
        .readFrom<In>(Sources.kafka({ topic: 'in' }))
        .groupingKey((r) => `k${r.n % KEYS}`)
        .aggregate({
          name: 'sum',
          init: () => 0,
          add: (s: number, r: In) => w.clock.sleep(50).then(() => s + r.n),
        })
        .writeTo(Sinks.kafka({ topic: 'out' }));
    const { w, worker, runner } = await startRunner((world) => slow(world));
    await writeKeyed(w, 0, 400);
    const handed = () => committedValues(w.cluster, repartitionTopic(NS, JOB, 'sum')).length;
    expect(await w.clock.runUntil(() => handed() === 400, 30_000)).toBe(true);
    await drive(w.clock, runner.stop());
    expect(committedValues(w.cluster, 'out').length).toBeLessThan(400);

    const again = rerun(w, worker, sum());
    const refused = await drive(w.clock, again.start()).then(
      () => undefined,
      (err: unknown) => err as { code?: string; message?: string },
    );
    expect(refused?.code).toBe('SLUICE_STATE_INCOMPATIBLE');
    expect(refused?.message).toMatch(
      /stage "sum" had \d+ record\(s\) in its repartition topic not yet read/,
    );
  });
});
