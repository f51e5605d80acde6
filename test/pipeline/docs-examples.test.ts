import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/codec/registry.js';
import { NO_PLAN } from '../../src/domain/resume-plan.js';
import { Pipeline, Stream, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Tables } from '../../src/pipeline/join.js';
import { execute } from '../../src/runtime/execute.js';
import { entryKey } from '../../src/runtime/join-table.js';
import { runChunk } from '../../src/runtime/chunk.js';
import { Deserializer } from '../../src/runtime/serde.js';
import { StateStore } from '../../src/runtime/state-store.js';
import { Windows } from '../../src/pipeline/windowed.js';

// The examples of docs/pipelines.md, as written there: this file compiles them under the
// project's strict settings (npm run typecheck) and runs the branch example on a few records.

interface Order {
  customer: string;
  amount: number;
}
interface Click {
  user: string;
  page: string;
  at: number;
}
interface Basket {
  lines: { sku: string; qty: number }[];
}
interface Customer {
  name: string;
  tier: string;
}
interface Payment {
  customer: string;
  amount: number;
}
const customers = Tables.kafka<Customer>({ topic: 'customers' });

const modules = {
  'order-totals': (args: Record<string, string>) =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: args.input ?? 'orders', format: 'json' }))
      .filter((o) => o.amount !== 0)
      .groupingKey((o) => o.customer)
      .aggregate({ name: 'totals', init: () => 0, add: (sum, o) => sum + o.amount })
      .writeTo(Sinks.kafka({ topic: args.output ?? 'totals', format: 'json' })),
};

const stream = Pipeline.create().readFrom<Order>(Sources.kafka({ topic: 'orders' }));
const examples: Record<string, () => unknown> = {
  sources: () =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topics: ['orders-eu', 'orders-us'], bounded: true }))
      .writeTo(Sinks.kafka<Order>({ topic: 'orders-all', key: (o) => o.customer })),
  map: () => stream.map((o) => ({ ...o, cents: Math.round(o.amount * 100) })),
  filter: () => stream.filter((o) => o.amount !== 0),
  flatMap: () =>
    Pipeline.create()
      .readFrom<Basket>(Sources.kafka({ topic: 'baskets' }))
      .flatMap((basket: Basket) => basket.lines.map((l) => ({ sku: l.sku, qty: l.qty }))),
  groupingKey: () => stream.groupingKey((o) => o.customer),
  groupByKey: () =>
    stream.groupByKey().aggregate({ name: 'counts', init: () => 0, add: (n) => n + 1 }),
  aggregate: () =>
    stream
      .groupingKey((o) => o.customer)
      .aggregate({
        name: 'totals',
        init: () => 0,
        add: (sum, o) => sum + o.amount,
        emit: 'commit',
      }),
  mapWithState: () =>
    stream
      .groupingKey((o) => o.customer)
      .mapWithState({
        name: 'first-orders',
        init: () => false,
        fn: (seen: boolean, o: Order): [boolean, Order | undefined] => [true, seen ? undefined : o],
      }),
  window: () =>
    stream
      .groupingKey((o) => o.customer)
      .window(Windows.tumbling({ sizeMs: 60_000, graceMs: 10_000 }))
      .count({ name: 'orders-per-minute' }),
  tumbling: () => tumbling(),
  hopping: () =>
    stream
      .groupingKey((o) => o.customer)
      .window(Windows.hopping({ sizeMs: 300_000, advanceMs: 60_000 }))
      .count({ name: 'orders-last-5-minutes', emit: 'update' }),
  session: () =>
    Pipeline.create()
      .readFrom<Click>(Sources.kafka({ topic: 'clicks' }))
      .groupingKey((c) => c.user)
      .window(Windows.session({ gapMs: 30 * 60_000, graceMs: 60_000 }), { timestamp: (c) => c.at })
      .aggregate({
        name: 'visits',
        init: () => ({ clicks: 0, pages: [] as string[] }),
        add: (v, c) => ({ clicks: v.clicks + 1, pages: [...v.pages, c.page] }),
        merge: (a, b) => ({ clicks: a.clicks + b.clicks, pages: [...a.pages, ...b.pages] }),
      })
      .writeTo(Sinks.kafka({ topic: 'visits' })),
  late: () =>
    stream
      .groupingKey((o) => o.customer)
      .window(Windows.tumbling({ sizeMs: 60_000 }), { lateTopic: 'late-orders' })
      .count({ name: 'per-minute' }),
  leftJoinTable: () =>
    stream.leftJoinTable(customers, {
      name: 'with-customer',
      key: (o) => o.customer,
      join: (o, c) => ({ ...o, tier: c?.tier ?? 'none' }),
    }),
  joinStream: () =>
    stream
      .groupingKey((o) => o.customer)
      .joinStream({
        name: 'paid',
        other: Sources.kafka({ topic: 'payments' }),
        otherKey: (p: Payment) => p.customer,
        windowMs: 60_000,
        graceMs: 10_000,
        join: (o, p) => ({ customer: o.customer, ordered: o.amount, paid: p.amount }),
      }),
  outerJoinStream: () =>
    stream
      .groupingKey((o) => o.customer)
      .outerJoinStream({
        name: 'settled',
        other: Sources.kafka({ topic: 'payments' }),
        otherKey: (p: Payment) => p.customer,
        windowMs: 60_000,
        graceMs: 10_000,
        lateTopic: 'payments-late',
        join: (o, p, customer) => ({ customer, ordered: o?.amount ?? 0, paid: p?.amount ?? 0 }),
      }),
};

