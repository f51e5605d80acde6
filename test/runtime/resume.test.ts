import { sendResume, untilStatus } from '../support/memory-sluice.js';
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/events.js';
import { jobGroup } from '../../src/domain/resources.js';
import { stopWorkerParts, type WorkerParts } from '../../src/node/parts.js';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import {
  eventsOf,
  jobConfig,
  participant,
  startCoordinator,
  startWorker,
  submit,
  untilActive,
  type Participant,
} from '../support/memory-sluice.js';
import {
  committedOffset,
  committedValues,
  drive,
  duplicates,
  memoryWorld,
  produce,
  type MemoryWorld,
} from '../support/memory-world.js';

// Resuming with RETRY (docs/failure-handling.md, "Resuming"), on the in-memory Kafka with a real
// coordinator and a worker's real parts: the failing record is processed again, so code that
// still fails suspends the job again on it, and the run starts from the committed positions
// whatever the job log's lastSnapshot says.

const NS = 'sl';
const JOB = 'j1';
const RECORDS = 40;
/** Partition 1, offset 10. */
const POISON = 21;

interface Setting {
  w: MemoryWorld;
  user: Participant;
  worker: WorkerParts;
  /** Deploys the fix: runs started from now on have code that no longer throws. */
  fix: () => void;
  /** How many times the stage was handed the failing record. */
  poisonSeen: () => number;
}

/** The job (in → check → out, check throwing on POISON until fixed), suspended on POISON. */
async function suspendedOnPoison(): Promise<Setting> {
  const w = memoryWorld();
  w.cluster.createTopic('in', 2);
  w.cluster.createTopic('out', 2);
  await untilActive(w, startCoordinator(w, NS, 'coord'));
  const user = await participant(w, NS, 'alice');
  let fixed = false;
  let seen = 0;
  // The factory runs at each start of a run: a fix deployed between runs is picked up.
  const pipeline = (): PipelineDef => {
    const broken = !fixed;
    return Pipeline.create()
      .readFrom<{ n: number }>(Sources.kafka({ topic: 'in' }))
      .map(
        (r) => {
          if (r.n !== POISON) return r;
          seen++;
          if (broken) throw new RangeError(`record ${r.n} is poison`);
          return r;
        },
        { name: 'check' },
      )
      .writeTo(Sinks.kafka({ topic: 'out' }));
  };
  const worker = await startWorker(w, NS, 'w1', pipeline);
  await submit(w, user, JOB, jobConfig('checks'));
  expect(await until(w, user, 'RUNNING', 1)).toBe(true);
  const records = Array.from({ length: RECORDS }, (_, n) => ({
    value: JSON.stringify({ n }),
    partition: n % 2,
  }));
  await drive(w.clock, produce(w.cluster.client('source'), 'in', records));
  expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR', 1)).toBe(true);
  return { w, user, worker, fix: () => void (fixed = true), poisonSeen: () => seen };
}

const until = (w: MemoryWorld, user: Participant, status: string, run: number): Promise<boolean> =>
  untilStatus(w, user, JOB, status, run);

const retry = (s: Setting): Promise<void> => sendResume(s.w, s.user, JOB);

function numbersOut(w: MemoryWorld): number[] {
  return committedValues<{ n: number }>(w.cluster, 'out')
    .map((o) => o.n)
    .sort((a, b) => a - b);
}

/** True once the job's group committed all of `in` and no transaction is open. */
function allDone(w: MemoryWorld): boolean {
  return (
    w.cluster.openTransactions().length === 0 &&
    [0, 1].every((p) => committedOffset(w.cluster, jobGroup(NS, JOB), 'in', p) === RECORDS / 2)
  );
}

const upTo = (count: number): number[] => Array.from({ length: count }, (_, n) => n);

describe('a resume with RETRY', () => {
  it('processes the failing record again: code that still fails suspends the job again on the same record', async () => {
    const s = await suspendedOnPoison();
    const { w, user } = s;
    const before = numbersOut(w);
    expect(s.poisonSeen()).toBe(1);

    await retry(s);
    expect(await until(w, user, 'SUSPENDED_DUE_TO_ERROR', 2)).toBe(true);
    expect(s.poisonSeen()).toBe(2);
    const causes = (await eventsOf(w, NS, JOB))
      .filter(
        (e): e is Extract<JobEvent, { type: 'JobSuspendedDueToError' }> =>
          e.type === 'JobSuspendedDueToError',
      )
      .map((e) => e.cause);
    expect(causes).toHaveLength(2);
    for (const cause of causes) {
      expect(cause.record).toMatchObject({ topic: 'in', partition: 1, offset: '10' });
      expect(cause.error?.message).toBe(`record ${POISON} is poison`);
    }
    // Nothing past it was committed either time.
    expect(committedOffset(w.cluster, jobGroup(NS, JOB), 'in', 1)).toBe(10);
    expect(numbersOut(w)).toEqual(before);
    expect(numbersOut(w).filter((n) => n % 2 === 1)).toEqual(upTo(10).map((i) => 2 * i + 1));

    // With the fix deployed, the same resume goes through the record and on.
    s.fix();
    await retry(s);
    expect(await w.clock.runUntil(() => allDone(w), 30_000)).toBe(true);
    expect(s.poisonSeen()).toBe(3);
    expect(numbersOut(w)).toEqual(upTo(RECORDS));
    await drive(w.clock, stopWorkerParts(s.worker));
  });

  it("starts from the committed positions, not from the job log's lastSnapshot", async () => {
    const s = await suspendedOnPoison();
    const { w, user } = s;
    // Once the workers left, the coordinator records the failure snapshot: in-1 at 10.
    const lastSnapshot = () => user.log.state(JOB)?.lastSnapshot;
    expect(
      await w.clock.runUntil(
        () =>
          lastSnapshot()?.sourceOffsets.some((o) => o.partition === 1 && o.offset === '10') ===
          true,
        30_000,
      ),
    ).toBe(true);
    // A snapshot report naming the start of every partition (a stale or forged one) becomes
    // the job's lastSnapshot.
    await drive(
      w.clock,
      user.sender.send(JOB, 'ReportSnapshot', {
        worker: 'elsewhere',
        snapshotId: 'at-the-start',
        sourceOffsets: [0, 1].map((partition) => ({ topic: 'in', partition, offset: '0' })),
        stateOffsets: [],
        run: 1,
      }),
    );
    expect(lastSnapshot()?.snapshotId).toBe('at-the-start');

    s.fix();
    await retry(s);
    expect(lastSnapshot()?.snapshotId).toBe('at-the-start');
    expect(await w.clock.runUntil(() => allDone(w), 30_000)).toBe(true);
    // Read from offset 0, every record before the failing one would be written twice.
    expect(duplicates(committedValues(w.cluster, 'out'))).toEqual([]);
    expect(numbersOut(w)).toEqual(upTo(RECORDS));
    await drive(w.clock, stopWorkerParts(s.worker));
  });
});
