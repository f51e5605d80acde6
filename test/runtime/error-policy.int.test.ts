import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { jobHops, noTasks, outputsWhenThrough, until } from '../support/job-groups.js';
import { kafkaClient, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { keyed, readAll, readUntil } from '../support/records.js';
import { spawnCliWorker } from '../support/spawn.js';
import { connectClient, startCoordinator } from '../support/sluice.js';

// Issue 17, error policies on a real broker, with workers that are the real CLI:
// - 100 poison records among 10,000 under a dead-letter policy, EXACTLY_ONCE, a keyed count,
//   one of two workers SIGKILLed midway: every key's counts are exactly 1..n (9,900 records
//   counted, none twice), exactly the 100 poison records are in the dead-letter topic, once
//   each, and the job log's snapshot says 100 dead-lettered in stage "validate";
// - an error budget: the job suspends at the record that would spend it, whatever
//   suspendOnFailure says, and nothing after that record is committed.

const ns = testNamespace('policy');
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 4 },
  { topic: `${ns}.out`, numPartitions: 4 },
  { topic: `${ns}.dlt`, numPartitions: 2 },
  { topic: `${ns}.in1`, numPartitions: 1 },
  { topic: `${ns}.out1`, numPartitions: 1 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

function startWorker(id: string): ChildProcess {
  const child = spawnCliWorker('test/fixtures/pipelines/validated-count.mjs', id, sluiceEnv(ns));
  children.push(child);
  return child;
}

const RECORDS = 10_000;
const KEYS = 20;
/** Every 100th record, from n = 37 on: 100 of them. */
const isPoison = (n: number): boolean => n % 100 === 37;

async function produce(topic: string, count: number, poison: (n: number) => boolean) {
  const producer = kafkaClient().producer();
  await producer.connect();
  for (let i = 0; i < count; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - i) }, (_, j) => {
      const n = i + j;
      const k = `k${n % KEYS}`;
      return { key: k, value: JSON.stringify({ n, k, ...(poison(n) ? { poison: true } : {}) }) };
    });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

/** Per key, how many good records there are among the first `count`. */
function goodPerKey(count: number, poison: (n: number) => boolean): Map<string, number> {
  const per = new Map<string, number>();
  for (let n = 0; n < count; n++)
    if (!poison(n)) per.set(`k${n % KEYS}`, (per.get(`k${n % KEYS}`) ?? 0) + 1);
  return per;
}

function snapshots(events: JobEvent[]): Extract<JobEvent, { type: 'SnapshotCommitted' }>[] {
  return events.filter(
    (e): e is Extract<JobEvent, { type: 'SnapshotCommitted' }> => e.type === 'SnapshotCommitted',
  );
}

const workers = [startWorker('policy-1'), startWorker('policy-2')];

describe('a dead-letter policy under EXACTLY_ONCE, with a worker killed midway', () => {
  it('counts exactly the good records and dead-letters exactly the poison ones', async () => {
    await produce(`${ns}.in`, RECORDS, isPoison);
    const job = await client.submit('validated-count', {
      name: 'validated',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      snapshotIntervalMs: 500,
      args: { input: `${ns}.in`, output: `${ns}.out` },
      errorPolicy: {
        actions: [{ on: ['ValidationError'], action: 'DEAD_LETTER', deadLetterTopic: `${ns}.dlt` }],
      },
    });
    // Killed once a third of the counts are out: its open transactions abort, its partitions
    // move to the other worker, which redoes them from the last commit.
    await readUntil(`${ns}.out`, (all) => all.length >= (RECORDS - 100) / 3, 120_000);
    workers[0]?.kill('SIGKILL');

    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      const hops = jobHops(ns, job.id, `${ns}.in`, ['count']);
      const outputs = await outputsWhenThrough(admin, hops, `${ns}.out`, 180_000);
      expect(job.status()).toBe('RUNNING');

      const seen = new Map<string, number[]>();
      for (const { key, value } of keyed(outputs)) seen.set(key, [...(seen.get(key) ?? []), value]);
      const expected = goodPerKey(RECORDS, isPoison);
      expect(outputs).toHaveLength(RECORDS - 100);
      expect(new Set(seen.keys())).toEqual(new Set(expected.keys()));
      for (const [key, n] of expected)
        expect([...(seen.get(key) ?? [])].sort((a, b) => a - b)).toEqual(
          Array.from({ length: n }, (_, i) => i + 1),
        );

      // The dead letters commit in the same transactions as the counts: all there, none twice.
      const dead = await readAll(`${ns}.dlt`);
      const poisonNs = dead.map((r) => (JSON.parse(String(r.value)) as { n: number }).n);
      expect(poisonNs.sort((a, b) => a - b)).toEqual(
        Array.from({ length: 100 }, (_, i) => i * 100 + 37),
      );
      for (const r of dead) {
        const h = Object.fromEntries(
          Object.entries(r.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        expect(h['__streams.errors.exception']).toBe('ValidationError');
        expect(h['__streams.errors.topic']).toBe(`${ns}.in`);
        expect(h['sluice-stage']).toBe('validate');
        expect(h['__streams.errors.message']).toBe(
          `record ${(JSON.parse(String(r.value)) as { n: number }).n} is poison`,
        );
      }
    } finally {
      await admin.disconnect();
    }

    // The job log's snapshots carry the counts, read from the commits' offset metadata.
    await until(
      () =>
        snapshots(job.history()).at(-1)?.errorCounts?.[0]?.deadLettered === 100 &&
        job.snapshot().errorCounts.length === 1,
      'a snapshot counting 100 dead letters',
      30_000,
    );
    expect(job.snapshot().errorCounts).toEqual([
      { stage: 'validate', skipped: 0, deadLettered: 100 },
    ]);
  });
});

describe('an error budget', () => {
  it('suspends the job at the record that would spend it, committing nothing after it', async () => {
    // 50 records on one partition, poison at 5, 10, 15, 20, 25; three may be skipped.
    const poison = (n: number): boolean => n > 0 && n % 5 === 0 && n <= 25;
    await produce(`${ns}.in1`, 50, poison);
    const job = await client.submit('validated-count', {
      name: 'budgeted',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: false,
      args: { input: `${ns}.in1`, output: `${ns}.out1` },
      errorPolicy: {
        actions: [{ on: ['*'], action: 'SKIP' }],
        budget: { maxRecords: 3, windowMs: 600_000 },
      },
    });
    await until(() => job.status() !== 'NOT_RUNNING' && job.status() !== 'RUNNING', 'job stops');
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    const cause = job.suspensionCause();
    expect(cause?.record?.offset).toBe('20');
    expect(cause?.stage).toBe('validate');
    expect(cause?.error?.name).toBe('ValidationError');
    expect(cause?.description).toMatch(/error budget is spent: more than 3 record/);
    expect(cause?.description).toMatch(/in1\/0@15 in stage "validate"/);

    // Nothing runs the job any more, so the sink's read_committed end is final.
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      await until(() => noTasks(admin, jobHops(ns, job.id, `${ns}.in1`, ['count'])), 'no tasks');
    } finally {
      await admin.disconnect();
    }
    const outputs = keyed(await readAll(`${ns}.out1`));
    const expected = goodPerKey(20, poison);
    expect(outputs).toHaveLength([...expected.values()].reduce((a, b) => a + b, 0));
    const last = new Map(outputs.map((o) => [o.key, o.value]));
    expect(last).toEqual(expected);
    // The failure snapshot counts the three skips.
    await until(
      () => job.snapshot().errorCounts[0]?.skipped === 3,
      'a snapshot counting 3 skips',
      30_000,
    );
  });
});