function tumbling() {
  return stream
    .groupingKey((o) => o.customer)
    .window(Windows.tumbling({ sizeMs: 60_000, graceMs: 5_000 }), { outOfOrderMs: 1_000 })
    .aggregate({ name: 'totals-per-minute', init: () => 0, add: (sum, o) => sum + o.amount });
}

const branched = (): PipelineDef =>
  Pipeline.create()
    .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
    .map((o) => ({ ...o, cents: Math.round(o.amount * 100) }), { name: 'cents' })
    .branch(
      { refunds: (o) => o.amount < 0, sales: (o) => o.amount > 0 },
      {
        refunds: (s) =>
          s
            .map((o) => ({ customer: o.customer, refund: -o.cents }))
            .writeTo(Sinks.kafka({ topic: 'refunds' })),
        sales: (s) => s.writeTo(Sinks.kafka({ topic: 'sales' })),
      },
      { name: 'split', otherwise: (s) => s.writeTo(Sinks.kafka({ topic: 'zero-orders' })) },
    );

/**
 * Runs orders (each with its Kafka timestamp) through a pipeline's stages as one chunk of one
 * task: what each sink topic gets, parsed.
 */
async function runOn(
  def: PipelineDef,
  records: [Order, number][],
): Promise<Record<string, unknown[]>> {
  const result = await runChunk({
    spec: {
      deserializer: new Deserializer({ format: 'json', registry: {} as RegistryClient }),
      stages: def.stages,
      outputs: def.sinks.map((s) => ({
        topic: s.topic,
        key: () => null,
        write: (v) => Buffer.from(JSON.stringify(v)),
        internal: false,
      })),
    },
    plan: NO_PLAN,
    jobId: 'docs',
    task: {
      topic: 'orders',
      partition: 0,
      state: new StateStore(),
      committed: undefined,
      errorCounts: [],
    },
    messages: records.map(([o, ts], i) => ({
      offset: String(i),
      key: null,
      value: Buffer.from(JSON.stringify(o)),
      timestamp: String(ts),
    })),
    stopped: () => false,
  });
  return Object.fromEntries(
    result.outputs.map((t) => [
      t.topic,
      t.messages.map((m) => JSON.parse(String(m.value)) as unknown),
    ]),
  );
}

describe('docs/pipelines.md examples', () => {
  it('count per minute as the tumbling window section says', async () => {
    const min = 60_000;
    const out = await runOn(tumbling().writeTo(Sinks.kafka({ topic: 'out' })), [
      [{ customer: 'a', amount: 2 }, 10 * min + 1_000],
      [{ customer: 'a', amount: 3 }, 10 * min + 59_000],
      [{ customer: 'b', amount: 4 }, 11 * min + 2_000],
      // 500 ms out of order: within outOfOrderMs, counted in the minute before.
      [{ customer: 'a', amount: 1 }, 10 * min + 59_500],
      // The watermark (max - 1 s) reaches 11:05 plus grace: minute 10 closes.
      [{ customer: 'b', amount: 1 }, 11 * min + 6_000],
      // Minute 10 is closed: late, dropped and counted.
      [{ customer: 'a', amount: 9 }, 10 * min + 30_000],
    ]);
    expect(out).toEqual({ out: [{ key: 'a', start: 10 * min, end: 11 * min, value: 6 }] });
  });

  it('build', () => {
    expect(modules['order-totals']({ input: 'in', output: 'out' }).sinks).toHaveLength(1);
    for (const [name, build] of Object.entries(examples)) expect(build, name).not.toThrow();
    expect(examples.map?.()).toBeInstanceOf(Stream);
  });

  it('route orders as the branch section says', async () => {
    const out = await runOn(branched(), [
      [{ customer: 'a', amount: -2 }, 0],
      [{ customer: 'b', amount: 3 }, 0],
      [{ customer: 'c', amount: 0 }, 0],
    ]);
    expect(out).toEqual({
      refunds: [{ customer: 'a', refund: 200 }],
      sales: [{ customer: 'b', amount: 3, cents: 300 }],
      'zero-orders': [{ customer: 'c', amount: 0, cents: 0 }],
    });
  });

  it('enriches orders as the joins section says', async () => {
    const stages = (examples.leftJoinTable?.() as Stream<unknown>).writeTo(
      Sinks.kafka({ topic: 'out' }),
    ).stages;
    const state = new StateStore();
    state.restore('with-customer', entryKey('a'), { name: 'Ann', tier: 'gold' });
    const run = async (o: Order) => (await execute(stages, o, state)).map((x) => x.value);
    expect(await run({ customer: 'a', amount: 1 })).toEqual([
      { customer: 'a', amount: 1, tier: 'gold' },
    ]);
    expect(await run({ customer: 'b', amount: 2 })).toEqual([
      { customer: 'b', amount: 2, tier: 'none' },
    ]);
  });
});
