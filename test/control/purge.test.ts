import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/domain/checkpoint.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { CommandRejectedError, JobPurgedError } from '../../src/domain/job-errors.js';
import { topicNames } from '../../src/domain/resources.js';
import { TOMBSTONES_PER_SEND } from '../../src/control/purge.js';
import {
  jobConfig,
  memoryClient,
  participant,
  startCoordinator,
  submit,
  untilActive,
} from '../support/memory-sluice.js';
import { drive, jobEvents, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

// A purge through the coordinator on the in-memory Kafka: what its transaction writes to the
// job log and the checkpoint, and what readers fold once compaction has removed the tombstoned
// events (test/domain/purge.test.ts checks the fold itself).

const NS = 'prg';
const TOPICS = topicNames(NS);

/** A namespace with a coordinator, job "old" cancelled after a few snapshots, "live" running. */
async function namespace(w: MemoryWorld, snapshots: number) {
  const a = startCoordinator(w, NS, 'a');
  await untilActive(w, a);
  const ops = await participant(w, NS, 'ops');
  await submit(w, ops, 'old', jobConfig('orders'));
  await submit(w, ops, 'live', jobConfig('totals'));
  for (const jobId of ['old', 'live'])
    await drive(w.clock, ops.sender.send(jobId, 'ReportStarted', { worker: 'w1' }));
  // Sent together: the coordinator takes them in a few batches.
  await drive(
    w.clock,
    Promise.all(
      Array.from({ length: snapshots }, (_, i) =>
        ops.sender.send('old', 'ReportSnapshot', {
          worker: 'w1',
          snapshotId: `s${i}`,
          sourceOffsets: [{ topic: 'in', partition: 0, offset: String(i) }],
          stateOffsets: [],
        }),
      ),
    ),
  );
  await drive(w.clock, ops.sender.send('old', 'CancelJob', {}));
  return { a, ops };
}

describe('a purge through the coordinator', () => {
  it(
    'appends JobPurged and, in its transaction, a tombstone per earlier event and the purged checkpoint',
    {
      timeout: 30_000,
    },
    async () => {
      const w = memoryWorld();
      // More events than one send of tombstones holds, so the chunking is exercised.
      const { ops } = await namespace(w, TOMBSTONES_PER_SEND + 2);
      const { client } = await memoryClient(w, NS, 'alice');
      const before = ops.log.history('old');
      expect(before.at(-1)?.type).toBe('JobCancelled');

      await drive(w.clock, client.getJob('old').purge());

      const raw = w.cluster
        .read(TOPICS.jobs, { isolation: 'read_uncommitted' })
        .filter((r) => r.key?.toString().startsWith('old/'));
      const at = raw.findIndex((r) => r.value === null);
      const purge = raw[at - 1];
      const tombstones = raw.slice(at);
      // The purge's own record first, then one tombstone per earlier key, nothing else.
      expect(purge?.key?.toString()).toBe(`old/${before.length}`);
      expect(tombstones.map((r) => r.key?.toString())).toEqual(before.map((e) => e.eventId));
      expect(tombstones.every((r) => r.value === null && r.partition === purge?.partition)).toBe(
        true,
      );
      // One transaction: committed, one producer, contiguous offsets (a commit marker between
      // two transactions would take an offset).
      const written = [purge!, ...tombstones];
      expect(written.every((r) => r.status === 'committed' && r.transactional)).toBe(true);
      expect(new Set(written.map((r) => r.producerId)).size).toBe(1);
      expect(written.map((r) => Number(r.offset) - Number(purge!.offset))).toEqual(
        written.map((_, i) => i),
      );
      // The JobPurged event says who purged which job, when, and how it had ended.
      const events = await jobEvents(w, NS);
      expect(events.find((e) => e.type === 'JobPurged')).toMatchObject({
        jobId: 'old',
        name: 'orders',
        status: 'CANCELLED',
        issuedBy: 'alice',
        seq: before.length,
      });

      // The checkpoint's record of the job no longer holds its state, but its next seq.
      const checkpoints = w.cluster
        .read(TOPICS.checkpoint)
        .filter((r) => r.key?.toString() === 'job/old');
      const latest = parseCheckpoint(checkpoints.at(-1)?.value?.toString() ?? '');
      expect(latest).toMatchObject({
        jobId: 'old',
        state: null,
        nextSeq: before.length + 1,
        purged: { name: 'orders', issuedBy: 'alice' },
      });

      // Every reader forgets the job at once, and says why when asked for it.
      expect(ops.log.state('old')).toBeUndefined();
      let thrown: unknown;
      try {
        client.getJob('old');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(JobPurgedError);
      expect(isSluiceError(thrown, 'SLUICE_JOB_NOT_FOUND')).toBe(true);
      expect((thrown as Error).message).toContain('was purged on');
      expect((thrown as Error).message).toContain('by alice');
      expect(() => client.getJob('orders')).toThrow(JobPurgedError); // by name too
    },
  );

  it('refuses a job that has not ended, with the reason, and writes no tombstone', async () => {
    const w = memoryWorld();
    await namespace(w, 1);
    const { client } = await memoryClient(w, NS, 'alice');
    const refused = await drive(
      w.clock,
      client
        .getJob('live')
        .purge()
        .then(
          () => undefined,
          (err: unknown) => err,
        ),
    );
    expect(refused).toBeInstanceOf(CommandRejectedError);
    expect(refused).toMatchObject({
      code: 'SLUICE_COMMAND_REJECTED',
      rejectionCode: 'ILLEGAL_TRANSITION',
    });
    expect((refused as Error).message).toContain('"totals" is RUNNING');
    expect(w.cluster.read(TOPICS.jobs).filter((r) => r.value === null)).toEqual([]);
    expect(client.getJob('live').status()).toBe('RUNNING');
  });

  it('leaves, after compaction, a log that a new reader and a new coordinator fold to the same state', async () => {
    const w = memoryWorld();
    const { ops } = await namespace(w, 3);
    await drive(w.clock, ops.sender.send('old', 'PurgeJob', {}));
    // A command naming the purged job after the purge: refused, under the next seq.
    await drive(
      w.clock,
      ops.sender.send('old', 'CancelJob', {}).catch(() => undefined),
    );
    const removed = w.cluster.compact(TOPICS.jobs, { removeTombstones: true });
    // The six events of "old" before the purge, and their tombstones.
    expect(removed).toBe(2 * 6);
    const left = (await jobEvents(w, NS)).filter((e) => e.jobId === 'old');
    expect(left.map((e) => e.type)).toEqual(['JobPurged', 'CommandRejected']);
    const seqAfter = left[1]?.seq ?? -2;

    // A reader that starts now: the same jobs, and it knows "old" was purged.
    const late = await participant(w, NS, 'late');
    expect(late.log.jobs()).toEqual(ops.log.jobs());
    expect(late.log.purged('old')).toEqual(ops.log.purged('old'));
    expect(late.log.state('live')).toEqual(ops.log.state('live'));

    // A coordinator elected now (from the checkpoint and the compacted log) gives a command
    // naming "old" the next seq, never a purged key, and refuses it saying it was purged.
    w.cluster.crash('a');
    const b = startCoordinator(w, NS, 'b');
    await untilActive(w, b);
    await drive(
      w.clock,
      late.sender.send('old', 'SuspendJob', {}).catch(() => undefined),
      60_000,
    );
    const last = (await jobEvents(w, NS)).filter((e) => e.jobId === 'old').at(-1);
    expect(last).toMatchObject({ type: 'CommandRejected', code: 'UNKNOWN_JOB' });
    expect(last?.seq).toBe(seqAfter + 1);
    expect(last?.type === 'CommandRejected' && last.reason).toContain('was purged');
  });
});
