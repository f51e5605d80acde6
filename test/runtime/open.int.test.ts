import { afterAll, describe, expect, it } from 'vitest';
import { initTransactions, producerConfig } from '../../src/kafka/kafkajs/producer.js';
import { resolveInfra } from '../../src/infra/index.js';
import { sweep } from '../../src/runtime/open.js';
import { createTopics, kafkaClient, kafkaPort } from '../support/kafka.js';
import { readAgainUntil, readAll } from '../support/records.js';
import { committedByMarkers, committedOnceShown } from '../support/transactions.js';
import { testLogger } from '../support/sluice.js';

// The sweep a task runs when it reopens after a failed commit (src/runtime/open.ts), against the
// state a broker crash left once in the broker-restart test: a producer id's records open on a
// partition while the transaction coordinator knows of no open transaction for it. Made here by
// writing a transactional batch without adding the partition to a transaction, which a broker
// allows only with transaction.partition.verification.enable=false (a private broker's).

const infra = await resolveInfra({
  mode: 'owned',
  strategy: 'java',
  private: true,
  brokerProperties: { 'transaction.partition.verification.enable': 'false' },
});
afterAll(() => infra.stop());
const kafka = kafkaClient('sweep-test', infra.brokers);
await createTopics(
  kafka,
  ['plain', 'swept'].map((topic) => ({ topic, numPartitions: 2 })),
);

// kafkajs's own cluster object, for one raw produce request (no public API writes a batch
// outside a transaction the coordinator knows).
type RawBroker = { produce: (request: object) => Promise<unknown> };
type RawCluster = {
  connect: () => Promise<void>;
  disconnect: () => Promise<void>;
  addMultipleTargetTopics: (topics: string[]) => Promise<void>;
  findLeaderForPartitions: (topic: string, partitions: number[]) => Record<string, number[]>;
  findBroker: (node: { nodeId: string }) => Promise<RawBroker>;
};
function rawCluster(): RawCluster {
  const create = Object.getOwnPropertySymbols(kafka).find((s) =>
    String(s).includes('createCluster'),
  );
  const made =
    create && (kafka as unknown as Record<symbol, (o: object) => RawCluster>)[create]?.({});
  if (!made) throw new Error('kafkajs changed: no createCluster on the client');
  return made;
}
const cluster = rawCluster();
await cluster.connect();
await cluster.addMultipleTargetTopics(['plain', 'swept']);
afterAll(() => cluster.disconnect());

const values = (tag: string, partition: number) =>
  [0, 1, 2].map((i) => ({ value: `${tag}-${i}`, partition }));

/** One committed transaction, then a batch left open on partition 1 that the coordinator does not know. */
async function leaveOpen(topic: string): Promise<void> {
  const first = kafka.producer(producerConfig({ transactionalId: topic }));
  await initTransactions(first);
  const tx = await first.transaction();
  await tx.sendBatch({ topicMessages: [{ topic, messages: values('committed', 1) }] });
  await tx.commit();
  await first.disconnect();
  // Its producer id, from the committed batch (the markers may take a moment to show).
  const [record] = await committedOnceShown(topic, infra.brokers, (all) => all.length > 0);
  const producerId = Number(record?.txn.split('/')[1]?.split('#')[0]);
  expect(Number.isInteger(producerId)).toBe(true);
  const leader = Object.keys(cluster.findLeaderForPartitions(topic, [1]))[0] ?? '';
  const broker = await cluster.findBroker({ nodeId: leader });
  await broker.produce({
    transactionalId: topic,
    producerId,
    producerEpoch: 0,
    acks: -1,
    topicData: [
      { topic, partitions: [{ partition: 1, firstSequence: 3, messages: values('left-open', 1) }] },
    ],
  });
}

/** The task reopened: the id taken over, the sweep if asked, then its next commit. */
async function reopenAndCommit(topic: string, swept: boolean): Promise<string[]> {
  const port = kafkaPort('sluice-task', infra.brokers);
  const next = port.transactionalProducer({ transactionalId: topic, transactionTimeoutMs: 60_000 });
  await next.init();
  if (swept) await sweep(port, next, [topic], `${topic}:1`, testLogger);
  const tx = await next.begin();
  await tx.send([{ topic, messages: values('next', 1) }]);
  await tx.commit();
  await next.disconnect();
  // Read until the commit shows: right after commit() the read_committed end may still lack it.
  return readAgainUntil(
    async () => (await readAll(topic, infra.brokers)).map((m) => m.value?.toString() ?? ''),
    (seen) => seen.includes('next-2'),
  );
}

describe('records left open where the coordinator knows no transaction', () => {
  it('are committed by the next commit of their transactional id', async () => {
    await leaveOpen('plain');
    const seen = await reopenAndCommit('plain', false);
    // The hazard itself: what this broker does, and why the sweep exists.
    expect(seen).toEqual([
      'committed-0',
      'committed-1',
      'committed-2',
      'left-open-0',
      'left-open-1',
      'left-open-2',
      'next-0',
      'next-1',
      'next-2',
    ]);
  });

  it('are aborted by the sweep before it, with the sweep records themselves', async () => {
    await leaveOpen('swept');
    const seen = await reopenAndCommit('swept', true);
    expect(seen).toEqual([
      'committed-0',
      'committed-1',
      'committed-2',
      'next-0',
      'next-1',
      'next-2',
    ]);
    expect(
      (await committedByMarkers('swept', infra.brokers)).map((m) => m.value?.toString()),
    ).toEqual(seen);
  });
});
