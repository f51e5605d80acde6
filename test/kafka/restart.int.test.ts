import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import type { EachBatchPayload } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { restartOnError } from '../../src/kafka/kafkajs/restart.js';
import { endpoints, testNamespace, useTopics } from '../support/kafka.js';

// A consumer whose eachBatch throws an error kafkajs deems non-retriable (here the one kafkajs
// itself throws when no group coordinator answers during a broker restart) on its first batch.
// Plain, kafkajs stops it for good; wrapped in restartOnError, the batch comes again.

const ns = testNamespace('restart');
const topic = `${ns}.in`;
await useTopics(ns, [{ topic, numPartitions: 1 }]);
const kafka = new kafkajs.Kafka({
  clientId: 'restart-test',
  brokers: endpoints().brokers,
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
});
const producer = kafka.producer();
await producer.connect();
await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
await producer.disconnect();

/** Runs a consumer whose handler throws on the first batch; what it saw within `ms`. */
async function run(
  wrap: (h: (p: EachBatchPayload) => Promise<void>) => (p: EachBatchPayload) => Promise<void>,
  ms = 15_000,
): Promise<{ calls: number; processed: string[]; crashes: { restart: boolean }[] }> {
  const seen = { calls: 0, processed: [] as string[], crashes: [] as { restart: boolean }[] };
  const consumer = kafka.consumer(consumerConfig({ groupId: `${ns}.${randomUUID()}` }));
  consumer.on(consumer.events.CRASH, ({ payload }) =>
    seen.crashes.push({ restart: payload.restart }),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: wrap(({ batch }) => {
      seen.calls++;
      if (seen.calls === 1)
        return Promise.reject(
          new kafkajs.KafkaJSNonRetriableError('Failed to find group coordinator'),
        );
      seen.processed.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
      return Promise.resolve();
    }),
  });
  const deadline = Date.now() + ms;
  const stopped = () => seen.crashes.some((c) => !c.restart);
  // No wait after a crash for a restart that might come: kafkajs decides before it reports the
  // crash, disconnects the consumer first, and schedules a restart only when the report says so.
  while (seen.processed.length < 2 && !stopped() && Date.now() < deadline) await sleep(100);
  await consumer.disconnect();
  return seen;
}

describe('restartOnError', () => {
  it('without it, kafkajs stops a consumer whose batch failed with a non-retriable error', async () => {
    const seen = await run((h) => h);
    expect(seen.crashes).toEqual([{ restart: false }]);
    expect(seen.calls).toBe(1);
    expect(seen.processed).toEqual([]);
  });

  it('with it, the batch is delivered again and processed', async () => {
    const seen = await run(restartOnError);
    expect(seen.processed).toEqual(['a', 'b']);
    expect(seen.calls).toBeGreaterThanOrEqual(2);
    expect(seen.crashes.every((c) => c.restart)).toBe(true);
  });
});
