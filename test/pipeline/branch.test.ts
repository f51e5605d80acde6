import { describe, expect, expectTypeOf, it } from 'vitest';
import { SluiceError } from '../../src/domain/errors.js';
import { Pipeline, type PipelineDef, type Stream } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { allStages, type Route } from '../../src/pipeline/stages.js';

interface Order {
  customer: string;
  amount: number;
}

const orders = () => Pipeline.create().readFrom<Order>(Sources.kafka({ topic: 'orders' }));
const sink = (topic: string) => Sinks.kafka({ topic });

function configError(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SluiceError && err.code === 'SLUICE_CONFIG_INVALID') return err;
    throw err;
  }
  throw new Error('expected SLUICE_CONFIG_INVALID, got nothing');
}

describe('Stream.branch', () => {
  it('types each branch with the stream it splits, and ends the pipeline', () => {
    const def = orders()
      .map((o) => ({ ...o, cents: o.amount * 100 }))
      .branch(
        { refunds: (o) => o.amount < 0, sales: (o) => o.amount > 0 },
        {
          refunds: (s) => {
            expectTypeOf(s).toEqualTypeOf<
              Stream<{ customer: string; amount: number; cents: number }>
            >();
            return s.map((o) => ({ customer: o.customer, refund: -o.cents })).writeTo(sink('r'));
          },
          sales: (s) => s.writeTo(sink('s')),
        },
        { otherwise: (s) => s.writeTo(sink('zero')) },
      );
    expectTypeOf(def).toEqualTypeOf<PipelineDef>();
    const two = { a: () => true, b: () => true };
    const a = (s: Stream<Order>) => s.writeTo(sink('a'));
    const b = (s: Stream<Order>) => s.writeTo(sink('b'));
    // @ts-expect-error: a branch without its sink is caught by the compiler (and at run time)
    configError(() => orders().branch(two, { a }));
    // @ts-expect-error: so is a sink without a predicate
    configError(() => orders().branch({ a: () => true }, { a, b }));
    // Never called: predicates see the stream's type.
    const typed = () =>
      // @ts-expect-error: Order has no `missing`
      orders().branch({ a: (o) => o.missing > 0 }, { a });
    expectTypeOf(typed).returns.toEqualTypeOf<PipelineDef>();
  });

  it('lists every sink in order, each branch naming its own by index', () => {
    const def = orders().branch(
      { refunds: (o) => o.amount < 0, sales: (o) => o.amount > 0 },
      {
        refunds: (s) => s.map((o) => o.amount).writeTo(sink('refunds')),
        sales: (s) => s.writeTo(sink('sales')),
      },
      { name: 'split', otherwise: (s) => s.writeTo(sink('zero')) },
    );
    expect(def.sinks.map((s) => s.topic)).toEqual(['refunds', 'sales', 'zero']);
    const [stage] = def.stages;
    expect(stage?.kind).toBe('branch');
    const routes = (stage as { routes: Route[] }).routes;
    expect(routes.map((r) => [r.name, r.sink, r.predicate === undefined])).toEqual([
      ['refunds', 0, false],
      ['sales', 1, false],
      ['otherwise', 2, true],
    ]);
    // Derived names inside a branch are prefixed by it, so they never clash with the stream's.
    expect(allStages(def.stages).map((s) => s.name)).toEqual(['split', 'refunds.map-1']);
  });

  it('refuses stateful stages, and a second branch, inside a branch, saying what to do', () => {
    const keyed = configError(() =>
      orders().branch(
        { a: () => true },
        {
          a: (s) =>
            s
              .groupingKey((o) => o.customer)
              .aggregate({ name: 'sum', init: () => 0, add: (n, o) => n + o.amount })
              .writeTo(sink('a')),
        },
      ),
    );
    expect(keyed.message).toMatch(
      /groupingKey\(\) inside branch "a" is not supported.*before branch\(\)/,
    );
    expect(
      configError(() =>
        orders().branch(
          { a: () => true },
          { a: (s) => s.branch({ b: () => true }, { b: (t) => t.writeTo(sink('b')) }) },
        ),
      ).message,
    ).toMatch(/branch\(\) inside branch "a"/);
    expect(
      configError(() => orders().branch({ a: () => true }, { a: (s) => s.groupByKey() as never }))
        .message,
    ).toMatch(/groupByKey\(\) inside branch "a"/);
  });

  it('refuses what untyped code gets wrong, naming it', () => {
    const untyped = orders() as unknown as {
      branch: (p: unknown, r: unknown, o?: unknown) => PipelineDef;
    };
    expect(configError(() => untyped.branch({}, {})).message).toMatch(/has no branches/);
    expect(configError(() => untyped.branch({ a: 1 }, { a: () => 1 })).message).toMatch(
      /predicate of "a" must be a function/,
    );
    expect(configError(() => untyped.branch({ 'a b': () => true }, {})).message).toMatch(
      /name "a b"/,
    );
    expect(configError(() => untyped.branch({ a: () => true }, {})).message).toMatch(
      /branch "a" needs a function/,
    );
    expect(
      configError(() => untyped.branch({ a: () => true }, { a: () => orders().writeTo(sink('x')) }))
        .message,
    ).toMatch(/must return what its own stream's writeTo/);
    expect(
      configError(() =>
        untyped.branch(
          { a: () => true },
          {
            a: (s: Stream<Order>) => s.writeTo(sink('a')),
            b: (s: Stream<Order>) => s.writeTo(sink('b')),
          },
        ),
      ).message,
    ).toMatch(/branch "b" has a sink but no predicate/);
    expect(
      configError(() =>
        untyped.branch(
          { otherwise: () => true },
          { otherwise: (s: Stream<Order>) => s.writeTo(sink('a')) },
        ),
      ).message,
    ).toMatch(/options.otherwise/);
  });

  it('refuses two stages of one name across the stream and its branches', () => {
    expect(
      configError(() =>
        orders()
          .map((o) => o, { name: 'x' })
          .branch(
            { a: () => true },
            { a: (s) => s.map((o) => o, { name: 'x' }).writeTo(sink('a')) },
          ),
      ).message,
    ).toMatch(/Two stages are named "x"/);
  });
});
