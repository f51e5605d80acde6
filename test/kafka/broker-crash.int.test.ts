import { afterAll, describe, expect, it } from 'vitest';
import kafkajs from '../../src/kafka/kafkajs/loader.js';
import { initTransactions, producerConfig } from '../../src/kafka/kafkajs/producer.js';
import { resolveInfra } from '../../src/infra/index.js';
import { createTopics } from '../support/kafka.js';
import { committedOnceShown } from '../support/transactions.js';

// What exactly-once after a broker crash rests on: a transaction left open when the broker is
// SIGKILLed is aborted when a new producer takes its transactional id over, on the restarted
// broker. The coordinator then hands out the epoch after next (one bump to abort, one for the
// new producer). docs/operations.md ("A broker crash in the middle of a commit") describes a
// run where it did not; this pins the normal case, so a broker that changes it shows here.

const infra = await resolveInfra({ mode: 'owned', strategy: 'java', private: true });
afterAll(() => infra.stop());
const broker = infra.broker;
if (!broker) throw new Error('a private Java instance must hand out its broker');
const kafka = new kafkajs.Kafka({
  clientId: 'broker-crash-test',
  brokers: infra.brokers,
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 },
});
const topic = 'crash-sink';
await createTopics(kafka, [{ topic, numPartitions: 1 }]);

const batch = (tag: string) => ({
  topicMessages: [{ topic, messages: [0, 1, 2].map((i) => ({ value: `${tag}-${i}` })) }],
});

describe('a transaction open when the broker is SIGKILLed', () => {
  it('is aborted when its transactional id is taken over after the restart', async () => {
    const before = kafka.producer(producerConfig({ transactionalId: 'crash-task' }));
    await initTransactions(before);
    let tx = await before.transaction();
    await tx.sendBatch(batch('committed'));
    await tx.commit();
    tx = await before.transaction();
    await tx.sendBatch(batch('open')); // partitions added, records written, never committed
    await broker.kill();
    void before.disconnect().catch(() => undefined);
    await broker.start();

    const after = kafka.producer(producerConfig({ transactionalId: 'crash-task' }));
    await initTransactions(after);
    tx = await after.transaction();
    await tx.sendBatch(batch('next'));
    await tx.commit();
    await after.disconnect();

    const committed = await committedOnceShown(topic, infra.brokers, (all) =>
      all.some((r) => r.value?.toString() === 'next-2'),
    );
    expect(committed.map((r) => r.value?.toString())).toEqual([
      'committed-0',
      'committed-1',
      'committed-2',
      'next-0',
      'next-1',
      'next-2',
    ]);
    expect([...new Set(committed.map((r) => r.batch.split(' seq')[0]))]).toEqual([
      'epoch 0',
      'epoch 2',
    ]);
  }, 90_000);
});
