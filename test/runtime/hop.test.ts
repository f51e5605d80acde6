import { describe, expect, it } from 'vitest';
import type { ProcessingGuarantee } from '../../src/domain/status.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { FENCED_PAUSE_MS } from '../../src/domain/settings.js';
import { KafkaProtocolError } from '../../src/kafka/errors.js';
import type {
  ConsumeOptions,
  ConsumerOptions,
  GroupConsumer,
  Kafka,
  ProducedRecord,
} from '../../src/kafka/port.js';
import { ReadFailure, readFailureReport } from '../../src/runtime/failure.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import { Hop } from '../../src/runtime/hop.js';
import { taskTransactionalId } from '../../src/domain/resources.js';
import {
  background,
  committedOffset,
  committedValues,
  drive,
  duplicates,
  hopSpec,
  memoryWorld,
  produce,
  watchProducers,
  type Background,
  type MemoryWorld,
  type ProducerWatch,
} from '../support/memory-world.js';

// Unit tests of a hop (src/runtime/hop.ts) on the in-memory Kafka: one virtual clock drives
// consumers, transactions, rebalances and the stages' own waits, so each schedule is exact.

const GROUP = 'g';

/** An input record: its number, and the partition it was written to (n % partitions). */
interface In {
  n: number;
  p: number;
}

/** An output: the input, and which worker's hop processed it. */
interface Out extends In {
  by: string;
}

/** Records first..first+count-1, record n in partition n % partitions. */
function inputs(count: number, partitions: number, first = 0): ProducedRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return {
      key: `k${n}`,
      value: JSON.stringify({ n, p: n % partitions }),
      partition: n % partitions,
    };
  });
}

/** 0..count-1. */
function upTo(count: number): number[] {
  return Array.from({ length: count }, (_, n) => n);
}

/** A failure a hop reported. */
interface Failure {
  err: unknown;
  topic: string;
  partition: number;
  offset: string;
}

/** A hop started in the background, and what its stage saw. */
interface HopRun {
  hop: Hop;
  started: Background<void>;
  failures: Failure[];
  /** The numbers the stage ran on, in order, re-runs included. */
  processed: number[];
}

interface HopRunOptions {
  /** The worker's name: its client's, and the `by` of its outputs. */
  worker: string;
  /** Another client to use (a watched one, say); default the worker's own. */
  kafka?: Kafka;
  /** Virtual milliseconds the stage takes per record; 0: synchronous. */
  msPerRecord?: number;
  /** Throws on this record number. */
  poison?: number;
  guarantee?: ProcessingGuarantee;
  stages?: StageDef[];
  changelogs?: { topic: string; stage: string }[];
  sweepOnFirstOpen?: boolean;
}

/**
 * Starts a hop from `in` to `out` in group `g` whose stage tags each record with the worker,
 * optionally taking virtual time per record (so a rebalance or a fence can land mid-chunk).
 */
function startHop(w: MemoryWorld, o: HopRunOptions): HopRun {
  const processed: number[] = [];
  const failures: Failure[] = [];
  const ms = o.msPerRecord ?? 0;
  const tag = (v: unknown): Out => {
    const r = v as In;
    processed.push(r.n);
    if (r.n === o.poison) throw new RangeError(`record ${r.n} is poison`);
    return { ...r, by: o.worker };
  };
  const stage: StageDef = {
    kind: 'map',
    name: 'tag',
    fn: ms > 0 ? async (v) => w.clock.sleep(ms).then(() => tag(v)) : tag,
  };
  const hop = new Hop({
    kafka: o.kafka ?? w.cluster.client(o.worker),
    spec: hopSpec({
      registry: w.registry,
      inputs: ['in'],
      output: 'out',
      groupId: GROUP,
      stages: o.stages ?? [stage],
      changelogs: o.changelogs ?? [],
    }),
    guarantee: o.guarantee ?? 'EXACTLY_ONCE',
    plan: NO_PLAN,
    jobId: 'job',
    jobName: 'job',
    events: {
      started: () => undefined,
      failed: (err, topic, partition, message) => {
        failures.push({ err, topic, partition, offset: message.offset });
        return Promise.resolve();
      },
      cannotOpen: (err) => {
        failures.push({ err, topic: err.tasks.join(','), partition: -1, offset: '' });
        return Promise.resolve();
      },
      cannotRead: (err) => {
        failures.push({ err, topic: err.inputs.join(','), partition: -1, offset: '' });
        return Promise.resolve();
      },
    },
    logger: w.logger,
    clock: w.clock,
    sweepOnFirstOpen: o.sweepOnFirstOpen ?? false,
  });
  return { hop, started: background(hop.start()), failures, processed };
}

