import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { jobHops, outputsWhenThrough } from '../support/job-groups.js';
import { kafkaClient, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';
import { spawnCliWorker } from '../support/spawn.js';
import { connectClient, startCoordinator } from '../support/sluice.js';

// Issue 19, branches on a real broker, with workers that are the real CLI: 20,000 orders split
// by a branch into two sinks (refunds and sales; amount 0 goes nowhere) under EXACTLY_ONCE, one
// of two workers SIGKILLed midway. Each sink holds exactly the orders the input says it should,
// once each, and nothing more: read once the job's group committed through the input's end.

const ns = testNamespace('branches');
await useTopics(ns, [
  { topic: `${ns}.in`, numPartitions: 4 },
  { topic: `${ns}.refunds`, numPartitions: 3 },
  { topic: `${ns}.sales`, numPartitions: 2 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

function startWorker(id: string): ChildProcess {
  const child = spawnCliWorker('test/fixtures/pipelines/split-orders.mjs', id, sluiceEnv(ns));
  children.push(child);
  return child;
}

const RECORDS = 20_000;
/** Every fifth order is 0, a third of the rest refunds (negative), the others sales. */
function amountOf(n: number): number {
  if (n % 5 === 0) return 0;
  return n % 3 === 0 ? -((n % 97) + 1) : (n % 89) + 1;
}

/** Orders from..to-1 (multiples of 1,000), keyed by number. */
async function produce(from: number, to: number): Promise<void> {
  const producer = kafkaClient().producer();
  await producer.connect();
  for (let i = from; i < to; i += 1000) {
    const messages = Array.from({ length: 1000 }, (_, j) => ({
      key: String(i + j),
      value: JSON.stringify({ n: i + j, amount: amountOf(i + j) }),
    }));
    await producer.send({ topic: `${ns}.in`, messages });
  }
  await producer.disconnect();
}

const values = <T>(all: ConsumedRecord[]): T[] => all.map((r) => JSON.parse(String(r.value)) as T);
const byN = <T extends { n: number }>(rows: T[]): T[] => [...rows].sort((a, b) => a.n - b.n);

const workers = [startWorker('branches-1'), startWorker('branches-2')];

describe('a branch into two sinks under EXACTLY_ONCE, with a worker killed midway', () => {
  it('writes every order to the one sink the input says, exactly once', async () => {
    // Half the orders first: the kill below must fall midway however fast the job runs.
    await produce(0, RECORDS / 2);
    const job = await client.submit('split-orders', {
      name: 'split',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      snapshotIntervalMs: 500,
      args: { input: `${ns}.in`, refunds: `${ns}.refunds`, sales: `${ns}.sales` },
    });
    // Computed from the input alone.
    const all = Array.from({ length: RECORDS }, (_, n) => ({ n, amount: amountOf(n) }));
    const refunds = all.filter((o) => o.amount < 0).map((o) => ({ n: o.n, refund: -o.amount }));
    const sales = all.filter((o) => o.amount > 0);

    // Killed once a third of the sales are out: its open transactions (holding both sinks'
    // records) abort, and its partitions move to the other worker, which redoes them.
    const atKill = await readUntil(`${ns}.sales`, (got) => got.length >= sales.length / 3, 120_000);
    workers[0]?.kill('SIGKILL');
    // Midway: the job was not done when the worker died.
    expect(atKill.length).toBeLessThan(sales.length);
    await produce(RECORDS / 2, RECORDS);

    const admin = kafkaClient().admin();
    await admin.connect();
    let salesOut: ConsumedRecord[];
    let refundsOut: ConsumedRecord[];
    try {
      // Once the group committed through the input's end, both sinks hold all there will be.
      salesOut = await outputsWhenThrough(
        admin,
        jobHops(ns, job.id, `${ns}.in`),
        `${ns}.sales`,
        180_000,
      );
      refundsOut = await readAll(`${ns}.refunds`);
    } finally {
      await admin.disconnect();
    }
    expect(job.status()).toBe('RUNNING');
    expect(workers[0]?.killed).toBe(true);

    // Exactly: same length and same orders, so no duplicate and no loss, in either sink.
    expect(salesOut).toHaveLength(sales.length);
    expect(byN(values<{ n: number; amount: number }>(salesOut))).toEqual(sales);
    expect(refundsOut).toHaveLength(refunds.length);
    expect(byN(values<{ n: number; refund: number }>(refundsOut))).toEqual(refunds);
    // Each sink's key function applied.
    expect(salesOut.every((r) => String(r.key) === String(values<{ n: number }>([r])[0]?.n))).toBe(
      true,
    );
  }, 240_000);
});
