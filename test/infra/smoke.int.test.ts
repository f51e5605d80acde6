import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import { readFileSync } from 'node:fs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { EachMessagePayload, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { endpoints, kafkaClient, testNamespace, useTopics } from '../support/kafka.js';

// These prove the infrastructure is real: a broker that stores and serves records, runs
// transactions with read_committed isolation, and a registry that speaks the Confluent API.

const ns = testNamespace('smoke');
const plain = `${ns}.plain`;
const source = `${ns}.tx-source`;
const sink = `${ns}.tx-sink`;

await useTopics(ns, [
  { topic: plain, numPartitions: 1 },
  { topic: source, numPartitions: 1 },
  { topic: sink, numPartitions: 1 },
]);

/** Reads `count` records from `topic` with a fresh group, then stops. */
async function readAll(
  topic: string,
  count: number,
  readUncommitted = false,
): Promise<KafkaMessage[]> {
  const consumer = kafkaClient().consumer(
    consumerConfig({
      groupId: `${ns}.reader-${Math.random()}`,
      readUncommitted,
    }),
  );
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`saw ${seen.length} of ${count} records on ${topic}`)),
      30_000,
    );
    void consumer.run({
      eachMessage: ({ message }: EachMessagePayload) => {
        seen.push(message);
        if (seen.length >= count) {
          clearTimeout(timer);
          resolve();
        }
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('kafka', () => {
  it('stores and serves records in order, with keys and values intact', async () => {
    const producer = kafkaClient().producer();
    await producer.connect();
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 3}`, value: `v${i}` }));
    await producer.send({ topic: plain, messages: sent });
    await producer.disconnect();

    const got = await readAll(plain, sent.length);
    expect(got.map((m) => ({ key: m.key?.toString(), value: m.value?.toString() }))).toEqual(sent);
    expect(got.map((m) => Number(m.offset))).toEqual(sent.map((_, i) => i));
  });

  it('shows committed transactions to read_committed readers and hides aborted ones', async () => {
    const setup = kafkaClient().producer();
    await setup.connect();
    await setup.send({ topic: source, messages: [{ value: 'in-0' }, { value: 'in-1' }] });
    await setup.disconnect();

    const group = `${ns}.tx-group`;
    const producer = kafkaClient().producer({
      transactionalId: `${ns}.tx`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic: sink, messages: [{ value: 'committed' }] });
    await committed.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: source, partitions: [{ partition: 0, offset: '1' }] }],
    });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic: sink, messages: [{ value: 'aborted' }] });
    await aborted.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: source, partitions: [{ partition: 0, offset: '2' }] }],
    });
    await aborted.abort();

    const third = await producer.transaction();
    await third.send({ topic: sink, messages: [{ value: 'committed-after' }] });
    await third.commit();
    await producer.disconnect();

    // The aborted record was really written: a read_uncommitted reader sees all three.
    const raw = await readAll(sink, 3, true);
    expect(raw.map((m) => m.value?.toString())).toEqual([
      'committed',
      'aborted',
      'committed-after',
    ]);

    const visible = await readAll(sink, 2);
    expect(visible.map((m) => m.value?.toString())).toEqual(['committed', 'committed-after']);

    // Only the committed transaction's offsets took effect for the group.
    const admin = kafkaClient().admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [source] });
    await admin.disconnect();
    expect(offsets[0]?.partitions[0]?.offset).toBe('1');
  });
});

describe('schema registry', () => {
  it('registers a schema from schemas/ and round-trips a record in the Confluent wire format', async () => {
    const { registryUrl } = endpoints();
    const registry = new SchemaRegistry({ host: registryUrl });
    const schema = readFileSync(
      new URL('../../schemas/common/RecordRef.avsc', import.meta.url),
      'utf8',
    );
    const subject = `${ns}-RecordRef`;
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });

    const record = {
      topic: 'orders',
      partition: 3,
      offset: '9007199254740993',
      key: 'customer-7',
      valuePreview: '{"amount":null}',
    };
    const bytes = await registry.encode(id, record);
    expect(bytes[0]).toBe(0); // magic byte
    expect(bytes.readInt32BE(1)).toBe(id); // schema id, big-endian
    expect(await registry.decode(bytes)).toEqual(record);

    // The registry itself (not the library's cache) holds the schema under that id.
    const res = await fetch(`${registryUrl}/schemas/ids/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { schema: string };
    expect(JSON.parse(body.schema)).toMatchObject({
      name: 'RecordRef',
      namespace: 'dev.sluice.common',
    });
  });
});
