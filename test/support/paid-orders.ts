import type { ChildProcess } from 'node:child_process';
import type { Producer } from 'kafkajs';
import { afterAll } from 'vitest';
import type { SluiceClient } from '../../src/client/client.js';
import { sluiceEnv, testNamespace, useTopics } from './kafka.js';
import { RECENT_T0 } from './record-time.js';
import { connectClient, startCoordinator } from './sluice.js';
import { spawnCliWorker } from './spawn.js';

// The input of the stream-join tests on a real broker (join-stream.int, join-stream-outer.int):
// 8,000 orders, 100 ms apart in record time, and their payments (none for every fourth order,
// two for every tenth), each payment from 10 s before to 20 s after its order, so that some
// fall outside a ±10 s window.

export const ORDER_COUNT = 8_000;
export const WINDOW_MS = 10_000;

export interface Payment {
  pid: number;
  orderId: string;
  t: number;
}

/** Order i's time: 100 ms apart. */
export const orderTime = (i: number): number => RECENT_T0 + i * 100;

/** The payments: none for every fourth order, two for every tenth, offsets in [-10 s, 20 s). */
export function paymentsOf(i: number): Payment[] {
  if (i % 4 === 0) return [];
  const delta = ((i * 7919) % 30_000) - 10_000;
  const first = { pid: 2 * i, orderId: `o${i}`, t: orderTime(i) + delta };
  return i % 10 === 1
    ? [first, { pid: 2 * i + 1, orderId: `o${i}`, t: orderTime(i) - 5_000 }]
    : [first];
}

/** True when payment `p` of order i lies within the join's window. */
export const withinWindow = (i: number, p: Payment): boolean =>
  Math.abs(p.t - orderTime(i)) <= WINDOW_MS;

/** Orders from..to-1 and their payments, 500 orders a send, each with its time as its Kafka timestamp. */
export async function produceOrders(
  producer: Producer,
  topics: { orders: string; payments: string },
  from: number,
  to: number,
): Promise<void> {
  for (let i = from; i < to; i += 500) {
    const ids = Array.from({ length: Math.min(500, to - i) }, (_, j) => i + j);
    await producer.send({
      topic: topics.orders,
      messages: ids.map((n) => ({
        key: `o${n}`,
        value: JSON.stringify({ id: `o${n}`, n }),
        timestamp: String(orderTime(n)),
      })),
    });
    await producer.send({
      topic: topics.payments,
      messages: ids.flatMap(paymentsOf).map((p) => ({
        key: String(p.pid),
        value: JSON.stringify(p),
        timestamp: String(p.t),
      })),
    });
  }
}

/**
 * A stream-join test's world on the real broker: its namespace, topics (orders on 4
 * partitions, payments on 3, the output on 2: partitioned differently), a coordinator, alice's
 * client, and two CLI workers hosting test/fixtures/pipelines/paid-orders.mjs, SIGKILLed after
 * the file's tests.
 */
export async function paidOrdersWorld(prefix: string): Promise<{
  ns: string;
  topics: { orders: string; payments: string; output: string };
  client: SluiceClient;
  workers: ChildProcess[];
}> {
  const ns = testNamespace(prefix);
  const topics = { orders: `${ns}.orders`, payments: `${ns}.payments`, output: `${ns}.out` };
  await useTopics(ns, [
    { topic: topics.orders, numPartitions: 4 },
    { topic: topics.payments, numPartitions: 3 },
    { topic: topics.output, numPartitions: 2 },
  ]);
  await startCoordinator(ns);
  const client = await connectClient(ns, 'alice');
  const workers = [1, 2].map((i) =>
    spawnCliWorker('test/fixtures/pipelines/paid-orders.mjs', `${prefix}-${i}`, sluiceEnv(ns)),
  );
  afterAll(() => workers.forEach((c) => c.kill('SIGKILL')));
  return { ns, topics, client, workers };
}
