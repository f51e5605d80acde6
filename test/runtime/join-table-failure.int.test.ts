import { afterAll, describe, expect, it } from 'vitest';
import { changelogTopic } from '../../src/domain/resources.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { Worker } from '../../src/node/worker.js';
import { Tables } from '../../src/pipeline/join.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { jobHops, noTasks, outputsWhenThrough, until } from '../support/job-groups.js';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll } from '../support/records.js';
import { connectClient, testLogger } from '../support/sluice.js';

// Issue 19, failures inside a table join on a real broker: a join function that throws on one
// order suspends the job with the stage and the order's coordinates; the failure snapshot holds
// every output before it and the task's copy of the table as it was (read from the changelog
// while the table moves on); a resume with skip joins the later orders with the table as it is
// then. An unreadable table entry suspends the job in the stage too, and a readable value for
// the key written to the table lets a resume go on.

const ns = testNamespace('join-fail');
const compacted = [{ name: 'cleanup.policy', value: 'compact' }];
const admin = await useTopics(ns, [
  ...['orders', 'out', 'orders-2', 'out-2'].map((t) => ({ topic: `${ns}.${t}`, numPartitions: 1 })),
  ...['customers', 'customers-2'].map((t) => ({
    topic: `${ns}.${t}`,
    numPartitions: 2,
    configEntries: compacted,
  })),
]);
const client = await connectClient(ns);

interface Order {
  n: number;
  customer: string;
}
interface Customer {
  tier: string;
  version: number;
}

const POISON = 300;
const { brokers, registryUrl } = endpoints();
const worker = new Worker({
  brokers,
  registryUrl,
  namespace: ns,
  logger: testLogger,
  workerId: 'w',
})
  // Typed end to end: the partner is a Customer or null, the output an Enriched.
  .register('enrich', (args) =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: args.input ?? '' }))
      .leftJoinTable(Tables.kafka<Customer>({ topic: args.customers ?? '' }), {
        name: 'customers',
        key: (o) => o.customer,
        join: (o, c) => {
          if (o.n === POISON) throw new RangeError(`order ${o.n} is poison`);
          return { n: o.n, version: c?.version ?? null };
        },
      })
      .writeTo(Sinks.kafka<{ n: number }>({ topic: args.output ?? '', key: (r) => String(r.n) })),
  );
await worker.start();
afterAll(() => worker.stop());

const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
afterAll(() => producer.disconnect());

/** Customers c0..c9 at `version`. */
const table = (topic: string, version: number) =>
  producer.send({
    topic,
    messages: Array.from({ length: 10 }, (_, i) => ({
      key: `c${i}`,
      value: JSON.stringify({ tier: `t${i % 3}`, version }),
    })),
  });
/** Orders 0..count-1 of customers c0..c11 (c10 and c11 are in no table). */
const orders = (topic: string, count: number) =>
  producer.send({
    topic,
    messages: Array.from({ length: count }, (_, n) => ({
      key: String(n),
      value: JSON.stringify({ n, customer: `c${n % 12}` }),
    })),
  });

const rows = (all: ConsumedRecord[]) =>
  all
    .map((r) => JSON.parse(String(r.value)) as { n: number; version: number | null })
    .sort((a, b) => a.n - b.n);
/** From the input alone: order n with `version` of its customer, or null for c10 and c11. */
const want = (ns_: number[], version: number) =>
  ns_.map((n) => ({ n, version: n % 12 < 10 ? version : null }));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('a table join that fails', () => {
  it('suspends in the stage, keeps the table copy as it was, and a skip goes on with the table as it is', async () => {
    const [input, customers, output] = [`${ns}.orders`, `${ns}.customers`, `${ns}.out`];
    await table(customers, 1);
    await orders(input, 600);
    const job = await client.submit('enrich', {
      name: 'skip',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, customers, output },
    });
    await job.join().catch(() => undefined);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    expect(job.suspensionCause()).toMatchObject({
      stage: 'customers',
      error: { name: 'RangeError', message: `order ${POISON} is poison` },
      record: { topic: input, partition: 0, offset: String(POISON), key: String(POISON) },
    });
    // Nothing of the job runs: what the sink holds now is the failure snapshot's.
    await until(() => noTasks(admin, jobHops(ns, job.id, input)), 'the job to stop');
    expect(rows(await readAll(output))).toEqual(want(range(0, POISON), 1));

    // The table moves on while the job is suspended; the snapshot's copy does not.
    await table(customers, 2);
    const copy = new Map<string, unknown>();
    for (const r of await readAll(changelogTopic(ns, job.id, 'customers')))
      copy.set(String(r.key).split('\u0000')[2] ?? '', r.value && JSON.parse(String(r.value)));
    expect(copy.get('t:c4')).toEqual({ tier: 't1', version: 1 });
    expect([...copy.keys()].filter((k) => k.startsWith('t:'))).toHaveLength(10);

    await job.resume({ failingRecord: 'SKIP' });
    const out = await outputsWhenThrough(admin, jobHops(ns, job.id, input), output);
    // Exactly once: the first 300 with version 1, the skipped one gone, the rest with version 2.
    expect(out).toHaveLength(599);
    expect(rows(out)).toEqual([...want(range(0, POISON), 1), ...want(range(POISON + 1, 600), 2)]);
  }, 120_000);

  it('an unreadable table entry suspends the job in the stage; a readable one for the key lets it go on', async () => {
    const [input, customers, output] = [`${ns}.orders-2`, `${ns}.customers-2`, `${ns}.out-2`];
    await table(customers, 1);
    await producer.send({ topic: customers, messages: [{ key: 'c3', value: 'not json' }] });
    await orders(input, 200);
    const job = await client.submit('enrich', {
      name: 'unreadable',
      suspendOnFailure: true,
      processingGuarantee: 'EXACTLY_ONCE',
      args: { input, customers, output },
    });
    await job.join().catch(() => undefined);
    expect(job.status()).toBe('SUSPENDED_DUE_TO_ERROR');
    const cause = job.suspensionCause();
    expect(cause).toMatchObject({ stage: 'customers', record: { topic: input, offset: '0' } });
    expect(cause?.error?.message).toContain(`table record ${customers}-`);

    await table(customers, 2);
    // The code did not fail: the table did. Retrying the record in the same code is the fix.
    await job.resume({ force: true });
    const out = await outputsWhenThrough(admin, jobHops(ns, job.id, input), output);
    expect(rows(out)).toEqual(want(range(0, 200), 2));
  }, 120_000);
});
