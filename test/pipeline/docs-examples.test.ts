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

// The examples of docs/pipelines.md, as written there: this file compiles them under the
// project's strict settings (npm run typecheck) and runs the branch example on a few records.

interface Order {
  customer: string;
  amount: number;
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
};

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

describe('docs/pipelines.md examples', () => {
  it('build', () => {
    expect(modules['order-totals']({ input: 'in', output: 'out' }).sinks).toHaveLength(1);
    for (const [name, build] of Object.entries(examples)) expect(build, name).not.toThrow();
    expect(examples.map?.()).toBeInstanceOf(Stream);
  });

  it('route orders as the branch section says', async () => {
    const def = branched();
    const value = (o: Order) => Buffer.from(JSON.stringify(o));
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
      messages: [
        { customer: 'a', amount: -2 },
        { customer: 'b', amount: 3 },
        { customer: 'c', amount: 0 },
      ].map((o, i) => ({ offset: String(i), key: null, value: value(o), timestamp: '0' })),
      stopped: () => false,
    });
    expect(
      Object.fromEntries(
        result.outputs.map((t) => [
          t.topic,
          t.messages.map((m) => JSON.parse(String(m.value)) as unknown),
        ]),
      ),
    ).toEqual({
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
