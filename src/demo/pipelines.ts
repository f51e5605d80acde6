/**
 * The demo's pipeline, in two versions. Version 1 has a bug: it assumes every order has an
 * amount. Version 2 is the fix. Both are registered under the same name, so a job suspended on
 * version 1 resumes on version 2: "deploy the fixed worker, then resume".
 */
import { Pipeline, type PipelineDef } from '../pipeline/pipeline.js';
import { Sinks } from '../pipeline/sinks.js';
import { Sources } from '../pipeline/sources.js';

/** An order on the demo's input topic; some upstream system sends `amount: null` once. */
export interface Order {
  id: number;
  customer: string;
  amount: number | null;
}

function build(priceOf: (o: Order) => number): (args: Record<string, string>) => PipelineDef {
  return (args) =>
    Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: args.input ?? 'orders', format: 'json' }))
      .map((o) => ({ customer: o.customer, amount: priceOf(o) }), { name: 'price' })
      .groupingKey((o) => o.customer)
      .aggregate({ name: 'totals', init: () => 0, add: (sum, o) => sum + o.amount })
      .writeTo(Sinks.kafka({ topic: args.output ?? 'totals', format: 'json' }));
}

/** Version 1: trusts the data. */
export const buggy = {
  'order-totals': build((o) => {
    if (typeof o.amount !== 'number') throw new TypeError(`order ${o.id} has no amount`);
    return o.amount;
  }),
};

/** Version 2: an order without an amount counts as 0. */
export const fixed = {
  'order-totals': build((o) => o.amount ?? 0),
};

export default fixed;
