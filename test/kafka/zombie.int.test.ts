import { afterAll, describe, expect, it } from 'vitest';
import { errorType, isFenced } from '../../src/kafka/errors.js';
import type { GroupConsumer, GroupMetadata, Kafka } from '../../src/kafka/port.js';
import { kafkaPort, testNamespace, useTopics } from '../support/kafka.js';

// KIP-447 through Sluice's port on a real broker: a transaction's offsets name the group
// member's generation (TxnOffsetCommit v3, which Sluice adds to its kafkajs), and the group
// coordinator refuses them once the group has moved to a generation that member lost its
// partitions in. A zombie cannot commit, whatever its transactional id.

const ns = testNamespace('zmb');
const topic = `${ns}.in`;
const groupId = `${ns}.group`;
await useTopics(ns, [{ topic, numPartitions: 2 }]);
const kafka: Kafka = kafkaPort();
const consumers: GroupConsumer[] = [];
afterAll(async () => {
  for (const c of consumers) await c.stop().catch(() => undefined);
});

/** A member of the group; `assignments` counts the joins it completed. */
async function member(): Promise<{ consumer: GroupConsumer; joins: () => number }> {
  const consumer = kafka.consumer({ groupId });
  consumers.push(consumer);
  let joins = 0;
  await consumer.start({
    topics: [topic],
    autoCommit: false,
    onAssignment: () => joins++,
    eachBatch: () => Promise.resolve(),
  });
  return { consumer, joins: () => joins };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function committed(): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.committed(groupId, [topic])).find((o) => o.partition === 0)?.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('a transaction committing offsets for a group member (KIP-447)', () => {
  it('is refused once the group moved on without that member, and accepted for the current one', async () => {
    const producer = kafka.transactionalProducer({
      transactionalId: `${ns}.tx`,
      transactionTimeoutMs: 30_000,
    });
    await producer.init();
    // Records to commit offsets within: a member's fetch from an offset past the end would
    // reset the group's offset (kafkajs commits the default offset after OFFSET_OUT_OF_RANGE).
    const plain = kafka.producer();
    await plain.connect();
    await plain.send([
      {
        topic,
        messages: Array.from({ length: 10 }, (_, i) => ({
          key: null,
          value: Buffer.from(String(i)),
          partition: 0,
        })),
      },
    ]);
    await plain.disconnect();
    const commitAs = async (group: GroupMetadata, offset: string): Promise<unknown> => {
      const tx = await producer.begin();
      try {
        await tx.sendOffsets(group, [{ topic, partition: 0, offset }]);
        await tx.commit();
        return undefined;
      } catch (err) {
        await tx.abort().catch(() => undefined);
        return err;
      }
    };
    try {
      const a = await member();
      await until(() => a.joins() === 1, 'the first member to join');
      const first = a.consumer.groupMetadata();
      expect(first.generationId).toBeGreaterThan(0);
      expect(first.memberId).toMatch(/.+/);
      expect(await commitAs(first, '1')).toBeUndefined();
      expect(await committed()).toBe('1');

      // A second member joins: a new generation, which the first joins again.
      const b = await member();
      await until(() => a.joins() === 2 && b.joins() === 1, 'the rebalance');
      const second = a.consumer.groupMetadata();
      expect(second.generationId).toBeGreaterThan(first.generationId ?? 0);

      // The first generation's member is a zombie now: its offsets are refused.
      const refused = await commitAs(first, '2');
      expect(errorType(refused)).toBe('ILLEGAL_GENERATION');
      expect(isFenced(refused)).toBe(true);
      expect(await committed()).toBe('1');

      // The current generation commits; offsets without a member are not checked.
      expect(await commitAs(second, '3')).toBeUndefined();
      expect(await committed()).toBe('3');
      expect(await commitAs({ groupId }, '4')).toBeUndefined();
      expect(await committed()).toBe('4');
    } finally {
      await producer.disconnect();
    }
  }, 60_000);
});
