import { describe, expect, it } from 'vitest';
import type { Kafka, TransactionalProducer } from '../../../src/kafka/port.js';
import { MemoryCluster, VirtualClock } from '../../../src/kafka/memory/index.js';

const INPUTS = 2_000;

/**
 * A consume-transform-produce worker with exactly-once commits, the way Sluice's hops work:
 * a transactional producer per input partition (its id fences the previous owner), records
 * below the committed offset skipped, outputs and offsets committed in one transaction.
 */
async function startWorker(kafka: Kafka): Promise<void> {
  const producers = new Map<number, TransactionalProducer>();
  const admin = kafka.admin();
  const consumer = kafka.consumer({
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
  });
  await consumer.start({
    topics: ['in'],
    autoCommit: false,
    onAssignment: () => producers.clear(),
    eachBatch: async (batch, control) => {
      try {
        let producer = producers.get(batch.partition);
        if (producer === undefined) {
          producer = kafka.transactionalProducer({
            transactionalId: `task-${batch.partition}`,
            transactionTimeoutMs: 20_000,
          });
          await producer.init();
          producers.set(batch.partition, producer);
        }
        const [committed] = (await admin.committed('g', ['in'])).filter(
          (o) => o.partition === batch.partition,
        );
        const from = Number(committed?.offset ?? -1);
        const todo = batch.records.filter((r) => Number(r.offset) >= from);
        if (todo.length === 0) return control.resolveOffset(batch.lastOffset);
        if (control.isStale()) return;
        const tx = await producer.begin();
        try {
          await tx.send([
            {
              topic: 'out',
              messages: todo.map((r) => ({ key: r.key, value: `out-${String(r.value)}` })),
            },
          ]);
          await tx.sendOffsets({ groupId: 'g' }, [
            {
              topic: 'in',
              partition: batch.partition,
              offset: String(Number(batch.lastOffset) + 1),
            },
          ]);
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => undefined);
          throw err;
        }
        control.resolveOffset(batch.lastOffset);
      } catch (err) {
        producers.delete(batch.partition); // reopen: a fresh init() next time
        throw err;
      }
    },
  });
}

/** A scripted run: input over 20 s, worker a crashes and restarts, worker b stalls 14 s. */
async function scenario(): Promise<{
  trace: readonly string[];
  outputs: string[];
  aborted: number;
  done: boolean;
}> {
  const clock = new VirtualClock();
  const cluster = new MemoryCluster({
    clock,
    trace: true,
    maxBatchRecords: 50,
    requestLatencyMs: 20,
  });
  cluster.createTopic('in', 4);
  cluster.createTopic('out', 2);
  // With request latency every call waits on the clock: everything runs as background work
  // that runUntil() drives.
  void startWorker(cluster.client('a'));
  void startWorker(cluster.client('b'));
  const input = cluster.client('source').producer();
  void (async () => {
    await input.connect();
    for (let i = 0; i < INPUTS; i += 20) {
      const messages = Array.from({ length: 20 }, (_, j) => ({
        key: `k${(i + j) % 50}`,
        value: `v${i + j}`,
      }));
      await input.send([{ topic: 'in', messages }]);
      await clock.sleep(200);
    }
  })();
  clock.after(1_430, () => cluster.crash('a')); // in a transaction of task-0
  clock.after(2_000, () => void startWorker(cluster.client('a')));
  clock.after(12_000, () => cluster.stall('b'));
  clock.after(26_000, () => cluster.resume('b'));
  // Done once the group committed every input record (a cheap check, run after every timer).
  const consumed = (): number => cluster.committed('g').reduce((n, o) => n + Number(o.offset), 0);
  const done = await clock.runUntil(() => consumed() === INPUTS, 120_000);
  await clock.advance(20_000); // let zombies finish: nothing more may appear
  const aborted = cluster
    .read('out', { isolation: 'read_uncommitted' })
    .filter((r) => r.status === 'aborted');
  return {
    trace: cluster.trace,
    outputs: cluster.read('out').map((r) => String(r.value)),
    aborted: aborted.length,
    done,
  };
}

describe('a simulated schedule', () => {
  it('is exactly-once through crashes and stalls, and replays identically', async () => {
    const started = performance.now();
    const first = await scenario();
    const elapsed = performance.now() - started;
    expect(first.done).toBe(true);
    const expected = Array.from({ length: INPUTS }, (_, i) => `out-v${i}`);
    expect([...first.outputs].sort()).toEqual([...expected].sort());
    // The schedule did go through fencing and rebalances: the crashed worker's open
    // transaction was aborted by its successor's init(), the stalled worker was expelled and,
    // resumed as a zombie, found its producer fenced.
    expect(first.trace.some((l) => l.includes('aborted (fenced by init)'))).toBe(true);
    expect(first.aborted).toBeGreaterThan(0);
    expect(first.trace.some((l) => l.includes('session timeout expels b-'))).toBe(true);
    expect(first.trace.some((l) => l.includes('b consumer g error PRODUCER_FENCED'))).toBe(true);

    const second = await scenario();
    expect(second.trace).toEqual(first.trace);
    expect(second.outputs).toEqual(first.outputs);
    expect(elapsed).toBeLessThan(2_000); // typically tens of milliseconds
  });
});