/** A world with `in` and `out` of `partitions` partitions each, and `count` records in `in`. */
async function withInput(
  count: number,
  partitions: number,
  options: Parameters<typeof memoryWorld>[0] = {},
): Promise<MemoryWorld> {
  const w = memoryWorld(options);
  w.cluster.createTopic('in', partitions);
  w.cluster.createTopic('out', partitions);
  if (count > 0) await produce(w.cluster.client('source'), 'in', inputs(count, partitions));
  return w;
}

/** True once group `g` committed every partition of `in` up to its end. */
function allCommitted(w: MemoryWorld): boolean {
  return w.cluster
    .watermarks('in')
    .every((m) => committedOffset(w.cluster, GROUP, 'in', m.partition) === m.high);
}

/** The sink's read_committed outputs. */
function outputs(w: MemoryWorld): Out[] {
  return committedValues<Out>(w.cluster, 'out');
}

/** The record numbers of the sink's read_committed outputs, sorted. */
function numbersOut(w: MemoryWorld): number[] {
  return outputs(w)
    .map((o) => o.n)
    .sort((a, b) => a - b);
}

const fencedError = (): KafkaProtocolError =>
  new KafkaProtocolError('PRODUCER_FENCED', 'There is a newer producer (injected)', false);

describe('a hop under exactly-once', () => {
  it('commits every input record once, with its offsets', async () => {
    const w = await withInput(60, 3);
    const run = startHop(w, { worker: 'w1' });
    expect(await w.clock.runUntil(() => allCommitted(w), 10_000)).toBe(true);
    await w.clock.advance(5_000);
    expect(numbersOut(w)).toEqual(upTo(60));
    expect(run.failures).toEqual([]);
    expect(w.cluster.openTransactions()).toEqual([]);
  });
});

describe('a rebalance in the middle of a chunk', () => {
  it('loses and repeats nothing: the first member commits only what it processed, the second goes on from there', async () => {
    const PER_PARTITION = 50;
    const w = await withInput(4 * PER_PARTITION, 4);
    const first = startHop(w, { worker: 'w1', msPerRecord: 10 });
    // w1 owns all four partitions and is 15 records into each first chunk when w2 joins.
    await w.clock.runUntil(() => first.processed.length >= 60, 10_000);
    expect(first.processed.length).toBe(60);
    const second = startHop(w, { worker: 'w2', msPerRecord: 10 });
    expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
    await w.clock.advance(5_000);

    expect(duplicates(outputs(w))).toEqual([]);
    expect(numbersOut(w)).toEqual(upTo(4 * PER_PARTITION));
    // The partitions that moved: w1's outputs are a prefix of each (what it processed before
    // it learnt of the rebalance, cut short mid-chunk), w2's the rest.
    const group = w.cluster.group(GROUP);
    const moved = group?.members.find((m) => m.client === 'w2')?.assignment.in ?? [];
    expect(moved.length).toBe(2);
    for (const p of moved) {
      const mine = outputs(w)
        .filter((o) => o.p === p)
        .sort((a, b) => a.n - b.n);
      const byW1 = mine.filter((o) => o.by === 'w1').length;
      expect(byW1).toBeGreaterThan(0);
      expect(byW1).toBeLessThan(PER_PARTITION);
      expect(mine.map((o) => o.by)).toEqual([
        ...Array<string>(byW1).fill('w1'),
        ...Array<string>(PER_PARTITION - byW1).fill('w2'),
      ]);
    }
    expect([...first.failures, ...second.failures]).toEqual([]);
    expect(w.cluster.openTransactions()).toEqual([]);
  });
});

