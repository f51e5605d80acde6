import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { jobHops, outputsWhenThrough } from '../support/job-groups.js';
import { kafkaClient, sluiceEnv, testNamespace, useTopics } from '../support/kafka.js';
import { readUntil } from '../support/records.js';
import { spawnCliWorker } from '../support/spawn.js';
import { connectClient, startCoordinator } from '../support/sluice.js';

// Issue 19, a stream–table join on a real broker, with workers that are the real CLI: orders
// enriched with their customer from a compacted table topic that changes during the run (every
// entry updated between batches, one deleted, one added), under EXACTLY_ONCE, one of two
// workers SIGKILLed midway. The batches and the table's versions alternate: batch k is written
// once version k of the table is, and version k+1 only once every output of batch k is
// committed, so each order's partner is determined by the input alone (docs/pipelines.md:
// a record sees every table update committed before it was written, none made after its
// outputs). Checked against results computed here, without Sluice.

const ns = testNamespace('join-table');
const ORDERS = `${ns}.orders`;
const CUSTOMERS = `${ns}.customers`;
const OUT = `${ns}.out`;
await useTopics(ns, [
  { topic: ORDERS, numPartitions: 4 },
  {
    topic: CUSTOMERS,
    numPartitions: 2,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  },
  { topic: OUT, numPartitions: 3 },
]);
await startCoordinator(ns);
const client = await connectClient(ns, 'alice');

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

function startWorker(id: string): ChildProcess {
  const child = spawnCliWorker('test/fixtures/pipelines/enrich-orders.mjs', id, sluiceEnv(ns));
  children.push(child);
  return child;
}

const BATCHES = 6;
const PER_BATCH = 2_000;
/**
 * Batch k's orders: [start(k), start(k + 1)). Batch 3, during which a worker is killed, is four
 * times the others: the kill, once a reader has seen its first quarter, must land before it is
 * all out (with batches of one size, the reader once saw the whole batch before the kill).
 */
const KILLED_IN = 3;
const sizeOf = (k: number): number => (k === KILLED_IN ? 4 * PER_BATCH : PER_BATCH);
const start = (k: number): number => {
  let n = 0;
  for (let j = 1; j < k; j++) n += sizeOf(j);
  return n;
};
const CUSTOMER_IDS = 60;

interface Entry {
  tier: string;
  version: number;
}

/** The table at version v: c0..c49, without c7 from version 3, with c55 from version 4. */
function tableAt(v: number): Map<string, Entry> {
  const t = new Map<string, Entry>();
  for (let i = 0; i < CUSTOMER_IDS; i++) {
    const present = (i < 50 && !(i === 7 && v >= 3)) || (i === 55 && v >= 4);
    if (present) t.set(`c${i}`, { tier: `t${(i + v) % 3}`, version: v });
  }
  return t;
}

/** What moves the table topic from version v-1 to v: every entry of v, a tombstone per removal. */
function updatesTo(v: number): { key: string; value: string | null }[] {
  const now = tableAt(v);
  const before = v > 1 ? tableAt(v - 1) : new Map<string, Entry>();
  return [
    ...[...now].map(([key, e]) => ({ key, value: JSON.stringify(e) })),
    ...[...before.keys()].filter((k) => !now.has(k)).map((key) => ({ key, value: null })),
  ];
}

const customerOf = (n: number): string => `c${n % CUSTOMER_IDS}`;

interface Enriched {
  n: number;
  customer: string;
  tier: string | null;
  version: number | null;
}

/** Batch k's outputs, from the input alone: each order with version k of its customer, or null. */
function expected(): Enriched[] {
  const out: Enriched[] = [];
  for (let k = 1; k <= BATCHES; k++) {
    const table = tableAt(k);
    for (let n = start(k); n < start(k + 1); n++) {
      const c = table.get(customerOf(n));
      out.push({ n, customer: customerOf(n), tier: c?.tier ?? null, version: c?.version ?? null });
    }
  }
  return out;
}

const values = <T>(all: ConsumedRecord[]): T[] => all.map((r) => JSON.parse(String(r.value)) as T);

const workers = [startWorker('join-table-1'), startWorker('join-table-2')];

describe('a stream–table join under EXACTLY_ONCE, the table changing, a worker killed midway', () => {
  it('joins every order with the version of its customer the input says, exactly once', async () => {
    const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: CUSTOMERS, messages: updatesTo(1) });
    const job = await client.submit('enrich-orders', {
      name: 'enrich',
      processingGuarantee: 'EXACTLY_ONCE',
      suspendOnFailure: true,
      snapshotIntervalMs: 500,
      args: { input: ORDERS, customers: CUSTOMERS, output: OUT },
    });
    let killedAt = -1;
    try {
      for (let k = 1; k <= BATCHES; k++) {
        if (k > 1) await producer.send({ topic: CUSTOMERS, messages: updatesTo(k) });
        const first = start(k);
        const orders = Array.from({ length: sizeOf(k) }, (_, i) => ({
          key: String(first + i),
          value: JSON.stringify({ n: first + i, customer: customerOf(first + i) }),
        }));
        for (let i = 0; i < orders.length; i += 500)
          await producer.send({ topic: ORDERS, messages: orders.slice(i, i + 500) });
        if (k === KILLED_IN) {
          // Killed with a quarter of batch 3 out: its open transactions (outputs, table copies,
          // offsets) abort, and its partitions move to the other worker, which restores the
          // copies from the changelog and redoes them.
          const quarter = start(k) + sizeOf(k) / 4;
          const atKill = await readUntil(OUT, (got) => got.length >= quarter, 120_000);
          workers[0]?.kill('SIGKILL');
          killedAt = atKill.length;
        }
        // Exactly-once: a read_committed count of k batches means batch k is all out.
        await readUntil(OUT, (got) => got.length >= start(k + 1), 120_000);
      }
    } finally {
      await producer.disconnect();
    }
    // Midway: the job was not done with batch 3 when the worker died.
    expect(killedAt).toBeLessThan(start(KILLED_IN + 1));

    const admin = kafkaClient().admin();
    await admin.connect();
    let out: ConsumedRecord[];
    try {
      // Once the group committed through the input's end, the sink holds all there will be.
      out = await outputsWhenThrough(admin, jobHops(ns, job.id, ORDERS), OUT, 180_000);
    } finally {
      await admin.disconnect();
    }
    expect(job.status()).toBe('RUNNING');

    const want = expected();
    // Exactly: same length and same rows, so no duplicate, no loss, and each partner right.
    expect(out).toHaveLength(want.length);
    expect(values<Enriched>(out).sort((a, b) => a.n - b.n)).toEqual(want);
    // The left join's nulls are there: customers the table never had, the deleted one.
    expect(want.filter((r) => r.tier === null).length).toBeGreaterThan(0);
    expect(want.some((r) => r.customer === 'c7' && r.version === null)).toBe(true);
    expect(want.some((r) => r.customer === 'c55' && r.version === 4)).toBe(true);
  }, 300_000);
});
