import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { readToEnd } from '../../src/kafka/read-to-end.js';
import { kafkaClient, kafkaPort } from './kafka.js';

/** Produces `{ n, k }` for n = first..first+count-1, keyed k(i % keys), in sends of 500. */
export async function produceNumbers(
  topic: string,
  count: number,
  keys = 5,
  first = 1,
  brokers?: string[],
): Promise<void> {
  // Idempotent: a send retried across a broker restart must not write its records twice.
  const producer = kafkaClient('sluice-test', brokers).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({
    key: `k${(first - 1 + i) % keys}`,
    value: JSON.stringify({ n: first + i, k: `k${(first - 1 + i) % keys}` }),
  }));
  for (let i = 0; i < messages.length; i += 500)
    await producer.send({ topic, messages: messages.slice(i, i + 500) });
  await producer.disconnect();
}

/** Reads a topic read_committed until `done` holds on everything read so far, or fails after the timeout. */
export async function readUntil(
  topic: string,
  done: (all: ConsumedRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<ConsumedRecord[]> {
  const consumer = kafkaClient().consumer(
    consumerConfig({ groupId: `sluice-test-reader-${Math.random()}` }),
  );
  const all: ConsumedRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out with ${all.length} records on ${topic}`)),
        timeoutMs,
      );
      void consumer.run({
        eachBatch: ({ batch }) => {
          all.push(...batch.messages);
          if (done(all)) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return all;
}

/**
 * `read()` again every 200 ms until `shows` holds of what it read, for at most `timeoutMs`: a
 * transaction's markers are written after its commit() returns, so a read right after may not
 * count it as committed yet. Resolves to the last read either way; the caller asserts on it.
 */
export async function readAgainUntil<T>(
  read: () => Promise<T>,
  shows: (read: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!shows(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await read();
  }
  return last;
}

/** Everything a topic holds now, read_committed (on the test broker, or `brokers`). */
export async function readAll(topic: string, brokers?: string[]): Promise<ConsumedRecord[]> {
  const all: ConsumedRecord[] = [];
  await readToEnd(kafkaPort('sluice-test', brokers), [topic], (_t, _p, m) => all.push(m));
  return all;
}

/** The `{ key, value }` outputs of a keyed stage, parsed, in order. */
export function keyed(all: ConsumedRecord[]): { key: string; value: number }[] {
  return all.map((r) => JSON.parse(r.value?.toString() ?? '{}') as { key: string; value: number });
}

/** The last value per key. */
export function latest(all: ConsumedRecord[]): Map<string, number> {
  return new Map(keyed(all).map((o) => [o.key, o.value]));
}

/** The sums of n = 1..count by key k(i % keys), leaving out n = `skip`. */
export function sums(count: number, skip?: number, keys = 5): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < count; i++)
    if (i + 1 !== skip) m.set(`k${i % keys}`, (m.get(`k${i % keys}`) ?? 0) + i + 1);
  return m;
}

/** A keyed stage's output values per key, ascending: for a running count or sum, one per record. */
export function valuesByKey(all: ConsumedRecord[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const { key, value } of keyed(all)) m.set(key, [...(m.get(key) ?? []), value]);
  for (const values of m.values()) values.sort((a, b) => a - b);
  return m;
}

/**
 * What a keyed running sum emits for n = 1..count by key k(i % keys), leaving out n = `skip`:
 * per key, the sum after each of its records, once each.
 */
export function runningSums(count: number, skip?: number, keys = 5): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    if (i + 1 === skip) continue;
    const k = `k${i % keys}`;
    const values = m.get(k) ?? [];
    values.push((values.at(-1) ?? 0) + i + 1);
    m.set(k, values);
  }
  return m;
}