describe('a commit past aborted records that fails', () => {
  for (const guarantee of ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const)
    it(`is tried again until the group's offset reaches the end (${guarantee})`, async () => {
      const w = await withInput(10, 1);
      const run = startHop(w, { worker: 'w1', guarantee });
      expect(await w.clock.runUntil(() => allCommitted(w), 10_000)).toBe(true);
      // The input ends with an aborted transaction: nothing is handed over, and the offset
      // can only move past it by a commit with no outputs, which fails the first time.
      w.cluster.failNext({
        op: guarantee === 'EXACTLY_ONCE' ? 'sendOffsets' : 'offsetCommit',
        client: 'w1',
        error: new KafkaProtocolError('NOT_COORDINATOR', 'coordinator moved (injected)', true),
      });
      const aborted = w.cluster.client('writer').transactionalProducer({
        transactionalId: 'writer',
        transactionTimeoutMs: 60_000,
      });
      await drive(w.clock, aborted.init());
      const tx = await drive(w.clock, aborted.begin());
      await drive(w.clock, tx.send([{ topic: 'in', messages: inputs(5, 1) }]));
      await drive(w.clock, tx.abort());
      expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
      expect(w.cluster.pendingFaults).toBe(0);
      expect(run.failures).toEqual([]);
      expect(numbersOut(w)).toEqual(upTo(10));
    });
});

describe('a partition holding only aborted records when the hop starts', () => {
  // A resumed run's sweep (see below) leaves exactly this on every partition it writes to, and
  // the first fetch comes while the tasks are still opening.
  it('gets its offset committed past them, though its task was still opening', async () => {
    const w = await withInput(0, 2);
    const aborted = w.cluster.client('writer').transactionalProducer({
      transactionalId: 'writer',
      transactionTimeoutMs: 60_000,
    });
    await drive(w.clock, aborted.init());
    const tx = await drive(w.clock, aborted.begin());
    await drive(w.clock, tx.send([{ topic: 'in', messages: inputs(6, 2) }]));
    await drive(w.clock, tx.abort());
    const run = startHop(w, { worker: 'w1' });
    expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
    expect(run.failures).toEqual([]);
    expect(numbersOut(w)).toEqual([]);
  });
});

describe('a run after the first', () => {
  // A broker crash mid-commit can leave a task's records open where the restarted transaction
  // coordinator knows no transaction (test/runtime/open.int.test.ts); the next commit of the
  // same producer id would commit them. The run that failed cannot sweep them once it is over,
  // so a resumed or restarted run sweeps each task the first time it opens it.
  for (const sweepOnFirstOpen of [true, false])
    it(`${sweepOnFirstOpen ? 'sweeps' : 'does not sweep'} each task before its first commit when asked (${sweepOnFirstOpen})`, async () => {
      const w = await withInput(10, 2);
      const run = startHop(w, { worker: 'w1', sweepOnFirstOpen });
      expect(await w.clock.runUntil(() => allCommitted(w), 10_000)).toBe(true);
      const aborted = [0, 1].map((p) =>
        w.cluster.trace.some((l) =>
          l.includes(`txn ${taskTransactionalId(GROUP, 'in', p)} aborted`),
        ),
      );
      expect(aborted).toEqual([sweepOnFirstOpen, sweepOnFirstOpen]);
      expect(numbersOut(w)).toEqual(upTo(10));
      expect(run.failures).toEqual([]);
    });
});

