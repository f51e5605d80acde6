import { describe, expect, it } from 'vitest';
import { kafkaClient, testNamespace, useTopics } from '../support/kafka.js';
import { readUntil } from '../support/records.js';
import { committedOnceShown } from '../support/transactions.js';

// Why src/kafka/kafkajs.ts exists, on a real broker: two transactional producers write one
// partition, interleaved, and are aborted in the other order than they began (as after a restart,
// when each upstream task's new owner fences its own). A read_committed reader must see only the
// committed transaction that follows.
const ns = testNamespace('rc');
const topic = `${ns}.interleaved`;
await useTopics(ns, [{ topic, numPartitions: 1 }]);

describe('read_committed through Sluice’s kafkajs', () => {
  it('never returns records of transactions aborted out of their begin order', async () => {
    const kafka = kafkaClient('read-committed-test');
    const producer = async (name: string) => {
      const p = kafka.producer({
        transactionalId: `${ns}.${name}`,
        maxInFlightRequests: 1,
        idempotent: true,
      });
      await p.connect();
      return p;
    };
    const [a, b, c] = await Promise.all([producer('a'), producer('b'), producer('c')]);
    try {
      const ta = await a.transaction();
      const tb = await b.transaction();
      await ta.send({ topic, messages: [{ value: 'a1 (aborted)' }] });
      await tb.send({ topic, messages: [{ value: 'b1 (aborted)' }] });
      await ta.send({ topic, messages: [{ value: 'a2 (aborted)' }] });
      await tb.abort(); // b is listed first by the broker, though a began first
      await ta.abort();
      const tc = await c.transaction();
      await tc.send({ topic, messages: [{ value: 'c1' }, { value: 'c2' }] });
      await tc.commit();
    } finally {
      await Promise.all([a, b, c].map((p) => p.disconnect()));
    }
    // Read until c's commit shows (its markers come after commit() returns); any aborted record
    // let through lies before c2, so it would be read by then too.
    const isC2 = (m: { value: Buffer | null }) => m.value?.toString() === 'c2';
    const values = (await readUntil(topic, (all) => all.some(isC2), 15_000)).map((m) =>
      m.value?.toString(),
    );
    expect(values).toEqual(['c1', 'c2']);
    // The markers-only view other tests check their reader against agrees, on the same data.
    const byMarkers = (await committedOnceShown(topic, undefined, (all) => all.some(isC2))).map(
      (m) => m.value?.toString(),
    );
    expect(byMarkers).toEqual(['c1', 'c2']);
  });
});
