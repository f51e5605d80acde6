import type { Producer } from 'kafkajs';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { afterAll, describe, expect, it } from 'vitest';
import { initTransactions, producerConfig } from '../../src/kafka/kafkajs/producer.js';
import { kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readAll, readUntil } from '../support/records.js';

// Exactly-once rests on fencing: a task's new producer must stop the old one with the same
// transactional id. kafkajs's connect() does not do it (it defers the transactional id to the
// first transaction); initTransactions() does. Both are pinned here on a real broker.
const ns = testNamespace('fence');
const topic = `${ns}.out`;
await useTopics(ns, [{ topic, numPartitions: 1 }]);

const producers: Producer[] = [];
afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => undefined);
});

function producer(transactionalId: string): Producer {
  const p = kafkaClient('fencing-test').producer(producerConfig({ transactionalId }));
  producers.push(p);
  return p;
}

/** An old producer with a transaction open on `topic`, holding `value`. */
async function openTransaction(id: string, value: string) {
  const old = producer(id);
  await old.connect();
  const tx = await old.transaction();
  await tx.send({ topic, messages: [{ value }] });
  return tx;
}

describe('taking over a transactional id', () => {
  it('kafkajs connect() alone fences nothing: the old producer still commits', async () => {
    const tx = await openTransaction(`${ns}.a`, 'committed by the old owner');
    await producer(`${ns}.a`).connect();
    await expect(tx.commit()).resolves.toBeUndefined();
  });

  it('initTransactions() fences the old producer, whose transaction is aborted', async () => {
    const tx = await openTransaction(`${ns}.b`, 'never visible');
    await initTransactions(producer(`${ns}.b`));
    await expect(tx.commit()).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });
    const values = (await readAll(topic)).map((m) => m.value?.toString());
    expect(values).toEqual(['committed by the old owner']);
  });

  it('the new producer commits after taking over', async () => {
    const fresh = producer(`${ns}.c`);
    await initTransactions(fresh);
    const tx = await fresh.transaction();
    await tx.send({ topic, messages: [{ value: 'by the new owner' }] });
    await tx.commit();
    // Read until it shows: right after commit() the read_committed end may still lack the
    // transaction (its markers are written after commit returns), and a read to that end missed it.
    const isNew = (m: ConsumedRecord) => m.value?.toString() === 'by the new owner';
    const values = (await readUntil(topic, (all) => all.some(isNew), 15_000)).map((m) =>
      m.value?.toString(),
    );
    expect(values).toContain('by the new owner');
  });
});