describe('a fenced commit', () => {
  it('reopens the task when another producer took its transactional id, and processes the chunk again', async () => {
    const w = await withInput(40, 1);
    const run = startHop(w, { worker: 'w1', msPerRecord: 10 });
    await w.clock.runUntil(() => run.processed.length >= 10, 10_000);
    // A zombie (or the coordinator stopping the job) takes the task's id over mid-chunk.
    const rogue = w.cluster.client('rogue').transactionalProducer({
      transactionalId: `${GROUP}.in.0`,
      transactionTimeoutMs: 60_000,
    });
    await drive(w.clock, rogue.init());
    expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
    await w.clock.advance(5_000);

    expect(numbersOut(w)).toEqual(upTo(40));
    // The fenced chunk ran once, was dropped, and ran again on the reopened task.
    expect(run.processed).toEqual([...upTo(40), ...upTo(40)]);
    expect(w.cluster.trace.some((l) => l.includes(`txn ${GROUP}.in.0 init epoch 2`))).toBe(true);
    expect(run.failures).toEqual([]);
  });

  it('reopens from the committed state after a commit fails fenced, with no duplicate output', async () => {
    const w = await withInput(30, 1, { maxBatchRecords: 10 });
    const watch = watchProducers(w.cluster.client('w1'));
    // The first chunk's commit fails: its outputs are aborted, and the chunk comes again.
    w.cluster.failNext({ op: 'commit', transactionalId: `${GROUP}.in.0`, error: fencedError() });
    const run = startHop(w, { worker: 'w1', kafka: watch.kafka });
    expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
    await w.clock.advance(5_000);

    expect(duplicates(outputs(w))).toEqual([]);
    expect(numbersOut(w)).toEqual(upTo(30));
    expect(watch.fenced).toEqual([`${GROUP}.in.0`]);
    expect(watch.inits.get(`${GROUP}.in.0`)).toBe(2); // opened, then reopened once
    expect(run.processed).toEqual([...upTo(10), ...upTo(30)]); // the first chunk ran twice
    // The aborted attempt is in the log, invisible to read_committed readers.
    const all = w.cluster.read('out', { isolation: 'read_uncommitted' });
    expect(all.filter((r) => r.status === 'aborted').length).toBeGreaterThanOrEqual(10);
    expect(run.failures).toEqual([]);
  });

  it('processes nothing twice when a commit took effect but its answer was lost', async () => {
    const w = await withInput(30, 1, { maxBatchRecords: 10 });
    w.cluster.failNext({
      op: 'commit',
      transactionalId: `${GROUP}.in.0`,
      error: fencedError(),
      when: 'after',
    });
    const run = startHop(w, { worker: 'w1' });
    expect(await w.clock.runUntil(() => allCommitted(w), 30_000)).toBe(true);
    await w.clock.advance(5_000);

    expect(numbersOut(w)).toEqual(upTo(30));
    // The reopened task starts at the committed offset: the first chunk is not run again.
    expect(run.processed).toEqual(upTo(30));
    expect(run.failures).toEqual([]);
  });
});

describe('a frozen hop', () => {
  it('commits nothing more after freeze(), not even the chunk in flight', async () => {
    const w = await withInput(300, 1);
    const run = startHop(w, { worker: 'w1', msPerRecord: 5 });
    // The first chunk (1 s of records) is committed; the second is 40 records in.
    await w.clock.runUntil(() => run.processed.length >= 240, 10_000);
    const committedBefore = w.cluster.committed(GROUP);
    const outBefore = outputs(w);
    expect(outBefore.length).toBe(200);
    run.hop.freeze();
    await drive(w.clock, produce(w.cluster.client('source'), 'in', inputs(20, 1, 300)));
    await w.clock.advance(30_000); // many fetch intervals, and past the chunk's time bound

    expect(outputs(w)).toEqual(outBefore);
    expect(w.cluster.read('out', { isolation: 'read_uncommitted' })).toHaveLength(200);
    expect(w.cluster.committed(GROUP)).toEqual(committedBefore);
    expect(w.cluster.openTransactions()).toEqual([]);
    // The chunk in flight ran to the batch's end; the records written since were not fetched.
    expect(run.processed).toEqual(upTo(300));
    expect(run.failures).toEqual([]);
  });
});

describe('a failing record', () => {
  it('freezes the hop and reports that record; the records before it are committed, none after', async () => {
    const w = await withInput(40, 2);
    const run = startHop(w, { worker: 'w1', poison: 21 }); // partition 1, offset 10
    await w.clock.runUntil(() => run.failures.length > 0, 10_000);
    await w.clock.advance(10_000);

    expect(run.failures).toHaveLength(1);
    expect(run.failures[0]).toMatchObject({ topic: 'in', partition: 1, offset: '10' });
    const p1 = outputs(w)
      .filter((o) => o.p === 1)
      .map((o) => o.n)
      .sort((a, b) => a - b);
    expect(p1).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(committedOffset(w.cluster, GROUP, 'in', 1)).toBe(10);
  });
});

/**
 * A client whose consumers' crash handler a test can call, as kafkajs does when it gives up on
 * a request after its own retries and restarts the consumer.
 */
function crashable(w: MemoryWorld, name: string): { kafka: Kafka; crash: (err: Error) => void } {
  const base = w.cluster.client(name);
  let onCrash: ConsumeOptions['onCrash'];
  const kafka = Object.assign(Object.create(base) as Kafka, {
    consumer(o: ConsumerOptions): GroupConsumer {
      const consumer = base.consumer(o);
      const start = consumer.start.bind(consumer);
      consumer.start = (c: ConsumeOptions) => ((onCrash = c.onCrash), start(c));
      return consumer;
    },
  });
  return { kafka, crash: (err) => onCrash?.(err, true) };
}

const brokerAway = (): Error =>
  new KafkaProtocolError('REQUEST_TIMED_OUT', 'no broker answered (injected)', true);

describe('a consumer that cannot read', () => {
  // test/faults/long-outage.fault.test.ts: with the consumer crashing instead of a commit
  // failing, a broker outage past the budget left the job RUNNING.
  it('reports the hop once it has failed for the retry budget (10 s here), not before', async () => {
    const w = await withInput(20, 2);
    const c = crashable(w, 'w1');
    const run = startHop(w, { worker: 'w1', kafka: c.kafka });
    await w.clock.runUntil(() => allCommitted(w), 10_000);
    c.crash(brokerAway());
    await w.clock.advance(6_000);
    c.crash(brokerAway());
    await w.clock.advance(3_999);
    expect(run.failures).toEqual([]);
    await w.clock.advance(1);
    expect(run.failures).toHaveLength(1);
    const err = run.failures[0]?.err;
    expect(err).toBeInstanceOf(ReadFailure);
    expect(readFailureReport(err as ReadFailure, 'w1', 2, 10_000).description).toBe(
      'Kafka kept failing for 10 s (2 attempts) under the hop reading in; nothing more was processed',
    );
  });

  // The outage in test/faults/long-outage.fault.test.ts: the consumer crashed once, after the
  // client's own retries, and nothing failed again before the broker was back.
  it('reports an outage past the budget though nothing fails a second time', async () => {
    const w = await withInput(20, 2);
    const c = crashable(w, 'w1');
    const run = startHop(w, { worker: 'w1', kafka: c.kafka });
    await w.clock.runUntil(() => allCommitted(w), 10_000);
    c.crash(brokerAway());
    await w.clock.advance(10_000);
    expect(run.failures.map((f) => f.err)).toEqual([expect.any(ReadFailure)]);
  });

  it('starts counting again once the consumer has rejoined its group', async () => {
    const w = await withInput(20, 2);
    const c = crashable(w, 'w1');
    const run = startHop(w, { worker: 'w1', kafka: c.kafka });
    await w.clock.runUntil(() => allCommitted(w), 10_000);
    c.crash(brokerAway());
    await w.clock.advance(9_000);
    // A second member joins: the rebalance hands this one its assignment again.
    const other = startHop(w, { worker: 'w2' });
    await w.clock.runUntil(() => run.hop.tasks.size === 1, 30_000);
    // 12 s and more since the first crash: past the budget, had the join not reset it.
    await w.clock.advance(3_000);
    c.crash(brokerAway());
    await w.clock.advance(1_000);
    expect(run.failures).toEqual([]);
    expect(other.failures).toEqual([]);
  });

  it('reports at once a consumer that stopped for good', async () => {
    const w = await withInput(20, 2);
    w.cluster.failNext({
      op: 'fetch',
      client: 'w1',
      error: new KafkaProtocolError('GROUP_AUTHORIZATION_FAILED', 'not allowed (injected)'),
      fatal: true,
    });
    const run = startHop(w, { worker: 'w1' });
    await w.clock.runUntil(() => run.failures.length > 0, 10_000);
    expect(run.failures).toHaveLength(1);
    expect(run.failures[0]?.err).toBeInstanceOf(ReadFailure);
    expect(run.failures[0]?.topic).toBe('in');
  });
});

/** Partitions of `in` (and of the changelog) in the slow-open tests. */
const P = 8;

/** An aggregate counting each input partition's records, its state in `state`. */
const countStage: StageDef = {
  kind: 'aggregate',
  name: 'count',
  key: (v) => `p${(v as In).p}`,
  byRecordKey: false,
  init: () => 0,
  add: (s) => (s as number) + 1,
  emit: 'update',
};

/**
 * A world where opening a task is slow: every request takes 20 ms, `in` has {@link P}
 * partitions, and each partition's count restores from `state` as 50.
 */
async function slowOpenWorld(): Promise<MemoryWorld> {
  const w = await withInput(0, P, { requestLatencyMs: 20, maxBatchRecords: 100 });
  w.cluster.createTopic('state', P, { 'cleanup.policy': 'compact' });
  const updates = Array.from({ length: 50 * P }, (_, i) => ({
    key: `in\u0000${i % P}\u0000p${i % P}`,
    value: JSON.stringify(Math.floor(i / P) + 1),
    partition: i % P,
  }));
  await drive(w.clock, produce(w.cluster.client('seed'), 'state', updates));
  return w;
}

/** Starts a counting hop with the `state` changelog, through a watched client. */
function startCounting(w: MemoryWorld, worker: string): HopRun & { watch: ProducerWatch } {
  const watch = watchProducers(w.cluster.client(worker));
  const run = startHop(w, {
    worker,
    kafka: watch.kafka,
    stages: [countStage],
    changelogs: [{ topic: 'state', stage: 'count' }],
  });
  return { ...run, watch };
}

/** The group's generation now. */
function generation(w: MemoryWorld): number {
  return w.cluster.group(GROUP)?.generation ?? 0;
}

/**
 * Writes ten records to every partition of `in`; how long until those of `partitions` (default
 * all) were committed.
 */
async function commitLatency(w: MemoryWorld, partitions?: number[]): Promise<number> {
  await drive(w.clock, produce(w.cluster.client('source'), 'in', inputs(10 * P, P)));
  const producedAt = w.clock.now();
  const done = (): boolean =>
    (partitions ?? upTo(P)).every((p) => committedOffset(w.cluster, GROUP, 'in', p) === 10);
  expect(await w.clock.runUntil(done, 10_000)).toBe(true);
  return w.clock.now() - producedAt;
}

/** Each partition's last count in the sink, by key. */
function lastCounts(w: MemoryWorld): Map<string, number> {
  const last = new Map<string, number>();
  for (const c of committedValues<{ key: string; value: number }>(w.cluster, 'out'))
    last.set(c.key, Math.max(last.get(c.key) ?? 0, c.value));
  return last;
}

describe('overlapping assignments during a slow open', () => {
  it('never leaves a task of the member with a fenced producer: it keeps committing afterwards', async () => {
    const w = await slowOpenWorld();
    const w1 = startCounting(w, 'w1');
    // Two plain members join while w1 takes its eight ids over one after the other: w1 gets
    // two more assignments before its first open is done (idle members rejoin at once).
    const plain = async (name: string): Promise<void> =>
      w.cluster
        .client(name)
        .consumer({ groupId: GROUP, sessionTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 })
        .start({ topics: ['in'], autoCommit: false, eachBatch: () => Promise.resolve() });
    await w.clock.runUntil(() => w1.watch.inits.size > 0, 5_000);
    void plain('x1');
    await w.clock.runUntil(() => generation(w) >= 2, 5_000);
    void plain('x2');
    await w.clock.runUntil(() => generation(w) >= 3 && w1.started.settled, 10_000);
    await w.clock.advance(10_000);
    expect(generation(w)).toBe(3);
    const mine = w.cluster.group(GROUP)?.members.find((m) => m.client === 'w1')?.assignment.in;
    expect(mine).toEqual([0, 3, 6]);
    // Its first open took over the ids it still owned, and skipped some that had moved away
    // meanwhile (it took all eight over before openTasks asked whether it still owned them).
    for (const p of mine ?? []) expect(w1.watch.inits.get(`${GROUP}.in.${p}`)).toBe(1);
    expect(w1.watch.inits.size).toBeLessThan(P);

    // New input on w1's partitions is committed at once: no commit fails fenced and waits
    // out the fenced pause.
    expect(await commitLatency(w, mine ?? [])).toBeLessThan(FENCED_PAUSE_MS);
    expect(w1.watch.fenced).toEqual([]);
    const last = lastCounts(w);
    for (const p of mine ?? []) expect(last.get(`p${p}`)).toBe(60); // on from the restored 50
    expect(w1.failures).toEqual([]);
  });

  /**
   * Three members, each opening tasks while the others join: w1 opens all eight (its inits
   * 20 ms apart), w2 joins during that, w3 right after. Then ten records per partition: how long
   * they took to be committed, and what each member's producers went through.
   */
  async function threeMembersJoiningDuringOpens(): Promise<{
    w: MemoryWorld;
    runs: (HopRun & { watch: ProducerWatch })[];
    latency: number;
  }> {
    const w = await slowOpenWorld();
    const runs = [startCounting(w, 'w1')];
    await w.clock.runUntil(() => (runs[0]?.watch.inits.size ?? 0) > 0, 5_000);
    runs.push(startCounting(w, 'w2'));
    await w.clock.runUntil(() => generation(w) >= 2, 5_000);
    runs.push(startCounting(w, 'w3'));
    await w.clock.runUntil(() => runs.every((r) => r.started.settled), 10_000);
    await w.clock.advance(10_000);
    expect(generation(w)).toBe(3);
    return { w, runs, latency: await commitLatency(w) };
  }

  it('keeps exactly-once when members join while others open their tasks', async () => {
    const { w, runs } = await threeMembersJoiningDuringOpens();
    // Every partition's count went on from its restored 50, once.
    expect([...lastCounts(w).values()]).toEqual(Array<number>(P).fill(60));
    expect(runs.flatMap((r) => r.failures)).toEqual([]);
  });

  // Found by this test: a member went on opening the tasks of an assignment that a later
  // rebalance had already taken from it. Its init() of a partition that moved came after the new
  // owner's and fenced the new owner's producer, whose first commit then failed PRODUCER_FENCED
  // and waited out FENCED_PAUSE_MS (w1's stale inits of `g.in.7` and `g.in.5` fenced w2's and
  // w3's tasks; new input took 1,490 ms to commit). openTasks now skips a task the newest
  // assignment moved away.
  it('never fences the new owner of a partition the member lost while opening it', async () => {
    const { runs, latency } = await threeMembersJoiningDuringOpens();
    expect(runs.flatMap((r) => r.watch.fenced)).toEqual([]); // was ['g.in.7', 'g.in.5']
    expect(latency).toBeLessThan(FENCED_PAUSE_MS); // was 1,490 ms
  });
});
